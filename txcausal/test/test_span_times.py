"""
Tests for the times of spans made from hostile messages (review 30): a
time outside what OTLP can hold (nanoseconds since 1970 in 64 bits, up to
the year 2554) is no time, in C{txcausal export} and in
L{txcausal.otel.SpanDestination}.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from twisted.trial.unittest import SynchronousTestCase

from txcausal._otel_spans import ended_after, nanoseconds, started_before
from txcausal.otel import SpanDestination
from txcausal.test._reading import cli, end, lines, start
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
        A duration that would start the action before 1970 or after 2554
        is ignored: the action starts as it ends.
        """
        self.assertEqual(started_before(10_000_000_000, {"duration": 2.5}), 7_500_000_000)
        for duration in (1e12, -1e12, 2**70, -(2**70), 11.0):
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
        self.assertIn("exported 1 spans from 2 tasks, 1 action without a time\n", err)

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


class LiveTests(SynchronousTestCase):
    """
    L{SpanDestination} keeps the times of the spans it makes within OTLP's.
    """

    def _span(self, *messages: Dict[str, Any]) -> Tuple[int, int]:
        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        destination = SpanDestination(provider)
        for message in messages:
            destination(message)
        [span] = exporter.get_finished_spans()
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
