"""
Tests for the life of a request's action in L{txcausal.web}: blocks entered
from several contexts (coroutine handlers), twisted.web rendering a leaf
twice (a C{HEAD} faked with C{GET}), C{request.processingFailed}, a first
call after the response or the connection ended, and Twisted's
C{DummyRequest}.
"""

from __future__ import annotations

import contextvars
import gc
import weakref
from typing import Any, List

import treq
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import deferLater
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import HTTPConnectionPool, ResponseNeverReceived
from twisted.web.error import UnsupportedMethod
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Site
from twisted.web.test.requesthelper import DummyRequest
from zope.interface import implementer

from txcausal import current_action, log_message, start_action
from txcausal.test._helpers import CapturingMixin
from txcausal.twisted import CausalLogObserver
from txcausal.web import SERVER_ACTION_TYPE, RequestScope, TracingResource, continue_request

from ._web_helpers import StubTreq, actions


def ends(messages: List[Any]) -> List[Any]:
    """
    @return: The finish messages of the request actions in C{messages}.
    """
    return [m for m in actions(messages, SERVER_ACTION_TYPE) if m["action_status"] != "started"]


class _Route(Resource):
    """
    A leaf whose render is C{render} (a function of the request).
    """

    isLeaf = True

    def __init__(self, render: Any) -> None:
        super().__init__()
        self.render = render  # type: ignore[method-assign]


@implementer(IResource)
class _GetOnly:
    """
    A hand-written leaf that supports C{GET} only: twisted.web answers a
    C{HEAD} by rendering it again as C{GET}.
    """

    isLeaf = True

    def render(self, request: Any) -> bytes:
        if request.method != b"GET":
            raise UnsupportedMethod([b"GET"])
        return b"raw"

    def getChildWithDefault(self, name: bytes, request: Any) -> Any:
        raise NotImplementedError()

    def putChild(self, path: bytes, child: Any) -> None:
        raise NotImplementedError()


class NestedContextTests(CapturingMixin, SynchronousTestCase):
    """
    A block entered by a coroutine handler (which runs in a context of its
    own) inside another block of the same request.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def coroutine_handler(self, gate: "Deferred[None]") -> Any:
        async def route(request: Any) -> None:
            with continue_request(request):
                await gate
                log_message(message_type="app:handled")
            request.write(b"ok")
            request.finish()

        def render(request: Any) -> Any:
            with continue_request(request) as scope:
                scope.track(ensureDeferred(route(request)))
                return NOT_DONE_YET
        return render

    def assert_left_clean(self, resource: Any, gate: "Deferred[None]") -> None:
        stub = StubTreq(resource)
        d = stub.get("http://example.com/a")
        self.assertIsNone(current_action())
        gate.callback(None)
        stub.flush()
        self.assertEqual(self.successResultOf(self.successResultOf(d).content()), b"ok")
        self.assertIsNone(current_action())
        log_message(message_type="app:unrelated")
        start, end = actions(self.logger.messages, SERVER_ACTION_TYPE)
        levels = {m.get("message_type"): (m["task_uuid"], m["task_level"])
                  for m in self.logger.messages}
        self.assertEqual(levels["app:handled"][0], start["task_uuid"])
        self.assertNotEqual(levels["app:unrelated"][0], start["task_uuid"])
        self.assertEqual((end["action_status"], end["status"]), ("succeeded", 200))

    def test_klein_pattern(self) -> None:
        """
        A route entering the scope and starting a coroutine that enters it
        too and awaits (the docs' Klein pattern) leaves no action current
        in the caller's context once the outer block is left, and the
        coroutine's messages in the request's action.
        """
        gate: Deferred[None] = Deferred()
        self.assert_left_clean(_Route(self.coroutine_handler(gate)), gate)

    def test_under_tracing_resource(self) -> None:
        """
        The same under L{TracingResource}, whose block is the outer one.
        """
        gate: Deferred[None] = Deferred()
        self.assert_left_clean(TracingResource(_Route(self.coroutine_handler(gate))), gate)

    def test_nested_same_context(self) -> None:
        """
        Blocks nested in one context put back, each, what was current when
        it was entered.
        """
        request: Any = DummyRequest([b"a"])
        scope = continue_request(request)
        with start_action(action_type="app:outer") as outer:
            with scope:
                with scope:
                    pass
                self.assertIs(current_action(), scope.action)
            self.assertIs(current_action(), outer)
        self.assertIsNone(current_action())

    def test_exit_elsewhere(self) -> None:
        """
        A block left in another context than it was entered in (a driver
        that moves a coroutine between contexts) puts back, in the context
        it is left in, what was current when it was entered; the context it
        was entered in is not touched.
        """
        request: Any = DummyRequest([b"a"])
        scope = continue_request(request)
        with start_action(action_type="app:outer") as outer:
            elsewhere = contextvars.copy_context()
            elsewhere.run(scope.__enter__)
            scope.__exit__(None, None, None)
            self.assertIs(current_action(), outer)
            self.assertIs(elsewhere.run(current_action), scope.action)
            with scope:
                self.assertIs(current_action(), scope.action)
            self.assertIs(current_action(), outer)


class FakeHeadTests(CapturingMixin, SynchronousTestCase):
    """
    twisted.web answers C{HEAD} for a leaf that supports only C{GET} by
    rendering it again as C{GET}.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def test_same_leaf(self) -> None:
        """
        The second render under L{TracingResource} renders the same leaf,
        not the root: the client gets the headers of a 200.
        """
        root = Resource()
        root.putChild(b"c", _GetOnly())
        stub = StubTreq(TracingResource(root))
        response = self.successResultOf(stub.head("http://example.com/c"))
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders(b"content-length"), [b"3"])
        start, end = actions(self.logger.messages, SERVER_ACTION_TYPE)
        self.assertEqual((start["method"], start["path"]), ("HEAD", "/c"))
        self.assertEqual((end["action_status"], end["status"]), ("succeeded", 200))

    def test_each_wrapper_its_leaf(self) -> None:
        """
        A L{TracingResource} under another renders its own leaf on the
        second render.
        """
        inner = Resource()
        inner.putChild(b"c", _GetOnly())
        root = Resource()
        root.putChild(b"sub", TracingResource(inner))
        stub = StubTreq(TracingResource(root))
        response = self.successResultOf(stub.head("http://example.com/sub/c"))
        self.assertEqual(response.code, 200)
        self.assertEqual(len(ends(self.logger.messages)), 1)


