"""
Tests for L{txcausal._twisted_records}: Twisted's records read without
evaluating anything they hold.
"""

from __future__ import annotations

import os

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from txcausal._twisted_records import (
    _REMEMBERED,
    MAX_FORMAT_WIDTH,
    REPEAT_FIELD,
    Repeats,
    failure_fields,
    record_uuid,
    safe_format,
    split_text_line,
    text_event,
    twisted_record,
)
from txcausal.test._reading import twisted_log


class SafeFormatTests(SynchronousTestCase):
    """
    Tests for L{safe_format}.
    """

    def test_plainFields(self) -> None:
        """
        Plain field names are replaced by their values, with conversions
        and format specifications.
        """
        event = {"who": "world", "n": 3, "x": 1.5}
        self.assertEqual(safe_format("Hi {who}!", event), "Hi world!")
        self.assertEqual(safe_format("{who!r} {n:>4} {x:.3f}", event), "'world'    3 1.500")
        self.assertEqual(safe_format("{{literal}}", event), "{literal}")

    def test_flattened(self) -> None:
        """
        The text the writing process flattened into C{log_flattened} is
        used, for any field, without evaluating it here.
        """
        record = orjson.loads(twisted_log().lstrip(b"\x1e"))
        record["log_format"] = "{who.upper()} and {who!r}"
        record["log_flattened"] = {"who.upper()!s:": "WORLD", "who!r:": "'world'"}
        self.assertEqual(safe_format(record["log_format"], record), "WORLD and 'world'")

    def test_noEvaluation(self) -> None:
        """
        Attribute access, indexing and calls are not evaluated: the raw
        format is shown instead.
        """
        injection = "{log_logger.__init__.__globals__[os].environ[HOME]}"
        for fmt in (injection, "{a[0]}", "{a.real}", "{f()}", "{0}", "{}", "{missing}"):
            self.assertEqual(safe_format(fmt, {"a": [1], "log_logger": {}, "f": "x"}), fmt)
        self.assertNotIn(os.environ.get("HOME", "/nonexistent"), safe_format(injection, {}))

    def test_boundedWidth(self) -> None:
        """
        A width or precision past L{MAX_FORMAT_WIDTH}, or a nested field in
        the specification, shows the raw format.
        """
        wide = "{log_time:>400000000}"
        self.assertEqual(safe_format(wide, {"log_time": 1.0}), wide)
        self.assertEqual(safe_format("{x:.99999f}", {"x": 1.0}), "{x:.99999f}")
        self.assertEqual(safe_format("{x:{y}}", {"x": 1, "y": 5}), "{x:{y}}")
        self.assertEqual(len(safe_format(f"{{x:>{MAX_FORMAT_WIDTH}}}", {"x": 1})),
                         MAX_FORMAT_WIDTH)

    def test_badFormats(self) -> None:
        """
        Formats that do not parse, specifications a value does not take,
        and formats that are not text are shown raw or as text.
        """
        self.assertEqual(safe_format("{unclosed", {}), "{unclosed")
        self.assertEqual(safe_format("{d:>5}", {"d": {"a": 1}}), "{d:>5}")
        self.assertEqual(safe_format(None, {}), "")
        self.assertEqual(safe_format(42, {}), "42")

    @settings(derandomize=True, deadline=None, max_examples=200)
    @given(st.text(max_size=40), st.dictionaries(st.text(max_size=5), st.integers()))
    def test_neverRaises(self, fmt: str, event: dict) -> None:  # type: ignore[type-arg]
        """
        Any format and fields give text, never an exception.
        """
        self.assertIsInstance(safe_format(fmt, event), str)


class RecordTests(SynchronousTestCase):
    """
    Tests for L{twisted_record}, L{failure_fields} and L{record_uuid}.
    """

    def test_failureFromFrames(self) -> None:
        """
        A failure's traceback is rebuilt from its recorded frames, without
        reading the files they name.
        """
        fields = failure_fields({
            "type": {"__module__": "builtins", "__name__": "KeyError"},
            "frames": [["secret", "/etc/passwd", 1, [], []]],
        })
        self.assertEqual(fields["exception"], "builtins.KeyError")
        self.assertEqual(
            fields["traceback"],
            'Traceback (most recent call last):\n  File "/etc/passwd", line 1, in secret\n'
            "builtins.KeyError: (not recorded)\n",
        )
        self.assertEqual(failure_fields("odd")["exception"], "?")

    def test_injectedRecord(self) -> None:
        """
        A record whose format reaches for module globals is shown with its
        raw format.
        """
        fmt = "{log_logger.__init__.__globals__[os].environ[HOME]}"
        record = orjson.dumps({"log_format": fmt, "log_time": 1.0, "log_logger": {}})
        self.assertEqual(twisted_record(record)["log_text"], fmt)

    def test_uuid(self) -> None:
        """
        The UUID of a record is derived from its bytes.
        """
        self.assertEqual(record_uuid(b"{}"), record_uuid(b"{}"))
        self.assertNotEqual(record_uuid(b"{}"), record_uuid(b"{ }"))
        self.assertEqual(twisted_record(b'{"log_time": 1}')["task_uuid"],
                         record_uuid(b'{"log_time": 1}'))

    def test_notRecords(self) -> None:
        """
        JSON without C{log_} fields is not a record.
        """
        self.assertRaises(ValueError, twisted_record, b'{"a": 1}')
        self.assertRaises(ValueError, twisted_record, b"[1]")

    def test_textLine(self) -> None:
        """
        L{split_text_line} splits Twisted's text format, with any zone.
        """
        self.assertEqual(split_text_line(b"2026-12-06 04:58:39+0000 [a b] x y"),
                         (1796533119.0, "a b", b"x y"))
        self.assertEqual(split_text_line(b"2026-12-06T05:58:39+01:00 [-] x"),
                         (1796533119.0, "-", b"x"))
        self.assertIsNone(split_text_line(b"garbage [-] x"))

    def test_textFailure(self) -> None:
        """
        An event of Twisted's text format whose traceback ends with the
        exception (a failure with frames) or, for a failure without
        frames, with C{Failure: } and the exception, is a failure of that
        exception.
        """
        framed = ("Dividing\nTraceback (most recent call last):\n"
                  '  File "t.py", line 3, in f\n    1 / 0\n'
                  "builtins.ZeroDivisionError: division by zero\n")
        frameless = ("Unhandled Error\nTraceback (most recent call last):\n"
                     "Failure: builtins.ValueError: nobody: handled\n")
        for text, exception, reason in [
            (framed, "builtins.ZeroDivisionError", "division by zero"),
            (frameless, "builtins.ValueError", "nobody: handled"),
        ]:
            message = text_event(1.0, "-", text, text.encode())
            self.assertEqual((message["exception"], message["reason"]), (exception, reason))
            self.assertEqual(message["traceback"], text[text.index("Traceback"):])


