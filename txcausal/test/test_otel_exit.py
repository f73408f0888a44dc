"""
Tests for what L{txcausal.otel.SpanDestination} does when it is removed and
at exit: the actions still open become spans marked C{txcausal.unfinished},
and the losses not reported yet are reported.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import StatusCode
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from txcausal import _output, log_message, remove_destination, start_action, start_task
from txcausal._feedback import FEEDBACK
from txcausal._otel_destination import end_open_at_exit
from txcausal._otel_spans import UNFINISHED_ATTRIBUTE
from txcausal._traceids import span_id
from txcausal.otel import SpanDestination

from ._helpers import run_python
from ._writer_harness import WriterHarness
from .test_otel import SpanMixin, provider

UNFINISHED = {UNFINISHED_ATTRIBUTE: True}


class Refusing(SpanProcessor):
    """
    A span processor that raises.
    """

    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("no")


class EndTests(SpanMixin, SynchronousTestCase):
    """
    The actions a destination still has open when it is removed, or when
    the registry finishes at exit, become spans marked unfinished.
    """

    def openActions(self) -> Any:
        """
        Start a task with an event and an action inside it, both left open,
        and a finished one.

        @return: The task's action.
        """
        with start_action(action_type="app:done"):
            pass
        task = start_task(action_type="app:outer", n=1)
        with task.context():
            log_message(message_type="app:note")
            start_action(action_type="app:inner")
        return task

    def assertEnded(self, spans: Dict[str, ReadableSpan], task: Any) -> None:
        outer, inner = spans["app:outer"], spans["app:inner"]
        self.assertEqual(outer.attributes, {"n": 1, **UNFINISHED})
        self.assertEqual(inner.attributes, UNFINISHED)
        self.assertEqual(outer.context.span_id, span_id(task.task_uuid, []))
        self.assertEqual(inner.parent.span_id, outer.context.span_id)  # type: ignore
        self.assertEqual([e.name for e in outer.events], ["app:note"])
        self.assertEqual(outer.status.status_code, StatusCode.UNSET)
        # Each ends at its last message: the inner action's start, logged
        # after the event (see test_otel_unfinished for export's ends).
        self.assertEqual(inner.end_time, inner.start_time)
        self.assertEqual(outer.end_time, inner.start_time)
        self.assertLessEqual(outer.events[0].timestamp, outer.end_time)  # type: ignore
        self.assertNotIn(UNFINISHED_ATTRIBUTE, spans["app:done"].attributes or {})

    def test_removed(self) -> None:
        """
        Removing the destination ends its open actions: each a span marked
        C{txcausal.unfinished}, with its events, its parent the enclosing
        action, ending at its last message.
        """
        exporter = self.spans()
        task = self.openActions()
        remove_destination(self.destination)
        self.assertEnded(self.byName(exporter), task)
        self.assertEqual(len(exporter.get_finished_spans()), 3)
        self.assertEqual(self.destination.dropped, 0)

    def test_registryFinish(self) -> None:
        """
        The registry's finish, at exit, ends them too; once only.
        """
        exporter = self.spans()
        task = self.openActions()
        _output._DESTINATIONS.finish()
        _output._DESTINATIONS.finish()
        self.assertEnded(self.byName(exporter), task)
        self.assertEqual(len(exporter.get_finished_spans()), 3)

    def test_notSampled(self) -> None:
        """
        An open action the sampler dropped is no span.
        """
        exporter = self.spans(sampler=ParentBased(ALWAYS_OFF))
        start_task(action_type="app:dropped")
        remove_destination(self.destination)
        self.assertEqual(exporter.get_finished_spans(), ())

    def test_processorRaises(self) -> None:
        """
        A processor raising on an unfinished span raises nothing: what the
        span held is counted as dropped, and reported.
        """
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(Refusing())
        destination = SpanDestination(tracer_provider)
        messages: List[Dict[str, Any]] = []
        self.isolate().add(destination, messages.append)
        with start_task(action_type="app:outer").context():
            log_message(message_type="app:note")
        remove_destination(destination)
        self.assertEqual(destination.dropped, 2)
        (report,) = [m for m in messages if m.get("message_type") == "txcausal:messages_dropped"]
        self.assertEqual(report["count"], 2)
        self.assertIn("RuntimeError", report["reason"])

    def test_atExit(self) -> None:
        """
        L{end_open_at_exit} ends the open actions of the destinations added
        to the registry, not of one that is not (as one called by a
        destination of the program's own, which may still bring their
        finish; see L{ThreadedExitTests} for one behind a C{ThreadedWriter}).
        """
        exporter = self.spans()
        wrapped = SpanDestination(self.destination._provider)
        self.openActions()
        wrapped({"task_uuid": "u", "task_level": [1], "action_type": "app:wrapped",
                 "action_status": "started", "timestamp": 1.0})
        end_open_at_exit()
        self.assertEqual(sorted(self.byName(exporter)), ["app:done", "app:inner", "app:outer"])
        self.assertIn("open=1", repr(wrapped))


class BehindWriterTests(SpanMixin, WriterHarness, SynchronousTestCase):
    """
    A destination behind a C{ThreadedWriter} is finished when the writer's
    C{stopService} has written its queue.
    """

    def test_stopService(self) -> None:
        """
        The writer's stop ends the open actions and reports the pending
        losses, after writing what was queued.
        """
        tracer_provider, exporter = provider()
        destination = SpanDestination(tracer_provider, max_open=2, clock=lambda: 0.0)
        messages: List[Dict[str, Any]] = []
        self.isolate().add(messages.append)
        writer, _, performAll = self.writer(destination)
        writer.startService()
        EndTests.openActions(self)  # type: ignore[arg-type]
        for _ in range(2):
            start_task(action_type="app:leak")  # Give up the task, then its action.
        stopped = writer.stopService()
        self.assertEqual(exporter.get_finished_spans(), ())
        performAll()
        self.successResultOf(stopped)
        spans = exporter.get_finished_spans()
        self.assertEqual(sorted(span.name for span in spans), ["app:done", "app:leak", "app:leak"])
        self.assertEqual([span.attributes for span in spans[1:]], [UNFINISHED, UNFINISHED])
        reports = [m["count"] for m in messages
                   if m.get("message_type") == "txcausal:messages_dropped"]
        self.assertEqual((destination.dropped, reports), (3, [2, 1]))


class PendingReportTests(SpanMixin, SynchronousTestCase):
    """
    Losses counted less than a second after the last report are reported
    when the destination is removed, or at exit.
    """

    def reports(self) -> List[int]:
        return [m["count"] for m in self.messages
                if m.get("message_type") == "txcausal:messages_dropped"
                and m["reason"] != FEEDBACK]

    def test_removed(self) -> None:
        """
        Removing the destination reports what was pending.
        """
        self.spans(max_open=1, clock=lambda: 0.0)
        for _ in range(4):
            start_task(action_type="app:leak")
        self.assertEqual(self.reports(), [1])
        remove_destination(self.destination)
        self.assertEqual(self.reports(), [1, 2])
        self.assertEqual(self.destination.dropped, 3)

    def test_atExit(self) -> None:
        """
        L{end_open_at_exit} reports what was pending.
        """
        self.spans(max_open=1, clock=lambda: 0.0)
        for _ in range(3):
            start_task(action_type="app:leak")
        end_open_at_exit()
        self.assertEqual(self.reports(), [1, 1])

    def test_onlyDestination(self) -> None:
        """
        With no other destination to take the reports, they are written on
        standard error instead, and, shown there, are not lost: not counted
        in the registry's C{dropped}, neither when made inside the
        destination's call (where they would be refused to it, see
        L{txcausal._feedback}) nor once it is removed (where they would be
        kept for a destination that never comes, and reported again at
        exit).
        """
        stderr, registry = self.leakAlone()
        registry.finish()
        counts = [json.loads(line)["count"] for line in stderr.getvalue().splitlines()]
        self.assertEqual((counts, registry.dropped), ([1, 1], 0))

    def test_onlyDestinationLater(self) -> None:
        """
        A report made as the only destination is removed, shown on standard
        error, is also kept for a destination added later, as a message
        logged with none is; still not counted lost.
        """
        stderr, registry = self.leakAlone()
        later: List[Dict[str, Any]] = []
        registry.add(later.append)
        registry.finish()
        counts = [m["count"] for m in later if m.get("message_type") == "txcausal:messages_dropped"]
        self.assertEqual((counts, len(stderr.getvalue().splitlines()), registry.dropped),
                         ([1], 2, 0))

    def leakAlone(self) -> Any:
        """
        Leave three tasks open in the only destination, keeping one, then
        remove it: two reports of one message each.

        @return: The captured standard error, and the registry.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destination = SpanDestination(TracerProvider(), max_open=1, clock=lambda: 0.0)
        registry = self.isolate()
        registry.add(destination)
        for _ in range(3):
            start_task(action_type="app:leak")
        remove_destination(destination)
        return stderr, registry

    def test_onlyDestinationFails(self) -> None:
        """
        When the only destination fails on a message, that message is lost,
        counted once; the report of the failure, shown on standard error,
        is not counted.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(Refusing())
        registry = self.isolate()
        registry.add(SpanDestination(tracer_provider))
        with start_action(action_type="app:refused"):
            pass
        registry.finish()
        (report,) = [json.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual((registry.dropped, report["exception"]), (1, "builtins.RuntimeError"))


#: A program with spans written by its exporter, as JSON lines, to argv[2],
#: and its log to argv[1]; it exits with actions open.  Its SpanDestination
#: is added to the destinations, or, when argv[4] is "threaded", behind a
#: ThreadedWriter.
_PROGRAM = """
import atexit, json, sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from txcausal import add_destinations, log_message, start_action, start_task, to_file
from txcausal.logwriter import ThreadedWriter
from txcausal.otel import SpanDestination

