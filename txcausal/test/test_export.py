"""
Tests for C{txcausal export} as OpenTelemetry spans: OTLP JSON lines, and
OTLP/HTTP to a twisted.web receiver that decodes the real protobuf.
"""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import eliot
import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.threads import deferToThread
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from txcausal import Action, log_message, start_action, start_task
from txcausal._cli import _common
from txcausal._json import JSONLineEncoder
from txcausal._traceids import span_id
from txcausal.otel import SpanDestination

from ._helpers import IsolatedOutputMixin, child_environment, examples_dir
from ._reading import cli


def write_log(path: Path, messages: List[Dict[str, Any]]) -> str:
    """
    Write messages as txcausal writes its log files.

    @return: The path.
    """
    encoder = JSONLineEncoder()
    path.write_bytes(b"".join(encoder.encode(m) for m in messages))
    return str(path)


class TwoProcesses(IsolatedOutputMixin):
    """
    Logs of a client and a server process, written by txcausal, with the
    spans a L{SpanDestination} made of them while they were logged.
    """

    def logTwoProcesses(self) -> Tuple[str, str]:
        self.live = InMemorySpanExporter()
        live_provider = TracerProvider()
        live_provider.add_span_processor(SimpleSpanProcessor(self.live))
        client: List[Dict[str, Any]] = []
        client_spans = SpanDestination(live_provider)
        self.isolate().add(client.append, client_spans)
        with start_action(action_type="client:main", user="alice") as main:
            with start_action(action_type="txcausal:http:client", method="GET") as request:
                task_id = request.serialize_task_id()
                server: List[Dict[str, Any]] = []
                self.isolate().add(server.append, SpanDestination(live_provider))
                with Action.continue_task(task_id=task_id, method="GET", path="/"):
                    log_message(message_type="server:note", size=3)
                    try:
                        with start_action(action_type="server:work"):
                            raise ZeroDivisionError("nothing to divide")
                    except ZeroDivisionError:
                        pass
                self.isolate().add(client.append, client_spans)
            with start_action(action_type="client:pending").context():  # Never finished.
                log_message(message_type="client:waiting")
        self.task_uuid = main.task_uuid
        base = Path(self.mktemp())  # type: ignore[attr-defined]
        base.mkdir()
        return (write_log(base / "client.log", client), write_log(base / "server.log", server))


def otel_free_environment(**extra: str) -> Dict[str, str]:
    """
    @return: This process's environment for a child that imports this
        txcausal (see L{child_environment}), without OpenTelemetry's settings
        (C{OTEL_*}), with C{extra} added.
    """
    env = {k: v for k, v in child_environment().items() if not k.startswith("OTEL_")}
    env.update(extra)
    return env


def spans_of(lines: str) -> List[Dict[str, Any]]:
    """
    @return: The spans of OTLP JSON lines, each with its resource's
        C{service.name} as C{service}.
    """
    spans = []
    for line in lines.splitlines():
        for resource in orjson.loads(line)["resourceSpans"]:
            service = {a["key"]: a["value"] for a in resource["resource"]["attributes"]}
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    span["service"] = service["service.name"]["stringValue"]
                    spans.append(span)
    return spans


def attributes_of(span: Dict[str, Any]) -> Dict[str, Any]:
    return {a["key"]: list(a["value"].values())[0] for a in span.get("attributes", [])}