class ProcessingFailedTests(CapturingMixin, SynchronousTestCase):
    """
    twisted.web's idiom for a failure after C{NOT_DONE_YET}:
    C{d.addErrback(request.processingFailed)}.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        observer = CausalLogObserver(self.logger)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)

    def test_fails_action(self) -> None:
        """
        The action fails with the exception and status 500, and twisted.web's
        traceback is logged in the request's action.
        """
        work: Deferred[bytes] = Deferred()

        def render(request: Any) -> Any:
            work.addCallback(request.write).addCallback(lambda _: request.finish())
            work.addErrback(request.processingFailed).addErrback(lambda _: None)
            return NOT_DONE_YET

        for resource in [TracingResource(_Route(render)), _Route(
                lambda request: (continue_request(request), render(request))[1])]:
            self.logger.messages.clear()
            stub = StubTreq(resource)
            d = stub.get("http://example.com/a")
            work.errback(ZeroDivisionError("boom"))
            stub.flush()
            self.assertEqual(self.successResultOf(d).code, 500)
            self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
            start, end = actions(self.logger.messages, SERVER_ACTION_TYPE)
            self.assertEqual((end["action_status"], end["status"], end["exception"]),
                             ("failed", 500, "builtins.ZeroDivisionError"))
            traced = [m for m in self.logger.messages
                      if m.get("message_type") == "eliot:traceback"]
            self.assertEqual([m["task_uuid"] for m in traced], [start["task_uuid"]])
            work = Deferred()


class LateFirstCallTests(CapturingMixin, SynchronousTestCase):
    """
    L{continue_request} called first after the response was finished or the
    connection lost.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.requests: List[Any] = []
        def render(request: Any) -> Any:
            self.requests.append(request)
            return NOT_DONE_YET
        self.stub = StubTreq(_Route(render))

    def test_after_disconnect(self) -> None:
        """
        The action fails with L{ConnectionLostBeforeResponse} at the end of
        the first block, which runs in it.
        """
        d = self.stub.get("http://example.com/a")
        d.cancel()
        self.stub.flush()
        self.failureResultOf(d, ResponseNeverReceived)
        with continue_request(self.requests[0]):
            log_message(message_type="app:late")
        start, late, end = self.logger.messages
        self.assertEqual(late["task_uuid"], start["task_uuid"])
        self.assertEqual((end["action_status"], end["exception"]),
                         ("failed", "txcausal.web.ConnectionLostBeforeResponse"))
        self.assertEqual(end["reason"], "connection lost before the request's action started")
        self.assertNotIn("status", end)

    def test_after_finish(self) -> None:
        """
        The action succeeds with the status at the end of the first block.
        """
        d = self.stub.get("http://example.com/a")
        self.requests[0].setResponseCode(201)
        self.requests[0].finish()
        self.stub.flush()
        self.assertEqual(self.successResultOf(d).code, 201)
        with continue_request(self.requests[0]):
            log_message(message_type="app:late")
        with continue_request(self.requests[0]):
            log_message(message_type="app:later")
        self.assertEqual([m.get("message_type") or m["action_status"]
                          for m in self.logger.messages],
                         ["started", "app:late", "succeeded", "app:later"])
        self.assertEqual(self.logger.messages[2]["status"], 201)