class ToFile(SpanExporter):
    def export(self, spans):
        with open(sys.argv[2], "a") as out:
            for s in spans:
                out.write(json.dumps({"name": s.name, "span": s.context.span_id,
                                      "parent": s.parent and s.parent.span_id,
                                      "attributes": dict(s.attributes),
                                      "events": [e.name for e in s.events]}) + "\\n")
        return SpanExportResult.SUCCESS

provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(ToFile()))
# Runs after txcausal's exit handlers, before the provider's.
atexit.register(lambda: print(destination.dropped))
destination = SpanDestination(provider, max_open=int(sys.argv[3]), clock=lambda: 0.0)
if sys.argv[4] == "threaded":
    ThreadedWriter(destination).startService()
else:
    add_destinations(destination)
to_file(open(sys.argv[1], "w"))
with start_action(action_type="app:done"):
    pass
outer = start_task(action_type="app:outer")
with outer.context():
    log_message(message_type="app:note")
    start_action(action_type="app:inner")
for _ in range(3):
    start_task(action_type="app:leak")
"""


class ExitTests(SynchronousTestCase):
    """
    A real process exiting with actions open.
    """

    how = "added"

    def runProgram(self, max_open: int) -> Any:
        base = Path(self.mktemp())
        base.mkdir()
        log, spans = base / "log", base / "spans"
        result = run_python(["-c", _PROGRAM, str(log), str(spans), str(max_open), self.how])
        self.assertEqual(result.returncode, 0, result.stderr)
        messages = [json.loads(line) for line in log.read_text().splitlines()]
        exported = [json.loads(line) for line in spans.read_text().splitlines()]
        return int(result.stdout), messages, {s["name"]: s for s in exported}

    def test_unfinished(self) -> None:
        """
        The actions open at exit are exported, marked unfinished, before
        the provider's own exit handler shuts it down.
        """
        dropped, messages, spans = self.runProgram(100)
        self.assertEqual(dropped, 0)
        outer, inner = spans["app:outer"], spans["app:inner"]
        self.assertEqual(outer["attributes"], UNFINISHED)
        self.assertEqual(outer["events"], ["app:note"])
        self.assertEqual(inner["parent"], outer["span"])
        self.assertEqual(spans["app:leak"]["attributes"], UNFINISHED)
        self.assertEqual(spans["app:done"]["attributes"], {})

    def test_pendingReported(self) -> None:
        """
        Losses counted within a second of the last report are reported at
        exit.
        """
        dropped, messages, spans = self.runProgram(1)
        reported = sum(m["count"] for m in messages
                       if m.get("message_type") == "txcausal:messages_dropped"
                       and m["reason"] != FEEDBACK)
        self.assertEqual((dropped, reported), (5, 5))


class ThreadedExitTests(ExitTests):
    """
    A real process exiting with actions open, its L{SpanDestination} behind
    a C{ThreadedWriter}: the writer's queue is written, then the open
    actions are ended and the losses reported.
    """

    how = "threaded"


#: A program whose forked child exits normally while the parent has an
#: action open and losses not reported yet; spans to argv[2] as JSON lines
#: (with the process id), the log to argv[1].
_FORKING = """
import json, os, sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from txcausal import add_destinations, start_task, to_file
from txcausal.otel import SpanDestination

