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
its connection ended ends its action at the end of the first block.)
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

from attrs import define, field
from twisted.internet.defer import Deferred
from twisted.python.components import Componentized
from twisted.python.failure import Failure
from twisted.web.error import UnsupportedMethod
from twisted.web.resource import IResource, getChildForRequest
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import Interface, implementer

from ._action import Action, start_task
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


def _reset(var: "ContextVar[Any]", token: "Token[Any]") -> None:
    """
    Put back the value C{var} had before C{token} was made; by value, when
    the token was made in another context.
    """
    try:
        var.reset(token)
    except (ValueError, RuntimeError):
        var.set(None if token.old_value is Token.MISSING else token.old_value)


@define(eq=False)
class RequestScope:
    """
    The action of one request.  As a context manager it makes the action
    current (and passes on the request's trace state) without finishing it;
    an exception escaping the block makes the action fail once the response
    (usually twisted.web's 500) is finished.  Each block puts back what was
    current when it was entered, in the context it is left in, whatever
    other contexts entered the scope meanwhile.

    @ivar action: The request's action.
    """

    action: Action
    _trace: Optional[RemoteTrace] = None
    #: The tokens of each entry not yet left, from any context, oldest first.
    _entries: List[Tuple["Token[Optional[Action]]", "Token[Optional[RemoteTrace]]"]] = field(
        factory=list)
    _exception: Optional[BaseException] = None
    _leaves: Dict[Any, IResource] = field(factory=dict)
    _end: Optional[Callable[[], None]] = None
    _hook: Optional[Callable[[Any], Any]] = None

    def __enter__(self) -> "RequestScope":
        self._entries.append((_ACTION.set(self.action), _REMOTE_TRACE.set(self._trace)))
        return self

    def __exit__(self, typ: Any, exception: Optional[BaseException], tb: Any) -> None:
        entries = self._entries
        try:
            # The usual case: the newest entry, made in this context.
            _ACTION.reset(entries[-1][0])
        except (IndexError, ValueError, RuntimeError):
            self._leave()
        else:
            _reset(_REMOTE_TRACE, entries.pop()[1])
        # twisted.web answers UnsupportedMethod with a 405 or 501 response.
        if exception is not None and not isinstance(exception, UnsupportedMethod):
            self._fail(exception)
        if self._end is not None and not self._entries:
            end, self._end = self._end, None
            end()

    def _leave(self) -> None:
        """
        Put back what the newest entry made in this context made current,
        when that is not the newest entry of all: a coroutine (which Twisted
        runs in a context of its own) entered the scope since, and is still
        in its block.
        """
        entries = self._entries
        for index in range(len(entries) - 2, -1, -1):
            action_token, trace_token = entries[index]
            try:
                _ACTION.reset(action_token)  # fails unless made in this context
            except (ValueError, RuntimeError):
                continue
            del entries[index]
            _reset(_REMOTE_TRACE, trace_token)
            return
        if entries:
            # Left in another context than it was entered in: by value.
            action_token, trace_token = entries.pop()
            _reset(_REMOTE_TRACE, trace_token)
            _reset(_ACTION, action_token)

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
        if self._hook is not None and getattr(request, "__dict__", {}).get(
                "processingFailed") is self._hook:
            del request.processingFailed  # no cycle left through the request
        self._hook = None
        exception = self._exception
        if isinstance(result, Failure):
            self._lost(
                f"connection lost before the response was complete: {safe_str(result.value)}")
        elif exception is None:
            self.action.add_success_fields(status=_code_of(request))
            self.action.finish()
        else:
            self.action.finish(exception, status=_code_of(request))

    def _lost(self, reason: str) -> None:
        """
        End the action: the client got no response.
        """
        self.action.finish(self._exception or ConnectionLostBeforeResponse(reason))


