"""
Tests for L{txcausal._otel_context}: messages carry OpenTelemetry's trace
ids, and (opt-in) OpenTelemetry spans nest under txcausal actions.
"""

from __future__ import annotations

from typing import Any, Dict, List
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._importlib_metadata import entry_points
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, start_action
from txcausal._traceids import span_id
from txcausal.otel import (
    ActionRuntimeContext,
    SpanDestination,
    add_trace_fields,
    nest_spans_in_actions,
)

from ._helpers import IsolatedOutputMixin, run_python


class _Tracing(IsolatedOutputMixin):
    """
    A tracer exporting to memory, and the messages logged.
    """

    def setUpTracing(self) -> None:
        self.provider = TracerProvider()
        self.exporter = InMemorySpanExporter()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("test")
        self.messages: List[Dict[str, Any]] = self.collect()

    def nest(self) -> None:
        self.addCleanup(nest_spans_in_actions())  # type: ignore[attr-defined]


class TraceFieldsTests(_Tracing, SynchronousTestCase):
    """
    Tests for L{add_trace_fields}.
    """

    def setUp(self) -> None:
        self.setUpTracing()
        # Added to the test's own registry: gone with it.
        self.stop = add_trace_fields()

    def test_inSpan(self) -> None:
        """
        A message logged while an OpenTelemetry span is current carries its
        trace id, span id and trace flags, in lower-case hex as OpenTelemetry
        writes them in JSON logs; one logged outside any span does not.
        """
        with self.tracer.start_as_current_span("db:query") as span:
            log_message(message_type="app:inside")
        log_message(message_type="app:outside")
        context = span.get_span_context()
        inside, outside = self.messages
        self.assertEqual((inside["trace_id"], inside["span_id"], inside["trace_flags"]),
                         (f"{context.trace_id:032x}", f"{context.span_id:016x}",
                          f"{context.trace_flags:02x}"))
        self.assertTrue(int(inside["trace_flags"], 16) & 1)
        self.assertNotIn("trace_id", outside)

    def test_once(self) -> None:
        """
        Adding the fields again does nothing; once stopped, messages have
        none.
        """
        add_trace_fields()()
        with self.tracer.start_as_current_span("db:query"):
            log_message(message_type="app:inside")
        self.assertIn("span_id", self.messages[-1])

    def test_stop(self) -> None:
        """
        The function returned stops adding the fields.
        """
        self.stop()
        with self.tracer.start_as_current_span("db:query"):
            log_message(message_type="app:inside")
        self.assertNotIn("trace_id", self.messages[-1])

    def test_notForActions(self) -> None:
        """
        With spans nested in actions, a message logged in an action (no
        OpenTelemetry span inside it) carries no trace fields: its task and
        level already say which span it belongs to.
        """
        self.nest()
        with start_action(action_type="app:work"):
            log_message(message_type="app:m")
            with self.tracer.start_as_current_span("db:query") as span:
                log_message(message_type="app:in-span")
        plain, in_span = [m for m in self.messages if m.get("message_type")]
        self.assertNotIn("trace_id", plain)
        self.assertEqual(in_span["span_id"], f"{span.get_span_context().span_id:016x}")


