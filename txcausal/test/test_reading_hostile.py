"""
Tests for reading hostile lines (audit 23): a line the reader cannot take
is reported with its line number and skipped, and the rest of the file is
read; what a command cannot write is reported and skipped, and the rest is
written.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List
from uuid import UUID, uuid5

import orjson
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli._export_ecs import iso_timestamp
from txcausal._cli._text import TimeFormatter
from txcausal._parse_input import LineError, MessageReader
from txcausal._stream_state import StreamState
from txcausal._twisted_records import _NAMESPACE, record_uuid
from txcausal.otel import SpanDestination
from txcausal.parse import read_messages
from txcausal.test._reading import cli, end, lines, msg, start

#: A good task of two messages.
GOOD = lines(start("good", [1], 1.0, "app:op"), end("good", [2], 2.0, "app:op"))

#: A line holding an integer past 64 bits (so that it is read again by the
#: standard library's C{json}) and lists nested 1,000 deep (orjson reads
#: 1,024 levels, C{json} hits the recursion limit first).
DEEP_LONG = (
    b'{"task_uuid":"g","task_level":[1],"timestamp":1.0,"message_type":"m","n":%d,"v":%s}\n'
    % (2**70, b"[" * 1000 + b"]" * 1000)
)

#: A message nested 1,000 deep: read, but written neither by orjson (254
#: levels) nor by the standard library's C{json} (the recursion limit).
DEEP = b'{"task_uuid":"f","task_level":[1],"timestamp":1.0,"message_type":"m","v":%s}\n' % (
    b"[" * 1000 + b"]" * 1000
)

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

    def test_ecs(self) -> None:
        """
        C{export --format ecs} writes the documents of the other messages.
        """
        status, out, err = cli(["export", "--format", "ecs"], GOOD + DEEP)
        self.assertEqual(status, 0, err)
        self.assertEqual([orjson.loads(line)["txcausal"]["task_uuid"] for line in out.splitlines()],
                         ["good", "good"])
        self.assertIn("message 'f'/1: skipped: nested too deep to write as JSON", err)
        self.assertIn("1 skipped", err)

    def test_jsonCommands(self) -> None:
        """
        C{filter}, C{tree --json} and C{story --json} write the rest too.
        """
        for command in (["filter"], ["tree", "--json"], ["story", "--json", "f", "-"]):
            status, out, err = cli(command, GOOD + DEEP)
            self.assertEqual(status, 0, (command, err))
            self.assertIn("message 'f'/", err)
            self.assertNotIn("internal error", err)


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
        C{tree} shows those messages; C{filter} and C{export --format ecs}
        write them as JSON that orjson reads.
        """
        data = b"\n".join(STDLIB_LINES) + b"\n"
        status, out, err = cli(["tree"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertIn("n\n", out)
        self.assertIn("/tmp/\\xff.txt", out)
        for command in (["filter"], ["export", "--format", "ecs"]):
            status, out, err = cli(command, data)
            self.assertEqual(status, 0, err)
            self.assertNotIn("skipped", err)
            self.assertEqual(len([orjson.loads(line) for line in out.splitlines()]), 2)

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
