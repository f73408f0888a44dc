"""
Tests for L{txcausal.treq}: HTTP clients that carry the task.
"""

from __future__ import annotations

import gc
import inspect
import sys
import weakref
from types import FrameType
from typing import Any, Dict, List, Optional, Tuple
from unittest import mock

import treq
import treq.api
import twisted.internet
from treq.api import get_global_pool, set_global_pool
from treq.testing import RequestTraversalAgent
from twisted.internet.address import IPv4Address
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.error import ConnectionRefusedError, DNSLookupError
from twisted.internet.interfaces import (
    IHostnameResolver,
    IHostResolution,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
)
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.python.reflect import fullyQualifiedName
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import HTTPConnectionPool, ResponseNeverReceived
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IBodyProducer
from twisted.web.resource import Resource
from zope.interface import implementer
from zope.interface.verify import verifyObject

from txcausal import MemoryLogger, current_action, start_action
from txcausal import treq as txtreq
from txcausal._traceids import span_id
from txcausal.test._helpers import CapturingMixin
from txcausal.test._web_helpers import StubTreq
from txcausal.treq import CLIENT_ACTION_TYPE, TracingAgent
from txcausal.web import REMOTE_TASK_ACTION_TYPE, TracingResource


@implementer(IAgent)
class RecordingAgent:
    """
    An agent that records requests and answers with Deferreds the test
    fires.
    """

    def __init__(self, cancelWith: Optional[Exception] = None) -> None:
        """
        @param cancelWith: What a cancelled request fails with, as Twisted's
            L{Agent} fails it; by default, the L{CancelledError} of
            L{Deferred.cancel}.
        """
        self.requests: List[Tuple[bytes, bytes, Optional[Headers], Any, Deferred[Any]]] = []
        self.cancelled = 0
        self._cancelWith = cancelWith

    def request(self, method: bytes, uri: bytes, headers: Optional[Headers] = None,
                bodyProducer: Any = None) -> "Deferred[Any]":
        d: Deferred[Any] = Deferred(self._cancel)
        self.requests.append((method, uri, headers, bodyProducer, d))
        return d

    def _cancel(self, d: "Deferred[Any]") -> None:
        self.cancelled += 1
        if self._cancelWith is not None:
            d.errback(self._cancelWith)


class FakeResponse:
    """
    Enough of an L{IResponse} for L{TracingAgent}.
    """

    def __init__(self, code: int) -> None:
        self.code = code


class HeaderEcho(Resource):
    """
    Records the headers of each request and answers with C{code}.
    """

    isLeaf = True

    def __init__(self, code: int = 200) -> None:
        super().__init__()
        self.code = code
        self.received: List[Headers] = []

    def render(self, request: Any) -> bytes:
        self.received.append(request.requestHeaders)
        request.setResponseCode(self.code)
        return b"hello"


@implementer(IBodyProducer)
class BytesProducer:
    """
    A body producer that writes everything at once, with no reactor.
    """

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.length = len(body)

    def startProducing(self, consumer: Any) -> "Deferred[None]":
        consumer.write(self.body)
        return succeed(None)

    def stopProducing(self) -> None:
        pass

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass


class TracingAgentTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{TracingAgent}.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.inner = RecordingAgent()
        self.agent = TracingAgent(self.inner)

    def test_interface(self) -> None:
        """
        L{TracingAgent} provides L{IAgent}.
        """
        self.assertTrue(verifyObject(IAgent, self.agent))

    def test_sendsPosition(self) -> None:
        """
        The request carries a position inside the request's action, as
        C{X-Eliot-Task-Id}, and the request's action as the parent in
        C{traceparent}.
        """
        with start_action(action_type="app:outer") as outer:
            self.agent.request(b"GET", b"http://example.com/")
        headers = self.inner.requests[0][2]
        assert headers is not None
        task_id = f"{outer.task_uuid}@/2/2".encode()
        self.assertEqual(headers.getRawHeaders(b"x-eliot-task-id"), [task_id])
        trace_id = outer.task_uuid.replace("-", "")
        self.assertEqual(headers.getRawHeaders(b"traceparent"),
                         [f"00-{trace_id}-{span_id(outer.task_uuid, [2]):016x}-01".encode()])

    def test_methodLogged(self) -> None:
        """
        The request's method is logged as text: a usual one, another one,
        one given as a C{bytearray}, and one that is not ASCII (escaped).
        """
        for method in [b"GET", b"PROPFIND", bytearray(b"POST"), b"G\xe9T"]:
            self.agent.request(method, b"http://example.com/")  # type: ignore[arg-type]
        logged = [m["method"] for m in self.logger.messages if "method" in m]
        self.assertEqual(logged, ["GET", "PROPFIND", "POST", "G\\xe9T"])

    def test_parentSpanAtEveryDepth(self) -> None:
        """
        C{traceparent} names as parent the span of the request's action,
        whether it is a task's root action or one several levels deep.
        """
        self.agent.request(b"GET", b"http://example.com/")
        with start_action(action_type="app:outer") as outer:
            with start_action(action_type="app:inner"):
                self.agent.request(b"GET", b"http://example.com/")
        sent = [request[2] for request in self.inner.requests]
        starts = [m for m in self.logger.messages if m.get("action_type") == CLIENT_ACTION_TYPE]
        for headers, start in zip(sent, starts, strict=True):
            assert headers is not None
            task_uuid, level = start["task_uuid"], start["task_level"][:-1]
            self.assertEqual(headers.getRawHeaders(b"traceparent"), [
                f"00-{task_uuid.replace('-', '')}-{span_id(task_uuid, level):016x}-01".encode()])
        self.assertEqual([start["task_level"] for start in starts], [[1], [2, 2, 1]])
        self.assertEqual(starts[1]["task_uuid"], outer.task_uuid)

    def test_doesNotMutateHeaders(self) -> None:
        """
        The caller's L{Headers} are not changed; their values are sent.
        """
        mine = Headers({b"accept": [b"text/plain"]})
        self.agent.request(b"GET", b"http://example.com/", mine)
        self.assertEqual(list(mine.getAllRawHeaders()), [(b"Accept", [b"text/plain"])])
        sent = self.inner.requests[0][2]
        assert sent is not None
        self.assertEqual(sent.getRawHeaders(b"accept"), [b"text/plain"])

    def test_retriesGetFreshPositions(self) -> None:
        """
        Two requests with the same headers send different positions.
        """
        mine = Headers()
        self.agent.request(b"GET", b"http://example.com/", mine)
        self.agent.request(b"GET", b"http://example.com/", mine)
        ids = [h.getRawHeaders(b"x-eliot-task-id") for _, _, h, _, _ in self.inner.requests]  # type: ignore[union-attr]
        self.assertNotEqual(ids[0], ids[1])

    def test_logsAction(self) -> None:
        """
        The request is an action under the current one, with the method and
        the URL without credentials or query; it succeeds with the status.
        """
        with start_action(action_type="app:outer"):
            d = self.agent.request(b"PUT", b"http://u:secret@example.com:81/p?token=x#f")
        self.inner.requests[0][4].callback(FakeResponse(201))
        self.assertEqual(self.successResultOf(d).code, 201)
        start, end = [m for m in self.logger.messages if m.get("action_type") == CLIENT_ACTION_TYPE]
        self.assertEqual((start["method"], start["url"], start["task_level"]),
                         ("PUT", "http://example.com:81/p", [2, 1]))
        self.assertEqual((end["action_status"], end["status"], end["task_level"]),
                         ("succeeded", 201, [2, 3]))

    def test_urlWithoutCredentials(self) -> None:
        """
        The URL logged keeps none of the user info, even when it holds
        several C{@}, and none of the query string or fragment; the host,
        port and path are logged as requested.
        """
        for uri, logged in [(b"http://a:b@c@example.com/p?q=1", "http://example.com/p"),
                            (b"http://u@example.com", "http://example.com"),
                            (b"https://example.com:80/a@b/c#f?x", "https://example.com:80/a@b/c"),
                            (b"http://example.com/caf\xc3\xa9", "http://example.com/caf\\xc3\\xa9"),
                            (b"/relative?secret", "/relative")]:
            self.agent.request(b"GET", uri)
            self.assertEqual(self.logger.messages[-1]["url"], logged)

    def test_finishListsPositionSent(self) -> None:
        """
        The position sent is a child of the request's own action, so that
        action's finish message lists it in C{remote_task_levels}, whether
        the request succeeds or fails; the caller's action lists nothing.
        """
        with start_action(action_type="app:outer"):
            ok = self.agent.request(b"GET", b"http://example.com/")
            failed = self.agent.request(b"GET", b"http://example.com/")
        self.inner.requests[0][4].callback(FakeResponse(200))
        self.inner.requests[1][4].errback(ConnectionRefusedError())
        self.successResultOf(ok)
        self.failureResultOf(failed, ConnectionRefusedError)
        sent = [h.getRawHeaders(b"x-eliot-task-id")[0] for _, _, h, _, _ in self.inner.requests]  # type: ignore[union-attr, index]
        self.assertEqual([s.split(b"@")[1] for s in sent], [b"/2/2", b"/3/2"])
        ends = [m for m in self.logger.messages
                if m.get("action_type") == CLIENT_ACTION_TYPE and m["action_status"] != "started"]
        self.assertEqual([(m["task_level"], m["action_status"], m.get("remote_task_levels"))
                          for m in ends],
                         [([2, 3], "succeeded", ["/2/2"]), ([3, 3], "failed", ["/3/2"])])
        outer_end = [m for m in self.logger.messages if m.get("action_type") == "app:outer"][-1]
        self.assertNotIn("remote_task_levels", outer_end)

    def test_errorStatusSucceeds(self) -> None:
        """
        A 4xx or 5xx response is a response: the action succeeds with its
        status, and the caller decides.
        """
        for code in (404, 503):
            d = self.agent.request(b"GET", b"http://example.com/")
            self.inner.requests[-1][4].callback(FakeResponse(code))
            self.successResultOf(d)
            end = self.logger.messages[-1]
            self.assertEqual((end["action_status"], end["status"]), ("succeeded", code))

    def test_connectionErrorFails(self) -> None:
        """
        When no response arrives, the action fails with the error, which is
        passed on.
        """
        d = self.agent.request(b"GET", b"http://example.com/")
        self.inner.requests[0][4].errback(ConnectionRefusedError())
        self.failureResultOf(d, ConnectionRefusedError)
        end = self.logger.messages[-1]
        self.assertEqual((end["action_status"], end["exception"]),
                         ("failed", "twisted.internet.error.ConnectionRefusedError"))

    def test_synchronousErrorFails(self) -> None:
        """
        An agent that raises instead of returning a failed Deferred fails the
        action, and the exception propagates.
        """
        class Broken:
            def request(self, *args: Any) -> Any:
                raise ValueError("bad URL")

        self.assertRaises(ValueError, TracingAgent(Broken()).request,  # type: ignore[arg-type]
                          b"GET", b"nope")
        self.assertEqual(self.logger.messages[-1]["exception"], "builtins.ValueError")

    def test_cancel(self) -> None:
        """
        Cancelling the request cancels the wrapped agent's, and fails the
        action.
        """
        d = self.agent.request(b"GET", b"http://example.com/")
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.inner.cancelled, 1)
        end = self.logger.messages[-1]
        self.assertEqual((end["exception"], end["cancelled"]),
                         ("twisted.internet.defer.CancelledError", True))

    def test_cancelledWhateverTheError(self) -> None:
        """
        A request the caller cancels fails its action with
        C{cancelled: true} whatever the agent fails it with: Twisted's
        L{Agent} fails a request cancelled once sent with
        L{ResponseNeverReceived}, and one cancelled while its host name is
        resolved with L{DNSLookupError}.
        """
        errors = [ResponseNeverReceived([Failure(CancelledError())]), DNSLookupError("cancelled")]
        for error in errors:
            inner = RecordingAgent(cancelWith=error)
            d = TracingAgent(inner).request(b"GET", b"http://example.com/")
            d.cancel()
            self.failureResultOf(d, type(error))
            end = self.logger.messages[-1]
            self.assertEqual((end["action_status"], end["exception"], end.get("cancelled")),
                             ("failed", fullyQualifiedName(type(error)), True))

    def test_notCancelled(self) -> None:
        """
        A request that fails by itself has no C{cancelled} field, nor one
        that a response ended before the caller cancelled it.
        """
        d = self.agent.request(b"GET", b"http://example.com/")
        self.inner.requests[0][4].errback(ConnectionRefusedError())
        self.failureResultOf(d, ConnectionRefusedError)
        d = self.agent.request(b"GET", b"http://example.com/")
        self.inner.requests[1][4].callback(FakeResponse(200))
        self.successResultOf(d)
        d.cancel()
        ends = [m for m in self.logger.messages if m.get("action_status") != "started"]
        self.assertEqual([(m["action_status"], "cancelled" in m) for m in ends],
                         [("failed", False), ("succeeded", False)])

    def test_callbacksRunInCallersAction(self) -> None:
        """
        The response's callbacks run with the caller's action current, even
        though the response arrives outside it.
        """
        with start_action(action_type="app:outer") as outer:
            d = self.agent.request(b"GET", b"http://example.com/")
        seen: List[Any] = []
        d.addCallback(lambda _: seen.append(current_action()))
        self.assertIsNone(current_action())
        self.inner.requests[0][4].callback(FakeResponse(200))
        self.assertEqual(seen, [outer])
        self.assertIsNone(current_action())

    def test_newTaskOutsideActions(self) -> None:
        """
        Outside any action, the request is a task of its own.
        """
        self.agent.request(b"GET", b"http://example.com/")
        self.assertEqual(self.logger.messages[0]["task_level"], [1])


class ModuleFunctionsTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{txcausal.treq.get} and friends.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.resource = HeaderEcho()
        self.agent = RequestTraversalAgent(self.resource)

    def test_signatures(self) -> None:
        """
        The positional parameters are treq's: those of treq 26 and later;
        treq's before take C{request}'s C{data} by keyword only, as ours
        also do.
        """
        for name in ["get", "head", "post", "put", "patch", "delete", "request"]:
            def positional(f: Any) -> List[str]:
                return [p.name for p in inspect.signature(f).parameters.values()
                        if p.kind == p.POSITIONAL_OR_KEYWORD]
            theirs = positional(getattr(treq, name))
            if name == "request" and theirs == ["method", "url"]:
                theirs.append("data")  # treq before 26: request(method, url, **kwargs)
            self.assertEqual(positional(getattr(txtreq, name)), theirs)

    def test_responseHelpers(self) -> None:
        """
        treq's response helpers are offered too, so that C{from txcausal
        import treq} replaces C{import treq}: they are treq's own, and read
        a response of ours.
        """
        helpers = ["content", "text_content", "json_content", "collect"]
        for name in helpers:
            self.assertIs(getattr(txtreq, name), getattr(treq, name))
        self.assertTrue(set(helpers) <= set(txtreq.__all__))
        response = self.successResultOf(txtreq.get("http://example.com/", agent=self.agent))
        self.assertEqual(self.successResultOf(txtreq.text_content(response)), "hello")
        chunks: List[bytes] = []
        self.successResultOf(txtreq.collect(response, chunks.append))
        self.assertEqual(b"".join(chunks), b"hello")

    def test_methods(self) -> None:
        """
        Each function sends its method, with the task's headers, and the
        response is treq's.
        """
        for name in ["get", "post", "put", "patch", "delete"]:
            d = getattr(txtreq, name)("http://example.com/", agent=self.agent)
            response = self.successResultOf(d)
            self.assertEqual(self.successResultOf(response.content()), b"hello")
            self.assertTrue(self.resource.received[-1].hasHeader(b"x-eliot-task-id"))
        methods = [m["method"] for m in self.logger.messages if "method" in m]
        self.assertEqual(methods, ["GET", "POST", "PUT", "PATCH", "DELETE"])

    def test_head(self) -> None:
        """
        L{txcausal.treq.head} sends C{HEAD} with the task's headers; the
        response has no body.
        """
        response = self.successResultOf(txtreq.head("http://example.com/", agent=self.agent))
        self.assertEqual((response.code, self.successResultOf(response.content())), (200, b""))
        self.assertTrue(self.resource.received[-1].hasHeader(b"x-eliot-task-id"))
        start, end = [m for m in self.logger.messages if m.get("action_type") == CLIENT_ACTION_TYPE]
        self.assertEqual((start["method"], end["status"]), ("HEAD", 200))

    def test_patchBody(self) -> None:
        """
        L{txcausal.treq.patch} sends its body, positional as in treq.
        """
        bodies: List[bytes] = []

        class Echo(Resource):
            isLeaf = True

            def render_PATCH(self, request: Any) -> bytes:
                bodies.append(request.content.read())
                return b""

        agent = RequestTraversalAgent(Echo())
        self.successResultOf(txtreq.patch("http://example.com/", BytesProducer(b"change"),
                                          agent=agent))
        self.assertEqual(bodies, [b"change"])

    def test_stubTreqServerWithTracingResource(self) -> None:
        """
        Every module function, run against a L{TracingResource} in memory
        (as L{StubTreq} does), continues the caller's task on the server.
        """
        agent = RequestTraversalAgent(TracingResource(HeaderEcho()))
        for name in ["get", "head", "post", "put", "patch", "delete"]:
            with start_action(action_type="app:outer") as outer:
                self.successResultOf(getattr(txtreq, name)("http://example.com/", agent=agent))
            server = [m for m in self.logger.messages
                      if m.get("action_type") == REMOTE_TASK_ACTION_TYPE]
            self.assertEqual((server[-2]["method"], server[-2]["task_uuid"]),
                             (name.upper(), outer.task_uuid))
            self.assertEqual(server[-1]["status"], 200)

    def test_dictHeadersNotMutated(self) -> None:
        """
        A dict of headers is sent, and not changed.
        """
        mine: Dict[str, Any] = {"Accept": ["text/plain"]}
        self.successResultOf(txtreq.get("http://example.com/", mine,
                                        agent=self.agent))
        self.assertEqual(mine, {"Accept": ["text/plain"]})
        self.assertEqual(self.resource.received[-1].getRawHeaders(b"accept"), [b"text/plain"])

    def test_headersObjectNotMutated(self) -> None:
        """
        A L{Headers} is not changed, not even with the C{Content-Type} treq
        adds for a form body.
        """
        inner = RecordingAgent()
        mine = Headers({b"accept": [b"text/plain"]})
        txtreq.post("http://example.com/", {"a": "b"}, headers=mine, agent=inner)
        self.assertEqual(list(mine.getAllRawHeaders()), [(b"Accept", [b"text/plain"])])
        sent = inner.requests[0][2]
        assert sent is not None
        self.assertEqual(sent.getRawHeaders(b"content-type"),
                         [b"application/x-www-form-urlencoded"])

    def test_body(self) -> None:
        """
        A request body is sent through.
        """
        bodies: List[bytes] = []

        class Echo(Resource):
            isLeaf = True

            def render_POST(self, request: Any) -> bytes:
                bodies.append(request.content.read())
                return b""

        agent = RequestTraversalAgent(Echo())
        self.successResultOf(txtreq.post("http://example.com/", BytesProducer(b"payload"),
                                         agent=agent))
        self.assertEqual(bodies, [b"payload"])

    def test_redirectHopsInCallersAction(self) -> None:
        """
        Each hop of a followed redirect is its own request action, both
        under the caller's action, each with its own position.
        """
        class Redirect(Resource):
            isLeaf = True

            def render(self, request: Any) -> bytes:
                if request.path == b"/old":
                    request.redirect(b"http://example.com/new")
                    return b""
                return request.getHeader(b"x-eliot-task-id")  # type: ignore[no-any-return]

        agent = RequestTraversalAgent(Redirect())
        with start_action(action_type="app:outer") as outer:
            d = txtreq.get("http://example.com/old", agent=agent)
        body = self.successResultOf(self.successResultOf(d).content())
        self.assertEqual(body, f"{outer.task_uuid}@/3/2".encode())
        hops = [(m["task_level"], m["action_status"], m.get("status")) for m in self.logger.messages
                if m.get("action_type") == CLIENT_ACTION_TYPE]
        self.assertEqual(hops, [([2, 1], "started", None), ([2, 3], "succeeded", 302),
                                ([3, 1], "started", None), ([3, 3], "succeeded", 200)])

    def test_stubTreqServer(self) -> None:
        """
        The headers reach a server tested with L{StubTreq} and mean the same
        task there.
        """
        stub = StubTreq(self.resource)
        with start_action(action_type="app:outer") as outer:
            task_id = outer.serialize_task_id()
        self.successResultOf(stub.get("http://example.com/", headers={b"X-Eliot-Task-Id": task_id}))
        self.assertEqual(self.resource.received[-1].getRawHeaders(b"x-eliot-task-id"), [task_id])


