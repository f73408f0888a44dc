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
or, when the handler raised or a L{Deferred} it returned failed, fails with
the exception and the C{status} (usually 500).  It fails with
L{ConnectionLostBeforeResponse} when the connection is lost first.
"""

from __future__ import annotations

from contextvars import Token
from typing import Any, Optional

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.python.components import Componentized
from twisted.python.failure import Failure
from twisted.web.error import UnsupportedMethod
from twisted.web.resource import IResource, getChildForRequest
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import Interface, implementer

from ._action import Action, _restore, start_task
from ._context import _ACTION
from ._interfaces import ILogger
from ._json import safe_str
from ._propagation import _REMOTE_TRACE, RemoteTrace, escape_value, incoming

#: The action type of a request that starts a new task.
SERVER_ACTION_TYPE = "txcausal:http:server"
#: The action type of a request that continues the client's task.
REMOTE_TASK_ACTION_TYPE = "eliot:remote_task"
#: Longest path logged, in bytes.
MAX_LOGGED_PATH = 1024
#: The usual methods as logged, found at once.
_METHODS = {method: escape_value(method) for method in (
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS")}


class ConnectionLostBeforeResponse(Exception):
    """
    A request's connection was lost (typically, the client went away) before
    its response was complete.
    """


class _IRequestScope(Interface):
    """
    The key under which a request remembers its L{RequestScope}.
    """


@define
class RequestScope:
    """
    The action of one request.  As a context manager it makes the action
    current (and passes on the request's trace state) without finishing it;
    an exception escaping the block makes the action fail once the response
    (usually twisted.web's 500) is finished.

    @ivar action: The request's action.
    """

    action: Action
    _trace: Optional[RemoteTrace] = None
    _stack: list = field(factory=list)  # type: ignore[type-arg]
    _exception: Optional[BaseException] = None

    def __enter__(self) -> "RequestScope":
        self._stack.append((_ACTION.set(self.action), _REMOTE_TRACE.set(self._trace)))
        return self

    def __exit__(self, typ: Any, exception: Optional[BaseException], tb: Any) -> None:
        action_token, token = self._stack.pop()
        try:
            _REMOTE_TRACE.reset(token)
        except ValueError:
            # Left in another context than entered: restore by value.
            _REMOTE_TRACE.set(None if token.old_value is Token.MISSING else token.old_value)
        _restore(action_token)
        # twisted.web answers UnsupportedMethod with a 405 or 501 response.
        if exception is not None and not isinstance(exception, UnsupportedMethod):
            self._fail(exception)

    def track(self, result: Any) -> Any:
        """
        Make the action fail if C{result} is a L{Deferred} that fails;
        return C{result} unchanged (a failure is passed on, for the framework
        to render).  Use it to return a Deferred from a Klein route.
        """
        if isinstance(result, Deferred):
            result.addErrback(self._failed)
        return result

    def _failed(self, failure: Failure) -> Failure:
        self._fail(failure.value)
        return failure

    def _fail(self, exception: Optional[BaseException]) -> None:
        """
        Remember that handling the request failed: the action fails with the
        first such exception when the response is finished.
        """
        if self._exception is None:
            self._exception = exception

    def _finished(self, result: Optional[Failure], request: Request) -> None:
        """
        End the action when the response is finished or the connection is
        lost (C{result} is then a L{Failure}).
        """
        exception = self._exception
        if isinstance(result, Failure):
            self.action.finish(exception or ConnectionLostBeforeResponse(
                f"connection lost before the response was complete: {safe_str(result.value)}"))
        elif exception is None:
            self.action.add_success_fields(status=request.code)
            self.action.finish()
        else:
            self.action.finish(exception, status=request.code)


def _start(request: Request, logger: Optional[ILogger]) -> RequestScope:
    """
    Start the action of C{request}: continue its client's task, or a new one.
    """
    found = incoming(request.requestHeaders)
    fields = found.fields
    method = request.method
    # twisted.web's methods are bytes; a fake request's may be unhashable.
    known = _METHODS.get(method) if type(method) is bytes else None
    fields["method"] = known or escape_value(method)
    fields["path"] = escape_value(request.path, MAX_LOGGED_PATH)
    if found.task_id is not None and found.task_uuid is not None and found.level is not None:
        action = Action._resume(logger, found.task_id, found.task_uuid, found.level,
                                REMOTE_TASK_ACTION_TYPE, fields)
    else:
        action = start_task(logger, SERVER_ACTION_TYPE, **fields)
    scope = RequestScope(action, found.trace)
    request.notifyFinish().addBoth(scope._finished, request)
    return scope


def continue_request(request: Request, logger: Optional[ILogger] = None) -> RequestScope:
    """
    Get the action of C{request}, starting it on the first call: it
    continues the client's task (from C{X-Eliot-Task-Id}, else
    C{traceparent}) or starts a new one, and finishes with the response.

    @param logger: Where the action goes; default: the global logger.
    @return: A L{RequestScope}: C{with continue_request(request): ...}.
    """
    if not isinstance(request, Componentized):
        return _start(request, logger)
    scope: Optional[RequestScope] = request.getComponent(_IRequestScope)  # type: ignore[no-untyped-call]
    if scope is None:
        scope = _start(request, logger)
        request.setComponent(_IRequestScope, scope)  # type: ignore[no-untyped-call]
    return scope


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
            body = getChildForRequest(self._wrapped, request).render(request)  # type: ignore[no-untyped-call]
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
