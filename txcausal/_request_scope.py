# -*- test-case-name: txcausal.test.test_web_scope,txcausal.test.test_web_scope_edges -*-
"""
The action of one twisted.web request: L{RequestScope} and
L{continue_request}, published by L{txcausal.web}.
"""

from __future__ import annotations

from contextvars import Token
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.error import UnsupportedMethod
from twisted.web.resource import IResource
from twisted.web.server import Request

from ._action import Action, start_task
from ._action_context import _reset, _restore_elsewhere
from ._context import _ACTION
from ._interfaces import ILogger
from ._json import safe_str
from ._propagation import _REMOTE_TRACE, RemoteTrace, _incoming, _well_formed, escape_value

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


#: Where a failure given to C{processingFailed} after the response ended goes.
_log = Logger(namespace="txcausal.web")

# Logged (and documented) under the public module's name.
ConnectionLostBeforeResponse.__module__ = "txcausal.web"


class RequestScope:
    """
    The action of one request.  As a context manager it makes the action
    current (and passes on the request's trace state) without finishing it;
    an exception escaping the block makes the action fail once the response
    (usually twisted.web's 500) is finished.  Each block puts back what was
    current when it was entered, in the context it is left in, whatever
    other contexts entered the scope meanwhile.

    @ivar action: The request's action.  (For a request first seen after its
        response or connection ended, reading it ends nothing: the action
        ends with the first block, or when a L{Deferred} given to
        L{track} fires.)
    """

    # A plain class, not an attrs one: one is made for every request, and
    # its __init__ sets the attributes without a factory's call.
    __slots__ = ("action", "_trace", "_entries", "_exception", "_leaves", "_end", "_original",
                 "_fields", "__weakref__")

    def __init__(self, action: Action, trace: Optional[RemoteTrace] = None,
                 fields: Optional[Dict[str, Any]] = None) -> None:
        """
        @param action: The request's action.
        @param trace: The trace state it passes on, if any.
        @param fields: The fields its action started with (its C{method}
            and C{path}, as logged), for the repr: for a continued task, the
            start message itself, as the destinations left it (one that
            edits messages in place, say to hide a path, edits the repr's).
        """
        self.action = action
        self._trace = trace
        # The action's fields, not the request: the scope does not keep the
        # request alive.
        self._fields = fields
        #: The tokens of each entry not yet left, from any context, oldest
        #: first.
        self._entries: List[Tuple["Token[Optional[Action]]", "Token[Optional[RemoteTrace]]"]] = []
        self._exception: Optional[BaseException] = None
        #: The leaf each L{TracingResource} found, kept for twisted.web's
        #: second render of a fake C{HEAD}.
        self._leaves: Optional[Dict[Any, IResource]] = None
        #: How a request first seen after its end ends its action, till then.
        self._end: Optional[Callable[[], None]] = None
        #: The request's own C{processingFailed}, for L{_processing_failed}
        #: that stands in for it, till the response is finished.
        self._original: Optional[Callable[[Any], Any]] = None

    def __repr__(self) -> str:
        fields = self._fields
        if fields is None:
            return f"RequestScope(action={self.action!r})"
        return (f"RequestScope(method={fields.get('method')!r}, path={fields.get('path')!r}, "
                f"action={self.action!r})")

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
            # Made with the action's token, in this context: it resets.
            _REMOTE_TRACE.reset(entries.pop()[1])
        # twisted.web answers UnsupportedMethod with a 405 or 501 response.
        if exception is not None and not isinstance(exception, UnsupportedMethod):
            self._fail(exception)
        if self._end is not None:
            self._end_late()

    def _end_late(self, result: Any = None) -> Any:
        """
        End the action of a request first seen after its end, unless a
        block is still open (it ends the action when left).

        @return: C{result}.
        """
        end = self._end
        if end is not None and not self._entries:
            self._end = None
            end()
        return result

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
            # Left in another context than it was entered in: by value, if
            # this scope's action is current here.  Otherwise (a coroutine
            # closed by the garbage collector in the reactor's context) what
            # the entry found current belongs to the other context.
            action_token, trace_token = entries.pop()
            if _restore_elsewhere(action_token, self.action):
                _reset(_REMOTE_TRACE, trace_token)

    def track(self, result: Any) -> Any:
        """
        Make the action fail if C{result} is a L{Deferred} that fails;
        return C{result} unchanged (a failure is passed on, for the framework
        to render).  Use it to return a Deferred from a Klein route.  (For a
        request first seen after its response or connection ended, outside
        any block, the action ends when C{result} has fired.)
        """
        if isinstance(result, Deferred):
            result.addErrback(self._failed)
            if self._end is not None:
                result.addBoth(self._end_late)
        elif self._end is not None:
            self._end_late()
        return result

    def _processing_failed(self, reason: Any) -> Any:
        """
        Stand in for the request's C{processingFailed} (twisted.web's way to
        answer 500 for a failure, also after C{NOT_DONE_YET}): make the
        action fail with the failure's exception, and log its traceback in
        the action.
        """
        self._fail(getattr(reason, "value", None))
        original = self._original
        if original is None:
            # Called after the response was finished: log it as twisted.web
            # would.
            _log.failure("Processing failed after the response ended", failure=reason)
            return reason
        with self:
            return original(reason)

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
        # No cycle is left through the request.  (The stand-in is left in
        # place: removing it would cost more than the rest of the request.)
        self._original = None
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