class RecordingPool:
    """
    Enough of an C{HTTPConnectionPool} for an L{Agent}: records the
    connections asked for and never makes one.
    """

    def __init__(self) -> None:
        self.asked: List[Any] = []

    def getConnection(self, key: Any, endpoint: Any) -> "Deferred[Any]":
        self.asked.append(key)
        return Deferred()


@implementer(IHostResolution)
class Resolution:
    """
    A resolution of C{name}, over before it can be cancelled.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        pass


@implementer(IHostnameResolver)
class LoopbackResolver:
    """
    Resolves every host name to 127.0.0.1 at once.
    """

    def resolveHostName(self, resolutionReceiver: IResolutionReceiver, hostName: str,
                        portNumber: int = 0, addressTypes: Any = None,
                        transportSemantics: str = "TCP") -> IHostResolution:
        resolution = Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        resolutionReceiver.addressResolved(IPv4Address("TCP", "127.0.0.1", portNumber))
        resolutionReceiver.resolutionComplete()
        return resolution


@implementer(IReactorPluggableNameResolver)
class ResolvingReactor(MemoryReactorClock):
    """
    A L{MemoryReactorClock} whose connections to a host name are made at
    once, as newer Twisted's are (Twisted 23.10's resolves names with a
    thread pool it does not have, and never connects).
    """

    def __init__(self) -> None:
        super().__init__()
        self.nameResolver: IHostnameResolver = LoopbackResolver()

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        previous, self.nameResolver = self.nameResolver, resolver
        return previous


class DefaultAgentTests(CapturingMixin, SynchronousTestCase):
    """
    The agent of the calls of L{txcausal.treq.request} that name no agent,
    pool or persistence, as treq's own calls do.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.addCleanup(set_global_pool, get_global_pool())

    def test_globalPoolAtCallTime(self) -> None:
        """
        Each request goes through treq's global pool as it is when it is
        made, also after it was replaced.
        """
        reactor = MemoryReactorClock()
        pools = [RecordingPool(), RecordingPool()]
        for pool in pools:
            set_global_pool(pool)
            txtreq.get("http://example.com/", reactor=reactor)
            txtreq.get("http://example.com/", reactor=reactor)
        self.assertEqual([len(pool.asked) for pool in pools], [2, 2])

    def test_reactorOfTheCall(self) -> None:
        """
        Each request connects with the reactor it names.
        """
        set_global_pool(HTTPConnectionPool(ResolvingReactor()))
        reactors = [ResolvingReactor(), ResolvingReactor(), ResolvingReactor()]
        for reactor in [reactors[0], reactors[1], reactors[0], reactors[2]]:
            txtreq.get("http://example.com/", reactor=reactor)
        self.assertEqual([len(reactor.tcpClients) for reactor in reactors], [2, 1, 1])

    def test_notPersistent(self) -> None:
        """
        C{persistent=False} gives each request a pool of its own, as treq
        does: no request goes through the global pool.
        """
        pool = RecordingPool()
        set_global_pool(pool)
        reactor = ResolvingReactor()
        txtreq.get("http://example.com/", reactor=reactor, persistent=False)
        txtreq.get("http://example.com/", reactor=reactor)
        txtreq.get("http://example.com/", reactor=reactor, persistent=False)
        self.assertEqual((len(pool.asked), len(reactor.tcpClients)), (1, 2))

    def test_patchedGlobalReactor(self) -> None:
        """
        A call that names no reactor connects with the global reactor as it
        is at the time of the call, as treq's does, also when a test
        replaced it: each call goes to the reactor patched in then.
        """
        set_global_pool(HTTPConnectionPool(ResolvingReactor()))
        fakes = [ResolvingReactor(), ResolvingReactor()]
        for fake in fakes:
            with mock.patch.object(twisted.internet, "reactor", fake, create=True):
                treq.get("http://example.com/")
                txtreq.get("http://example.com/")
        self.assertEqual([len(fake.tcpClients) for fake in fakes], [2, 2])

    def test_timeoutOnPatchedGlobalReactor(self) -> None:
        """
        C{timeout=} is scheduled on the global reactor as it is at the time
        of the call, as treq's is.
        """
        set_global_pool(HTTPConnectionPool(ResolvingReactor()))
        fakes = [ResolvingReactor(), ResolvingReactor()]
        for fake in fakes:
            with mock.patch.object(twisted.internet, "reactor", fake, create=True):
                txtreq.get("http://example.com/", timeout=5)
        self.assertEqual([[call.getTime() for call in fake.getDelayedCalls()].count(5)
                          for fake in fakes], [1, 1])

    def test_patchedGetGlobalPool(self) -> None:
        """
        A call that names no pool uses what C{treq.api.get_global_pool}
        returns at the time of the call, as treq's does, also when a test
        replaced that function.
        """
        installed, patched = RecordingPool(), RecordingPool()
        set_global_pool(installed)
        with mock.patch.object(twisted.internet, "reactor", MemoryReactorClock(), create=True):
            txtreq.get("http://example.com/")
            with mock.patch.object(treq.api, "get_global_pool", lambda: patched):
                treq.get("http://example.com/")
                txtreq.get("http://example.com/")
        self.assertEqual((len(installed.asked), len(patched.asked)), (1, 2))

    def test_namedReactorNotKeptAlive(self) -> None:
        """
        Nothing in L{txcausal.treq} keeps a reactor named by a call alive
        after the call, as nothing in treq does: a test's reactor is
        collected after the test.
        """
        set_global_pool(RecordingPool())
        reactor = MemoryReactorClock()
        collected = weakref.ref(reactor)
        txtreq.get("http://example.com/", reactor=reactor)
        del reactor
        gc.collect()
        self.assertIsNone(collected())

    def test_patchedGlobalReactorReleased(self) -> None:
        """
        The agent shared by the calls that name no reactor holds the global
        reactor of the last such call only: a reactor patched in by a test
        is collected after the next call.
        """
        set_global_pool(RecordingPool())
        first = MemoryReactorClock()
        collected = weakref.ref(first)
        for fake in (first, MemoryReactorClock()):
            with mock.patch.object(twisted.internet, "reactor", fake, create=True):
                txtreq.get("http://example.com/")
        del first, fake
        gc.collect()
        self.assertIsNone(collected())

    def test_loggerOfTheCall(self) -> None:
        """
        A call through the shared agent that names a logger logs there, and
        the calls that name none log to the global logger as it is at the
        time of the call, also after it was replaced.
        """
        fake = ResolvingReactor()
        set_global_pool(HTTPConnectionPool(fake))
        mine = MemoryLogger()
        first = self.logger
        with mock.patch.object(twisted.internet, "reactor", fake, create=True):
            txtreq.get("http://example.com/")
            txtreq.get("http://example.com/", logger=mine)
            txtreq.get("http://example.com/")
            later = self.capture()
            txtreq.get("http://example.com/")

        def started(logger: MemoryLogger) -> int:
            return sum(m.get("action_type") == CLIENT_ACTION_TYPE for m in logger.messages)

        self.assertEqual([started(first), started(mine), started(later)], [2, 1, 1])
        self.assertEqual(len(fake.tcpClients), 4)

    def test_callBetweenSteps(self) -> None:
        """
        A call that comes while another replaces the shared agent (from
        another thread, against the rule) gets the agent of its own reactor,
        wherever the other call is: the agent, its reactor and its pool are
        replaced at once.
        """
        set_global_pool(RecordingPool())
        shared = txtreq._SharedAgent()
        mine, others = MemoryReactorClock(), [MemoryReactorClock(), MemoryReactorClock()]
        got: List[Tuple[Any, Any]] = []

        def interrupt(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "line" and len(got) < 50:
                other = others[len(got) % 2]
                with mock.patch.object(twisted.internet, "reactor", other, create=True):
                    got.append((other, shared.get(None)[0]))
            return interrupt

        def start(frame: FrameType, event: str, arg: Any) -> Any:
            return interrupt if frame.f_code is txtreq._SharedAgent.get.__code__ else None

        previous = sys.gettrace()
        self.addCleanup(sys.settrace, previous)
        with mock.patch.object(twisted.internet, "reactor", mine, create=True):
            sys.settrace(start)
            got.append((mine, shared.get(None)[0]))
            sys.settrace(previous)
        self.assertEqual([agent._reactor for reactor, agent in got],
                         [reactor for reactor, agent in got])
        self.assertGreater(len(got), 2)

    def test_dataByKeyword(self) -> None:
        """
        L{request} passes C{data} to treq by keyword, as the treq functions
        of every version it supports take it (C{request(method, url,
        **kwargs)} before treq 26).
        """
        received = []

        def old_request(method: str, url: Any, **kwargs: Any) -> "Deferred[Any]":
            received.append((method, url, kwargs["data"]))
            return Deferred()

        with mock.patch.object(treq, "request", old_request):
            txtreq.post("http://example.com/", b"body", reactor=MemoryReactorClock())
        self.assertEqual(received, [("POST", "http://example.com/", b"body")])
