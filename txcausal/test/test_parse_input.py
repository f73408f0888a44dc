"""
Tests for L{txcausal._parse_input}: reading log files into messages,
forgivingly, whatever they hold.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from hashlib import sha256
from typing import List, Tuple

import orjson
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from txcausal._source import _GZIP_MAGIC
from txcausal.parse import (
    TWISTED_MESSAGE_TYPE,
    LineError,
    MessageReader,
    parse_files,
    read_messages,
)
from txcausal.test._reading import (
    TRIAL_LOG,
    Message,
    end,
    lines,
    msg,
    only,
    sample_task,
    start,
    twisted_log,
)

_settings = settings(derandomize=True, deadline=None, max_examples=60)

def read(data: bytes, max_line: int = 1 << 20) -> Tuple[List[Message], List[LineError]]:
    errors: List[LineError] = []
    stream = io.BytesIO(data)
    stream.name = "log.json"
    return list(MessageReader(errors.append, max_line=max_line).read([stream])), errors


class MessageReaderTests(SynchronousTestCase):
    """
    Tests for L{MessageReader}, L{read_messages} and L{parse_files}.
    """

    def test_garbageLinesReportedAndSkipped(self) -> None:
        """
        Malformed, truncated and non-message lines are reported with file
        name and line number; the other messages are still read.
        """
        good = sample_task()
        data = (
            lines(good[0])
            + b"not json\n"
            + lines(good[1])
            + b"[1, 2]\n"
            + b'{"task_uuid": "T", "task_level": [0]}\n\n'
            + lines(msg("T", [1] * 101, 1.0))
            + lines(good[2])
            + b'{"task_uuid": "T", "task_le'
        )
        messages, errors = read(data)
        self.assertEqual(messages, good[:3])
        self.assertEqual(
            [(e.source, e.lineno) for e in errors],
            [("log.json", 2), ("log.json", 4), ("log.json", 5), ("log.json", 7), ("log.json", 9)],
        )
        self.assertEqual(errors[3].reason, "skipped: task_level deeper than 100")
        self.assertTrue(str(errors[0]).startswith("log.json:2: skipped: malformed JSON"))

    def test_gzip(self) -> None:
        """
        Gzip-compressed files are read, from a path or a stream.
        """
        path = self.mktemp() + ".gz"
        with gzip.open(path, "wb") as f:
            f.write(lines(*sample_task()))
        self.assertEqual(len(list(parse_files([path]))), 1)
        self.assertEqual(read(gzip.compress(lines(*sample_task()))), (sample_task(), []))

    def test_truncatedGzip(self) -> None:
        """
        A truncated gzip stream is reported, and what could be read is kept.
        """
        tasks = [m for i in range(300) for m in sample_task(sha256(b"%d" % i).hexdigest())]
        data = gzip.compress(lines(*tasks))
        messages, errors = read(data[: len(data) // 2])
        self.assertTrue(messages)
        self.assertEqual(len(errors), 1)
        self.assertIn("truncated or corrupt compressed data", errors[0].reason)

    def test_missingFile(self) -> None:
        """
        A file that cannot be opened is reported with line number 0.
        """
        errors: List[LineError] = []
        self.assertEqual(list(read_messages([self.mktemp()], errors.append)), [])
        self.assertEqual(errors[0].lineno, 0)

    def test_byteOrderMark(self) -> None:
        """
        A UTF-8 byte-order mark at the start of a file, or of a file
        concatenated to another, is not part of the first line.
        """
        bom = b"\xef\xbb\xbf"
        task = sample_task()
        self.assertEqual(read(bom + lines(*task)), (task, []))
        self.assertEqual(read(bom + lines(*task[:3]) + bom + lines(*task[3:])), (task, []))

    def test_lineTooLong(self) -> None:
        """
        A line longer than C{max_line} bytes is reported with its number
        and skipped; the lines around it are read.
        """
        good = sample_task()
        data = lines(good[0]) + b'{"x": "' + b"y" * 5000 + b'"}\n' + lines(*good[1:])
        messages, errors = read(data, max_line=1000)
        self.assertEqual(messages, good)
        self.assertEqual([str(e) for e in errors], ["log.json:2: skipped: longer than 1000 bytes"])
        messages, errors = read(b"z" * 5000, max_line=1000)
        self.assertEqual((messages, [e.lineno for e in errors]), ([], [1]))

    def test_needle(self) -> None:
        """
        With a needle, JSON lines that do not contain it are skipped
        undecoded; Twisted records are always decoded, since their UUID is
        not written in them.
        """
        data = lines(*sample_task("A"), *sample_task("B")) + twisted_log()
        messages = list(MessageReader(needle=b'"B"').read([io.BytesIO(data)]))
        self.assertEqual(messages[:-1], sample_task("B"))
        self.assertEqual(messages[-1]["message_type"], TWISTED_MESSAGE_TYPE)

    def test_linesGiven(self) -> None:
        """
        An iterable of lines (with or without newlines) is read as a file.
        """
        data = lines(*sample_task()).splitlines()
        self.assertEqual(list(read_messages([data])), sample_task())

    @_settings
    @given(
        st.lists(
            st.one_of(
                st.binary(max_size=40),
                st.text(max_size=40).map(str.encode),
                st.sampled_from([b"\x1e{}", b"\x1e[1]", b'\x1e{"log_time": 1}', b"\t x",
                                 b"2026-01-01 00:00:00+0000 [-] {", b"\xef\xbb\xbf{"]),
            ),
            max_size=8,
        )
    )
    def test_arbitraryLinesNeverRaise(self, garbage: List[bytes]) -> None:
        """
        Whatever the lines contain, reading reports problems and never
        raises; valid messages among them are still read.  (Lines that
        start with gzip's magic number make a compressed file, read as
        one: Hypothesis tries that constant of the code once it knows it.)
        """
        good = sample_task()
        data = b"\n".join(garbage) + b"\n" + lines(*good)
        assume(not data.startswith(_GZIP_MAGIC))
        messages, errors = read(data)
        self.assertEqual(messages[-len(good) :], good)
        for error in errors:
            self.assertIsInstance(error.reason, str)


class TwistedRecordTests(SynchronousTestCase):
    """
    Twisted's JSON log records are read as messages.
    """

    def test_record(self) -> None:
        """
        A Twisted JSON log record becomes a C{twisted:log} message with its
        formatted text, level, namespace and time, as a task of its own.
        """
        messages, errors = read(twisted_log())
        self.assertEqual(errors, [])
        message = only(messages)
        self.assertEqual(message["message_type"], TWISTED_MESSAGE_TYPE)
        self.assertEqual(message["log_text"], "Hello world")
        self.assertEqual((message["log_level"], message["log_namespace"]), ("info", "app.web"))
        self.assertEqual(message["task_level"], [1])
        self.assertIsInstance(message["timestamp"], float)

    def test_uuidFromTheRecord(self) -> None:
        """
        The task UUID of a Twisted record comes from the record alone: the
        same whatever the file is named, from standard input or gzip.
        """
        data = twisted_log()
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(data)
        named = only(list(read_messages([path])))
        other = only(list(read_messages([os.path.join(os.path.dirname(path), ".",
                                                      os.path.basename(path))])))
        stdin = only(list(MessageReader(stdin=io.BytesIO(data)).read(["-"])))
        packed = only(read(gzip.compress(data))[0])
        uuids = {m["task_uuid"] for m in (named, other, stdin, packed)}
        self.assertEqual(len(uuids), 1)
        self.assertEqual(read(twisted_log(failure=True))[0][0]["task_uuid"] in uuids, False)

    def test_failure(self) -> None:
        """
        A Twisted record with a failure gets C{exception}, C{reason} and
        C{traceback} fields.
        """
        message = read(twisted_log(failure=True))[0][0]
        self.assertEqual(message["exception"], "builtins.ZeroDivisionError")
        self.assertIn("ZeroDivisionError", message["traceback"])
        self.assertEqual(message["log_text"], "Request 7 failed")

    def test_bridged(self) -> None:
        """
        A record carrying a txcausal message (written by
        C{TwistedDestination}) gives that message.
        """
        inner = sample_task()[0]
        record = {"txcausal_json": orjson.dumps(inner).decode(), "log_format": "{txcausal_json}",
                  "log_time": 1.0}
        self.assertEqual(read(b"\x1e" + orjson.dumps(record) + b"\n"), ([inner], []))


class TrialLogTests(SynchronousTestCase):
    """
    trial's C{test.log} (Twisted's text format) is read directly.
    """

    def test_messagesAndEvents(self) -> None:
        """
        The txcausal messages after a time and a C{[system]} are read as
        they are; Twisted's own events become C{twisted:log} messages, a
        continued event with its continuation lines, a traceback making it
        a failure.
        """
        messages, errors = read(TRIAL_LOG)
        self.assertEqual(errors, [])
        kinds = [m.get("action_status") or m["log_text"] for m in messages]
        self.assertEqual(
            kinds,
            ["Log opened.", "--> pkg.test_x.T.test_a <--", "started",
             "Unhandled Error\nTraceback (most recent call last):\n"
             '  File "x.py", line 1, in f\nbuiltins.ValueError: bad', "succeeded"],
        )
        event = messages[3]
        self.assertEqual((event["exception"], event["reason"]), ("builtins.ValueError", "bad"))
        self.assertEqual(event["log_system"], "-")
        self.assertEqual(event["timestamp"], 1796533119.0)
        self.assertTrue(only(list(parse_files([io.BytesIO(TRIAL_LOG)]))[2:3]).complete)

    def test_longEventCut(self) -> None:
        """
        An event's continuation lines are kept up to C{max_line} bytes in
        all; the rest are counted.
        """
        data = b"2026-12-06 04:58:39+0000 [-] start\n" + (b"\t" + b"y" * 60 + b"\n") * 6
        (event,), _ = read(data, max_line=200)
        kept = "start" + ("\n" + "y" * 60) * 2
        self.assertEqual(event["log_text"], kept + "\n[4 more lines cut]")


#: Every kind of line, for the places of messages: JSON lines, Twisted
#: records, trial's lines and a text event of several lines, a line too
#: long (within a text event too), a byte-order mark, blank lines and
#: garbage.
MIXED_LOG = (
    b"\xef\xbb\xbf" + lines(start("U", [1], 1.0, "a"))
    + twisted_log() + twisted_log(failure=True)
    + TRIAL_LOG
    + b"2026-12-06 04:58:41+0000 [-] Unhandled Error\n\tTraceback (most recent call last):\n"
    + b"\t" + b"z" * 300 + b"\n\tbuiltins.KeyError: k\n"
    + b"\n" + b"x" * 300 + b"\nnot json\n"
    + lines(end("U", [3], 2.0, "a"))
    + b"2026-12-06 04:58:42+0000 [-] last words\n\tand more\n"
)


class PlacesTests(SynchronousTestCase):
    """
    L{MessageReader.decode_at}: the place of each message in a file, read
    back by L{MessageReader.decode_span}.
    """

    def placed(self, data: bytes, cuts: List[int]) -> List[Tuple[Tuple[int, int], Message]]:
        """
        Decode C{data} a batch of lines at a time, cut at C{cuts}.
        """
        from txcausal._source import LineSplitter, line_length
        from txcausal.parse import StreamState

        reader, state = MessageReader(max_line=200), StreamState("log")
        splitter, offset, previous = LineSplitter(200), 0, 0
        found: List[Tuple[Tuple[int, int], Message]] = []
        for cut in [*sorted(cuts), len(data)]:
            batch = splitter.feed(data[previous:cut])
            previous = max(previous, cut)
            found += reader.decode_at(offset, batch, state)
            offset += sum(line_length(line) + 1 for line in batch)
        found += reader.decode_at(offset, splitter.finish(), state)
        found += reader.finish_at(state)
        return found

    @_settings
    @given(st.lists(st.integers(0, len(MIXED_LOG)), max_size=6))
    def test_readBack(self, cuts: List[int]) -> None:
        """
        However the file is cut into batches, each message is read, and the
        bytes at its place read back into the same message (its task UUID
        too): a line, or the lines of a text event.
        """
        expected, _ = read(MIXED_LOG, max_line=200)
        placed = self.placed(MIXED_LOG, cuts)
        self.assertEqual([message for _, message in placed], expected)
        reader = MessageReader(max_line=200)
        for (offset, length), message in placed:
            span = MIXED_LOG[offset : offset + length]
            self.assertIn(message, reader.decode_span(span, "log"), span)
            self.assertFalse(span.endswith(b"\n") or span.startswith(b"\n"), span)

    def test_repeatsReadBack(self) -> None:
        """
        Records of the same bytes are a task each, and each reads back
        from its place into itself, given its C{log_repeat}.
        """
        line = b"2026-12-06 04:58:39+0000 [-] polling again\n"
        record = b'\x1e{"log_format": "x", "log_time": 7.0}\n'
        data = line * 3 + record * 2 + line
        placed = self.placed(data, [len(line) + 3])
        self.assertEqual(len({m["task_uuid"] for _, m in placed}), 6)
        reader = MessageReader()
        for (offset, length), message in placed:
            span = data[offset : offset + length]
            self.assertIn(message, reader.decode_span(span, "log", message.get("log_repeat", 0)))

    def test_textEventPlace(self) -> None:
        """
        The place of a text event covers its first line and its
        continuation lines.
        """
        placed = self.placed(TRIAL_LOG, [])
        (offset, length), event = placed[3]
        self.assertEqual(TRIAL_LOG[offset : offset + length].split(b"\n"),
                         TRIAL_LOG.split(b"\n")[3:7])


class NeedleTests(SynchronousTestCase):
    """
    L{needle_for} and the needle of L{MessageReader}: one pre-filter for
    the command and the web view.
    """

    def test_needleFor(self) -> None:
        """
        The needle is the text as JSON writes it; none when JSON may write
        it otherwise.
        """
        from txcausal._parse_input import needle_for

        self.assertEqual(needle_for("Req-7"), b"Req-7")
        self.assertEqual(needle_for("Req-7", fold_case=True), b"req-7")
        self.assertEqual([needle_for(t) for t in ['a"b', "a\\b", "a/b", "caf\xe9", "a\nb"]],
                         [None] * 5)

    def test_foldCase(self) -> None:
        """
        With C{fold_case}, a JSON line is kept if it holds the needle in
        any case; the text lines of trial's C{test.log}, whose task UUID
        and text the reader makes, are always decoded.
        """
        data = lines(msg("A", [1], 1.0, message_type="Hello"), msg("B", [1], 1.0)) + TRIAL_LOG
        reader = MessageReader(needle=b"hello", fold_case=True)
        messages = list(reader.read([io.BytesIO(data)]))
        self.assertEqual([m["task_uuid"] for m in messages][:1], ["A"])
        self.assertEqual(len(messages), 1 + len(read(TRIAL_LOG)[0]))


class LongIntegerTests(SynchronousTestCase):
    """
    Integers past 64 bits, which txcausal writes exactly, are read exactly
    (orjson alone reads them as floats), wherever a message comes from.
    """

    huge = {"n": 2**70, "m": -(2**66), "deep": [{"k": 2**64}, 10**30], "f": 1.5e21}

    def message(self, uuid: str = "U") -> Message:
        return msg(uuid, [1], 1.0, message_type="big", **self.huge)

    def assertExact(self, message: Message) -> None:
        """
        C{message} holds L{huge}'s values with their types.
        """
        got = {key: message[key] for key in self.huge}
        self.assertEqual(got, self.huge)
        self.assertEqual(
            [type(got["n"]), type(got["m"]), type(got["deep"][0]["k"]), type(got["deep"][1])],
            [int] * 4,
        )
        self.assertIs(type(got["f"]), float)

    def test_jsonLines(self) -> None:
        """
        JSON lines, read from a stream or from lines given, among lines
        without such integers and lines with twenty digits after a point.
        """
        data = (lines(*sample_task("A")) + json.dumps(self.message()).encode() + b"\n"
                + lines(msg("B", [1], 1.0, duration=0.00014445799934037495)))
        messages, errors = read(data)
        self.assertEqual(errors, [])
        self.assertEqual(messages[: len(sample_task("A"))], sample_task("A"))
        self.assertExact(messages[-2])
        self.assertEqual(messages[-1]["duration"], 0.00014445799934037495)
        self.assertExact(only(list(read_messages([[json.dumps(self.message()).encode()]]))))

    def test_deepInABatch(self) -> None:
        """
        Such an integer far into a batch of lines (which is looked at a
        thousand lines or so at a time) is read exactly.
        """
        given = [lines(m).rstrip() for m in sample_task("A")] * 300
        given.append(json.dumps(self.message()).encode())
        self.assertExact(list(read_messages([given]))[-1])

    def test_otherFormats(self) -> None:
        """
        A Twisted JSON record, a txcausal message it carries, and a
        txcausal message in trial's text log are read exactly too.
        """
        inner = json.dumps(self.message("B"))
        record = json.dumps(dict(self.huge, log_format="x", log_time=1.0)).encode()
        bridged = json.dumps({"txcausal_json": inner, "log_format": "{txcausal_json}",
                              "log_time": 1.0}).encode()
        text = b"2026-12-06 04:58:39+0000 [-] " + json.dumps(self.message("C")).encode()
        messages, errors = read(b"\x1e" + record + b"\n\x1e" + bridged + b"\n" + text + b"\n")
        self.assertEqual(errors, [])
        self.assertEqual([m["task_uuid"] for m in messages[1:]], ["B", "C"])
        for message in messages:
            self.assertExact(message)
