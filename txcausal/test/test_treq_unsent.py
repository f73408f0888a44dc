"""
Tests for a request that never reached a server (its host name was not
found, its connection was refused, timed out or cancelled before it was
made): its action's finish message lists the position it would have sent
in C{unsent_task_levels}, and readers neither wait for it nor say it was
continued in another process.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, Callable, List

from treq.api import get_global_pool, set_global_pool
from twisted.internet.address import IPv4Address
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred, fail, succeed
from twisted.internet.error import (
    ConnectError,
    ConnectingCancelledError,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
)
from twisted.internet.interfaces import (
    IHostnameResolver,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web._newclient import RequestTransmissionFailed
from twisted.web.client import Agent, HTTPConnectionPool, RedirectAgent, ResponseNeverReceived
from twisted.web.iweb import IAgentEndpointFactory
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.util import Redirect
from zope.interface import implementer

from txcausal import MemoryLogger, start_action
from txcausal import treq as txtreq
from txcausal._attempts import AttemptsPool
from txcausal.parse import Parser, WrittenAction
from txcausal.test._helpers import CapturingMixin
from txcausal.test._reading import cli, lines
from txcausal.test.test_treq import RecordingAgent, Resolution, ResolvingReactor
from txcausal.treq import TracingAgent, _OwnHeadersAgent
from txcausal.web import TracingResource

#: Errors of requests that never had a connection.
NEVER_CONNECTED = [ConnectionRefusedError(), TCPTimedOutError(), ConnectError(),
                   DNSLookupError("nowhere.invalid"),
                   ConnectingCancelledError(IPv4Address("TCP", "127.0.0.1", 80))]


def request_end(messages: List[Any]) -> Any:
    """
    @return: The finish message of the only C{txcausal:http:client} action.
    """
    [end] = [m for m in messages if m.get("action_type") == "txcausal:http:client"
             and m["action_status"] != "started"]
    return end


class UnsentFieldTests(CapturingMixin, SynchronousTestCase):
    """
    What the L{TracingAgent} of L{txcausal.treq}'s functions around an
    agent they make (one whose connections txcausal sees) writes, over an
    agent the test fails.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def failed(self, error: Exception, cancel: bool = False, seen: bool = True) -> Any:
        """
        Make a request in an action and fail it with C{error} (or cancel it,
        the agent failing it with C{error}).

        @param seen: Whether the agent is one of C{txcausal.treq}'s own;
            if not, the caller's, under a plain L{TracingAgent}.
        @return: The request action's finish message.
        """
        inner = RecordingAgent(cancelWith=error if cancel else None)
        agent = _OwnHeadersAgent(inner, connectionsSeen=True) if seen else TracingAgent(inner)
        with start_action(action_type="client:main"):
            d = agent.request(b"GET", b"http://example.com/")
        if cancel:
            d.cancel()
        else:
            inner.requests[0][4].errback(error)
        self.failureResultOf(d, type(error))
        return request_end(self.logger.messages)

    def test_neverConnectedListed(self) -> None:
        """
        A request that failed before a connection was made lists the
        position it handed off in C{unsent_task_levels} as well as in
        C{remote_task_levels}.
        """
        for error in NEVER_CONNECTED:
            self.logger.reset()
            end = self.failed(error)
            self.assertEqual((end["remote_task_levels"], end.get("unsent_task_levels")),
                             (["/2/2"], ["/2/2"]), error)

    def test_cancelledBeforeConnection(self) -> None:
        """
        A request the caller cancels while its connection is made (Twisted's
        L{Agent} fails it with L{ConnectingCancelledError}, or
        L{DNSLookupError} while the name is resolved) was not sent either.
        """
        for error in NEVER_CONNECTED[-2:]:
            self.logger.reset()
            end = self.failed(error, cancel=True)
            self.assertEqual((end["cancelled"], end.get("unsent_task_levels")),
                             (True, ["/2/2"]), error)

    def test_maybeSentNotListed(self) -> None:
        """
        A request that failed once it may have been sent, or with an error
        that does not tell (a bare L{CancelledError}: the agent may have
        sent it), or that got a response, has no C{unsent_task_levels}.
        """
        errors: List[Exception] = [
            ResponseNeverReceived([Failure(CancelledError())]),
            RequestTransmissionFailed([Failure(ValueError())]), CancelledError(), ValueError()]
        for error in errors:
            self.logger.reset()
            end = self.failed(error)
            self.assertEqual((end["remote_task_levels"], "unsent_task_levels" in end),
                             (["/2/2"], False), error)
        self.logger.reset()
        end = self.failed(CancelledError(), cancel=True)
        self.assertNotIn("unsent_task_levels", end)

    def test_callersAgentNotListed(self) -> None:
        """
        Around an agent of the caller's own, whose connections txcausal
        does not see (it may have sent the request, then failed to connect
        for a redirect or a retry), no error lists the position as unsent:
        it stays handed off.
        """
        for cancel in (False, True):
            for error in NEVER_CONNECTED:
                self.logger.reset()
                end = self.failed(error, cancel=cancel, seen=False)
                self.assertEqual((end["remote_task_levels"], "unsent_task_levels" in end),
                                 (["/2/2"], False), error)
        self.logger.reset()
        inner = RecordingAgent()
        with start_action(action_type="client:main"):
            d = txtreq.get("http://example.com/", agent=inner)
        inner.requests[0][4].errback(ConnectionRefusedError())
        self.failureResultOf(d, ConnectionRefusedError)
        self.assertNotIn("unsent_task_levels", request_end(self.logger.messages))