class ToFile(SpanExporter):
    def export(self, spans):
        with open(sys.argv[2], "a") as out:
            for s in spans:
                out.write(json.dumps({"pid": os.getpid(), "span": s.context.span_id}) + "\\n")
        return SpanExportResult.SUCCESS

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(ToFile()))
destination = SpanDestination(provider, max_open=1, clock=lambda: 0.0)
add_destinations(destination)
to_file(open(sys.argv[1], "a"))
for _ in range(4):
    start_task(action_type="app:leak")
request = start_task(action_type="app:request")
pid = os.fork()
if pid == 0:
    sys.exit(0)
os.waitpid(pid, 0)
request.finish()
print(destination.dropped)
"""


class ForkTests(SynchronousTestCase):
    """
    A forked child that exits normally leaves its parent's open actions
    and pending losses to the parent.
    """

    def setUp(self) -> None:
        if not hasattr(os, "fork"):
            raise SkipTest("no os.fork on this platform")
        base = Path(self.mktemp())
        base.mkdir()
        log, spans = base / "log", base / "spans"
        result = run_python(["-c", _FORKING, str(log), str(spans)])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.dropped = int(result.stdout)
        self.messages = [json.loads(line) for line in log.read_text().splitlines()]
        self.spans = [json.loads(line) for line in spans.read_text().splitlines()]

    def test_noDuplicateSpans(self) -> None:
        """
        The child does not end the parent's open actions as spans of its
        own, with the parent's span ids.
        """
        ids = [s["span"] for s in self.spans]
        self.assertEqual(len(ids), len(set(ids)), self.spans)
        self.assertEqual(len(ids), 1)  # The request, finished by the parent.

    def test_lossesReportedOnce(self) -> None:
        """
        The child does not report again the losses its parent counted.
        """
        reported = sum(m["count"] for m in self.messages
                       if m.get("message_type") == "txcausal:messages_dropped"
                       and m["reason"] != FEEDBACK)
        self.assertEqual((self.dropped, reported), (4, 4))
