"""
Tests for reading hostile lines (audit 23): a line the reader cannot take
is reported with its line number and skipped, and the rest of the file is
read; what a command cannot write is reported and skipped, and the rest is
written.
"""

from __future__ import annotations

import io
import json
from typing import Any, Dict, Iterator, List
from uuid import UUID, uuid5

import orjson
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli._common import BatchWriter, write_json_lines
from txcausal._cli._export_ecs import encode, iso_timestamp
from txcausal._cli._text import TimeFormatter
from txcausal._parse_input import LineError, MessageReader
from txcausal._stream_state import StreamState
from txcausal._twisted_records import _NAMESPACE, record_uuid
from txcausal.otel import SpanDestination
from txcausal.parse import read_messages
from txcausal.test._reading import cli, end, lines, msg, start

#: A good task of two messages.
GOOD = lines(start("good", [1], 1.0, "app:op"), end("good", [2], 2.0, "app:op"))

#: How deep L{DEEP_LONG} and L{deep} nest: past what orjson reads (1,024
#: levels) and what the standard library's C{json} reads or writes on every
#: Python (some thousands of levels on 3.12, some tens of thousands on 3.13).
DEPTH = 100_000

#: A line holding an integer past 64 bits (so that it is read again by the
#: standard library's C{json}) and lists nested L{DEPTH} deep.
DEEP_LONG = (
    b'{"task_uuid":"g","task_level":[1],"timestamp":1.0,"message_type":"m","n":%d,"v":%s}\n'
    % (2**70, b"[" * DEPTH + b"]" * DEPTH)
)

#: A message nested 1,000 deep: read, and written by the standard library's
#: C{json} on Python 3.12 and later, or reported and skipped where it hits
#: the recursion limit (3.11).
DEEP = b'{"task_uuid":"f","task_level":[1],"timestamp":1.0,"message_type":"m","v":%s}\n' % (
    b"[" * 1000 + b"]" * 1000
)


def deep(depth: int = DEPTH) -> Dict[str, Any]:
    """
    @return: A message whose field C{v} holds lists nested C{depth} deep,
        which neither orjson nor the standard library's C{json} can write.
    """
    value: List[Any] = []
    for _ in range(depth):
        value = [value]
    return {"task_uuid": "f", "task_level": [1], "timestamp": 1.0, "message_type": "m", "v": value}


#: Twisted's text format, a byte that is not UTF-8 in the first event.
TEXT_NOT_UTF8 = (
    b"2026-12-07 00:00:00+0000 [-] hello \xff\xfe world\n"
    b"2026-12-07 00:00:01+0000 [-] second event\n"
)


class TwistedTextNotUTF8Tests(SynchronousTestCase):
    """
    A line of Twisted's text format holding bytes that are not UTF-8.
    """

    def test_library(self) -> None:
        """
        Both events are read, each a task of its own.
        """
        messages = list(read_messages([[*TEXT_NOT_UTF8.splitlines()]]))
        self.assertEqual(len(messages), 2)
        self.assertEqual(len({m["task_uuid"] for m in messages}), 2)

    def test_commands(self) -> None:
        """
        C{tree} and C{export --format ecs} show both events, without an
        error.
        """
        status, out, err = cli(["tree"], TEXT_NOT_UTF8)
        self.assertEqual((status, err), (0, ""))
        self.assertIn("second event", out)
        status, out, err = cli(["export", "--format", "ecs"], TEXT_NOT_UTF8)
        self.assertEqual(status, 0, err)
        self.assertEqual(len(out.splitlines()), 2)

    def test_sameUUIDForUTF8(self) -> None:
        """
        The task UUID of a record's bytes is the name-based UUID of its
        text, as before, when the bytes are UTF-8.
        """
        data = "caf\u00e9 [-] x".encode("utf-8")
        self.assertEqual(UUID(record_uuid(data)), uuid5(_NAMESPACE, data.decode("utf-8")))
        self.assertNotEqual(record_uuid(b"\xff"), record_uuid(b"\xfe"))