class DummyRequestTests(CapturingMixin, SynchronousTestCase):
    """
    Twisted's C{DummyRequest}, the usual request of a unit test.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def test_one_action(self) -> None:
        """
        Each call gives the same action, with the path of the request's
        segments; it succeeds with the code set, 200 if none, at finish.
        """
        for code, logged in [(None, 200), (404, 404)]:
            self.logger.messages.clear()
            request: Any = DummyRequest([b"a", b"b"])
            with continue_request(request):
                log_message(message_type="app:one")
            with continue_request(request):
                log_message(message_type="app:two")
            if code is not None:
                request.setResponseCode(code)
            request.finish()
            start, end = actions(self.logger.messages, SERVER_ACTION_TYPE)
            self.assertEqual((start["method"], start["path"]), ("GET", "/a/b"))
            self.assertEqual((end["action_status"], end["status"]), ("succeeded", logged))
            self.assertEqual(len({m["task_uuid"] for m in self.logger.messages}), 1)

    def test_tracing_resource(self) -> None:
        """
        L{TracingResource} renders a C{DummyRequest}, and its failure ends
        the action.
        """
        request: Any = DummyRequest([b"a"])
        TracingResource(_Route(lambda request: NOT_DONE_YET)).render(request)
        request.processingFailed(Failure(ValueError("bad")))
        end = ends(self.logger.messages)[-1]
        self.assertEqual((end["action_status"], end["exception"]),
                         ("failed", "builtins.ValueError"))


    def test_repr(self) -> None:
        """
        A scope's repr names the request's method and path, as its action
        logged them, and the action; the scope does not keep the request
        alive for it, and a scope made of an action alone names that.
        """
        request: Any = DummyRequest([b"a", b"b"])
        request.method = b"POST"
        scope = continue_request(request)
        request.finish()
        gone = weakref.ref(request)
        del request
        gc.collect()
        self.assertIsNone(gone())
        self.assertEqual(repr(scope),
                         f"RequestScope(method='POST', path='/a/b', action={scope.action!r})")
        self.assertEqual(repr(RequestScope(scope.action)), f"RequestScope(action={scope.action!r})")


class LoopbackTests(CapturingMixin, TestCase):
    """
    A real twisted.web server on 127.0.0.1 and a real treq client.
    """

    def serve(self, resource: Any) -> str:
        from twisted.internet import reactor

        port: Any = reactor.listenTCP(0, Site(resource), interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        return f"http://127.0.0.1:{port.getHost().port}"

    def test_reactor_context_left_clean(self) -> Any:
        """
        After a request whose coroutine handler entered the request's scope
        and awaited under L{TracingResource}, a message the reactor logs
        outside any action is in no request's task.
        """
        from twisted.internet import reactor

        logger = self.capture()

        def render(request: Any) -> Any:
            async def route() -> bytes:
                with continue_request(request):
                    await deferLater(reactor, 0, lambda: None)
                    log_message(message_type="app:handled")
                return b"ok"
            return ensureDeferred(route())

        url = self.serve(TracingResource(_Route(render)))

        def later() -> Any:
            log_message(message_type="app:unrelated")
            return current_action()

        async def client() -> None:
            response = await treq.get(url + "/a", pool=self.pool)
            self.assertEqual(await response.content(), b"ok")
            self.assertIsNone(await deferLater(reactor, 0, later))
            start = actions(logger.messages, SERVER_ACTION_TYPE)[0]
            tasks = {m.get("message_type"): m["task_uuid"] for m in logger.messages}
            self.assertEqual(tasks["app:handled"], start["task_uuid"])
            self.assertNotEqual(tasks["app:unrelated"], start["task_uuid"])

        return ensureDeferred(client())

    def test_fake_head(self) -> Any:
        """
        A C{HEAD} to a leaf that supports only C{GET} is answered as
        twisted.web answers it without the wrapper.
        """
        root = Resource()
        root.putChild(b"c", _GetOnly())
        url = self.serve(TracingResource(root))

        def check(response: Any) -> None:
            self.assertEqual((response.code, response.headers.getRawHeaders(b"content-length")),
                             (200, [b"3"]))

        return treq.head(url + "/c", pool=self.pool).addCallback(check)
