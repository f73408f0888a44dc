"""
Tests for L{txcausal.web.continue_request}: a resource of one's own that
continues the client's task in its C{render}.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from txcausal import log_message, start_action
from txcausal._propagation import _REMOTE_TRACE
from txcausal.test._helpers import CapturingMixin
from txcausal.test.test_treq import RecordingAgent
from txcausal.treq import TracingAgent
from txcausal.web import (
    SERVER_ACTION_TYPE,
    TracingResource,
    continue_request,
)

from ._web_helpers import TASK_UUID, TRACEPARENT, Leaf, StubTreq, actions


class ContinueRequestTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{continue_request}.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def serve(self, render: Any, headers: Optional[Dict[bytes, List[bytes]]] = None,
              wrap: bool = False) -> Any:
        """
        Serve one GET with C{render} as the leaf's render method.
        """
        leaf = Resource()
        leaf.isLeaf = True
        leaf.render = render  # type: ignore[method-assign]
        stub = StubTreq(TracingResource(leaf) if wrap else leaf)
        return self.successResultOf(stub.get("http://example.com/p", headers=headers))

    def test_inRender(self) -> None:
        """
        In a plain render method, the block runs in the action continuing
        the client's task, which ends with the response.
        """
        def render(request: Any) -> bytes:
            with continue_request(request):
                log_message(message_type="app:inside")
            log_message(message_type="app:outside")
            return b""

        self.serve(render, {b"X-Eliot-Task-Id": [f"{TASK_UUID}@/7".encode()]})
        levels = {m.get("message_type") or m["action_status"]: (m["task_uuid"], m["task_level"])
                  for m in self.logger.messages}
        self.assertEqual(levels["app:inside"], (TASK_UUID, [7, 2]))
        self.assertEqual(levels["succeeded"], (TASK_UUID, [7, 3]))
        self.assertNotEqual(levels["app:outside"][0], TASK_UUID)

    def test_oneActionPerRequest(self) -> None:
        """
        Under L{TracingResource}, or called twice, it gives the same action.
        """
        scopes = []

        def render(request: Any) -> bytes:
            scopes.append(continue_request(request))
            scopes.append(continue_request(request))
            return b""

        self.serve(render, wrap=True)
        self.assertIs(scopes[0], scopes[1])
        self.assertEqual(len(actions(self.logger.messages, SERVER_ACTION_TYPE)), 2)

    def test_exceptionFails(self) -> None:
        """
        An exception leaving the block fails the action, and propagates.
        """
        def render(request: Any) -> bytes:
            with continue_request(request):
                raise ValueError("bad input")

        self.assertEqual(self.serve(render).code, 500)
        self.flushLoggedErrors(ValueError)
        end = self.logger.messages[-1]
        self.assertEqual((end["exception"], end["status"]), ("builtins.ValueError", 500))

    def test_notDoneYet(self) -> None:
        """
        A render that returns C{NOT_DONE_YET} and finishes the response
        later ends the action then, with the status.
        """
        requests: List[Any] = []

        def render(request: Any) -> Any:
            with continue_request(request):
                requests.append(request)
            return NOT_DONE_YET

        leaf = Resource()
        leaf.isLeaf = True
        leaf.render = render  # type: ignore[method-assign]
        stub = StubTreq(leaf)
        d = stub.get("http://example.com/")
        self.assertEqual(len(self.logger.messages), 1)
        requests[0].setResponseCode(204)
        requests[0].finish()
        stub.flush()
        self.assertEqual(self.successResultOf(d).code, 204)
        end = self.logger.messages[-1]
        self.assertEqual((end["action_status"], end["status"]), ("succeeded", 204))

    def test_track(self) -> None:
        """
        L{RequestScope.track} fails the action when the L{Deferred} a route
        returns fails, and passes the failure on.
        """
        body: Deferred[bytes] = Deferred()
        seen = []

        def render(request: Any) -> Any:
            with continue_request(request) as scope:
                seen.append((request, scope.track(body)))
            return NOT_DONE_YET

        stub = StubTreq(Leaf())
        stub._agent._rootResource.render = render
        d = stub.get("http://example.com/")
        body.errback(KeyError("x"))
        request, tracked = seen[0]
        self.failureResultOf(tracked, KeyError)
        self.assertEqual(len(self.logger.messages), 1)
        request.setResponseCode(503)
        request.finish()
        stub.flush()
        self.successResultOf(d)
        end = actions(self.logger.messages, SERVER_ACTION_TYPE)[-1]
        self.assertEqual((end["exception"], end["status"]), ("builtins.KeyError", 503))

    def test_tracestatePassedOn(self) -> None:
        """
        Requests made while handling a request with Trace Context headers
        pass its C{tracestate} and flags on.
        """
        agent = RecordingAgent()

        def render(request: Any) -> bytes:
            with continue_request(request):
                with start_action(action_type="app:work"):
                    TracingAgent(agent).request(b"GET", b"http://downstream/")
            return b""

        self.serve(render, {b"traceparent": [TRACEPARENT[:-2] + b"00"], b"tracestate": [b"v=1"]})
        sent = agent.requests[0][2]
        assert sent is not None
        self.assertEqual(sent.getRawHeaders(b"tracestate"), [b"v=1"])
        self.assertTrue(sent.getRawHeaders(b"traceparent")[0].endswith(b"-00"))  # type: ignore[index]
        self.assertTrue(sent.getRawHeaders(b"x-eliot-task-id")[0].startswith(TASK_UUID.encode()))  # type: ignore[index]
        self.assertIsNone(_REMOTE_TRACE.get())
