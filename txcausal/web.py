# -*- test-case-name: txcausal.test.test_web,txcausal.test.test_web_continue -*-
"""
twisted.web servers that continue the task of the client calling them.

Wrap a resource (the root of a site, or any subtree) in L{TracingResource}::

    site = Site(TracingResource(root))

or call L{continue_request} in a C{render_*} method or a Klein route::

    def render_GET(self, request):
        with continue_request(request):
            return compute()

A request carrying C{X-Eliot-Task-Id} (or, failing that, W3C
C{traceparent}) is handled in an C{eliot:remote_task} action continuing the
client's task; one carrying neither (or only rejected values) starts a
C{txcausal:http:server} task.  The action has C{method} and C{path} fields
and ends when the response is finished: it succeeds with a C{status} field,
or, when the handler raised, a L{Deferred} it returned failed or a failure
was given to C{request.processingFailed}, fails with the exception and the
C{status} (usually 500).  It fails with L{ConnectionLostBeforeResponse} when
the connection is lost first.  (A request first seen after its response or
its connection ended ends its action at the end of the first block, or when
a L{Deferred} given to L{RequestScope.track} outside any block fires;
reading L{RequestScope.action} ends nothing.)
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.error import UnsupportedMethod
from twisted.web.resource import IResource, getChildForRequest
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from ._interfaces import ILogger
from ._request_scope import (
    REMOTE_TASK_ACTION_TYPE,
    SERVER_ACTION_TYPE,
    ConnectionLostBeforeResponse,
    RequestScope,
    continue_request,
)


@implementer(IResource)
class TracingResource:
    """
    An L{IResource} under which every request runs in its task's action:
    the traversal of the wrapped resource, its C{render}, and the L{Deferred}
    the render may return (this wrapper writes its bytes, or renders the
    failure, or a result that is not bytes, as twisted.web would an
    exception).
    """

    isLeaf = True

    def __init__(self, wrapped: IResource, logger: Optional[ILogger] = None) -> None:
        """
        @param wrapped: The resource (and children) to serve.
        @param logger: Where the actions go; default: the global logger.
        """
        self._wrapped = wrapped
        self._logger = logger

    def getChildWithDefault(self, name: bytes, request: Request) -> IResource:
        """
        Not called by twisted.web, since this resource is a leaf; delegates.
        """
        return self._wrapped.getChildWithDefault(name, request)  # type: ignore[no-any-return, no-untyped-call]

    def putChild(self, path: bytes, child: IResource) -> None:
        """
        Add a child to the wrapped resource.
        """
        self._wrapped.putChild(path, child)

    def render(self, request: Request) -> Any:
        """
        Find and render the wrapped resource inside the request's action.
        """
        scope = continue_request(request, self._logger)
        with scope:
            leaves = scope._leaves
            leaf = None if leaves is None else leaves.pop(self, None)
            if leaf is None:
                leaf = getChildForRequest(self._wrapped, request)  # type: ignore[no-untyped-call]
            try:
                body = leaf.render(request)
            except UnsupportedMethod:
                # twisted.web may fake a HEAD with GET: it renders this
                # resource again, once the traversal has used up the path.
                # Render the same leaf then (once: an internal forward that
                # renders this resource again walks again).
                if scope._leaves is None:
                    scope._leaves = {}
                scope._leaves[self] = leaf
                raise
        if isinstance(body, Deferred):
            _deliver(body, request, scope)
            return NOT_DONE_YET
        if body is not NOT_DONE_YET and not isinstance(body, bytes):
            # twisted.web answers 500 without an exception: give the reason.
            scope._fail(TypeError(f"render returned {type(body).__name__}, not bytes"))
        return body


def _deliver(d: "Deferred[Any]", request: Any, scope: RequestScope) -> None:
    """
    Write the bytes C{d} fires with and finish C{request}; if it fails (or
    fires with something else than bytes, or the writing fails), make
    C{scope}'s action fail and render the failure as twisted.web renders an
    exception.  Cancel C{d} if the client goes away first.
    """
    gone = []

    def disconnected(failure: Failure) -> None:
        gone.append(True)
        d.cancel()

    request.notifyFinish().addErrback(disconnected)

    def write(body: Any) -> None:
        if gone or request.finished or body is NOT_DONE_YET:
            return
        if not isinstance(body, bytes):
            raise TypeError(f"render's Deferred fired with {type(body).__name__}, not bytes")
        request.write(body)
        request.finish()

    def fail(failure: Failure) -> None:
        scope._fail(failure.value)
        if not gone and not request.finished:
            with scope:  # twisted.web logs the traceback: in the action
                request.processingFailed(failure)

    d.addCallback(write).addErrback(fail)


__all__ = [
    "TracingResource",
    "continue_request",
    "RequestScope",
    "ConnectionLostBeforeResponse",
    "SERVER_ACTION_TYPE",
    "REMOTE_TASK_ACTION_TYPE",
]
