"""
OpenTelemetry, client side: the task's actions become spans, and the
server's (otel_server.py) join them in the same trace:

    export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces
    python examples/otel_client.py http://127.0.0.1:8080/ > client.log
"""

import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import react
from twisted.internet.threads import deferToThread

from txcausal import add_destinations, log_message, remove_destination, start_action, to_file, treq
from txcausal.otel import SpanDestination


async def greet(reactor, url):
    with start_action(action_type="client:greet", url=url):
        response = await treq.get(url, reactor=reactor)
        log_message(message_type="client:answer", body=await response.text())


def main(reactor, url="http://127.0.0.1:8080/"):
    provider = TracerProvider(resource=Resource.create({"service.name": "greeter-client"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    spans = SpanDestination()
    add_destinations(spans)

    def stop_tracing():
        # As the reactor stops: the last spans are sent from a thread.
        remove_destination(spans)
        return deferToThread(provider.shutdown)

    reactor.addSystemEventTrigger("before", "shutdown", stop_tracing)
    to_file(sys.stdout)
    return ensureDeferred(greet(reactor, url))


if __name__ == "__main__":
    react(main, sys.argv[1:])
