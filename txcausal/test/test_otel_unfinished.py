"""
Tests for the spans L{txcausal.otel.SpanDestination} makes of actions still
open when it is removed: one span per action, even when the destination is
added again before they finish, ending where C{txcausal export} of the same
log ends it; and none handed to the processors of a provider shut down,
counted and reported instead.
"""

from __future__ import annotations

import gc
from typing import Any, Dict, List

from opentelemetry.sdk.trace import ReadableSpan
from twisted.trial.unittest import SynchronousTestCase

from txcausal import _message, _output, log_message, remove_destination, start_action, start_task
from txcausal._feedback import FEEDBACK
from txcausal._otel_open import Open
from txcausal._otel_spans import START_MISSING_ATTRIBUTE, UNFINISHED_ATTRIBUTE, SpanBuilder
from txcausal._otel_tasks import task_spans
from txcausal.parse import parse_messages

from ._reading import end, msg, start
from .test_otel import SpanMixin

UNFINISHED = {UNFINISHED_ATTRIBUTE: True}
#: A timestamp past 2554.
FAR = 1e12


class ReportsMixin(SpanMixin):
    """
    The destination's reports of losses, but those of refused feedback.
    """

    def reports(self) -> List[Dict[str, Any]]:
        return [m for m in self.messages if m.get("message_type") == "txcausal:messages_dropped"
                and m["reason"] != FEEDBACK]


class ReaddedTests(ReportsMixin, SynchronousTestCase):
    """
    A destination removed while actions ran, then added again before they
    finished: the actions it ended as unfinished do not become second spans.
    """

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


class EndTimeTests(SpanMixin, SynchronousTestCase):
    """
    An action left open ends, live and exported, at its last message (its
    own or its descendants'), not when the destination was removed.
    """

    def exported(self, messages: List[Dict[str, Any]]) -> Dict[str, ReadableSpan]:
        """
        @return: The spans C{txcausal export} makes of C{messages}, by name.
        """
        tasks = parse_messages(iter(messages))
        builder = SpanBuilder(self.destination._pipeline.builder.resource,  # type: ignore
                              self.destination._pipeline.builder.limits)  # type: ignore
        return {span.name: span for task in tasks for span in task_spans(task, builder)}

    def test_sameEnd(self) -> None:
        """
        The live span of an unfinished action and the exported one end at
        the same time: the last message in it or in its descendants (here,
        a finished child's finish, after an event in it), and so does an
        unfinished child's.
        """
        exporter = self.spans()
        times = iter([10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0])
        self.patch(_message, "time", lambda: next(times))
        with start_task(action_type="app:outer").context():
            log_message(message_type="app:note")
            with start_action(action_type="app:child"):
                log_message(message_type="app:inside")
            start_action(action_type="app:open")
        remove_destination(self.destination)
        self.assertEqual(self.byName(exporter)["app:outer"].end_time, 15_000_000_000)
        self.assertSameEnds(exporter, ["app:outer", "app:open", "app:child"])

    def assertSameEnds(self, exporter: Any, names: List[str]) -> None:
        """
        The live spans named C{names} start and end as the exported ones.
        """
        live = self.byName(exporter)
        exported = self.exported(self.messages)
        for name in names:
            self.assertEqual((name, live[name].start_time, live[name].end_time),
                             (name, exported[name].start_time, exported[name].end_time))

    def test_openUnderFinished(self) -> None:
        """
        An action still open inside a finished one carries its last message
        to the nearest unfinished action enclosing it.
        """
        exporter = self.spans()
        times = iter([10.0, 11.0, 12.0, 13.0, 14.0])
        self.patch(_message, "time", lambda: next(times))
        with start_task(action_type="app:outer").context():
            child = start_action(action_type="app:child")
            with child.context():
                grandchild = start_action(action_type="app:grandchild")
            child.finish()
            with grandchild.context():
                log_message(message_type="app:late")
        remove_destination(self.destination)
        self.assertEqual(self.byName(exporter)["app:outer"].end_time, 14_000_000_000)
        self.assertSameEnds(exporter, ["app:outer", "app:grandchild"])

    def test_clockBack(self) -> None:
        """
        A finished child whose finish is stamped before its last event (the
        clock went back) carries the later time.
        """
        exporter = self.spans()
        times = iter([10.0, 11.0, 15.0, 12.0])
        self.patch(_message, "time", lambda: next(times))
        with start_task(action_type="app:outer").context():
            with start_action(action_type="app:child"):
                log_message(message_type="app:note")
        remove_destination(self.destination)
        self.assertEqual(self.byName(exporter)["app:outer"].end_time, 15_000_000_000)
        self.assertSameEnds(exporter, ["app:outer"])

    def test_attempt(self) -> None:
        """
        A Dask attempt run in the process of its computation carries its
        last message past its position, which is no action, to the
        computation.
        """
        exporter = self.spans()
        uuid = "7b0a5c1e-1111-4222-8333-944444444444"
        for message in [
            {"task_uuid": uuid, "task_level": [1], "timestamp": 10.0,
             "action_type": "dask:compute", "action_status": "started"},
            {"task_uuid": uuid, "task_level": [4, 8, 1], "timestamp": 11.0,
             "action_type": "eliot:remote_task", "action_status": "started",
             "attempt_of": "/4"},
            {"task_uuid": uuid, "task_level": [4, 8, 2], "timestamp": 14.0,
             "message_type": "app:work"},
        ]:
            self.destination(message)
            self.messages.append(message)
        remove_destination(self.destination)
        self.assertEqual(self.byName(exporter)["dask:compute"].end_time, 14_000_000_000)
        self.assertSameEnds(exporter, ["dask:compute", "eliot:remote_task"])

    def test_givenUpNotKept(self) -> None:
        """
        What an open action keeps does not keep alive the actions enclosing
        it, given up or finished (nor their events): past C{max_open},
        memory stays bounded.
        """
        self.spans(max_open=2)
        action = start_task(action_type="app:a0")
        for depth in range(1, 6):
            with action.context():
                for _ in range(50):
                    log_message(message_type="app:event")
                action = start_action(action_type=f"app:a{depth}")
        gc.collect()
        alive = [entry for entry in gc.get_objects() if type(entry) is Open]
        self.assertEqual((len(self.destination._open), len(alive)), (2, 2))



