# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 9: the CPU per action sent to OpenTelemetry.  txcausal logs an
action (with the benchmark's fields) and a message inside it, through
L{txcausal.otel.SpanDestination}; the OpenTelemetry SDK does the same work
with its own tracer: C{start_as_current_span} with the same attributes and
an event.  Each has its own tracer provider with a C{BatchSpanProcessor}
whose exporter discards the spans, and a queue big enough that none is
dropped.  The figure is the process's CPU time, the processor's thread
included.  The exporter counts the spans it is given; at teardown, once the
provider is shut down, the count is written to a file of one line per span,
which the harness checks (L{bench._harness.check_lines}).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List, Sequence, Tuple

from ._harness import Contender, Prepared, Row, Settings, Workdir, compare, measure, unavailable
from ._peers import FIELDS

SDK = "OpenTelemetry SDK start_as_current_span"
SCENARIO = "9 action as an OpenTelemetry span, BatchSpanProcessor"


def _provider(directory: Path) -> Tuple[Any, Callable[[], None]]:
    """
    @return: A tracer provider exporting to an exporter that counts and
        discards the spans, and its shutdown, which then writes a line per
        span exported to C{exported.log} in C{directory}.
    """
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Discard(SpanExporter):
        exported = 0

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.exported += len(spans)
            return SpanExportResult.SUCCESS

    exporter = Discard()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=1 << 20))

    def shutdown() -> None:
        provider.shutdown()
        (directory / "exported.log").write_bytes(b'{"span":"exported"}\n' * exporter.exported)

    return provider, shutdown


def _txcausal(directory: Path) -> Prepared:
    import txcausal
    from txcausal.otel import SpanDestination

    provider, shutdown = _provider(directory)
    destination = SpanDestination(provider)
    txcausal.add_destinations(destination)
    start_action, log_message = txcausal.start_action, txcausal.log_message

    def op() -> None:
        with start_action(action_type="bench:work", **FIELDS):
            log_message(message_type="bench:step", n=1)

    def teardown() -> None:
        txcausal.remove_destination(destination)
        shutdown()

    return op, teardown


def _sdk(directory: Path) -> Prepared:
    provider, shutdown = _provider(directory)
    tracer = provider.get_tracer("bench")

    def op() -> None:
        with tracer.start_as_current_span("bench:work", attributes=FIELDS) as span:
            span.add_event("bench:step", {"n": 1})

    return op, shutdown


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 9.
    """
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        return [unavailable(SCENARIO, "CPU per action", "opentelemetry-sdk is not installed")]
    figures = measure([Contender("txcausal", _txcausal, 1), Contender(SDK, _sdk, 1)], workdir,
                      settings.iterations(20_000), settings.repeats)
    return [compare(SCENARIO, "CPU per action (span with 3 attributes and an event)", "us",
                    figures, SDK, 1, target="no more than the SDK (>= 1x)")]
