# -*- test-case-name: txcausal.test.test_otel -*-
"""
OpenTelemetry: actions become spans in any tracing backend, and traces and
logs join.  Needs the C{otel} extra (C{pip install 'txcausal[otel]'}).

Send every action to the tracer provider's span processors::

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from txcausal import add_destinations
    from txcausal.otel import SpanDestination

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    add_destinations(SpanDestination())

A span's trace id is its task's UUID and its span id is derived from the
task UUID and the action's level, so the spans of one task made in several
processes (or later, from their files, by C{txcausal export}) form one
trace.  L{add_trace_fields} puts the current OpenTelemetry span's ids in
every message; L{nest_spans_in_actions} makes the current action
OpenTelemetry's current span.  See C{docs/opentelemetry.md}.
"""

from ._otel_context import add_trace_fields, nest_spans_in_actions
from ._otel_destination import DEFAULT_MAX_OPEN, SpanDestination
from ._otel_runtime import ActionRuntimeContext
from ._otel_sampling import TaskIdRatioBased
from ._otel_spans import START_MISSING_ATTRIBUTE, UNFINISHED_ATTRIBUTE

__all__ = [
    "SpanDestination",
    "DEFAULT_MAX_OPEN",
    "TaskIdRatioBased",
    "add_trace_fields",
    "nest_spans_in_actions",
    "ActionRuntimeContext",
    "UNFINISHED_ATTRIBUTE",
    "START_MISSING_ATTRIBUTE",
]