class DeepLongIntegerTests(SynchronousTestCase):
    """
    A line nested too deep for the standard library's C{json}, which reads
    it because it holds an integer past 64 bits.
    """

    def test_library(self) -> None:
        """
        The line is reported with its line number, and skipped.
        """
        errors: List[LineError] = []
        messages = list(read_messages([(GOOD + DEEP_LONG).splitlines()], errors.append))
        self.assertEqual([m["task_uuid"] for m in messages], ["good", "good"])
        self.assertEqual([(e.lineno, e.reason) for e in errors], [(3, "skipped: nested too deep")])

    def test_webView(self) -> None:
        """
        Read by position, as the web view reads, the line is reported and
        skipped too.
        """
        errors: List[LineError] = []
        reader = MessageReader(errors.append)
        read = list(reader.decode_at(0, (DEEP_LONG + GOOD).splitlines(), StreamState("x")))
        self.assertEqual(len(read), 2)
        self.assertEqual([e.lineno for e in errors], [1])

    def test_commands(self) -> None:
        """
        Every reading command reports the line and shows the rest.
        """
        for command in (["tree"], ["pretty"], ["filter"], ["stats"], ["export", "--format", "ecs"]):
            status, out, err = cli(command, GOOD + DEEP_LONG)
            self.assertEqual(status, 0, (command, err))
            self.assertIn("<stdin>:3: skipped: nested too deep", err)
            self.assertIn("app:op" if command == ["stats"] else "good", out)


class DeepMessageOutputTests(SynchronousTestCase):
    """
    A message nested too deep to be written as JSON is reported and
    skipped by the commands that write JSON; the rest is written.
    """

    def test_ecsEncode(self) -> None:
        """
        C{export --format ecs}'s encoder raises the C{ValueError} its writer
        reports and skips, not a C{RecursionError}.
        """
        with self.assertRaises(ValueError) as raised:
            encode(deep())
        self.assertEqual(str(raised.exception), "nested too deep to write as JSON")

    def test_jsonLines(self) -> None:
        """
        The writer of C{filter}, C{tree --json} and C{story --json} reports
        the message and writes the others.
        """
        out = io.StringIO()
        notes: List[str] = []
        good = [orjson.loads(line) for line in GOOD.splitlines()]
        write_json_lines([good[0], deep(), good[1]], BatchWriter(out), notes.append)
        self.assertEqual([orjson.loads(line) for line in out.getvalue().splitlines()], good)
        self.assertEqual(len(notes), 1)
        self.assertIn("message 'f'/1: cannot write as JSON: RecursionError", notes[0])

    def test_commands(self) -> None:
        """
        A message 1,000 deep (which orjson reads but does not write) is
        written by the standard library, or reported where that cannot
        write it; the other messages are written either way.
        """
        for command in (["filter"], ["export", "--format", "ecs"]):
            status, out, err = cli(command, GOOD + DEEP)
            self.assertEqual(status, 0, (command, err))
            self.assertNotIn("internal error", err)
            documents = [orjson.loads(line) for line in out.splitlines()]
            uuids = [document.get("txcausal", document)["task_uuid"] for document in documents]
            self.assertEqual([uuid for uuid in uuids if uuid != "f"], ["good", "good"])
            self.assertNotEqual("f" in uuids, "message 'f'/1" in err, (command, err))


class EarlyYearTests(SynchronousTestCase):
    """
    Times before the year 1000 are written with a year of four digits.
    """

    def test_ecsTimestamp(self) -> None:
        """
        ECS C{@timestamp} is ISO 8601, as Elasticsearch reads it.
        """
        self.assertEqual(iso_timestamp(-61e9), "0036-12-26T11:33:20.000000Z")
        self.assertEqual(iso_timestamp(-62135596800), "0001-01-01T00:00:00.000000Z")
        self.assertEqual(iso_timestamp(1700000000.25), "2023-11-14T22:13:20.250000Z")

    def test_treeTime(self) -> None:
        """
        The commands that show times show such a year with four digits, in
        UTC and in local time.
        """
        self.assertEqual(TimeFormatter()(-61e9 + 0.5), "0036-12-26 11:33:20.500Z")
        self.assertRegex(TimeFormatter(utc=False)(-61e9),
                         r"^0036-12-2\d \d\d:\d\d:\d\d\.000[+-]\d\d:\d\d$")
        self.assertEqual(TimeFormatter()(1700000000), "2023-11-14 22:13:20.000Z")


def spans(out: str) -> Iterator[Dict[str, Any]]:
    """
    The spans of OTLP JSON lines.
    """
    for line in out.splitlines():
        for resource in orjson.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                yield from scope["spans"]


