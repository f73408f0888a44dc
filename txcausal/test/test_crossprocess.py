"""
Tasks across processes over HTTP, end to end: a real twisted.web server and
treq client on loopback, Eliot and OpenTelemetry on the other side, and the
cross-process examples.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
from typing import Any, Dict, Iterable, List, Tuple
from uuid import UUID

import eliot
import treq
from opentelemetry import trace as oteltrace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from treq.testing import RequestTraversalAgent
from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import Site

from txcausal import log_message, start_action
from txcausal import treq as txtreq
from txcausal._traceids import span_id
from txcausal.parse import parse_messages
from txcausal.test._helpers import CapturingMixin, examples_dir, run_example, run_python
from txcausal.test._web_helpers import StubTreq
from txcausal.test.test_treq import RecordingAgent
from txcausal.treq import TracingAgent
from txcausal.web import TracingResource

Shape = Tuple[Any, ...]


def _shape(node: Any) -> Shape:
    children = [_shape(c) if hasattr(c, "children") else c["message_type"] for c in node.children]
    return (node.action_type, node.status, children)


def task_shapes(messages: Iterable[Dict[str, Any]]) -> List[Tuple[bool, Shape]]:
    """
    Parse messages (with txcausal's parser, or Eliot's before it existed)
    into tasks.

    @return: For each task, whether it is complete and its tree as nested
        C{(action_type, status, children)}, messages by type.
    """
    try:
        from txcausal.parse import parse_messages
    except ImportError:  # pragma: no cover
        from eliot.parse import Parser

        def shape(node: Any) -> Shape:
            children = [shape(c) if hasattr(c, "children") else c.contents["message_type"]
                        for c in node.children]
            return (node.action_type, node.status, children)

        return [(True, shape(task.root())) for task in Parser.parse_stream(messages)]
    return [(task.complete, _shape(task.root)) for task in parse_messages(list(messages))]


class Work(Resource):
    """
    A leaf that does some logged work.
    """

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        with start_action(action_type="server:work"):
            log_message(message_type="server:detail")
        return b"done"


SERVER_TREE = ("eliot:remote_task", "succeeded", [("server:work", "succeeded", ["server:detail"])])


class LoopbackTests(CapturingMixin, TestCase):
    """
    A real twisted.web server on 127.0.0.1 and a real treq client.
    """

    def test_oneTask(self) -> Any:
        """
        The client's action, the server's C{eliot:remote_task} and the
        server's work form one complete task.
        """
        from twisted.internet import reactor
        from twisted.web.client import HTTPConnectionPool

        logger = self.capture()
        port: Any = reactor.listenTCP(0, Site(TracingResource(Work())), interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        pool = HTTPConnectionPool(reactor, persistent=False)
        url = f"http://127.0.0.1:{port.getHost().port}/work"

        async def client() -> bytes:
            with start_action(action_type="client:main"):
                response = await txtreq.get(url, pool=pool, reactor=reactor)
                return await response.content()  # type: ignore[no-any-return]

        def check(body: bytes) -> None:
            self.assertEqual(body, b"done")
            self.assertEqual(task_shapes(logger.messages), [(True, (
                "client:main", "succeeded",
                [("txcausal:http:client", "succeeded", [SERVER_TREE])]))])

        return ensureDeferred(client()).addCallback(check)


    def test_sameTraceparentTwice(self) -> Any:
        """
        Two requests carrying the same bare C{traceparent} (a retry below
        an OpenTelemetry client's span, say) are two actions of one task,
        each in the tree with its own work, at positions of their own under
        the calling span's (C{0x00f067aa} above C{REMOTE_LEVEL_BASE}).
        """
        from twisted.internet import reactor
        from twisted.web.client import HTTPConnectionPool

        logger = self.capture()
        port: Any = reactor.listenTCP(0, Site(TracingResource(Work())), interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        pool = HTTPConnectionPool(reactor, persistent=False)
        url = f"http://127.0.0.1:{port.getHost().port}/work"
        traceparent = [b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]
        plain_get: Any = treq.get

        async def client() -> None:
            for _ in range(2):
                response = await plain_get(url, headers=Headers({b"traceparent": traceparent}),
                                           pool=pool, reactor=reactor)
                await response.content()

        def check(_: None) -> None:
            tasks = list(parse_messages(logger.messages))
            self.assertEqual([(t.uuid, t.strays) for t in tasks],
                             [("4bf92f35-77b3-4da6-a3ce-929d0e0e4736", [])])
            served: List[Any] = tasks[0].root.children
            self.assertEqual([_shape(c) for c in served], [SERVER_TREE, SERVER_TREE])
            self.assertEqual(len({c.task_level for c in served}), 2)
            self.assertEqual({c.task_level[:-1] for c in served}, {(1015755178,)})

        return ensureDeferred(client()).addCallback(check)


class EliotInteropTests(CapturingMixin, SynchronousTestCase):
    """
    Eliot 1.18 services continue txcausal tasks and the other way round.
    Eliot logs to its own L{eliot.MemoryLogger}, txcausal to its own.
    """

    def test_eliotServer(self) -> None:
        """
        A plain twisted.web server using C{eliot.Action.continue_task}
        continues a txcausal client's task.
        """
        ours, theirs = self.capture(), eliot.MemoryLogger()

        class EliotServer(Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                task_id = request.getHeader(b"x-eliot-task-id")
                with eliot.Action.continue_task(theirs, task_id):
                    with eliot.start_action(theirs, "server:work"):
                        pass
                return b""

        agent = TracingAgent(RequestTraversalAgent(EliotServer()))
        with start_action(action_type="client:main"):
            d = agent.request(b"GET", b"http://example.com/")
        self.successResultOf(d)
        self.assertEqual(task_shapes(ours.messages + theirs.messages), [(True, (
            "client:main", "succeeded", [("txcausal:http:client", "succeeded", [
                ("eliot:remote_task", "succeeded", [("server:work", "succeeded", [])])])]))])

    def test_eliotClient(self) -> None:
        """
        A txcausal server continues the task of an Eliot client.
        """
        ours, theirs = self.capture(), eliot.MemoryLogger()
        stub = StubTreq(TracingResource(Work()))
        with eliot.start_action(theirs, "client:main") as action:
            task_id = action.serialize_task_id()
            d = stub.get("http://example.com/", headers={"X-Eliot-Task-Id": task_id})
        self.successResultOf(d)
        self.assertEqual(task_shapes(theirs.messages + ours.messages),
                         [(True, ("client:main", "succeeded", [SERVER_TREE]))])


class OpenTelemetryInteropTests(CapturingMixin, SynchronousTestCase):
    """
    OpenTelemetry's own W3C propagator reads our C{traceparent} and writes
    one we continue.
    """

    propagator = TraceContextTextMapPropagator()

    def test_extractsOurs(self) -> None:
        """
        OpenTelemetry reads the task UUID as trace-id, and the span id of
        the request's action as the parent.
        """
        self.capture()
        inner = RecordingAgent()
        with start_action(action_type="client:main") as action:
            TracingAgent(inner).request(b"GET", b"http://example.com/")
        sent = inner.requests[0][2]
        assert sent is not None
        carrier = {k.decode().lower(): v[0].decode() for k, v in sent.getAllRawHeaders()}
        context = oteltrace.get_current_span(self.propagator.extract(carrier)).get_span_context()
        self.assertEqual(context.trace_id, UUID(action.task_uuid).int)
        self.assertEqual(context.span_id, span_id(action.task_uuid, [2]))
        self.assertTrue(context.trace_flags.sampled)

    def test_continuesTheirs(self) -> None:
        """
        A request OpenTelemetry injected is continued in the task whose UUID
        is its trace-id, with its span id logged, and requests made while
        serving it stay in its trace with its C{tracestate}.
        """
        logger = self.capture()
        parent = oteltrace.SpanContext(
            trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7,
            is_remote=False, trace_flags=oteltrace.TraceFlags(oteltrace.TraceFlags.SAMPLED),
            trace_state=oteltrace.TraceState([("vendor", "opaque")]))
        carrier: Dict[str, str] = {}
        span = oteltrace.NonRecordingSpan(parent)
        self.propagator.inject(carrier, oteltrace.set_span_in_context(span))
        downstream = RecordingAgent()

        class Forward(Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                TracingAgent(downstream).request(b"GET", b"http://next/")
                return b""

        stub = StubTreq(TracingResource(Forward()))
        self.successResultOf(stub.get("http://example.com/", headers=carrier))
        start = logger.messages[0]
        self.assertEqual((start["task_uuid"], start["parent_span_id"]),
                         (str(UUID(int=parent.trace_id)), "00f067aa0ba902b7"))
        sent = downstream.requests[0][2]
        assert sent is not None
        carrier = {k.decode().lower(): v[0].decode() for k, v in sent.getAllRawHeaders()}
        context = oteltrace.get_current_span(self.propagator.extract(carrier)).get_span_context()
        self.assertEqual(context.trace_id, parent.trace_id)
        self.assertEqual(context.trace_state.get("vendor"), "opaque")


class ExamplesTests(SynchronousTestCase):
    """
    The cross-process examples, as a user runs them.
    """

    def start_server(self) -> Tuple["subprocess.Popen[str]", int]:
        """
        Start C{examples/cross_process_server.py} on a free port.

        @return: The process and the port it listens on.
        """
        script = examples_dir() / "cross_process_server.py"
        server = subprocess.Popen([sys.executable, str(script), "0"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.addCleanup(server.wait, 30)
        self.addCleanup(server.terminate)
        selector = selectors.DefaultSelector()
        selector.register(server.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        if not selector.select(timeout=60):
            self.fail("the server did not start")
        first = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        self.assertEqual(first["message_type"], "server:listening")
        self.server_log = [first]
        return server, first["port"]

    def server_messages(self, server: "subprocess.Popen[str]") -> List[Dict[str, Any]]:
        server.terminate()
        out, _ = server.communicate(timeout=30)
        return self.server_log + [json.loads(line) for line in out.splitlines() if line.strip()]

    def test_divide(self) -> None:
        """
        The client divides through the server; the two logs make one task:
        the client's actions, and the server's division under its request.
        """
        server, port = self.start_server()
        client = run_example("cross_process_client.py", "10", "4", f"http://127.0.0.1:{port}")
        messages = [json.loads(line) for line in client.stdout.splitlines()]
        tasks = task_shapes(messages + self.server_messages(server))
        divide: Shape = ("eliot:remote_task", "succeeded", [("divide", "succeeded", [])])
        self.assertIn((True, ("main", "succeeded", [("remote_divide", "succeeded", [
            ("txcausal:http:client", "succeeded", [divide])])])), tasks)
        self.assertEqual({m["process"] for m in messages}, {"client"})

    def test_divideByZero(self) -> None:
        """
        Dividing by zero fails on the server, and the combined log shows why
        the client failed.
        """
        server, port = self.start_server()
        client = run_python([str(examples_dir() / "cross_process_client.py"), "5", "0",
                             f"http://127.0.0.1:{port}"])
        self.assertEqual(client.returncode, 1, client.stderr)
        messages = [json.loads(line) for line in client.stdout.splitlines()]
        tasks = task_shapes(messages + self.server_messages(server))
        divide: Shape = ("eliot:remote_task", "failed", [("divide", "failed", [])])
        self.assertIn((True, ("main", "failed", [("remote_divide", "failed", [
            ("txcausal:http:client", "succeeded", [divide])])])), tasks)
