"""
Tests for L{txcausal.otel.SpanDestination} in a tracer provider's pipeline:
its processors, sampler, limits and resource; the bound on memory; behind a
L{txcausal.logwriter.ThreadedWriter}.
"""

from __future__ import annotations

import logging
import os
import warnings
from random import Random
from typing import Any, Dict, List, Tuple
from uuid import UUID

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from txcausal import Action, log_message, start_action, start_task
from txcausal._feedback import FEEDBACK
from txcausal._traceids import span_id
from txcausal.otel import START_MISSING_ATTRIBUTE, SpanDestination, TaskIdRatioBased

from ._helpers import ImmediateReactor, run_python
from .test_otel import SpanMixin, provider


class BoundTests(SpanMixin, SynchronousTestCase):
    """
    Unfinished actions do not grow memory without limit, and what is lost
    is counted and reported.
    """

    def reports(self) -> List[Dict[str, Any]]:
        """
        @return: The reports of the destination's losses, leaving out those
            saying that the reports it logs from inside itself are not fed
            back into it (see L{txcausal._feedback}).
        """
        return [m for m in self.messages if m.get("message_type") == "txcausal:messages_dropped"
                and m["reason"] != FEEDBACK]

    def test_oldestGivenUp(self) -> None:
        """
        Past C{max_open} unfinished actions, the oldest is given up: its
        start and events are counted in C{dropped} and reported; when it
        finishes, its span is made from the finish message alone, marked.
        """
        now = [0.0]
        exporter = self.spans(max_open=2, clock=lambda: now[0])
        leaked = start_task(action_type="app:leaked")
        with leaked.context():
            log_message(message_type="app:inside")
        second = start_task(action_type="app:second")
        start_task(action_type="app:third")
        self.assertEqual(self.destination.dropped, 2)
        (report,) = self.reports()
        self.assertEqual(report["count"], 2)
        self.assertIn("more than 2 actions were unfinished", report["reason"])
        leaked.finish()
        second.finish()
        spans = self.byName(exporter)
        self.assertEqual((spans["app:leaked"].attributes or {}).get(START_MISSING_ATTRIBUTE), True)
        self.assertEqual(spans["app:leaked"].context.span_id, span_id(leaked.task_uuid, []))
        self.assertNotIn(START_MISSING_ATTRIBUTE, spans["app:second"].attributes or {})

    def test_reportsSpaced(self) -> None:
        """
        Losses are reported at once, then at most once a second, with the
        count since the last report.
        """
        now = [0.0]
        self.spans(max_open=1, clock=lambda: now[0])
        for _ in range(4):
            start_task(action_type="app:leak")
        now[0] = 1.0
        start_task(action_type="app:leak")
        self.assertEqual([r["count"] for r in self.reports()], [1, 3])
        self.assertEqual(self.destination.dropped, 4)

    def test_unseenAction(self) -> None:
        """
        A message in an action whose start the destination did not see is
        counted and reported; a message in no action is not a loss.
        """
        self.spans()
        action = Action(None, "1e0be9be-ae56-49ef-9bce-60e850a7db09", [3], "app:elsewhere")
        with action.context():
            log_message(message_type="app:orphan")
        log_message(message_type="app:alone")
        self.assertEqual(self.destination.dropped, 1)
        self.assertEqual(self.reports()[0]["reason"],
                         "logged in actions whose start this destination did not see")