class NestingTests(_Tracing, SynchronousTestCase):
    """
    Tests for L{nest_spans_in_actions}.
    """

    def setUp(self) -> None:
        self.setUpTracing()

    def test_actionIsCurrentSpan(self) -> None:
        """
        Inside an action, OpenTelemetry's current span has the task's trace
        id and the action's span id; outside, there is none.
        """
        self.nest()
        with start_action(action_type="app:outer") as action:
            with start_action(action_type="app:inner"):
                context = trace.get_current_span().get_span_context()
        self.assertEqual((context.trace_id, context.span_id),
                         (UUID(action.task_uuid).int, span_id(action.task_uuid, [2])))
        self.assertFalse(trace.get_current_span().get_span_context().is_valid)

    def test_spansNestUnderActions(self) -> None:
        """
        A span started in an action is its child, in the task's trace; an
        action started in that span makes the spans started in it its
        children; when the action ends, the span is current again.
        """
        self.nest()
        self.isolate().add(SpanDestination(self.provider))
        with start_action(action_type="app:outer") as outer:
            with self.tracer.start_as_current_span("db:query") as query:
                with start_action(action_type="app:inside-query"):
                    with self.tracer.start_as_current_span("cache:get"):
                        pass
                self.assertIs(trace.get_current_span(), query)
        spans = {s.name: s for s in self.exporter.get_finished_spans()}
        outer_id = spans["app:outer"].context.span_id
        self.assertEqual(outer_id, span_id(outer.task_uuid, []))
        self.assertEqual(spans["db:query"].context.trace_id, UUID(outer.task_uuid).int)
        self.assertEqual(spans["db:query"].parent.span_id, outer_id)  # type: ignore[union-attr]
        self.assertEqual(spans["cache:get"].parent.span_id,  # type: ignore[union-attr]
                         spans["app:inside-query"].context.span_id)

    def test_coroutine(self) -> None:
        """
        In a coroutine, the span current after an C{await} is the
        coroutine's action.
        """
        self.nest()
        gate: "Deferred[None]" = Deferred()
        seen: List[int] = []

        async def job() -> None:
            with start_action(action_type="app:job"):
                await gate
                with self.tracer.start_as_current_span("db:query") as span:
                    seen.append(span.parent.span_id)  # type: ignore[attr-defined]

        with start_action(action_type="app:main") as main:
            done = ensureDeferred(job())
        with start_action(action_type="app:elsewhere"):
            gate.callback(None)
        self.successResultOf(done)
        self.assertEqual(seen, [span_id(main.task_uuid, [2])])

    def test_undo(self) -> None:
        """
        Calling it twice does nothing more; the function it returns puts
        OpenTelemetry's runtime context back.
        """
        before = otel_context._RUNTIME_CONTEXT
        undo = nest_spans_in_actions()
        nest_spans_in_actions()()
        self.assertIsInstance(otel_context._RUNTIME_CONTEXT, ActionRuntimeContext)
        undo()
        self.assertIs(otel_context._RUNTIME_CONTEXT, before)
        with start_action(action_type="app:work"):
            self.assertFalse(trace.get_current_span().get_span_context().is_valid)

    def test_privateNameGone(self) -> None:
        """
        Should OpenTelemetry no longer keep its runtime context where
        L{nest_spans_in_actions} replaces it, it says so and names the
        public way, C{OTEL_PYTHON_CONTEXT=txcausal}, rather than failing
        with an C{AttributeError} or doing nothing.
        """
        before = otel_context._RUNTIME_CONTEXT
        del otel_context._RUNTIME_CONTEXT
        self.addCleanup(setattr, otel_context, "_RUNTIME_CONTEXT", before)
        with self.assertRaises(RuntimeError) as raised:
            nest_spans_in_actions()
        self.assertIn("OTEL_PYTHON_CONTEXT=txcausal", str(raised.exception))
        self.assertFalse(hasattr(otel_context, "_RUNTIME_CONTEXT"))

    def test_entryPoint(self) -> None:
        """
        C{OTEL_PYTHON_CONTEXT=txcausal} selects L{ActionRuntimeContext}: in
        a process started with it, the current action is the current span.
        """
        (point,) = entry_points(group="opentelemetry_context", name="txcausal")
        self.assertIs(point.load(), ActionRuntimeContext)
        code = ("from opentelemetry import trace\n"
                "from txcausal import start_action\n"
                "with start_action(action_type='a') as action:\n"
                "    span = trace.get_current_span().get_span_context().span_id\n"
                "print(action.task_uuid, span)\n")
        result = run_python(["-c", code], env={"OTEL_PYTHON_CONTEXT": "txcausal"})
        task_uuid, printed = result.stdout.split()
        self.assertEqual(int(printed), span_id(task_uuid, []), result.stderr)
