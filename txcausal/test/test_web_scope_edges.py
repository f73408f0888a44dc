"""
Tests for the edges of a request's action in L{txcausal.web}: a coroutine
closed (by the garbage collector) in another context than it ran in, a
resource forwarding internally through L{TracingResource}, and a first
L{continue_request} after the response or the connection ended; where a
request keeps its scope.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any, List

from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.python.components import proxyForInterface
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyChannel, DummyRequest

from txcausal import current_action, log_message, start_action
from txcausal.test._helpers import CapturingMixin
from txcausal.web import SERVER_ACTION_TYPE, TracingResource, continue_request

from ._web_helpers import StubTreq, actions


class ClosedElsewhereTests(CapturingMixin, SynchronousTestCase):
    """
    A coroutine waiting inside a block, abandoned and closed in another
    context (the garbage collector closes it in whatever context is current,
    usually the reactor's), puts nothing back there: what was current when
    its block was entered belongs to the coroutine's context.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def close_elsewhere(self, block: Any) -> None:
        """
        Run a coroutine waiting inside C{block()} (entered inside the
        request's scope, as a render would start it), then close it here.
        """
        request: Any = DummyRequest([b"a"])
        scope = continue_request(request)

        async def background() -> None:
            with block(request):
                await Deferred()

        coroutine = background()
        with scope:
            ensureDeferred(coroutine)
        self.assertIsNone(current_action())
        coroutine.close()
        self.assertIsNone(current_action())

    def test_request_scope(self) -> None:
        """
        A request's scope.
        """
        self.close_elsewhere(continue_request)

    def test_action(self) -> None:
        """
        A plain action.
        """
        self.close_elsewhere(lambda request: start_action(action_type="app:background"))

    def test_action_context(self) -> None:
        """
        An action's C{.context()}, entered inside the request's action.
        """
        self.close_elsewhere(
            lambda request: start_action(action_type="app:background").context())


class _Forward(Resource):
    """
    Forwards internally: renders C{wrapper} again for another path.
    """

    isLeaf = True

    def __init__(self, wrapper: Any, to: bytes) -> None:
        super().__init__()
        self.wrapper = wrapper
        self.to = to

    def render_GET(self, request: Any) -> Any:
        request.prepath = []
        request.postpath = [self.to]
        return self.wrapper.render(request)


class InternalForwardTests(CapturingMixin, SynchronousTestCase):
    """
    A resource that sets C{postpath} and renders the L{TracingResource}
    above it again.
    """

    def test_walks_again(self) -> None:
        """
        The wrapper finds the resource of the new path (and the request has
        one action).
        """
        logger = self.capture()
        root = Resource()
        wrapper = TracingResource(root)
        root.putChild(b"old", _Forward(wrapper, b"new"))
        new = Resource()
        new.render_GET = lambda request: b"new"  # type: ignore[attr-defined]
        new.isLeaf = True
        root.putChild(b"new", new)
        response = self.successResultOf(StubTreq(wrapper).get("http://example.com/old"))
        self.assertEqual((response.code, self.successResultOf(response.content())),
                         (200, b"new"))
        start, end = actions(logger.messages, SERVER_ACTION_TYPE)
        self.assertEqual((start["path"], end["status"]), ("/old", 200))


class LateActionTests(CapturingMixin, SynchronousTestCase):
    """
    L{continue_request} called first after the response was finished.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.request: Any = DummyRequest([b"a"])
        self.request.finish()

    def statuses(self) -> List[Any]:
        return [m.get("message_type") or m["action_status"] for m in self.logger.messages]

    def test_action_only(self) -> None:
        """
        Reading C{.action} ends nothing (outside any block, before or after
        C{.track}); a later block ends the action, and the attribute can be
        set, as any attribute.
        """
        scope = continue_request(self.request)
        action = scope.action
        with action.context():
            log_message(message_type="app:late")
        self.assertFalse(action.finished)
        d: Deferred[None] = Deferred()
        scope.track(d)
        self.assertIs(scope.action, action)
        self.assertEqual(self.statuses(), ["started", "app:late"])
        d.callback(None)
        self.assertEqual(self.statuses(), ["started", "app:late", "succeeded"])
        other = start_action(action_type="app:other")
        scope.action = other
        self.assertIs(scope.action, other)

    def test_block_after_action(self) -> None:
        """
        A block after C{.action} was read ends the action when it is left.
        """
        scope = continue_request(self.request)
        self.assertFalse(scope.action.finished)
        with scope:
            log_message(message_type="app:late")
        self.assertEqual(self.statuses(), ["started", "app:late", "succeeded"])

    def test_action_in_block(self) -> None:
        """
        Inside a block, C{.action} is the action, still open till the block
        ends.
        """
        with continue_request(self.request) as scope:
            scope.action.log("app:late")
            self.assertFalse(scope.action.finished)
        self.assertEqual(self.statuses(), ["started", "app:late", "succeeded"])

    def test_track(self) -> None:
        """
        C{.track} outside any block ends the action when the L{Deferred}
        fires, failed if it failed.
        """
        scope = continue_request(self.request)
        d: Deferred[bytes] = Deferred()
        self.assertIs(scope.track(d), d)
        self.assertEqual(self.statuses(), ["started"])
        d.errback(ZeroDivisionError())
        self.failureResultOf(d, ZeroDivisionError)
        end = self.logger.messages[-1]
        self.assertEqual((end["action_status"], end["exception"]),
                         ("failed", "builtins.ZeroDivisionError"))
        request: Any = DummyRequest([b"b"])
        request.finish()
        late = continue_request(request)
        late.track(succeed(b"x"))
        self.assertEqual(self.logger.messages[-1]["action_status"], "succeeded")

    def test_waits_for_open_block(self) -> None:
        """
        The action ends when the last block still open is left (a coroutine
        that entered the scope and waits), not with the first to end.
        """
        gate: Deferred[None] = Deferred()

        async def background() -> None:
            with continue_request(self.request):
                await gate
                log_message(message_type="app:background")

        with continue_request(self.request):
            d = ensureDeferred(background())
        self.assertEqual(self.statuses(), ["started"])
        gate.callback(None)
        self.successResultOf(d)
        self.assertEqual(self.statuses(), ["started", "app:background", "succeeded"])


class StaleProcessingFailedTests(CapturingMixin, SynchronousTestCase):
    """
    C{request.processingFailed} taken while the response was open and called
    after it was finished.
    """

    def test_after_finish(self) -> None:
        """
        The failure is logged (as twisted.web logs it) and returned.
        """
        self.capture()
        request: Any = DummyRequest([b"a"])
        continue_request(request)
        taken = request.processingFailed
        request.finish()
        reason = Failure(ValueError("late"))
        self.assertIs(taken(reason), reason)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_no_cycle(self) -> None:
        """
        Once the response is finished, nothing of the request's action
        refers to the request: it is freed as soon as it is no longer used,
        without the garbage collector.
        """
        self.capture()
        gc.disable()
        self.addCleanup(gc.enable)
        request: Any = DummyRequest([b"a"])
        continue_request(request)
        request.finish()
        gone = weakref.ref(request)
        del request
        self.assertIsNone(gone())


class _Subclass(Request):
    """
    A twisted.web request subclassed by an application.
    """


class _Proxy:
    """
    Stands for a request: reads its attributes, keeps its own.
    """

    def __init__(self, request: Any) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class RememberedScopeTests(CapturingMixin, SynchronousTestCase):
    """
    A request has one scope, however it is reached.
    """

    def request(self) -> Any:
        request = _Subclass(DummyChannel(), False)
        request.method = b"GET"
        request.uri = request.path = b"/a"
        return request

    def test_subclass(self) -> None:
        """
        A subclass of twisted.web's L{Request}: one scope, one action, ended
        with the response.
        """
        logger = self.capture()
        request = self.request()
        scope = continue_request(request)
        self.assertIs(continue_request(request), scope)
        request.finish()
        start, end = actions(logger.messages, SERVER_ACTION_TYPE)
        self.assertEqual((start["path"], end["status"]), ("/a", 200))

    def test_proxy(self) -> None:
        """
        A proxy that reads the request's attributes finds the scope of the
        request it stands for.
        """
        logger = self.capture()
        request = self.request()
        scope = continue_request(request)
        proxy: Any = _Proxy(request)
        self.assertIs(continue_request(proxy), scope)
        request.finish()
        self.assertEqual(len(actions(logger.messages, SERVER_ACTION_TYPE)), 2)


class _Leaf(Resource):
    """
    A resource that answers every request.
    """

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        log_message("app:rendered")
        return b"hi"


class InterfaceProxyTests(CapturingMixin, SynchronousTestCase):
    """
    A request given as a proxy of L{IRequest} only (C{proxyForInterface}),
    which has no C{notifyFinish}.
    """

    def test_tracedAndEnded(self) -> None:
        """
        L{TracingResource} renders it, and its action ends with the render,
        as for a request already finished: no C{AttributeError} into the
        render, no action left open.
        """
        logger = self.capture()
        request = proxyForInterface(IRequest)(DummyRequest([b""]))
        self.assertFalse(hasattr(request, "notifyFinish"))
        self.assertEqual(TracingResource(_Leaf()).render(request), b"hi")
        start, end = actions(logger.messages, SERVER_ACTION_TYPE)
        self.assertEqual((start["action_status"], end["action_status"]), ("started", "succeeded"))
        [rendered] = [m for m in logger.messages if m.get("message_type") == "app:rendered"]
        self.assertEqual(rendered["task_uuid"], start["task_uuid"])


class SuccessFieldsTests(CapturingMixin, SynchronousTestCase):
    """
    Success fields a handler adds to the request's action.
    """

    def finish(self, **fields: Any) -> Any:
        """
        @return: The finish message of a request whose handler added
            C{fields} to its action's success fields.
        """
        logger = self.capture()
        request: Any = DummyRequest([b"a"])
        with continue_request(request) as scope:
            scope.action.add_success_fields(**fields)
        request.setResponseCode(201)
        request.finish()
        start, end = actions(logger.messages, SERVER_ACTION_TYPE)
        return end

    def test_kept(self) -> None:
        """
        They are written beside the response's C{status}.
        """
        end = self.finish(rows=3)
        self.assertEqual((end["rows"], end["status"]), (3, 201))

    def test_status(self) -> None:
        """
        The response's C{status} replaces a C{status} the handler added.
        """
        self.assertEqual(self.finish(status="ok")["status"], 201)