class EndBeforeStartTests(SynchronousTestCase):
    """
    An action whose finish message has an earlier time than its start (a
    wall clock stepped back, processes with skewed clocks) is exported as
    a span that does not end before it starts.
    """

    def _times(self, *messages: Dict[str, Any]) -> List[int]:
        status, out, err = cli(["export", "--format", "otlp-json"], lines(*messages))
        self.assertEqual(status, 0, err)
        [span] = spans(out)
        return [int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])]

    def test_duration(self) -> None:
        """
        The span lasts the finish message's C{duration}.
        """
        finish = end("U", [2], 140.0, "y", duration=0.5)
        self.assertEqual(self._times(start("U", [1], 150.0, "y"), finish),
                         [150_000_000_000, 150_500_000_000])

    def test_noDuration(self) -> None:
        """
        Without a duration (or with a negative one) the span ends as it
        starts.
        """
        for finish in (end("U", [2], 140.0, "y"), end("U", [2], 140.0, "y", duration=-1.0)):
            self.assertEqual(self._times(start("U", [1], 150.0, "y"), finish),
                             [150_000_000_000, 150_000_000_000])

    def test_unfinished(self) -> None:
        """
        An unfinished action whose messages have earlier times than its
        start ends as it starts.
        """
        self.assertEqual(self._times(start("U", [1], 150.0, "y"), msg("U", [2], 140.0)),
                         [150_000_000_000, 150_000_000_000])

    def test_live(self) -> None:
        """
        L{SpanDestination} makes the same span as it is logged.
        """
        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        destination = SpanDestination(provider)
        destination(start("U", [1], 150.0, "y"))
        destination(end("U", [2], 140.0, "y", duration=0.5))
        [span] = exporter.get_finished_spans()
        self.assertEqual((span.start_time, span.end_time), (150_000_000_000, 150_500_000_000))


class NULRunTests(SynchronousTestCase):
    """
    A crash can leave a run of NUL bytes where a file had been extended, to
    which the restarted writer appends its first line.
    """

    def test_lineAfterNULs(self) -> None:
        """
        The message after the NULs is read, and the NULs are reported.
        """
        data = GOOD + b"\x00" * 4096 + GOOD.replace(b"good", b"after")
        errors: List[LineError] = []
        messages = list(read_messages([data.splitlines()], errors.append))
        self.assertEqual([m["task_uuid"] for m in messages], ["good", "good", "after", "after"])
        self.assertEqual([(e.lineno, e.reason) for e in errors],
                         [(3, "skipped 4096 NUL bytes")])

    def test_onlyNULs(self) -> None:
        """
        A line of NULs alone (a file that ends with them) is reported as
        such, and skipped.
        """
        status, out, err = cli(["tree"], GOOD + b"\x00" * 10)
        self.assertEqual(status, 0)
        self.assertIn("good", out)
        self.assertEqual(err, "txcausal: <stdin>:3: skipped 10 NUL bytes\n")

    def test_countedApart(self) -> None:
        """
        Runs of NUL bytes before lines that are read are reported and
        counted apart from the lines skipped: many of them neither take
        the reports of malformed lines after them nor are called lines
        skipped.
        """
        data = b"".join(b"\x00" * 3 + GOOD.replace(b"good", b"g%d" % i) for i in range(30))
        status, out, err = cli(["stats"], data + b"{bad\n")
        self.assertEqual(status, 0)
        self.assertRegex(out, r"app:op +30 ")
        reports = err.splitlines()
        self.assertEqual(reports[:20], ["txcausal: <stdin>:%d: skipped 3 NUL bytes" % (2 * i + 1)
                                        for i in range(20)])
        self.assertEqual(reports[20:], ["txcausal: <stdin>:61: skipped: malformed JSON: '{bad'",
                                        "txcausal: <stdin>: 10 more runs of NUL bytes skipped"])


#: Lines Python's C{json.dumps} writes by default and Eliot's readers read,
#: but orjson does not: constants for the floats that are not finite, and
#: lone surrogates escaped (a file name decoded with C{surrogateescape}).
STDLIB_LINES = [
    json.dumps({"task_uuid": "n", "task_level": [1], "timestamp": 1.0, "message_type": "m",
                "v": float("nan"), "w": [float("inf"), float("-inf")]}).encode("ascii"),
    json.dumps({"task_uuid": "s", "task_level": [1], "timestamp": 1.0, "message_type": "m",
                "path": "/tmp/\udcff.txt", "\ud800": "key", "long": 2**70}).encode("ascii"),
]