class ProviderTests(SpanMixin, SynchronousTestCase):
    """
    The provider's sampler and limits apply; the global provider is used by
    default.
    """

    def test_sampler(self) -> None:
        """
        A task the sampler drops has no span, nor have its actions.
        """
        exporter = self.spans(sampler=ParentBased(ALWAYS_OFF))
        with start_action(action_type="app:outer"):
            with start_action(action_type="app:inner"):
                log_message(message_type="app:m")
        self.assertEqual(exporter.get_finished_spans(), ())
        self.assertEqual(self.destination.dropped, 0)

    def test_eventLimit(self) -> None:
        """
        Past the provider's limit on events, the oldest are dropped and
        counted in the span.
        """
        exporter = self.spans(span_limits=SpanLimits(max_events=2))
        with start_action(action_type="app:chatty"):
            for n in range(5):
                log_message(message_type="app:m", n=n)
        (span,) = exporter.get_finished_spans()
        self.assertEqual([(e.attributes or {})["n"] for e in span.events], [3, 4])
        self.assertEqual(span.dropped_events, 3)

    def test_otlpEncodes(self) -> None:
        """
        The OTLP exporters' encoder takes the spans, events included: those
        of the oldest SDK allowed (1.25, C{tox -e lowest}) read the
        C{dropped} count of each event's attributes.
        """
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        exporter = self.spans()
        with start_action(action_type="app:work"):
            log_message(message_type="app:m", n=1)
        encoded = encode_spans(exporter.get_finished_spans())
        (event,) = encoded.resource_spans[0].scope_spans[0].spans[0].events
        self.assertEqual((event.name, event.dropped_attributes_count), ("app:m", 0))

    def test_attributeLength(self) -> None:
        """
        The limit on attribute values' length cuts the values of span
        attributes, of events' attributes and of the C{exception} event's,
        as the SDK cuts its own spans'.
        """
        # The SDK warns of each value it cuts (on standard error, logging
        # being unconfigured): the cut is what is tested.
        self.patch(logging.getLogger("opentelemetry.attributes"), "disabled", True)
        exporter = self.spans(span_limits=SpanLimits(max_attribute_length=4))
        with self.assertRaises(ValueError):
            with start_action(action_type="app:long", text="abcdefgh"):
                log_message(message_type="app:m", text="ijklmnop")
                raise ValueError("qrstuvwx")
        (span,) = exporter.get_finished_spans()
        self.assertEqual((span.attributes or {})["text"], "abcd")
        note, exception = span.events
        self.assertEqual((note.attributes or {})["text"], "ijkl")
        self.assertEqual((exception.attributes or {})["exception.message"], "qrst")

    def test_resource(self) -> None:
        """
        Spans carry the provider's resource, as it is when each span is
        made: the SDK updates it in a forked child process (with the
        process-dependent attributes), and later spans have the new one.
        """
        resource = Resource.create({"service.name": "shop"})
        exporter = self.spans(resource=resource)
        with start_action(action_type="app:before"):
            pass
        tracer_provider = self.destination._provider
        update = getattr(tracer_provider, "_update_resource", None)
        if update is None:
            raise SkipTest("this OpenTelemetry SDK never changes a provider's resource")
        update(Resource({"process.pid": 12345}))
        with start_action(action_type="app:after"):
            pass
        before, after = exporter.get_finished_spans()
        self.assertEqual(before.resource, resource)
        self.assertEqual(after.resource.attributes.get("process.pid"), 12345)
        self.assertEqual(after.resource.attributes.get("service.name"), "shop")

    def test_globalProvider(self) -> None:
        """
        By default the global provider is used, once one is set; before,
        nothing is recorded.
        """
        tracer_provider, exporter = provider()
        current: List[Any] = [trace.NoOpTracerProvider()]
        self.patch(trace, "get_tracer_provider", lambda: current[0])
        destination = SpanDestination()
        self.isolate().add(destination)
        with start_action(action_type="app:early"):
            pass
        current[0] = tracer_provider
        with start_action(action_type="app:late"):
            pass
        self.assertEqual([s.name for s in exporter.get_finished_spans()], ["app:late"])



class ThreadedWriterTests(SpanMixin, SynchronousTestCase):
    """
    A L{SpanDestination} behind a L{ThreadedWriter} makes its spans in the
    writer's worker.
    """

    def test_behindWriter(self) -> None:
        """
        Spans are made when the worker runs, with the same parents as when
        logged directly.
        """
        from txcausal._writer import createMemoryWorker
        from txcausal.logwriter import ThreadedWriter

        tracer_provider, exporter = provider()
        performers = []

        def createWorker() -> Any:
            worker, perform = createMemoryWorker()
            performers.append(perform)
            return worker

        writer = ThreadedWriter(SpanDestination(tracer_provider), ImmediateReactor(),
                                createWorker=createWorker)
        self.isolate()
        writer.startService()  # Adds the writer as a destination.
        with start_action(action_type="app:outer"):
            with start_action(action_type="app:inner"):
                log_message(message_type="app:m")
        self.assertEqual(exporter.get_finished_spans(), ())
        writer.stopService()
        for perform in performers:
            while perform():
                pass
        spans = self.byName(exporter)
        inner = spans["app:inner"]
        assert inner.parent is not None
        self.assertEqual(inner.parent.span_id, spans["app:outer"].context.span_id)
        self.assertEqual([e.name for e in inner.events], ["app:m"])


Messages = List[Dict[str, Any]]


def _task_messages(task_uuid: str, time: float) -> Tuple[Messages, Messages]:
    """
    @return: The messages a client process and a server process log for one
        task: the client's request, continued by the server.
    """
    def message(level: List[int], action_type: str, status: str) -> Dict[str, Any]:
        return {"task_uuid": task_uuid, "task_level": level, "timestamp": time,
                "action_type": action_type, "action_status": status}

    client = [message([1], "client:main", "started"),
              message([2, 1], "txcausal:http:client", "started"),
              message([2, 3], "txcausal:http:client", "succeeded"),
              message([3], "client:main", "succeeded")]
    server = [message([2, 2, 1], "eliot:remote_task", "started"),
              message([2, 2, 2], "eliot:remote_task", "succeeded")]
    return client, server


