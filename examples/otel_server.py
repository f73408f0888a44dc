"""
OpenTelemetry, server side: each request's actions become spans in any
OTLP backend, under the span of the client that called (otel_client.py):

    export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces
    python examples/otel_server.py 8080 > server.log
"""

import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from twisted.internet.defer import Deferred
from twisted.internet.task import react
from twisted.internet.threads import deferToThread
from twisted.web import resource
from twisted.web.server import Site

from txcausal import add_destinations, log_message, remove_destination, start_action, to_file
from txcausal.otel import SpanDestination
from txcausal.web import TracingResource


class Greet(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        with start_action(action_type="server:greet", who="world"):
            log_message(message_type="server:greeted", language="en")
            return b"hello"


def main(reactor, port="8080"):
    provider = TracerProvider(resource=Resource.create({"service.name": "greeter"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    spans = SpanDestination()
    add_destinations(spans)

    def stop_tracing():
        # End the actions still open as spans, then send the last spans from
        # a thread: a collector that does not answer holds up the shutdown,
        # not the reactor.
        remove_destination(spans)
        return deferToThread(provider.shutdown)

    reactor.addSystemEventTrigger("before", "shutdown", stop_tracing)
    to_file(sys.stdout)
    site = Site(TracingResource(Greet()))
    listening = reactor.listenTCP(int(port), site, interface="127.0.0.1")
    log_message(message_type="server:listening", port=listening.getHost().port)
    return Deferred()  # Serve until interrupted.


if __name__ == "__main__":
    react(main, sys.argv[1:])