class StdlibJSONTests(SynchronousTestCase):
    """
    Lines that Python's C{json} reads and orjson refuses are read as
    txcausal writes their values: C{NaN}, C{Infinity} and C{-Infinity} as
    those strings, lone surrogates escaped.
    """

    def test_values(self) -> None:
        """
        The reader holds the message Python's C{json} reads, with those
        values as txcausal writes them.
        """
        errors: List[LineError] = []
        nan, surrogates = read_messages([STDLIB_LINES], errors.append)
        self.assertEqual(errors, [])
        python = [json.loads(line) for line in STDLIB_LINES]
        python[0].update(v="NaN", w=["Infinity", "-Infinity"])
        python[1].update({"path": "/tmp/\\xff.txt", "\\ud800": python[1].pop("\ud800")})
        self.assertEqual([nan, surrogates], python)
        self.assertEqual(surrogates["long"], 2**70)

    def test_validJSONOut(self) -> None:
        """
        C{tree} shows those messages' values as the reader holds them;
        C{filter} and C{export --format ecs} write the messages the reader
        holds, as JSON that orjson reads.
        """
        data = b"\n".join(STDLIB_LINES) + b"\n"
        status, out, err = cli(["tree"], data)
        self.assertEqual((status, err), (0, ""))
        for shown in ("├── v: NaN\n", "├── 0: Infinity\n", "└── 1: -Infinity\n",
                      "├── \\ud800: key\n", "├── long: %d\n" % 2**70, "└── path: /tmp/\\xff.txt\n"):
            self.assertIn(shown, out)
        held = list(read_messages([STDLIB_LINES]))
        for command in (["filter"], ["export", "--format", "ecs"]):
            status, out, err = cli(command, data)
            self.assertEqual(status, 0, err)
            self.assertNotIn("skipped", err)
            for line in out.splitlines():
                orjson.loads(line)
            written = [json.loads(line, parse_constant=self.fail) for line in out.splitlines()]
            if command != ["filter"]:
                written = [document["txcausal"] for document in written]
            self.assertEqual(written, held)

    def test_stillMalformed(self) -> None:
        """
        Lines Python's C{json} does not read either (bytes that are not
        UTF-8, lower-case constants) are still reported and skipped.
        """
        errors: List[LineError] = []
        bad = [b'{"task_uuid":"b","task_level":[1],"v":"\xed\xa0\x80"}',
               b'{"task_uuid":"b","task_level":[1],"v":nan}']
        self.assertEqual(list(read_messages([bad], errors.append)), [])
        self.assertEqual([e.reason[:22] for e in errors], ["skipped: malformed JSON"[:22]] * 2)


#: Numbers past the range of a float, which orjson refuses and Python's
#: C{json} reads as infinities; one line also holds an integer past 64 bits
#: (read by Python's C{json} whatever orjson says).
OUT_OF_RANGE = (
    b'{"task_uuid":"i","task_level":[1],"timestamp":1.0,"message_type":"m","v":1e999,'
    b'"w":[-1e999,0.5]}\n'
    b'{"task_uuid":"j","task_level":[1],"timestamp":1.0,"message_type":"m","v":1e999,"n":%d}\n'
    % (2**70,)
)


class OutOfRangeNumberTests(SynchronousTestCase):
    """
    A number past the range of a float (C{1e999}) is read as an infinity
    is: as the string C{"Infinity"} (or C{"-Infinity"}), never as a float
    that no JSON writer writes.
    """

    def test_values(self) -> None:
        """
        The reader holds the strings, and the finite numbers as they are.
        """
        errors: List[LineError] = []
        first, second = read_messages([OUT_OF_RANGE.splitlines()], errors.append)
        self.assertEqual(errors, [])
        self.assertEqual((first["v"], first["w"]), ("Infinity", ["-Infinity", 0.5]))
        self.assertEqual((second["v"], second["n"]), ("Infinity", 2**70))

    def test_commands(self) -> None:
        """
        The commands that write JSON write the strings, as valid JSON; the
        others show the messages without an error.
        """
        for command in (["filter"], ["export", "--format", "ecs"], ["story", "--json", "i", "-"]):
            status, out, err = cli(command, OUT_OF_RANGE)
            self.assertEqual(status, 0, command)
            self.assertNotIn("skipped", err)
            self.assertIn('"Infinity"', out)
            self.assertNotIn("null", out)
            for line in out.splitlines():
                json.loads(line, parse_constant=self.fail)
        for command in (["tree"], ["pretty"], ["pretty", "--compact"], ["stats"]):
            status, out, err = cli(command, OUT_OF_RANGE)
            self.assertEqual((status, err), (0, ""), command)
