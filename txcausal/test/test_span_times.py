"""
Tests for the times of spans made from hostile messages (review 30): a
time outside what OTLP can hold (nanoseconds since 1970 in 64 bits, up to
the year 2554) is no time, in C{txcausal export} and in
L{txcausal.otel.SpanDestination}.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from twisted.trial.unittest import SynchronousTestCase

from txcausal._otel_spans import ended_after, nanoseconds, started_before
from txcausal.otel import SpanDestination
from txcausal.test._reading import cli, end, lines, msg, start
from txcausal.test.test_reading_hostile import spans

#: The last nanosecond OTLP can hold.
LAST = 2**64 - 1


class BoundsTests(SynchronousTestCase):
    """
    L{nanoseconds}, L{started_before} and L{ended_after} give times from
    0 to C{2**64 - 1} nanoseconds only.
    """

    def test_nanoseconds(self) -> None:
        """
        A timestamp before 1970 or past 2554 is no time.
        """
        self.assertEqual(nanoseconds(1.5), 1_500_000_000)
        self.assertEqual(nanoseconds(0), 0)
        self.assertEqual(nanoseconds(18446744073), 18446744073_000_000_000)
        for timestamp in (18446744074, 1e12, -1.0, 2**70, float("inf"), "1.0", None):
            self.assertIsNone(nanoseconds(timestamp), timestamp)

    def test_startedBefore(self) -> None:
        """
        A duration that would start the action before 1970 or after 2554,
        a negative one (that would start it after it ends) and one not
        finite are ignored: the action starts as it ends.
        """
        self.assertEqual(started_before(10_000_000_000, {"duration": 2.5}), 7_500_000_000)
        self.assertEqual(started_before(10_000_000_000, {"duration": 0}), 10_000_000_000)
        for duration in (1e12, -1e12, 2**70, -(2**70), 11.0, -3.0, -1, -1e-9,
                         float("nan"), float("inf"), float("-inf")):
            self.assertEqual(started_before(10_000_000_000, {"duration": duration}),
                             10_000_000_000, duration)

    def test_endedAfter(self) -> None:
        """
        A duration that would end the action after 2554 is ignored: the
        action ends as it starts.
        """
        self.assertEqual(ended_after(5, 3, {"duration": 1e-9}), 6)
        self.assertEqual(ended_after(LAST - 10, 3, {"duration": 1.0}), LAST - 10)


def export(data: bytes) -> Tuple[List[Tuple[int, int]], str]:
    """
    @return: The start and end of each span C{export --format otlp-json}
        writes, and its standard error.
    """
    status, out, err = cli(["export", "--format", "otlp-json"], data)
    assert status == 0, err
    return [(int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])) for s in spans(out)], err


class ExportTests(SynchronousTestCase):
    """
    C{export --format otlp-json} given times OTLP cannot hold.
    """

    def test_timestampPast2554(self) -> None:
        """
        An action whose timestamps are past 2554 has no span, and that is
        reported; the other actions are exported.
        """
        data = lines(start("a", [1], 1e12, "op"), end("a", [2], 1e12, "op"),
                     start("b", [1], 1.0, "op"), end("b", [2], 2.0, "op"))
        times, err = export(data)
        self.assertEqual(times, [(1_000_000_000, 2_000_000_000)])
        self.assertIn("message 'a'/1: its action has no span: no timestamp from 1970 to 2554", err)
        self.assertIn("exported 1 span from 2 tasks, 1 action without a time\n", err)

    def test_hugeNegativeDurationNoStart(self) -> None:
        """
        An action whose start message is missing and whose finish has a
        negative duration reaching past 2554 lasts no time.
        """
        times, err = export(lines(end("a", [2], 140.0, "op", duration=-1e12)))
        self.assertEqual(times, [(140_000_000_000, 140_000_000_000)])

    def test_hugeDurationEndBeforeStart(self) -> None:
        """
        An action finished before it started, with a duration reaching past
        2554 or before 1970, lasts no time.
        """
        for duration in (b"1e9", b"1e12", b"1e300", b"%d" % 2**70):
            data = lines(start("a", [1], 150.0, "op"), end("a", [2], 140.0, "op", duration=0))
            times, err = export(data.replace(b'"duration":0', b'"duration":' + duration))
            self.assertEqual(times, [(150_000_000_000, 150_000_000_000)], duration)


def live(*messages: Dict[str, Any]) -> Sequence[ReadableSpan]:
    """
    @return: The spans a L{SpanDestination} of a tracer provider of its own
        makes of (copies of) C{messages}.
    """
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    destination = SpanDestination(provider)
    for message in messages:
        destination(dict(message))
    return exporter.get_finished_spans()


class LiveTests(SynchronousTestCase):
    """
    L{SpanDestination} keeps the times of the spans it makes within OTLP's.
    """

    def _span(self, *messages: Dict[str, Any]) -> Tuple[int, int]:
        [span] = live(*messages)
        assert span.start_time is not None and span.end_time is not None
        return span.start_time, span.end_time

    def test_hugeDuration(self) -> None:
        """
        A finish earlier than the start with a duration reaching past 2554
        ends the span as it starts.
        """
        for duration in (1e12, 1e300, 2**70):
            finish = end("U", [2], 140.0, "y", duration=duration)
            self.assertEqual(self._span(start("U", [1], 150.0, "y"), finish),
                             (150_000_000_000, 150_000_000_000))


#: An action at 1 s to 3 s with two messages: one without a timestamp, one
#: past 2554, and one at 2 s.
UNTIMED_EVENTS = [
    start("e", [1], 1.0, "op"),
    {"task_uuid": "e", "task_level": [2], "message_type": "none"},
    msg("e", [3], 1e12, message_type="late"),
    msg("e", [4], 2.0, message_type="timed"),
    end("e", [5], 3.0, "op"),
]


class EventTimeTests(SynchronousTestCase):
    """
    A message logged in an action without a usable time is a span event at
    its action's start, exported and live alike; the export reports it.
    """

    def test_export(self) -> None:
        """
        Exported, such an event is at its action's start, reported and
        counted in the summary.
        """
        status, out, err = cli(["export", "--format", "otlp-json"], lines(*UNTIMED_EVENTS))
        [span] = spans(out)
        times = [(e["name"], int(e["timeUnixNano"])) for e in span["events"]]
        self.assertEqual(times, [("none", 1_000_000_000), ("late", 1_000_000_000),
                                 ("timed", 2_000_000_000)])
        self.assertIn("message 'e'/2: no timestamp from 1970 to 2554: its span event is at its"
                      " action's start\n", err)
        self.assertIn("message 'e'/3: no timestamp", err)
        self.assertIn("exported 1 span from 1 task, 2 messages without a time\n", err)

    def test_live(self) -> None:
        """
        Made live, such an event is at its action's start too, as exported.
        """
        [span] = live(*UNTIMED_EVENTS)
        self.assertEqual([(e.name, e.timestamp) for e in span.events],
                         [("none", 1_000_000_000), ("late", 1_000_000_000),
                          ("timed", 2_000_000_000)])

    def test_exceptionEvent(self) -> None:
        """
        The exception event of a failed action is at its span's end, live
        and exported, even when the finish message's time is no time.
        """
        messages = [start("f", [1], 5.0, "op"),
                    end("f", [2], 1e12, "op", "failed", exception="E", reason="r")]
        [span] = live(*messages)
        self.assertEqual([(e.name, e.timestamp) for e in span.events],
                         [("exception", span.end_time)])