@implementer(IHostnameResolver)
class NoSuchHost:
    """
    Finds no address for any name, as a lookup of a name under C{.invalid}.
    """

    def resolveHostName(self, resolutionReceiver: IResolutionReceiver, hostName: str,
                        portNumber: int = 0, addressTypes: Any = None,
                        transportSemantics: str = "TCP") -> Resolution:
        resolution = Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        resolutionReceiver.resolutionComplete()
        return resolution


class TreqUnsentTests(CapturingMixin, SynchronousTestCase):
    """
    treq's request through L{txcausal.treq}, on a reactor in memory.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def check_read(self, messages: List[Any]) -> None:
        """
        A reader given C{messages} one by one returns the task, complete, as
        its last message arrives; C{tree} says the position was not sent.
        """
        parser = Parser()
        returned = [task for task in map(parser.add, messages) if task is not None]
        [task] = returned
        self.assertTrue(task.complete)
        [request] = task.root.children
        assert isinstance(request, WrittenAction)
        self.assertEqual(request.handed_off_levels(), [(2, 2)])
        out = cli(["tree"], lines(*messages))[1]
        self.assertNotIn("continued in another process", out)
        self.assertNotIn("incomplete", out)
        self.assertIn("↳ /2/2 not sent: no connection was made\n", out)

    def test_hostNotFound(self) -> None:
        """
        A host name that is not found: the request is not sent.
        """
        reactor = ResolvingReactor()
        reactor.nameResolver = NoSuchHost()
        with start_action(action_type="client:main"):
            d = txtreq.get("http://nowhere.invalid/", reactor=reactor)
        self.failureResultOf(d, DNSLookupError)
        self.assertEqual(request_end(self.logger.messages)["unsent_task_levels"], ["/2/2"])
        self.check_read(self.logger.messages)

    def test_cancelledWhileConnecting(self) -> None:
        """
        A request cancelled while its connection is made (a reactor in
        memory never makes it) is not sent.
        """
        reactor = ResolvingReactor()
        with start_action(action_type="client:main"):
            d = txtreq.get("http://127.0.0.1:8080/", reactor=reactor, persistent=False)
        self.assertEqual(len(reactor.tcpClients), 1)
        d.cancel()
        self.failureResultOf(d, ConnectingCancelledError)
        end = request_end(self.logger.messages)
        self.assertEqual((end["cancelled"], end["unsent_task_levels"]), (True, ["/2/2"]))
        self.check_read(self.logger.messages)


class KeptThenRefused:
    """
    A pool whose kept connection is cut before the response, and whose
    retry (as Twisted's pool retries an idempotent request) cannot
    connect: the request was sent once, and fails with the retry's
    connection error.
    """

    persistent = True

    def __init__(self) -> None:
        self.sent: List[Any] = []

    def getConnection(self, key: Any, endpoint: Any) -> "Deferred[Any]":
        pool = self

        class Kept:
            def request(self, request: Any) -> "Deferred[Any]":
                pool.sent.append(request.headers.getRawHeaders(b"x-eliot-task-id"))
                return endpoint.connect(None).addCallback(  # type: ignore[no-any-return]
                    lambda connection: connection.request(request))

        return succeed(Kept())


class KeptAnsweredLater(KeptThenRefused):
    """
    L{KeptThenRefused}, answering with its kept connection after
    C{getConnection} returned (a pool that checks a kept connection before
    handing it out, say).

    @ivar answers: For each request, a call that answers it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.answers: List[Callable[[], object]] = []

    def getConnection(self, key: Any, endpoint: Any) -> "Deferred[Any]":
        kept = super().getConnection(key, endpoint)
        answer: "Deferred[Any]" = Deferred()
        self.answers.append(lambda: kept.chainDeferred(answer))
        return answer


@implementer(IStreamClientEndpoint)
class Refusing:
    """
    An endpoint that cannot connect.
    """

    def connect(self, protocolFactory: Any) -> "Deferred[Any]":
        return fail(ConnectionRefusedError())


@implementer(IAgentEndpointFactory)
class RefusingEndpoints:
    """
    Gives every URI a L{Refusing} endpoint.
    """

    def endpointForURI(self, uri: Any) -> Refusing:
        return Refusing()


def sentOnceNotListed(test: SynchronousTestCase, logger: MemoryLogger, pool: Any,
                      d: "Deferred[Any]") -> None:
    """
    Check that C{d}, a request's result, failed with
    L{ConnectionRefusedError} once C{pool} sent the request once, and that
    its action's finish message in C{logger} lists its position as handed
    off, neither unsent nor retried.
    """
    test.failureResultOf(d, ConnectionRefusedError)
    test.assertEqual(len(pool.sent), 1)
    end = request_end(logger.messages)
    test.assertEqual((end["remote_task_levels"], "unsent_task_levels" in end,
                      "retried_task_levels" in end), (["/2/2"], False, False))


class RetryRefusedTests(CapturingMixin, SynchronousTestCase):
    """
    A request sent on a kept connection, whose retry could not connect,
    through an agent on an L{AttemptsPool} as L{txcausal.treq} makes them.
    """

    def requestOn(self, pool: Any) -> "Deferred[Any]":
        """
        @return: What a request in a C{client:main} action gives, through
            an agent on an L{AttemptsPool} around C{pool}, whose endpoints
            refuse every connection.
        """
        agent = Agent.usingEndpointFactory(MemoryReactorClock(), RefusingEndpoints(),
                                           pool=AttemptsPool(pool))
        with start_action(action_type="client:main"):
            return _OwnHeadersAgent(agent, connectionsSeen=True).request(
                b"GET", b"http://127.0.0.1:8080/")

    def test_sentOnceNotListed(self) -> None:
        """
        The request fails with the retry's connection error, but its
        position was sent: it is not listed as unsent.
        """
        logger = self.capture()
        pool = KeptThenRefused()
        d = self.requestOn(pool)
        # Nothing was sent again: nothing is listed as retried either.
        sentOnceNotListed(self, logger, pool, d)

    def test_answeredLaterNotListed(self) -> None:
        """
        A pool that answers with a kept connection after C{getConnection}
        returned, and connects for its retry with the endpoint it was
        given: the retry's connection error does not make the request
        unsent either.
        """
        logger = self.capture()
        pool = KeptAnsweredLater()
        d = self.requestOn(pool)
        [answer] = pool.answers
        answer()
        sentOnceNotListed(self, logger, pool, d)


class OwnEndpointKeptThenRefused(KeptThenRefused):
    """
    L{KeptThenRefused}, but connecting for its retry with an endpoint of
    its own (a pool that sends every request through one proxy, say)
    rather than the one it is given.
    """

    def getConnection(self, key: Any, endpoint: Any) -> "Deferred[Any]":
        return super().getConnection(key, Refusing())


class RefusingPool:
    """
    A pool of the caller's own whose connections are all refused.
    """

    persistent = False

    def getConnection(self, key: Any, endpoint: Any) -> "Deferred[Any]":
        return fail(ConnectionRefusedError())


class CallersPoolTests(CapturingMixin, SynchronousTestCase):
    """
    L{txcausal.treq}'s functions given a pool of the caller's own
    (C{pool=}) that is not Twisted's L{HTTPConnectionPool}: txcausal cannot
    tell which connections it makes for a request, so it lists nothing as
    unsent, as for an agent of the caller's own.
    """

    def test_ownEndpointNotListed(self) -> None:
        """
        A pool that sends a request on a kept connection, then connects
        for its retry with an endpoint of its own and fails to: the
        request was sent, and is not listed as unsent.
        """
        logger = self.capture()
        pool = OwnEndpointKeptThenRefused()
        with start_action(action_type="client:main"):
            d = txtreq.get("http://127.0.0.1:8080/", pool=pool, reactor=MemoryReactorClock())
        sentOnceNotListed(self, logger, pool, d)

    def test_unknownPoolNotListed(self) -> None:
        """
        Even a request such a pool fails with a connection error at once is
        not listed: nothing tells txcausal that it was not sent.
        """
        logger = self.capture()
        with start_action(action_type="client:main"):
            d = txtreq.get("http://127.0.0.1:8080/", pool=RefusingPool(),
                           reactor=MemoryReactorClock())
        self.failureResultOf(d, ConnectionRefusedError)
        end = request_end(logger.messages)
        self.assertEqual((end["remote_task_levels"], "unsent_task_levels" in end),
                         (["/2/2"], False))


    def test_globalPoolThroughSharedAgent(self) -> None:
        """
        treq's global pool of another kind than Twisted's, used through the
        agent txcausal shares between calls (no C{reactor=}), by a call that
        names a C{logger=}: its refused request is not listed either.
        """
        self.addCleanup(set_global_pool, get_global_pool())
        set_global_pool(RefusingPool())
        logger = MemoryLogger()
        with start_action(logger, action_type="client:main"):
            d = txtreq.get("http://127.0.0.1:8080/", logger=logger)
        self.failureResultOf(d, ConnectionRefusedError)
        end = request_end(logger.messages)
        self.assertEqual((end["remote_task_levels"], "unsent_task_levels" in end),
                         (["/2/2"], False))

    def test_instanceOverrideNotListed(self) -> None:
        """
        Twisted's L{HTTPConnectionPool} whose instance is given a connecting
        method of its own (C{_newConnection}, which may connect with any
        endpoint) is such a pool too: its refused request is not listed,
        where the same pool's without it is.
        """
        for patched, unsent in [(False, ["/2/2"]), (True, None)]:
            logger = self.capture()
            reactor = ResolvingReactor()
            pool = HTTPConnectionPool(reactor, persistent=False)
            if patched:
                pool._newConnection = (  # type: ignore[method-assign]
                    lambda key, endpoint: fail(ConnectionRefusedError()))
            with start_action(action_type="client:main"):
                d = txtreq.get("http://127.0.0.1:8080/", pool=pool, reactor=reactor)
            if not patched:
                # The endpoint resolves the address with the reactor first.
                reactor.advance(0)
                [(_, _, factory, _, _)] = reactor.tcpClients
                [connector] = reactor.connectors
                factory.clientConnectionFailed(connector, Failure(ConnectionRefusedError()))
                reactor.advance(1)
            self.failureResultOf(d, ConnectionRefusedError)
            self.assertEqual(request_end(logger.messages).get("unsent_task_levels"), unsent)

    def test_seesConnections(self) -> None:
        """
        txcausal sees the connections of Twisted's L{HTTPConnectionPool} and
        of a subclass that changes nothing of how it connects, not those of
        one whose class or instance has a C{getConnection} or
        C{_newConnection} of its own.
        """
        reactor = MemoryReactorClock()

        class Tuned(HTTPConnectionPool):
            maxPersistentPerHost = 4

        class Own(HTTPConnectionPool):
            def _newConnection(self, key: Any, endpoint: Any) -> "Deferred[Any]":
                return fail(ConnectionRefusedError())

        seen = [txtreq._sees_connections(p) for p in [HTTPConnectionPool(reactor), Tuned(reactor),
                                                       Own(reactor), RefusingPool()]]
        for name in ["getConnection", "_newConnection"]:
            pool = HTTPConnectionPool(reactor)
            setattr(pool, name, lambda key, endpoint: fail(ConnectionRefusedError()))
            seen.append(txtreq._sees_connections(pool))
        self.assertEqual(seen, [True, True, False, False, False, False])


async def refused(test: TestCase, closed: Any, request: Callable[[], "Deferred[Any]"]) -> None:
    """
    Stop C{closed}, a listening port, then make C{request} in a
    C{client:main} action: it must fail with L{ConnectionRefusedError}.
    """
    await closed.stopListening()
    with start_action(action_type="client:main"):
        try:
            await request()
        except ConnectionRefusedError:
            return
    test.fail("connected to a closed port")


class RefusedEndToEndTests(CapturingMixin, TestCase):
    """
    A real treq client on the global reactor, against a port of 127.0.0.1
    nothing listens on, and C{txcausal tree} run on the log.
    """

    def refusedEnd(self, logger: MemoryLogger,
                   get: Callable[[str], "Deferred[Any]"]) -> "Deferred[Any]":
        """
        Call C{get} with the URL of a closed port in a C{client:main}
        action; it must fail with L{ConnectionRefusedError}.

        @param logger: Where the request's action goes.
        @return: A L{Deferred} firing with the action's finish message.
        """
        from twisted.internet import reactor
        from twisted.internet.protocol import ServerFactory

        port: Any = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
        url = f"http://127.0.0.1:{port.getHost().port}/"
        client = ensureDeferred(refused(self, port, lambda: get(url)))
        return client.addCallback(lambda _: request_end(logger.messages))

    def test_refused(self) -> None:
        """
        The request fails with L{ConnectionRefusedError} and lists its
        position as unsent; C{txcausal tree}, run on the log file, says it
        was not sent instead of continued in another process.
        """
        logger = self.capture()

        def check(end: Any) -> None:
            self.assertEqual((end["exception"], end["unsent_task_levels"]),
                             ("twisted.internet.error.ConnectionRefusedError", ["/2/2"]))
            log = self.mktemp()
            with open(log, "wb") as f:
                f.write(lines(*logger.messages))
            out = subprocess.run([sys.executable, "-m", "txcausal", "tree", log],
                                 capture_output=True, check=True).stdout.decode("utf-8")
            self.assertNotIn("continued in another process", out)
            self.assertNotIn("incomplete", out)
            self.assertIn("↳ /2/2 not sent: no connection was made\n", out)

        got = self.refusedEnd(logger, lambda url: txtreq.get(url, persistent=False))
        return got.addCallback(check)  # type: ignore[return-value]

    def test_sharedAgent(self) -> None:
        """
        A call that names no agent, pool, persistence nor reactor, through
        the agent L{txcausal.treq} shares between such calls, lists its
        position as unsent too.
        """
        got = self.refusedEnd(self.capture(), txtreq.get)
        return got.addCallback(  # type: ignore[return-value]
            lambda end: self.assertEqual(end["unsent_task_levels"], ["/2/2"]))

    def test_twistedPoolOfTheCaller(self) -> None:
        """
        A call given a pool of the caller's own that is Twisted's
        L{HTTPConnectionPool} (a subclass that changes none of the methods
        that connect too) lists its position as unsent.
        """
        from twisted.internet import reactor

        class Tuned(HTTPConnectionPool):
            maxPersistentPerHost = 4

        got = self.refusedEnd(self.capture(), lambda url: txtreq.get(
            url, pool=Tuned(reactor, persistent=False)))
        return got.addCallback(  # type: ignore[return-value]
            lambda end: self.assertEqual(end["unsent_task_levels"], ["/2/2"]))

    def test_loggerOfTheCall(self) -> None:
        """
        A call that names its logger lists its position as unsent in the
        finish message it logs there.
        """
        default = self.capture()
        mine = MemoryLogger()

        def check(end: Any) -> None:
            self.assertEqual(end["unsent_task_levels"], ["/2/2"])
            self.assertEqual([m["action_type"] for m in default.messages],
                             ["client:main", "client:main"])

        got = self.refusedEnd(mine, lambda url: txtreq.get(url, logger=mine))
        return got.addCallback(check)  # type: ignore[return-value]


class RedirectEndToEndTests(CapturingMixin, TestCase):
    """
    L{TracingAgent} around a L{RedirectAgent} of the caller's own, on
    loopback: its first hop reaches a traced server, which continues the
    position and answers with a redirect to a port nothing listens on.
    """

    def test_sentNotListed(self) -> None:
        """
        The request fails with the redirect target's
        L{ConnectionRefusedError}, but the server continued its position:
        it is not listed as unsent, and C{tree} joins the server's part to
        the client's, in one task.
        """
        from twisted.internet import reactor
        from twisted.internet.protocol import ServerFactory

        logger = self.capture()
        closed: Any = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
        dead = closed.getHost().port
        root = Resource()
        root.putChild(b"go", Redirect(f"http://127.0.0.1:{dead}/".encode("ascii")))
        site = Site(TracingResource(root))
        port: Any = reactor.listenTCP(0, site, interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/go".encode("ascii")
        agent = TracingAgent(RedirectAgent(Agent(reactor)))

        def check(_: object) -> None:
            end = request_end(logger.messages)
            served = [m["task_level"] for m in logger.messages
                      if m.get("action_type") == "eliot:remote_task"]
            self.assertEqual((end["remote_task_levels"], "unsent_task_levels" in end, served),
                             (["/2/2"], False, [[2, 2, 1], [2, 2, 2]]))
            out = cli(["tree"], lines(*logger.messages))[1]
            self.assertNotIn("not sent", out)
            self.assertNotIn("continued from", out)
            self.assertEqual(out.count("client:main/1"), 1, out)
            self.assertIn("eliot:remote_task/2/2/1", out)

        client = refused(self, closed, lambda: agent.request(b"GET", url))
        return ensureDeferred(client).addCallback(check)  # type: ignore[return-value]
