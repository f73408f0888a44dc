"""
Tests for the retries Twisted's connection pool makes below
L{txcausal.treq}'s agents: each attempt is sent at a position of its own.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.iweb import IAgentEndpointFactory
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site
from zope.interface import implementer
from zope.interface.verify import verifyObject

from txcausal import start_action
from txcausal import treq as txtreq
from txcausal._attempts import AttemptsPool
from txcausal.parse import Parser, parse_messages
from txcausal.test._helpers import CapturingMixin
from txcausal.treq import TracingAgent
from txcausal.web import TracingResource


class Flaky(Resource):
    """
    A leaf that cuts the connection of the first C{cuts} requests for
    C{/flaky} before answering, and answers every other request.

    @ivar received: The C{X-Eliot-Task-Id} of each request for C{/flaky}.
    """

    isLeaf = True

    def __init__(self, cuts: int = 1) -> None:
        super().__init__()
        self.received: List[Optional[bytes]] = []
        self._cuts = cuts

    def render_GET(self, request: Any) -> Any:
        if request.path != b"/flaky":
            return b"ok"
        self.received.append(request.getHeader(b"x-eliot-task-id"))
        if len(self.received) <= self._cuts:
            request.transport.abortConnection()
            return NOT_DONE_YET
        return b"ok"


class CuttingProxy(Resource):
    """
    What a proxy in front of a traced server does when it closes an idle
    connection: the first request for C{/flaky} is cut off before the
    traced server sees it; every other request is passed on.

    @ivar cut: How many requests were cut off.
    """

    isLeaf = True

    def __init__(self, resource: Resource) -> None:
        super().__init__()
        self.inner = TracingResource(resource)
        self.cut = 0

    def render(self, request: Any) -> Any:
        if request.path == b"/flaky" and not self.cut:
            self.cut += 1
            request.transport.abortConnection()
            return NOT_DONE_YET
        return self.inner.render(request)


class PoolRetryTests(CapturingMixin, TestCase):
    """
    A real twisted.web server on 127.0.0.1 that cuts a request off on a
    connection the pool kept from the request before: Twisted's pool sends
    an idempotent request again on a new connection, by itself.
    """

    def setUp(self) -> None:
        from twisted.internet import reactor

        self.reactor: Any = reactor
        self.logger = self.capture()
        self.resource = Flaky()
        port: Any = reactor.listenTCP(0, Site(TracingResource(self.resource)),  # type: ignore[arg-type]
                                      interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"http://127.0.0.1:{port.getHost().port}"
        self.pool = HTTPConnectionPool(reactor)
        self.addCleanup(self.pool.closeCachedConnections)

    async def get(self, path: str) -> bytes:
        response = await txtreq.get(self.url + path, pool=self.pool, reactor=self.reactor)
        return await response.content()  # type: ignore[no-any-return]

    def test_retryAtFreshPosition(self) -> None:
        """
        The pool's retry goes at a new position of the request's action,
        listed with the first in its C{remote_task_levels}: the server
        logs the cut-off attempt and the retry as two actions, each in the
        tree under the request's action.
        """
        async def client() -> bytes:
            with start_action(action_type="client:main"):
                await self.get("/warm")
                return await self.get("/flaky")

        def check(body: bytes) -> None:
            self.assertEqual(body, b"ok")
            first, second = self.resource.received
            self.assertNotEqual(first, second)
            [task] = parse_messages(self.logger.messages)
            self.assertEqual(task.strays, [])
            self.assertEqual(task.root.action_type, "client:main")
            request: Any = task.root.children[1]
            self.assertEqual((request.action_type, request.status),
                             ("txcausal:http:client", "succeeded"))
            served = [(c.action_type, c.status, c.task_level) for c in request.children]
            self.assertEqual(served, [
                ("eliot:remote_task", "failed", request.task_level + (2,)),
                ("eliot:remote_task", "succeeded", request.task_level + (3,))])
            at = "".join(f"/{n}" for n in request.task_level)
            self.assertEqual(request.end_message["remote_task_levels"], [f"{at}/2", f"{at}/3"])
            self.assertEqual(request.end_message["retried_task_levels"], [f"{at}/2"])

        return ensureDeferred(client()).addCallback(check)  # type: ignore[return-value]

    def test_retryNeverServed(self) -> None:
        """
        An attempt cut off before the traced server saw it (by a proxy in
        front of it, or an idle timeout) leaves its position empty: the
        request's action lists it in C{retried_task_levels}, so a reader
        given the messages one by one returns the client's task whole as
        soon as it ends, without waiting for that position.
        """
        self.resource = Flaky(cuts=0)
        proxy = CuttingProxy(self.resource)
        port: Any = self.reactor.listenTCP(0, Site(proxy), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"http://127.0.0.1:{port.getHost().port}"

        async def client() -> bytes:
            with start_action(action_type="client:main"):
                await self.get("/warm")
                return await self.get("/flaky")

        def check(body: bytes) -> None:
            self.assertEqual((body, proxy.cut), (b"ok", 1))
            self.assertEqual(len(self.resource.received), 1)
            parser = Parser()
            found = [t for t in map(parser.add, self.logger.messages) if t is not None]
            [task] = found
            self.assertTrue(task.complete)
            self.assertEqual(task.strays, [])
            request: Any = task.root.children[1]
            self.assertEqual([(c.action_type, c.status) for c in request.children],
                             [("eliot:remote_task", "succeeded")])
            self.assertEqual(request.status, "succeeded")
            at = "".join(f"/{n}" for n in request.task_level)
            self.assertEqual(request.end_message["retried_task_levels"], [f"{at}/2"])
            self.assertEqual(request.handed_off_levels(), [request.task_level + (2,)])

        return ensureDeferred(client()).addCallback(check)  # type: ignore[return-value]

    def test_noRetryOnNewConnection(self) -> None:
        """
        A request cut off on a new connection is not sent again (the pool
        retries only on a connection it kept): the request's action fails,
        having sent one position.
        """
        d: Deferred[bytes] = ensureDeferred(self.get("/flaky"))

        def check(result: Any) -> None:
            self.assertIsInstance(result, Failure)
            self.assertEqual(len(self.resource.received), 1)
            [end] = [m for m in self.logger.messages
                     if m.get("action_type") == "txcausal:http:client"
                     and m["action_status"] != "started"]
            self.assertEqual((end["action_status"], len(end["remote_task_levels"])),
                             ("failed", 1))

        return d.addBoth(check)  # type: ignore[return-value]


class OwnEndpointPool(HTTPConnectionPool):
    """
    Twisted's pool, changed to make every connection with an endpoint of
    its own (one proxy for every request, say) rather than the one it is
    given for a request.
    """

    def __init__(self, reactor: Any, endpoint: IStreamClientEndpoint) -> None:
        super().__init__(reactor)
        self.endpoint = endpoint

    def _newConnection(self, key: Any, endpoint: Any) -> "Deferred[Any]":
        return super()._newConnection(key, self.endpoint)


class CallersPoolTests(CapturingMixin, TestCase):
    """
    A pool of the caller's own that connects with an endpoint of its own,
    under a real twisted.web server on 127.0.0.1.
    """

    def test_retryRefusedNotUnsent(self) -> None:
        """
        The pool sends a request on a connection it kept, which the server
        cuts; its retry, which txcausal cannot see, is refused (the server
        stopped listening): the request reached the server, and is not
        listed as unsent.
        """
        from twisted.internet import reactor

        resource = Flaky()
        logger = self.capture()
        port: Any = reactor.listenTCP(0, Site(TracingResource(resource)),  # type: ignore[arg-type]
                                      interface="127.0.0.1")
        number = port.getHost().port
        pool = OwnEndpointPool(reactor, TCP4ClientEndpoint(reactor, "127.0.0.1", number))
        self.addCleanup(pool.closeCachedConnections)
        url = f"http://127.0.0.1:{number}"

        async def client() -> None:
            with start_action(action_type="client:main"):
                response = await txtreq.get(url + "/warm", pool=pool, reactor=reactor)
                await response.content()
                await port.stopListening()
                try:
                    await txtreq.get(url + "/flaky", pool=pool, reactor=reactor)
                except ConnectionRefusedError:
                    return
            self.fail("the retry connected")

        def check(_: object) -> None:
            self.assertEqual(len(resource.received), 1)
            [end] = [m for m in logger.messages if m.get("action_type") == "txcausal:http:client"
                     and m["action_status"] == "failed"]
            self.assertEqual((len(end["remote_task_levels"]), "unsent_task_levels" in end),
                             (1, False))

        return ensureDeferred(client()).addCallback(check)  # type: ignore[return-value]


class FakeConnection:
    """
    A connection that records the X-Eliot-Task-Id of each request sent
    through it and never answers.
    """

    def __init__(self) -> None:
        self.sent: List[Optional[bytes]] = []

    def request(self, request: Any) -> "Deferred[Any]":
        self.sent.append((request.headers.getRawHeaders(b"x-eliot-task-id") or [None])[0])
        return Deferred()


@implementer(IStreamClientEndpoint)
class FakeEndpoint:
    """
    An endpoint whose connections are made at once.
    """

    def __init__(self) -> None:
        self.connections: List[FakeConnection] = []

    def connect(self, protocolFactory: Any) -> "Deferred[Any]":
        self.connections.append(FakeConnection())
        return succeed(self.connections[-1])

    def __repr__(self) -> str:
        return "<FakeEndpoint>"


@implementer(IAgentEndpointFactory)
class FakeEndpoints:
    """
    Gives every URI the same L{FakeEndpoint}.
    """

    def __init__(self) -> None:
        self.endpoint = FakeEndpoint()

    def endpointForURI(self, uri: Any) -> FakeEndpoint:
        return self.endpoint


class FakePool:
    """
    Enough of an L{HTTPConnectionPool}: a kept connection when there is
    one, which sends the request again on a new connection of the same
    endpoint when C{retry} is called, as the pool's retry does; otherwise a
    new connection.
    """

    persistent = True

    def __init__(self, kept: Optional[FakeConnection] = None) -> None:
        self.kept = kept
        self.endpoints: List[Any] = []
        self.retry: Callable[[], object] = lambda: None

    def getConnection(self, key: Any, endpoint: Any) -> "Deferred[Any]":
        self.endpoints.append(endpoint)
        if self.kept is None:
            return endpoint.connect(None)  # type: ignore[no-any-return]
        pool = self

        class Retrying:
            def request(self, request: Any) -> "Deferred[Any]":
                pool.retry = lambda: endpoint.connect(None).addCallback(
                    lambda connection: connection.request(request))
                assert pool.kept is not None
                return pool.kept.request(request)

        return succeed(Retrying())


class AttemptsPoolTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{AttemptsPool}, under an L{Agent} of a L{MemoryReactor}.
    """

    def setUp(self) -> None:
        self.capture()
        self.endpoints = FakeEndpoints()

    def agent(self, pool: FakePool) -> TracingAgent:
        return TracingAgent(Agent.usingEndpointFactory(MemoryReactorClock(), self.endpoints,
                                                       pool=AttemptsPool(pool)))

    def unansweredPool(self) -> Tuple[FakePool, List[Any]]:
        """
        @return: A L{FakePool} whose C{getConnection} answers nothing by
            itself, and the list to which it adds the endpoint it was given
            and the L{Deferred} it returned, for the test to fire.
        """
        pool = FakePool()
        later: List[Any] = []

        def getConnection(key: Any, endpoint: Any) -> "Deferred[Any]":
            later.append((endpoint, Deferred()))
            return later[-1][1]  # type: ignore[no-any-return]

        pool.getConnection = getConnection  # type: ignore[method-assign]
        return pool, later

    def test_endpointInterface(self) -> None:
        """
        The endpoint the wrapped pool gets provides L{IStreamClientEndpoint}
        and is named as the agent's (the pool names its connections after it).
        """
        pool = FakePool()
        self.agent(pool).request(b"GET", b"http://127.0.0.1:8080/")
        [endpoint] = pool.endpoints
        verifyObject(IStreamClientEndpoint, endpoint)
        self.assertEqual(repr(endpoint), "<FakeEndpoint>")

    def test_newConnectionOneAttempt(self) -> None:
        """
        A request on a new connection is one attempt, at the position
        L{TracingAgent} chose.
        """
        pool = FakePool()
        with start_action(action_type="client:main") as action:
            self.agent(pool).request(b"GET", b"http://127.0.0.1:8080/")
        [connection] = self.endpoints.endpoint.connections
        self.assertEqual(connection.sent, [f"{action.task_uuid}@/2/2".encode()])

    def test_connectedLaterOneAttempt(self) -> None:
        """
        A pool that connects after C{getConnection} returned (its
        L{Deferred} not fired yet) makes the request's first connection
        then: one attempt, at the position L{TracingAgent} chose.
        """
        pool, later = self.unansweredPool()
        with start_action(action_type="client:main") as action:
            self.agent(pool).request(b"GET", b"http://127.0.0.1:8080/")
        [(endpoint, found)] = later
        endpoint.connect(None).chainDeferred(found)
        [connection] = self.endpoints.endpoint.connections
        self.assertEqual(connection.sent, [f"{action.task_uuid}@/2/2".encode()])

    def test_retryFreshPosition(self) -> None:
        """
        The pool's own retry, on a new connection of the endpoint it was
        given, is sent at the next position of the request's action, with
        the same trace.
        """
        kept = FakeConnection()
        pool = FakePool(kept)
        with start_action(action_type="client:main") as action:
            self.agent(pool).request(b"GET", b"http://127.0.0.1:8080/")
        pool.retry()
        [retried] = self.endpoints.endpoint.connections
        self.assertEqual(kept.sent + retried.sent,
                         [f"{action.task_uuid}@/2/2".encode(), f"{action.task_uuid}@/2/3".encode()])

    def test_answeredLaterRetryFreshPosition(self) -> None:
        """
        A pool that answers with a kept connection after C{getConnection}
        returned (it checks the connection first, say): its retry on a new
        connection of the endpoint it was given is another attempt, sent at
        the next position.
        """
        kept = FakeConnection()
        pool = FakePool(kept)
        answers: List[Any] = []
        original = pool.getConnection

        def getConnection(key: Any, endpoint: Any) -> "Deferred[Any]":
            answers.append((original(key, endpoint), Deferred()))
            return answers[-1][1]  # type: ignore[no-any-return]

        pool.getConnection = getConnection  # type: ignore[method-assign]
        with start_action(action_type="client:main") as action:
            self.agent(pool).request(b"GET", b"http://127.0.0.1:8080/")
        [(found, answer)] = answers
        found.chainDeferred(answer)
        pool.retry()
        [retried] = self.endpoints.endpoint.connections
        self.assertEqual(kept.sent + retried.sent,
                         [f"{action.task_uuid}@/2/2".encode(), f"{action.task_uuid}@/2/3".encode()])

    def test_connectedAgainBeforeAnswerOneAttempt(self) -> None:
        """
        A pool that connects again before it answers (its first connection
        failed, or it keeps the first for later, say) connects for the first
        attempt: the request is sent once, at the position L{TracingAgent}
        chose, and nothing is listed as retried.
        """
        logger = self.capture()
        pool, later = self.unansweredPool()
        with start_action(action_type="client:main") as action:
            d = self.agent(pool).request(b"GET", b"http://127.0.0.1:8080/")
        [(endpoint, found)] = later
        endpoint.connect(None)
        endpoint.connect(None).chainDeferred(found)
        first, second = self.endpoints.endpoint.connections
        self.assertEqual((first.sent, second.sent), ([], [f"{action.task_uuid}@/2/2".encode()]))
        d.cancel()
        self.failureResultOf(d)
        [end] = [m for m in logger.messages if m.get("action_type") == "txcausal:http:client"
                 and m["action_status"] != "started"]
        self.assertEqual((end["remote_task_levels"], "retried_task_levels" in end),
                         (["/2/2"], False))

    def test_untracedUnchanged(self) -> None:
        """
        A request made with no action current (never one made by
        L{TracingAgent}) gets the pool's connection for the agent's own
        endpoint.
        """
        pool = FakePool()
        Agent.usingEndpointFactory(MemoryReactorClock(), self.endpoints,
                                   pool=AttemptsPool(pool)).request(b"GET", b"http://h:8/")
        self.assertEqual(pool.endpoints, [self.endpoints.endpoint])
        self.assertTrue(AttemptsPool(pool).persistent)
