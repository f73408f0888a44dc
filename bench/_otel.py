# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 9: the CPU per action sent to OpenTelemetry.  txcausal logs an
action (with the benchmark's fields) and a message inside it, through
L{txcausal.otel.SpanDestination}; the OpenTelemetry SDK does the same work
with its own tracer: C{start_as_current_span} with the same attributes and
an event.  Each has its own tracer provider with a C{BatchSpanProcessor}
whose exporter discards the spans, and a queue big enough that none is
dropped.  The figure is the process's CPU time, the processor's thread
included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Sequence

from ._harness import Contender, Prepared, Row, Settings, Workdir, compare, measure, unavailable
from ._peers import FIELDS

SDK = "OpenTelemetry SDK start_as_current_span"
SCENARIO = "9 action as an OpenTelemetry span, BatchSpanProcessor"


def _provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Discard(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=1 << 20))
    return provider


def _txcausal(directory: Path) -> Prepared:
    import txcausal
    from txcausal.otel import SpanDestination

    provider = _provider()
    destination = SpanDestination(provider)
    txcausal.add_destinations(destination)
    start_action, log_message = txcausal.start_action, txcausal.log_message

    def op() -> None:
        with start_action(action_type="bench:work", **FIELDS):
            log_message(message_type="bench:step", n=1)

    def teardown() -> None:
        txcausal.remove_destination(destination)
        provider.shutdown()

    return op, teardown


def _sdk(directory: Path) -> Prepared:
    provider = _provider()
    tracer = provider.get_tracer("bench")

    def op() -> None:
        with tracer.start_as_current_span("bench:work", attributes=FIELDS) as span:
            span.add_event("bench:step", {"n": 1})

    return op, provider.shutdown


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 9.
    """
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        return [unavailable(SCENARIO, "CPU per action", "opentelemetry-sdk is not installed")]
    figures = measure([Contender("txcausal", _txcausal), Contender(SDK, _sdk)], workdir,
                      settings.iterations(20_000), settings.repeats)
    return [compare(SCENARIO, "CPU per action (span with 3 attributes and an event)", "us",
                    figures, SDK, 1, target="no more than the SDK (>= 1x)")]