class RepeatsTests(SynchronousTestCase):
    """
    Tests for L{Repeats}: records of the same bytes in one stream get a
    task UUID each.
    """

    def test_firstKeepsItsUUID(self) -> None:
        """
        The first record of some bytes gets the UUID of its bytes alone
        (L{record_uuid}) and no L{REPEAT_FIELD}; records of other bytes
        are counted apart.
        """
        repeats = Repeats()
        self.assertEqual(repeats.uuid_for(b"a", 1.0), (record_uuid(b"a"), 0))
        self.assertEqual(repeats.uuid_for(b"b", 1.0), (record_uuid(b"b"), 0))
        self.assertNotIn(REPEAT_FIELD, text_event(1.0, "-", "a", b"a", Repeats()))

    def test_repeatsApart(self) -> None:
        """
        Each repeat of the same bytes gets a UUID of its own and its number
        in L{REPEAT_FIELD}; a second count of the same stream gives the same
        UUIDs.
        """
        def count() -> list:  # type: ignore[type-arg]
            repeats = Repeats()
            return [text_event(1.0, "-", "a", b"a", repeats) for _ in range(3)]

        events = count()
        self.assertEqual(len({e["task_uuid"] for e in events}), 3)
        self.assertEqual([e.get(REPEAT_FIELD) for e in events], [None, 1, 2])
        self.assertEqual(count(), events)

    def test_records(self) -> None:
        """
        Twisted JSON records of the same bytes are counted too; a record
        that has its own task UUID is not renamed.
        """
        repeats, data = Repeats(), twisted_log()[1:].strip()
        first, second = twisted_record(data, repeats), twisted_record(data, repeats)
        self.assertEqual(first["task_uuid"], record_uuid(data))
        self.assertNotEqual(second["task_uuid"], first["task_uuid"])
        self.assertEqual(second[REPEAT_FIELD], 1)
        own = orjson.dumps({"log_time": 1.0, "task_uuid": "mine", "task_level": [1]})
        self.assertEqual([twisted_record(own, repeats)["task_uuid"] for _ in "ab"],
                         ["mine", "mine"])

    def test_first(self) -> None:
        """
        Counting from C{first} gives the UUID of the repeat of that number,
        as when reading a record back alone.
        """
        repeats = Repeats()
        third = [repeats.uuid_for(b"a", 1.0) for _ in range(3)][2]
        self.assertEqual(Repeats(2).uuid_for(b"a", 1.0), third)

    def test_forgottenWhenTheTimeChanges(self) -> None:
        """
        Past L{_REMEMBERED} records, the counts are forgotten when the time
        changes, not before: repeats of the same time are all told apart.
        """
        repeats = Repeats()
        repeats.uuid_for(b"a", 1.0)
        for i in range(_REMEMBERED):
            repeats.uuid_for(b"%d" % i, 1.0)
        self.assertEqual(repeats.uuid_for(b"a", 1.0)[1], 1)
        self.assertEqual(repeats.uuid_for(b"b", 2.0)[1], 0)
        self.assertEqual(repeats.uuid_for(b"a", 1.0)[1], 0)

    def test_copy(self) -> None:
        """
        A copy holds the counts of every record remembered, of earlier times
        too: counting on from it numbers the next records, one of an
        earlier time among them (a file older than the last lines read of
        another), as counting on from the whole does; the original counts
        on unchanged by the copy's counting.
        """
        for times in ([1.0, 2.0, 2.0], [1.0, None, None]):
            repeats = Repeats()
            for when, data in zip(times, [b"old", b"a", b"b"], strict=True):
                repeats.uuid_for(data, when)
                repeats.uuid_for(data, when)
            copy = repeats.copy().copy()
            self.assertEqual(copy._seen, repeats._seen)
            for when, data in [(times[-1], b"a"), (times[-1], b"b"), (1.0, b"old")]:
                self.assertEqual(copy.uuid_for(data, when)[1], 2)
                self.assertEqual(repeats.uuid_for(data, when)[1], 2)

    def test_copyClockBack(self) -> None:
        """
        A record counted again when the clock went back to its time (a
        line of an earlier second between two copies, as threads logging
        out of order write; or records without a time around one with a
        time) is in the copy with its whole count.
        """
        for times in ([0.0, 1.0, 0.0], [None, 1.0, None]):
            repeats = Repeats()
            for when, data in zip(times, [b"a", b"b", b"a"], strict=True):
                repeats.uuid_for(data, when)
            copy = repeats.copy()
            self.assertEqual(copy.uuid_for(b"a", times[-1]),
                             repeats.uuid_for(b"a", times[-1]))
