"""
Tests that L{txcausal.otel.SpanDestination} (live) and C{txcausal export}
(from the log) give an action whose messages have no usable time (no
C{timestamp}, or one before 1970 or past 2554) the same span, or both none:
one rule for both, L{txcausal._otel_spans.span_times}.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from twisted.trial.unittest import SynchronousTestCase

from txcausal import remove_destination

from ._reading import cli, end, lines, msg, start
from .test_otel_unfinished import ReportsMixin
from .test_reading_hostile import spans

Message = Dict[str, Any]
#: A span's name, start, end and its events' names and times; C{None} for
#: no span.
Shape = Optional[Tuple[str, int, int, List[Tuple[str, int]]]]

S = 1_000_000_000
#: A timestamp past 2554.
FAR = 1e12


def _untimed(uuid: str, level: List[int], **fields: Any) -> Message:
    """
    @return: A message of task C{uuid} without a timestamp.
    """
    return dict(fields, task_uuid=uuid, task_level=level)


class AgreeTests(ReportsMixin, SynchronousTestCase):
    """
    Live and exported spans of actions with unusable times agree.
    """

    def live(self, messages: List[Message]) -> Tuple[Shape, int]:
        """
        @return: The span made live of the messages (the action ended as
            unfinished by removing the destination, if it has no finish),
            and how many messages were counted lost.
        """
        exporter = self.spans()
        for message in messages:
            self.destination(dict(message))
        remove_destination(self.destination)
        made = exporter.get_finished_spans()
        if not made:
            return None, self.destination.dropped
        [span] = made
        assert span.start_time is not None and span.end_time is not None
        events = [(e.name, e.timestamp) for e in span.events]
        return (span.name, span.start_time, span.end_time, events), self.destination.dropped

    def exported(self, messages: List[Message]) -> Tuple[Shape, str]:
        """
        @return: The span C{txcausal export} makes of the messages, and its
            standard error.
        """
        status, out, err = cli(["export", "--format", "otlp-json"], lines(*messages))
        made = list(spans(out))
        if not made:
            return None, err
        [span] = made
        events = [(e["name"], int(e["timeUnixNano"])) for e in span.get("events", [])]
        return (span["name"], int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"]),
                events), err

    def agree(self, messages: List[Message], expected: Shape) -> Tuple[int, str]:
        """
        Assert that both make the C{expected} span.

        @return: The count of messages lost live, and export's standard error.
        """
        live, dropped = self.live(messages)
        exported, err = self.exported(messages)
        self.assertEqual((live, exported), (expected, expected))
        return dropped, err

    def test_startUntimed(self) -> None:
        """
        An action whose start has no usable time starts its C{duration}
        before its finish; an event without a time is at that start.
        """
        dropped, err = self.agree(
            [start("a", [1], FAR, "op"), _untimed("a", [2], message_type="m"),
             end("a", [3], 3.0, "op", duration=1.0)],
            ("op", 2 * S, 3 * S, [("m", 2 * S)]))
        self.assertEqual(dropped, 0)

    def test_startUntimedNegativeDuration(self) -> None:
        """
        An action whose start has no usable time and whose finish has a
        negative C{duration} starts as it finishes, not after.
        """
        dropped, err = self.agree(
            [start("n", [1], FAR, "op"), end("n", [2], 5.0, "op", duration=-3.0)],
            ("op", 5 * S, 5 * S, []))
        self.assertEqual(dropped, 0)

    def test_finishUntimed(self) -> None:
        """
        An action whose finish has no usable time ends at its last message
        with one, as an unfinished action does.
        """
        dropped, err = self.agree(
            [start("b", [1], 1.0, "op"), msg("b", [2], 2.0, message_type="m"),
             _untimed("b", [3], action_type="op", action_status="succeeded")],
            ("op", S, 2 * S, [("m", 2 * S)]))
        self.assertEqual(dropped, 0)
        self.assertNotIn("its action has no span", err)

    def test_noTime(self) -> None:
        """
        An action with no usable time at all has no span: its messages are
        counted lost live and reported, and export reports the action.
        """
        dropped, err = self.agree(
            [start("c", [1], FAR, "op"), _untimed("c", [2], message_type="m"),
             end("c", [3], FAR, "op")], None)
        self.assertEqual(dropped, 3)
        [report] = self.reports()
        self.assertEqual(report["count"], 3)
        self.assertIn("no timestamp from 1970 to 2554", report["reason"])
        self.assertIn("its action has no span: no timestamp from 1970 to 2554", err)

    def test_unfinishedStartUntimed(self) -> None:
        """
        An unfinished action whose start has no usable time has no span,
        live or exported, even when a message inside has a time: live, its
        messages are reported lost for want of a time when the destination
        is removed.
        """
        dropped, err = self.agree(
            [start("d", [1], FAR, "op"), msg("d", [2], 2.0, message_type="m")], None)
        self.assertEqual(dropped, 2)
        [report] = self.reports()
        self.assertEqual(report["count"], 2)
        self.assertIn("no timestamp from 1970 to 2554", report["reason"])
        self.assertIn("its action has no span", err)