def _path_of(request: Any) -> Any:
    """
    @return: The path of C{request}: its C{path}, or for a test double
        without one (Twisted's C{DummyRequest}), its segments joined.
    """
    try:
        return request.path
    except AttributeError:
        pass
    try:
        return b"/" + b"/".join([*request.prepath, *request.postpath])
    except (AttributeError, TypeError):
        return b""


def _code_of(request: Any) -> Any:
    """
    @return: The status of C{request}'s response: its C{code}, or for a test
        double without one (C{DummyRequest}), its C{responseCode}, else 200.
    """
    code = getattr(request, "code", None)
    if code is None:
        code = getattr(request, "responseCode", None)
    return 200 if code is None else code


def _is_set(value: Any) -> bool:
    """
    @return: Whether C{value}, a request's flag, is set (a fake request's
        made-up attribute is not).
    """
    return type(value) in (bool, int) and bool(value)


def _track_processing_failed(request: Any, scope: RequestScope) -> None:
    """
    Make C{request.processingFailed} (twisted.web's way to answer 500 for a
    failure, also after C{NOT_DONE_YET}) fail the action with the failure's
    exception, and log its traceback in the action.
    """
    original = getattr(request, "processingFailed", None)
    if not callable(original):
        return

    def processingFailed(reason: Any) -> Any:
        scope._fail(getattr(reason, "value", None))
        with scope:
            return original(reason)

    try:
        request.processingFailed = processingFailed
    except AttributeError:
        return
    scope._hook = processingFailed


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
    fields["path"] = escape_value(_path_of(request), MAX_LOGGED_PATH)
    if found.task_id is not None and found.task_uuid is not None and found.level is not None:
        action = Action._resume(logger, found.task_id, found.task_uuid, found.level,
                                REMOTE_TASK_ACTION_TYPE, fields)
    else:
        action = start_task(logger, SERVER_ACTION_TYPE, **fields)
    scope = RequestScope(action, found.trace)
    if _is_set(getattr(request, "finished", False)):
        # notifyFinish() would never fire: end with the first block.
        scope._end = partial(scope._finished, None, request)
    elif _is_set(getattr(request, "_disconnected", False)):
        scope._end = partial(scope._lost, "connection lost before the request's action started")
    else:
        _track_processing_failed(request, scope)
        request.notifyFinish().addBoth(scope._finished, request)
    return scope


#: Where a request that is not L{Componentized} keeps its L{RequestScope}.
_SCOPE_ATTRIBUTE = "_txcausal_request_scope"


def continue_request(request: Request, logger: Optional[ILogger] = None) -> RequestScope:
    """
    Get the action of C{request}, starting it on the first call: it
    continues the client's task (from C{X-Eliot-Task-Id}, else
    C{traceparent}) or starts a new one, and finishes with the response.

    @param logger: Where the action goes; default: the global logger.
    @return: A L{RequestScope}: C{with continue_request(request): ...}.
    """
    if not isinstance(request, Componentized):
        return _remembered(request, logger)
    scope: Optional[RequestScope] = request.getComponent(_IRequestScope)  # type: ignore[no-untyped-call]
    if scope is None:
        scope = _start(request, logger)
        request.setComponent(_IRequestScope, scope)  # type: ignore[no-untyped-call]
    return scope


def _remembered(request: Any, logger: Optional[ILogger]) -> RequestScope:
    """
    L{continue_request} for a request that is not L{Componentized}
    (Twisted's C{DummyRequest}): the scope is kept in an attribute.
    """
    scope = getattr(request, _SCOPE_ATTRIBUTE, None)
    if isinstance(scope, RequestScope):
        return scope
    scope = _start(request, logger)
    try:
        setattr(request, _SCOPE_ATTRIBUTE, scope)
    except AttributeError:
        pass
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
            # twisted.web renders a leaf again to fake a HEAD with GET, once
            # the first traversal has used up the path: render the same leaf.
            leaf = scope._leaves.get(self)
            if leaf is None:
                leaf = scope._leaves[self] = getChildForRequest(self._wrapped, request)  # type: ignore[no-untyped-call]
            body = leaf.render(request)
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