class OTLPJSONTests(TwoProcesses, SynchronousTestCase):
    """
    C{txcausal export --format otlp-json}.
    """

    def test_twoProcesses(self) -> None:
        """
        The logs of two processes make one trace: the server's spans are
        under the client's request span; ids are in hex, kinds and status
        codes are OTLP's integers, an unfinished action is exported with
        the C{txcausal.unfinished} attribute.
        """
        client, server = self.logTwoProcesses()
        status, out, err = cli(["export", "--format", "otlp-json", "--service-name", "shop",
                                client, server])
        self.assertEqual(status, 0, err)
        self.assertIn("exported 5 spans (1 unfinished) from 1 task", err)
        spans = {s["name"]: s for s in spans_of(out)}
        trace_id = self.task_uuid.replace("-", "")
        self.assertEqual({s["traceId"] for s in spans.values()}, {trace_id})
        self.assertEqual({s["service"] for s in spans.values()}, {"shop"})
        request, served = spans["txcausal:http:client"], spans["eliot:remote_task"]
        self.assertEqual(served["parentSpanId"], request["spanId"])
        self.assertEqual(request["spanId"], f"{span_id(self.task_uuid, [2]):016x}")
        self.assertEqual((request["kind"], served["kind"]), (3, 2))
        self.assertEqual(spans["server:work"]["status"]["code"], 2)
        self.assertEqual(spans["server:work"]["events"][0]["name"], "exception")
        self.assertEqual([e["name"] for e in served["events"]], ["server:note"])
        self.assertEqual(attributes_of(spans["client:pending"]), {"txcausal.unfinished": True})
        self.assertNotIn("parentSpanId", spans["client:main"])

    def test_sameAsLive(self) -> None:
        """
        Spans exported from the files are those L{SpanDestination} made
        while the program ran: same ids, parents, times and attributes.
        """
        client, server = self.logTwoProcesses()
        status, out, err = cli(["export", "--format", "otlp-json", client, server])

        def key(name: str, span: str, parent: Any, start: Any, end: Any, attrs: Any) -> Any:
            values = sorted((k, str(v)) for k, v in attrs.items())
            return (name, span, parent or None, int(start), int(end), tuple(values))

        exported = {key(s["name"], s["spanId"], s.get("parentSpanId"), s["startTimeUnixNano"],
                        s["endTimeUnixNano"], attributes_of(s)) for s in spans_of(out)}
        live = {key(s.name, f"{s.context.span_id:016x}",
                    s.parent and f"{s.parent.span_id:016x}", s.start_time, s.end_time,
                    {k: v for k, v in (s.attributes or {}).items()})
                for s in self.live.get_finished_spans()}
        self.assertEqual(len(live), 4)
        self.assertTrue(live < exported, (live - exported, exported - live))

    def test_eliotLog(self) -> None:
        """
        A log written by Eliot is exported too.
        """
        logger = eliot.MemoryLogger()
        with eliot.start_action(logger, "eliot:main", n=1):
            with eliot.start_action(logger, "eliot:child"):
                eliot.log_message(message_type="eliot:note")
        path = write_log(Path(self.mktemp()), logger.messages)
        status, out, err = cli(["export", "--format", "otlp-json", path])
        spans = {s["name"]: s for s in spans_of(out)}
        self.assertEqual(sorted(spans), ["eliot:child", "eliot:main"])
        self.assertEqual(spans["eliot:child"]["parentSpanId"], spans["eliot:main"]["spanId"])
        self.assertEqual(attributes_of(spans["eliot:main"]), {"n": "1"})

    def test_startMissing(self) -> None:
        """
        An action whose start is not in the files starts C{duration} before
        its finish, and says its start is missing.
        """
        messages: List[Dict[str, Any]] = []
        self.isolate().add(messages.append)
        with start_task(action_type="app:main"):
            pass
        path = write_log(Path(self.mktemp()), messages[1:])
        status, out, err = cli(["export", "--format", "otlp-json", path])
        (span,) = spans_of(out)
        self.assertEqual(attributes_of(span), {"txcausal.start_missing": True})
        duration = int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"])
        self.assertLessEqual(abs(duration - messages[1]["duration"] * 1e9), 1000)

    def test_progress(self) -> None:
        """
        Reading big files shows progress on a terminal's standard error,
        erased at the end.
        """
        client, server = self.logTwoProcesses()
        self.patch(_common, "PROGRESS_MIN_BYTES", 0)

        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        err = Terminal()
        status = _cli_main(["export", "--format", "otlp-json", client], err)
        self.assertEqual(status, 0)
        self.assertIn("txcausal: reading", err.getvalue())
        self.assertIn("\r\x1b[K", err.getvalue())

    def test_badArguments(self) -> None:
        """
        Without C{--endpoint} or C{--format} (or with both) the command
        refuses, saying so; a malformed C{--header} is reported.
        """
        for args, text in [
            (["export"], "one of the arguments --endpoint --format is required"),
            (["export", "--format", "ecs", "--endpoint", "http://x/"], "not allowed with"),
        ]:
            usage = io.StringIO()
            self.patch(sys, "stderr", usage)
            with self.assertRaises(SystemExit) as raised:
                cli(args)
            self.assertEqual(raised.exception.code, 2)
            self.assertIn(text, usage.getvalue())
        status, out, err = cli(["export", "--endpoint", "http://127.0.0.1:9/", "--header", "x"])
        self.assertEqual((status, err), (2, "txcausal: export: --header must be NAME=VALUE,"
                                             " not 'x'\n"))
        status, out, err = cli(["export", "--endpoint", "localhost:4318"])
        self.assertEqual((status, err), (2, "txcausal: export: --endpoint must be an http or"
                                             " https URL, not 'localhost:4318'\n"))

    def test_withoutOpenTelemetry(self) -> None:
        """
        Without the C{otel} extra, the OTLP formats say how to install it.
        """
        name = "txcausal._cli._export_otlp"
        self.addCleanup(sys.modules.__setitem__, name, sys.modules[name])
        sys.modules[name] = None  # type: ignore[assignment]
        status, out, err = cli(["export", "--format", "otlp-json"])
        self.assertEqual(status, 2)
        self.assertIn("pip install 'txcausal[otel]'", err)


