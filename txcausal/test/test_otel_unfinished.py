"""
Tests for the spans L{txcausal.otel.SpanDestination} makes of actions still
open when it is removed: one span per action, even when the destination is
added again before they finish, ending where C{txcausal export} of the same
log ends it.
"""

from __future__ import annotations

from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal import _output, log_message, remove_destination, start_action, start_task
from txcausal._feedback import FEEDBACK
from txcausal._otel_spans import START_MISSING_ATTRIBUTE, UNFINISHED_ATTRIBUTE

from .test_otel import SpanMixin

UNFINISHED = {UNFINISHED_ATTRIBUTE: True}


class ReaddedTests(SpanMixin, SynchronousTestCase):
    """
    A destination removed while actions ran, then added again before they
    finished: the actions it ended as unfinished do not become second spans.
    """

    def reports(self) -> List[Dict[str, Any]]:
        return [m for m in self.messages if m.get("message_type") == "txcausal:messages_dropped"
                and m["reason"] != FEEDBACK]

    def test_noSecondSpan(self) -> None:
        """
        The finish of an action ended as unfinished when the destination was
        removed, and the messages logged in it, make no span (no second one
        with the same span id, marked C{txcausal.start_missing}): they are
        counted as lost, and reported as logged in an action already ended.
        An action started inside it after the destination came back is a
        span, the child of the unfinished one.
        """
        exporter = self.spans()
        task = start_task(action_type="app:outer")
        remove_destination(self.destination)
        _output._DESTINATIONS.add(self.destination)
        with task.context():
            log_message(message_type="app:late")
            with start_action(action_type="app:child"):
                pass
        task.finish()
        spans = exporter.get_finished_spans()
        self.assertEqual([(s.name, s.attributes) for s in spans],
                         [("app:outer", UNFINISHED), ("app:child", {})])
        self.assertEqual(spans[1].parent.span_id, spans[0].context.span_id)  # type: ignore
        remove_destination(self.destination)
        self.assertEqual(self.destination.dropped, 2)
        reports = self.reports()
        self.assertEqual(sum(report["count"] for report in reports), 2)
        for report in reports:
            self.assertIn("already ended as unfinished", report["reason"])

    def test_forgetsOnFinish(self) -> None:
        """
        An ended action is forgotten once its finish comes: another
        destination removal and return keep no trace of it.
        """
        exporter = self.spans()
        task = start_task(action_type="app:outer")
        remove_destination(self.destination)
        _output._DESTINATIONS.add(self.destination)
        task.finish()
        self.assertEqual(self.destination._ended, {})
        self.assertEqual(len(exporter.get_finished_spans()), 1)

    def test_endedBounded(self) -> None:
        """
        At most C{max_open} ended actions are remembered: the finish of one
        forgotten makes a span marked C{txcausal.start_missing}, as for any
        action whose start was not seen.
        """
        exporter = self.spans(max_open=1)
        first = start_task(action_type="app:first")
        remove_destination(self.destination)
        _output._DESTINATIONS.add(self.destination)
        start_task(action_type="app:second")
        remove_destination(self.destination)
        _output._DESTINATIONS.add(self.destination)
        first.finish()
        names = [(s.name, dict(s.attributes or {})) for s in exporter.get_finished_spans()]
        self.assertEqual(names, [("app:first", UNFINISHED), ("app:second", UNFINISHED),
                                 ("app:first", {START_MISSING_ATTRIBUTE: True})])