class SamplingTests(SynchronousTestCase):
    """
    Sampling a ratio of tasks, the same tasks in every process.
    """

    def test_ratio(self) -> None:
        """
        L{TaskIdRatioBased} samples tasks in the ratio asked for, with task
        UUIDs as trace ids, and decides the same for a task in every
        process: the server records its part of a task exactly when the
        client recorded the task's.
        """
        random = Random(1234)
        client_provider, client_spans = provider(sampler=ParentBased(TaskIdRatioBased(0.25)))
        server_provider, server_spans = provider(sampler=ParentBased(TaskIdRatioBased(0.25)))
        client, server = SpanDestination(client_provider), SpanDestination(server_provider)
        tasks = [str(UUID(int=random.getrandbits(128), version=4)) for _ in range(2000)]
        for task_uuid in tasks:
            client_messages, server_messages = _task_messages(task_uuid, 1.0)
            for message in client_messages:
                client(message)
            for message in server_messages:
                server(message)
        client_tasks = {f"{s.context.trace_id:032x}" for s in client_spans.get_finished_spans()}
        server_tasks = {f"{s.context.trace_id:032x}" for s in server_spans.get_finished_spans()}
        self.assertEqual(client_tasks, server_tasks)
        self.assertTrue(450 <= len(client_tasks) <= 550, len(client_tasks))
        self.assertEqual(len(client_spans.get_finished_spans()), 2 * len(client_tasks))

    def test_ratioBounds(self) -> None:
        """
        L{TaskIdRatioBased} takes a ratio from 0 to 1, and says what it is.
        """
        self.assertRaises(ValueError, TaskIdRatioBased, 1.5)
        self.assertEqual(TaskIdRatioBased(0.25).get_description(), "TaskIdRatioBased{0.25}")
        task = str(UUID(int=Random(5).getrandbits(128), version=4))
        trace_id = UUID(task).int
        self.assertFalse(TaskIdRatioBased(0).should_sample(None, trace_id, "a").decision
                         .is_sampled())
        self.assertTrue(TaskIdRatioBased(1).should_sample(None, trace_id, "a").decision
                        .is_sampled())

    def test_traceIdRatioWarned(self) -> None:
        """
        A provider sampling with the SDK's C{TraceIdRatioBased}, which
        reads the bits a UUID fixes (it samples no task for a ratio up to
        one half), gets a warning that names L{TaskIdRatioBased}.
        """
        for sampler in [TraceIdRatioBased(0.1), ParentBased(TraceIdRatioBased(0.1))]:
            tracer_provider, exporter = provider(sampler=sampler)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                SpanDestination(tracer_provider)
            self.assertEqual(len(caught), 1, sampler)
            self.assertIn("TaskIdRatioBased", str(caught[0].message))
        tracer_provider, exporter = provider(sampler=ParentBased(TaskIdRatioBased(0.1)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            SpanDestination(tracer_provider)
        self.assertEqual(caught, [])

    def test_traceIdRatioWarnedGlobal(self) -> None:
        """
        With the global provider, the warning comes with the first message;
        when warnings are errors, logging goes on regardless.
        """
        tracer_provider, exporter = provider(sampler=ParentBased(TraceIdRatioBased(1.0)))
        self.patch(trace, "get_tracer_provider", lambda: tracer_provider)
        client, server = _task_messages("1e0be9be-ae56-49ef-9bce-60e850a7db09", 1.0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            SpanDestination()(client[0])
        self.assertEqual(len(caught), 1)
        destination = SpanDestination()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for message in client:
                destination(message)
        self.assertEqual(len(exporter.get_finished_spans()), 2)


#: Forks while another thread holds the lock of the providers' shutdown
#: watches; the child makes a destination with a provider of its own (it
#: takes that lock), under an alarm; prints the child's exit code.
_FORK_WATCHES = """
import os, signal, threading
from opentelemetry.sdk.trace import TracerProvider
from txcausal import _otel_open
from txcausal.otel import SpanDestination

held, release = threading.Event(), threading.Event()
def hold():
    with _otel_open._WATCHES_LOCK:
        held.set()
        release.wait()
thread = threading.Thread(target=hold)
thread.start()
held.wait()
pid = os.fork()
if pid == 0:
    signal.alarm(10)
    SpanDestination(TracerProvider(shutdown_on_exit=False))
    os._exit(0)
release.set()
thread.join()
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


class ForkTests(SynchronousTestCase):
    """
    The lock of the providers' shutdown watches is new in a forked child.
    """

    def test_watchesLockAfterFork(self) -> None:
        """
        A child forked while another thread holds the lock makes its first
        destination without waiting for ever.
        """
        if not hasattr(os, "fork"):
            raise SkipTest("no os.fork on this platform")
        result = run_python(["-c", _FORK_WATCHES], timeout=60)
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "0"), result.stderr)