def _cli_main(args: List[str], stderr: Any) -> int:
    from txcausal._cli import main

    return main(args, stdin=io.BytesIO(), stdout=io.StringIO(), stderr=stderr)


class Receiver(Resource):
    """
    An OTLP/HTTP traces endpoint: decodes each request's protobuf.
    """

    isLeaf = True

    def __init__(self, code: int = 200) -> None:
        super().__init__()
        self.code = code
        self.requests: List[ExportTraceServiceRequest] = []
        self.paths: List[bytes] = []

    def render_POST(self, request: Any) -> bytes:
        body = request.content.read()
        if request.getHeader(b"content-encoding") == b"gzip":
            body = gzip.decompress(body)
        self.requests.append(ExportTraceServiceRequest.FromString(body))
        self.paths.append(request.path)
        self.headers = request.requestHeaders
        request.setResponseCode(self.code)
        request.setHeader(b"content-type", b"application/x-protobuf")
        return ExportTraceServiceResponse().SerializeToString()  # type: ignore[no-any-return]

    def spans(self) -> List[Any]:
        return [span for r in self.requests for rs in r.resource_spans
                for ss in rs.scope_spans for span in ss.spans]


class OTLPHTTPTests(TwoProcesses, TestCase):
    """
    Spans sent over OTLP/HTTP to a real twisted.web server on loopback,
    decoded with C{opentelemetry-proto}.
    """

    def listen(self, receiver: Receiver) -> str:
        from twisted.internet import reactor

        port: Any = reactor.listenTCP(0, Site(receiver), interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        return f"http://127.0.0.1:{port.getHost().port}/v1/traces"

    def export(self, *args: str) -> Any:
        from twisted.internet import reactor

        env = otel_free_environment()
        return getProcessOutputAndValue(sys.executable, ["-m", "txcausal", "export", *args],
                                        env=env, reactor=reactor)

    def test_send(self) -> Any:
        """
        C{txcausal export --endpoint} sends the spans of the files, with the
        headers asked for; the receiver decodes them.
        """
        receiver = Receiver()
        url = self.listen(receiver)
        client, server = self.logTwoProcesses()

        def check(result: Tuple[bytes, bytes, int]) -> None:
            out, err, code = result
            self.assertEqual(code, 0, err)
            spans = {s.name: s for s in receiver.spans()}
            self.assertEqual(len(spans), 5)
            served = spans["eliot:remote_task"]
            self.assertEqual(served.parent_span_id, spans["txcausal:http:client"].span_id)
            self.assertEqual(served.trace_id.hex(), self.task_uuid.replace("-", ""))
            self.assertEqual(receiver.headers.getRawHeaders(b"authorization"), [b"Bearer t"])

        d = self.export("--endpoint", url, "--header", "Authorization=Bearer t", client, server)
        return d.addCallback(check)

    def test_baseURL(self) -> Any:
        """
        An endpoint given without a path (as C{OTEL_EXPORTER_OTLP_ENDPOINT}
        is written) gets the traces path, C{/v1/traces}.
        """
        receiver = Receiver()
        url = self.listen(receiver).replace("/v1/traces", "")
        client, server = self.logTwoProcesses()

        def check(result: Tuple[bytes, bytes, int]) -> None:
            self.assertEqual(result[2], 0, result[1])
            self.assertEqual(receiver.paths, [b"/v1/traces"])

        return self.export("--endpoint", url, client, server).addCallback(check)

    def test_refused(self) -> Any:
        """
        When the endpoint refuses the spans, the command says so and exits
        with status 1.
        """
        url = self.listen(Receiver(400))
        client, server = self.logTwoProcesses()

        def check(result: Tuple[bytes, bytes, int]) -> None:
            out, err, code = result
            self.assertEqual(code, 1)
            self.assertIn(b"5 spans could not be sent", err)

        return self.export("--endpoint", url, client, server).addCallback(check)

    def test_spanDestination(self) -> Any:
        """
        L{SpanDestination} with a C{BatchSpanProcessor} and the OTLP/HTTP
        exporter, as users configure it, sends the spans of actions.
        """
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        receiver = Receiver()
        url = self.listen(receiver)
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        self.addCleanup(tracer_provider.shutdown)
        self.isolate().add(SpanDestination(tracer_provider))
        with start_action(action_type="app:main") as main:
            with start_action(action_type="app:child", n=1):
                pass

        def check(flushed: bool) -> None:
            self.assertTrue(flushed)
            spans = {s.name: s for s in receiver.spans()}
            self.assertEqual(sorted(spans), ["app:child", "app:main"])
            self.assertEqual(spans["app:child"].parent_span_id, spans["app:main"].span_id)
            self.assertEqual(spans["app:main"].trace_id.hex(), main.task_uuid.replace("-", ""))

        return deferToThread(tracer_provider.force_flush).addCallback(check)

    def test_examples(self) -> Any:
        """
        C{examples/otel_client.py} calling C{examples/otel_server.py}, both
        exporting over OTLP/HTTP, make one trace: the server's spans under
        the client's request span.
        """
        from twisted.internet import reactor

        receiver = Receiver()
        env = otel_free_environment()
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = self.listen(receiver)
        server = _LineReader()
        script = str(examples_dir() / "otel_server.py")
        process = reactor.spawnProcess(server, sys.executable, [sys.executable, script, "0"],
                                       env=env)

        def call(first: bytes) -> Any:
            port = orjson.loads(first)["port"]
            return getProcessOutputAndValue(
                sys.executable, [str(examples_dir() / "otel_client.py"),
                                 f"http://127.0.0.1:{port}/"], env=env, reactor=reactor)

        def stop(result: Tuple[bytes, bytes, int]) -> Any:
            self.assertEqual(result[2], 0, result[1])
            process.signalProcess("TERM")
            return server.ended

        def check(_: Any) -> None:
            spans = {s.name: s for s in receiver.spans()}
            self.assertEqual(sorted(spans), ["client:greet", "eliot:remote_task",
                                             "server:greet", "txcausal:http:client"])
            self.assertEqual(spans["eliot:remote_task"].parent_span_id,
                             spans["txcausal:http:client"].span_id)
            self.assertEqual(spans["server:greet"].parent_span_id,
                             spans["eliot:remote_task"].span_id)
            self.assertEqual(len({s.trace_id for s in spans.values()}), 1)

        return server.first.addCallback(call).addCallback(stop).addCallback(check)


class _LineReader(ProcessProtocol):
    """
    Fires C{first} with the first line a process writes, C{ended} when it
    ends.
    """

    def __init__(self) -> None:
        self.first: "Deferred[bytes]" = Deferred()
        self.ended: "Deferred[None]" = Deferred()
        self._buffer = b""

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        if b"\n" in self._buffer and not self.first.called:
            self.first.callback(self._buffer.split(b"\n", 1)[0])

    def processEnded(self, reason: Any) -> None:
        if not self.first.called:
            self.first.errback(reason)
        self.ended.callback(None)