class ShutDownTests(ReportsMixin, SynchronousTestCase):
    """
    A provider shut down by the program while its destination is still
    added: the spans its processors would drop are counted and reported.
    """

    def test_shutDownFirst(self) -> None:
        """
        The messages of the actions that finish after the provider was shut
        down, and of those still open when the destination is removed, are
        counted in C{dropped} and reported, with the reason; no span goes
        to the shut-down processors.
        """
        exporter = self.spans()
        with start_action(action_type="app:before"):
            pass
        task = start_task(action_type="app:open")
        with task.context():
            log_message(message_type="app:note")
        self.destination._provider.shutdown()  # type: ignore[union-attr]
        with start_action(action_type="app:after"):
            log_message(message_type="app:inside")
        remove_destination(self.destination)
        self.assertEqual([s.name for s in exporter.get_finished_spans()], ["app:before"])
        self.assertEqual(self.destination.dropped, 5)
        reports = self.reports()
        self.assertEqual(sum(report["count"] for report in reports), 5)
        for report in reports:
            self.assertIn("tracer provider was shut down", report["reason"])

    def test_shutDownUntimed(self) -> None:
        """
        An action without a usable time for its start nor its finish that
        finishes after the provider was shut down is counted and reported
        as lost to the shutdown, not for want of a time.
        """
        exporter = self.spans()
        self.destination(start("u", [1], FAR, "op"))
        self.destination(msg("u", [2], FAR, message_type="m"))
        self.destination._provider.shutdown()  # type: ignore[union-attr]
        self.destination(end("u", [3], FAR, "op"))
        remove_destination(self.destination)
        self.assertEqual(exporter.get_finished_spans(), ())
        self.assertEqual(self.destination.dropped, 3)
        [report] = self.reports()
        self.assertEqual(report["count"], 3)
        self.assertIn("tracer provider was shut down", report["reason"])