def _segments_path(request: Any) -> Any:
    """
    @return: The path of C{request}, a test double without C{path} (Twisted's
        C{DummyRequest}): its segments joined.
    """
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


#: The types of a request's flags (a fake request's made-up attribute is
#: not set).
_FLAGS = (bool, int)


def _start(request: Request, logger: Optional[ILogger]) -> RequestScope:
    """
    Start the action of C{request}: continue its client's task, or a new one.
    """
    # incoming(), without its call.
    headers = request.requestHeaders
    found = _well_formed(headers) or _incoming(headers)
    fields = found.fields
    method = request.method
    # twisted.web's methods are bytes; a fake request's may be unhashable.
    known = _METHODS.get(method) if type(method) is bytes else None
    fields["method"] = known or escape_value(method)
    try:
        path = request.path
    except AttributeError:
        path = _segments_path(request)
    fields["path"] = escape_value(path, MAX_LOGGED_PATH)
    if found.task_id is not None and found.task_uuid is not None and found.level is not None:
        action = Action._resume(logger, found.task_id, found.task_uuid, found.level,
                                REMOTE_TASK_ACTION_TYPE, fields)
    else:
        action = start_task(logger, SERVER_ACTION_TYPE, **fields)
    scope = RequestScope(action, found.trace, fields)
    finished = getattr(request, "finished", 0)
    lost = getattr(request, "_disconnected", False)
    notify = getattr(request, "notifyFinish", None)
    if (finished and type(finished) in _FLAGS) or not callable(notify):
        # notifyFinish() would never fire, or there is none (a proxy of
        # IRequest alone): end with the first block.
        scope._end = partial(scope._finished, None, request)
    elif lost and type(lost) in _FLAGS:
        scope._end = partial(scope._lost, "connection lost before the request's action started")
    else:
        notify().addBoth(scope._finished, request)
        # Stand in for processingFailed till the response is finished.  On
        # every request: d.addErrback(request.processingFailed) takes the
        # method before the render returns, so it must be in place by then.
        original = getattr(request, "processingFailed", None)
        if callable(original):
            try:
                request.processingFailed = scope._processing_failed  # type: ignore[method-assign]
            except AttributeError:
                pass
            else:
                scope._original = original
    return scope


#: Where a request keeps its L{RequestScope}: an attribute, read as any other
#: (a proxy that reads the request's attributes finds its scope), and cheaper
#: than a component of a C{Componentized} request (a miss there goes through
#: zope's adapter hooks).
_SCOPE_ATTRIBUTE = "_txcausal_request_scope"


def continue_request(request: Request, logger: Optional[ILogger] = None) -> RequestScope:
    """
    Get the action of C{request}, starting it on the first call: it
    continues the client's task (from C{X-Eliot-Task-Id}, else
    C{traceparent}) or starts a new one, and finishes with the response.

    @param logger: Where the action goes; default: the global logger.
    @return: A L{RequestScope}: C{with continue_request(request): ...}.
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
