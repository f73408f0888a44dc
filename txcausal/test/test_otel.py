"""
Tests for L{txcausal.otel.SpanDestination}: actions as OpenTelemetry spans,
checked with the SDK's L{InMemorySpanExporter}.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional
from uuid import UUID

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from treq.testing import RequestTraversalAgent
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from zope.interface.verify import verifyObject

from txcausal import (
    Action,
    IDestination,
    log_message,
    start_action,
    write_traceback,
)
from txcausal._traceids import span_id
from txcausal.otel import SpanDestination
from txcausal.treq import TracingAgent
from txcausal.twisted import DeferredContext
from txcausal.web import TracingResource

from ._helpers import IsolatedOutputMixin, run_python
from ._web_helpers import StubTreq


def provider(**kwargs: Any) -> "tuple[TracerProvider, InMemorySpanExporter]":
    """
    @return: A tracer provider exporting to memory at once, and its exporter.
    """
    tracer_provider = TracerProvider(**kwargs)
    exporter = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider, exporter


class SpanMixin(IsolatedOutputMixin):
    """
    Log into a L{SpanDestination} on a provider of its own; the other
    messages (reports) are collected in C{self.messages}.
    """

    def spans(self, **kwargs: Any) -> InMemorySpanExporter:
        tracer_provider, exporter = provider(**{k: v for k, v in kwargs.items()
                                               if k in ("sampler", "span_limits", "resource")})
        self.destination = SpanDestination(
            tracer_provider, **{k: v for k, v in kwargs.items() if k in ("max_open", "clock")})
        self.messages: List[Dict[str, Any]] = []
        self.isolate().add(self.destination, self.messages.append)
        return exporter

    def byName(self, exporter: InMemorySpanExporter) -> Dict[str, ReadableSpan]:
        return {span.name: span for span in exporter.get_finished_spans()}


class SpanDestinationTests(SpanMixin, SynchronousTestCase):
    """
    Actions become spans.
    """

    def test_interface(self) -> None:
        """
        L{SpanDestination} provides L{IDestination}.
        """
        self.assertTrue(verifyObject(IDestination, SpanDestination(TracerProvider())))

    def test_badArguments(self) -> None:
        """
        A provider that is not the SDK's, or a bound that is not positive,
        is refused.
        """
        self.assertRaises(TypeError, SpanDestination, trace.NoOpTracerProvider())
        self.assertRaises(ValueError, SpanDestination, TracerProvider(), max_open=0)

    def test_parentAndChild(self) -> None:
        """
        Each action is a span named by its type, in the trace whose id is
        the task UUID; a nested action's span is the child of the enclosing
        one's; the task's root action has no parent.  Spans are handed
        over as their actions finish.
        """
        exporter = self.spans()
        with start_action(action_type="app:outer") as outer:
            with start_action(action_type="app:inner"):
                pass
            self.assertEqual([s.name for s in exporter.get_finished_spans()], ["app:inner"])
        spans = self.byName(exporter)
        root, child = spans["app:outer"], spans["app:inner"]
        trace_id = UUID(outer.task_uuid).int
        self.assertEqual((root.context.trace_id, child.context.trace_id), (trace_id, trace_id))
        self.assertIsNone(root.parent)
        assert child.parent is not None
        self.assertEqual(child.parent.span_id, root.context.span_id)
        self.assertEqual(root.kind, SpanKind.INTERNAL)

    def test_ids(self) -> None:
        """
        Span ids come from the task UUID and the action's level, so the same
        log gives the same ids to another destination (another process,
        later).
        """
        exporter = self.spans()
        with start_action(action_type="app:outer") as outer:
            with start_action(action_type="app:first"):
                pass
            with start_action(action_type="app:second"):
                pass
        spans = self.byName(exporter)
        self.assertEqual([spans[n].context.span_id for n in ["app:outer", "app:first",
                                                             "app:second"]],
                         [span_id(outer.task_uuid, level) for level in [[], [2], [3]]])
        again_provider, again = provider()
        replay = SpanDestination(again_provider)
        for message in self.messages:
            replay(message)
        self.assertEqual(sorted((s.name, s.context.span_id, s.parent and s.parent.span_id)
                                for s in again.get_finished_spans()),
                         sorted((s.name, s.context.span_id, s.parent and s.parent.span_id)
                                for s in exporter.get_finished_spans()))

    def test_times(self) -> None:
        """
        A span starts and ends at its start and finish messages' times, and
        a message's event is at the message's time.
        """
        exporter = self.spans()
        with start_action(action_type="app:timed"):
            log_message(message_type="app:tick")
        start, tick, end = [m["timestamp"] for m in self.messages]
        (span,) = exporter.get_finished_spans()
        self.assertEqual((span.start_time, span.end_time),
                         (round(start * 1e6) * 1000, round(end * 1e6) * 1000))
        self.assertEqual(span.events[0].timestamp, round(tick * 1e6) * 1000)

    def test_attributes(self) -> None:
        """
        The start message's fields, and the success fields, become
        attributes: strings, numbers, booleans and lists of one of them as
        they are (lists copied, as the SDK does, so a list changed after it
        was logged keeps its logged value); anything else as it reads back
        from a log file (a tuple or set as a list, bytes as text, an integer
        past 64 bits as a float), then as JSON text.
        """
        exporter = self.spans()
        logged = ["x", "y"]
        with start_action(action_type="app:fields", text="a", number=3, ratio=0.5, flag=True,
                          names=logged, mixed=[1, "x"], nested={"k": [1]}, nothing=None,
                          huge=2**70, pair=(1, 2), letters={"z"}, raw=b"bytes") as action:
            logged.append("z")
            action.add_success_fields(result=42)
        (span,) = exporter.get_finished_spans()
        self.assertEqual(dict(span.attributes or {}), {
            "text": "a", "number": 3, "ratio": 0.5, "flag": True, "names": ("x", "y"),
            "mixed": '[1,"x"]', "nested": '{"k":[1]}', "nothing": "null",
            "huge": float(2**70), "pair": (1, 2), "letters": ("z",), "raw": "bytes",
            "result": 42})

    def test_events(self) -> None:
        """
        Messages logged in an action become its span's events, named by
        message type, with their fields as attributes; a child action is a
        span, not an event.
        """
        exporter = self.spans()
        with start_action(action_type="app:work"):
            log_message(message_type="app:step", n=1)
            with start_action(action_type="app:child"):
                log_message(message_type="app:deep")
            log_message(message_type="app:step", n=2, tags=["a"])
        spans = self.byName(exporter)
        self.assertEqual([(e.name, dict(e.attributes or {})) for e in spans["app:work"].events],
                         [("app:step", {"n": 1}), ("app:step", {"n": 2, "tags": ("a",)})])
        self.assertEqual([e.name for e in spans["app:child"].events], ["app:deep"])

    def test_success(self) -> None:
        """
        A succeeded action's span has status OK.
        """
        exporter = self.spans()
        with start_action(action_type="app:fine"):
            pass
        self.assertEqual(exporter.get_finished_spans()[0].status.status_code, StatusCode.OK)

    def test_failure(self) -> None:
        """
        A failed action's span has status ERROR, described by the exception,
        and an C{exception} event with its type and message; no stack trace
        when none was logged.
        """
        exporter = self.spans()
        with self.assertRaises(ValueError):
            with start_action(action_type="app:broken"):
                raise ValueError("bad input")
        (span,) = exporter.get_finished_spans()
        self.assertEqual((span.status.status_code, span.status.description),
                         (StatusCode.ERROR, "builtins.ValueError: bad input"))
        (exception,) = span.events
        self.assertEqual((exception.name, dict(exception.attributes or {})),
                         ("exception", {"exception.type": "builtins.ValueError",
                                        "exception.message": "bad input"}))

    def test_failureStacktrace(self) -> None:
        """
        When the traceback of the exception an action failed with was logged
        in it, the C{exception} event carries it as C{exception.stacktrace}.
        """
        exporter = self.spans()
        with self.assertRaises(KeyError):
            with start_action(action_type="app:broken"):
                try:
                    raise KeyError("missing")
                except KeyError:
                    write_traceback()
                    raise
        (span,) = exporter.get_finished_spans()
        exception = span.events[-1]
        self.assertEqual(exception.name, "exception")
        stacktrace = (exception.attributes or {})["exception.stacktrace"]
        self.assertIn("Traceback", stacktrace)
        self.assertIn("KeyError: 'missing'", stacktrace)

    def test_deferredContext(self) -> None:
        """
        An action finished by L{DeferredContext.addActionFinish} ends its
        span when the L{Deferred} fires; callbacks' messages are its events.
        """
        exporter = self.spans()
        d: "Deferred[int]" = Deferred()

        def log_got(n: int) -> int:
            log_message(message_type="app:got", n=n)
            return n

        with start_action(action_type="app:later").context():
            context = DeferredContext(d)
            context.addCallback(log_got)
            context.addActionFinish()
        self.assertEqual(exporter.get_finished_spans(), ())
        d.callback(7)
        (span,) = exporter.get_finished_spans()
        self.assertEqual((span.name, span.status.status_code, [e.name for e in span.events]),
                         ("app:later", StatusCode.OK, ["app:got"]))

    def test_cancellation(self) -> None:
        """
        A cancelled action's span has status ERROR with the cancellation as
        its exception, and the C{cancelled} attribute.
        """
        exporter = self.spans()
        d: "Deferred[None]" = Deferred()
        with start_action(action_type="app:slow").context():
            finished = DeferredContext(d).addActionFinish()
        finished.cancel()
        self.failureResultOf(finished, CancelledError)
        (span,) = exporter.get_finished_spans()
        self.assertEqual(span.status.status_code, StatusCode.ERROR)
        self.assertEqual((span.events[-1].attributes or {})["exception.type"],
                         "twisted.internet.defer.CancelledError")
        self.assertEqual((span.attributes or {}).get("cancelled"), True)

    def test_coroutines(self) -> None:
        """
        Actions in interleaved coroutines become spans under their own
        coroutine's action.
        """
        exporter = self.spans()
        gates: List["Deferred[None]"] = [Deferred(), Deferred()]

        async def job(n: int) -> None:
            with start_action(action_type=f"app:job{n}"):
                await gates[n]
                with start_action(action_type=f"app:step{n}"):
                    pass

        with start_action(action_type="app:main"):
            jobs = [ensureDeferred(job(0)), ensureDeferred(job(1))]
        gates[1].callback(None)
        gates[0].callback(None)
        for done in jobs:
            self.successResultOf(done)
        spans = self.byName(exporter)
        for n in (0, 1):
            parent = spans[f"app:step{n}"].parent
            assert parent is not None
            self.assertEqual(parent.span_id, spans[f"app:job{n}"].context.span_id)
            job_parent = spans[f"app:job{n}"].parent
            assert job_parent is not None
            self.assertEqual(job_parent.span_id, spans["app:main"].context.span_id)


class CrossProcessTests(SpanMixin, SynchronousTestCase):
    """
    A task continued in another process is one trace: the server's spans
    are under the client's request span.
    """

    def test_continuation(self) -> None:
        """
        An action continuing a position another process handed out is the
        child of the action that handed it out, though the two are seen by
        different destinations (as in two processes).
        """
        exporter = self.spans()
        with start_action(action_type="client:call") as client:
            task_id = client.serialize_task_id()
        server_provider, server_spans = provider()
        server = SpanDestination(server_provider)
        self.isolate().add(server)
        with Action.continue_task(task_id=task_id):
            with start_action(action_type="server:work"):
                pass
        (client_span,) = exporter.get_finished_spans()
        spans = {s.name: s for s in server_spans.get_finished_spans()}
        remote = spans["eliot:remote_task"]
        assert remote.parent is not None
        self.assertEqual((remote.context.trace_id, remote.parent.span_id),
                         (client_span.context.trace_id, client_span.context.span_id))

    def test_overHTTP(self) -> None:
        """
        Through L{TracingAgent} and L{TracingResource}, the server's
        C{eliot:remote_task} span (kind SERVER) is the child of the client's
        C{txcausal:http:client} span (kind CLIENT), the parent the
        C{traceparent} header names.
        """
        exporter = self.spans()
        seen: List[Optional[str]] = []

        class Leaf(Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                seen.append(request.getHeader(b"traceparent").decode())
                with start_action(action_type="server:work"):
                    return b"ok"

        agent = TracingAgent(RequestTraversalAgent(TracingResource(Leaf())))
        with start_action(action_type="client:main"):
            self.successResultOf(agent.request(b"GET", b"http://example.com/"))
        spans = self.byName(exporter)
        request, served = spans["txcausal:http:client"], spans["eliot:remote_task"]
        assert served.parent is not None
        self.assertEqual(served.parent.span_id, request.context.span_id)
        self.assertEqual((request.kind, served.kind), (SpanKind.CLIENT, SpanKind.SERVER))
        parent = trace.get_current_span(TraceContextTextMapPropagator().extract(
            {"traceparent": seen[0]})).get_span_context()
        self.assertEqual(parent.span_id, request.context.span_id)
        work = spans["server:work"]
        assert work.parent is not None
        self.assertEqual(work.parent.span_id, served.context.span_id)

    def test_bareTraceparent(self) -> None:
        """
        A request continued from a bare C{traceparent} (an OpenTelemetry
        client) is the child of the span that header names.
        """
        exporter = self.spans()
        parent = trace.SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True,
                                   trace.TraceFlags(1))
        carrier: Dict[str, str] = {}
        TraceContextTextMapPropagator().inject(
            carrier, trace.set_span_in_context(trace.NonRecordingSpan(parent)))

        class Leaf(Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                return b"ok"

        self.successResultOf(StubTreq(TracingResource(Leaf())).get(
            "http://example.com/", headers=carrier))
        (served,) = exporter.get_finished_spans()
        assert served.parent is not None
        self.assertEqual((served.context.trace_id, served.parent.span_id),
                         (parent.trace_id, parent.span_id))


class ModuleTests(SynchronousTestCase):
    """
    The C{txcausal.otel} facade, and OpenTelemetry staying out of the rest.
    """

    def test_exports(self) -> None:
        """
        Every name of C{txcausal.otel.__all__} is the object of the private
        module defining it.
        """
        import importlib

        from txcausal import otel

        for name in otel.__all__:
            value = getattr(otel, name)
            if isinstance(value, (int, str)):
                continue
            module = importlib.import_module(value.__module__)
            self.assertTrue(value.__module__.startswith("txcausal._otel"), name)
            self.assertIs(getattr(module, name), value, name)

    def test_lightImport(self) -> None:
        """
        Importing txcausal, its Twisted modules, the parser and the command
        imports no OpenTelemetry module.
        """
        result = run_python(["-c", "import sys, txcausal, txcausal.twisted, txcausal.web,"
                             " txcausal.treq, txcausal.parse, txcausal._cli;"
                             " print(sorted(m for m in sys.modules if 'opentelemetry' in m))"])
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "[]"), result.stderr)
