"""
Tests for L{txcausal.web.TracingResource}: a resource that continues the
client's task around each request it serves.  L{continue_request} is tested
in L{txcausal.test.test_web_continue}.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseNeverReceived
from twisted.web.pages import notFound
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest
from zope.interface.verify import verifyObject

from txcausal.test._helpers import CapturingMixin
from txcausal.web import (
    REMOTE_TASK_ACTION_TYPE,
    SERVER_ACTION_TYPE,
    TracingResource,
)

from ._web_helpers import TASK_UUID, Leaf, StubTreq, actions


class TracingResourceTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{TracingResource}.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def get(self, resource: Any, path: str = "/a",
            headers: Optional[Dict[bytes, List[bytes]]] = None, stub: Any = None) -> Any:
        stub = stub or StubTreq(TracingResource(resource))
        return self.successResultOf(stub.get("http://example.com" + path, headers=headers))

    def test_interface(self) -> None:
        """
        L{TracingResource} provides L{IResource}.
        """
        self.assertTrue(verifyObject(IResource, TracingResource(Resource())))

    def test_continuesTask(self) -> None:
        """
        A request with C{X-Eliot-Task-Id} runs in an C{eliot:remote_task}
        action at that position, with method and path; the render's messages
        are inside it, and it succeeds with the status.
        """
        response = self.get(Leaf(), "/a?q=1", {b"X-Eliot-Task-Id": [f"{TASK_UUID}@/2/2".encode()]})
        self.assertEqual(response.code, 200)
        start, end = actions(self.logger.messages, REMOTE_TASK_ACTION_TYPE)
        self.assertEqual((start["task_uuid"], start["task_level"], start["method"], start["path"]),
                         (TASK_UUID, [2, 2, 1], "GET", "/a"))
        rendering = [m for m in self.logger.messages if m.get("message_type") == "app:rendering"]
        self.assertEqual(rendering[0]["task_level"], [2, 2, 2])
        self.assertEqual((end["task_level"], end["action_status"], end["status"]),
                         ([2, 2, 3], "succeeded", 200))

    def test_tooDeep(self) -> None:
        """
        A task id too deep for the request's messages to be read back
        starts a fresh task that records the id in C{parent_task_id}: a
        client cannot hide its requests from C{txcausal tree}.
        """
        task_id = f"{TASK_UUID}@" + "/1" * 100
        self.get(Leaf(), "/a", {b"X-Eliot-Task-Id": [task_id.encode()]})
        start, end = actions(self.logger.messages, REMOTE_TASK_ACTION_TYPE)
        self.assertNotEqual(start["task_uuid"], TASK_UUID)
        self.assertEqual((start["task_level"], start["parent_task_id"]), ([1], task_id))
        self.assertEqual(max(len(m["task_level"]) for m in self.logger.messages), 1)

    def test_newTask(self) -> None:
        """
        Without headers, a request starts a C{txcausal:http:server} task.
        """
        self.get(Leaf())
        start, end = actions(self.logger.messages, SERVER_ACTION_TYPE)
        self.assertEqual((start["task_level"], end["task_level"]), ([1], [3]))
        self.assertEqual(self.logger.messages[1]["task_level"], [2])

    def test_traversal(self) -> None:
        """
        The wrapped resource's children are found (a missing one gives 404,
        a response the action succeeds with).
        """
        root = Resource()
        root.getChild = lambda path, request: notFound()  # type: ignore[method-assign]
        root.putChild(b"child", Leaf(b"child body"))
        stub = StubTreq(TracingResource(root))
        response = self.get(root, "/child", stub=stub)
        self.assertEqual(self.successResultOf(response.content()), b"child body")
        self.assertEqual(self.get(root, "/missing", stub=stub).code, 404)
        self.assertEqual(self.logger.messages[-1]["status"], 404)

    def test_putChild(self) -> None:
        """
        L{TracingResource.putChild} adds to the wrapped resource.
        """
        root = Resource()
        TracingResource(root).putChild(b"x", Leaf())
        self.assertEqual(list(root.children), [b"x"])

    def test_renderRaises(self) -> None:
        """
        An exception from the render fails the action when twisted.web has
        answered 500: the failure records the status and the exception.
        """
        response = self.get(Leaf(ZeroDivisionError("nope")))
        self.assertEqual(response.code, 500)
        self.flushLoggedErrors(ZeroDivisionError)
        end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-1]
        self.assertEqual((end["action_status"], end["status"], end["exception"], end["reason"]),
                         ("failed", 500, "builtins.ZeroDivisionError", "nope"))

    def test_unsupportedMethod(self) -> None:
        """
        A method the resource does not support is answered by twisted.web
        (405), a response the action succeeds with.
        """
        class GetOnly(Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                return b"got"

        stub = StubTreq(TracingResource(GetOnly()))
        response = self.successResultOf(stub.post("http://example.com/"))
        self.assertEqual(response.code, 405)
        end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-1]
        self.assertEqual((end["action_status"], end["status"]), ("succeeded", 405))
        self.flushWarnings()  # twisted.web's own deprecated error page

    def test_head(self) -> None:
        """
        A C{HEAD} request is an action with method C{HEAD} that succeeds with
        the status, whether the body is rendered at once or later; no body
        is sent.
        """
        for body in [b"now", succeed(b"later")]:
            stub = StubTreq(TracingResource(Leaf(body)))
            response = self.successResultOf(stub.head("http://example.com/h"))
            self.assertEqual((response.code, self.successResultOf(response.content())),
                             (200, b""))
            start, end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-2:]
            self.assertEqual((start["method"], start["path"]), ("HEAD", "/h"))
            self.assertEqual((end["action_status"], end["status"]), ("succeeded", 200))

    def test_fakeRequestMethodNotBytes(self) -> None:
        """
        A hand-made request whose method is not C{bytes} (twisted.web's
        always are), here a C{bytearray}, is logged with its method escaped
        as any other, instead of raising.
        """
        for method, logged in [(bytearray(b"GET"), "GET"), (bytearray(b"G\nT"), "G\\nT")]:
            request: Any = DummyRequest([b"a"])
            request.method = method
            request.path = b"/a"
            request.code = 200
            TracingResource(Leaf()).render(request)
            request.finish()
            start, end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-2:]
            self.assertEqual((start["method"], start["path"], end["action_status"]),
                             (logged, "/a", "succeeded"))

    def test_notDoneYet(self) -> None:
        """
        A render returning C{NOT_DONE_YET} that writes and finishes later
        ends the action then, with the status it set.
        """
        requests: List[Any] = []

        class Later(Resource):
            isLeaf = True

            def render(self, request: Any) -> Any:
                request.setResponseCode(202)
                requests.append(request)
                return NOT_DONE_YET

        stub = StubTreq(TracingResource(Later()))
        d = stub.get("http://example.com/")
        self.assertEqual(len(actions(self.logger.messages, SERVER_ACTION_TYPE)), 1)
        requests[0].write(b"done")
        requests[0].finish()
        stub.flush()
        self.assertEqual(self.successResultOf(self.successResultOf(d).content()), b"done")
        end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-1]
        self.assertEqual((end["action_status"], end["status"]), ("succeeded", 202))

    def test_syncNotBytes(self) -> None:
        """
        A render returning text instead of bytes is answered 500 by
        twisted.web, and fails the action with the reason.
        """
        response = self.get(Leaf("text"))
        self.assertEqual(response.code, 500)
        end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-1]
        self.assertEqual((end["action_status"], end["status"], end["exception"]),
                         ("failed", 500, "builtins.TypeError"))
        self.assertEqual(end["reason"], "render returned str, not bytes")
        self.flushWarnings()  # twisted.web's own deprecated error page

    def test_deferredRender(self) -> None:
        """
        A render may return a L{Deferred} of the body; the action ends when
        the response does.
        """
        body: Deferred[bytes] = Deferred()
        stub = StubTreq(TracingResource(Leaf(body)))
        d = stub.get("http://example.com/")
        self.assertNoResult(d)
        self.assertEqual(len(actions(self.logger.messages, SERVER_ACTION_TYPE)), 1)
        body.callback(b"later")
        stub.flush()
        self.assertEqual(self.successResultOf(self.successResultOf(d).content()), b"later")
        self.assertEqual(self.logger.messages[-1]["status"], 200)

    def test_deferredRenderFails(self) -> None:
        """
        A failed L{Deferred} from the render fails the action and answers
        500.
        """
        body: Deferred[bytes] = Deferred()
        stub = StubTreq(TracingResource(Leaf(body)))
        d = stub.get("http://example.com/")
        body.errback(KeyError("gone"))
        stub.flush()
        self.assertEqual(self.successResultOf(d).code, 500)
        self.flushLoggedErrors(KeyError)
        end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-1]
        self.assertEqual((end["action_status"], end["status"], end["exception"]),
                         ("failed", 500, "builtins.KeyError"))

    def test_deferredRenderNotBytes(self) -> None:
        """
        A L{Deferred} from the render firing with text instead of bytes is
        answered 500 (as twisted.web answers a render returning text), and
        fails the action with the reason.
        """
        body: Deferred[str] = Deferred()
        stub = StubTreq(TracingResource(Leaf(body)))
        d = stub.get("http://example.com/")
        body.callback("text")
        stub.flush()
        self.assertEqual(self.successResultOf(d).code, 500)
        self.assertEqual(len(self.flushLoggedErrors(TypeError)), 1)
        end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-1]
        self.assertEqual((end["action_status"], end["status"], end["exception"], end["reason"]),
                         ("failed", 500, "builtins.TypeError",
                          "render's Deferred fired with str, not bytes"))

    def test_clientGoesAway(self) -> None:
        """
        If the connection is lost before the response, the action fails and
        the render's L{Deferred} is cancelled.
        """
        cancelled: List[Any] = []
        body: Deferred[bytes] = Deferred(cancelled.append)
        stub = StubTreq(TracingResource(Leaf(body)))
        d = stub.get("http://example.com/")
        d.cancel()
        stub.flush()
        self.failureResultOf(d, ResponseNeverReceived)
        self.assertEqual(cancelled, [body])
        end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-1]
        self.assertEqual((end["action_status"], end["exception"]),
                         ("failed", "txcausal.web.ConnectionLostBeforeResponse"))
        self.assertEqual(end["reason"], "connection lost before the response was complete: "
                                        "Connection was closed cleanly: Connection done.")
        self.assertNotIn("status", end)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_clientGoesAwayThenResultArrives(self) -> None:
        """
        If the render's L{Deferred} cannot be cancelled and fires after the
        client went away, nothing is written and nothing is logged.
        """
        body: Deferred[bytes] = Deferred()
        stub = StubTreq(TracingResource(Leaf(body)))
        d = stub.get("http://example.com/")
        d.cancel()
        stub.flush()
        self.failureResultOf(d, ResponseNeverReceived)
        count = len(self.logger.messages)
        body.callback(b"too late")
        self.assertEqual((len(self.logger.messages), self.flushLoggedErrors()), (count, []))

    def test_rejectedHeaderStillServed(self) -> None:
        """
        A bad header does not break the request: a new task starts, with the
        rejected value logged.
        """
        response = self.get(Leaf(), headers={b"X-Eliot-Task-Id": [b"\xffevil'" * 300]})
        self.assertEqual(response.code, 200)
        start = actions(self.logger.messages, SERVER_ACTION_TYPE)[0]
        rejection = start["rejected_headers"]["x-eliot-task-id"]
        self.assertEqual(rejection["reason"], "longer than 1024 bytes")
        self.assertTrue(rejection["values"][0].startswith("\\xffevil'"))
