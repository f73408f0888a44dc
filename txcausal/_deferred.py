# -*- test-case-name: txcausal.test.test_deferred -*-
"""
Actions that span a L{Deferred}: L{DeferredContext} runs callbacks inside
the action that was current when it was made, and finishes that action when
the chain fires; L{writeFailure} logs a L{Failure}.

Coroutines need none of this: C{inlineCallbacks} and C{ensureDeferred} run
each coroutine in its own copy of the C{contextvars} context, so an action
started inside one stays current across C{yield} and C{await}.
"""

from __future__ import annotations

from functools import wraps
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Generic,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    cast,
)

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.python.failure import Failure

from ._action import Action
from ._action_context import _restore
from ._context import _ACTION, _get_action
from ._errors import write_traceback_message
from ._interfaces import ILogger
from ._message import log_message
from ._wire import YIELDED_MESSAGE_TYPE

_T = TypeVar("_T")

#: What C{returnValue()} raises, caught where the generator that logs the
#: yields runs the original one, so that it returns the value itself (else
#: Twisted warns that C{returnValue()} made it exit).  Twisted names the
#: class privately: if it is gone, nothing is caught and Twisted warns.
_RETURN_VALUE: Tuple[Type[BaseException], ...]
try:
    from twisted.internet.defer import _DefGen_Return
except ImportError:  # pragma: no cover
    _RETURN_VALUE = ()
else:
    _RETURN_VALUE = (_DefGen_Return,)


class AlreadyFinished(Exception):
    """
    L{DeferredContext.addActionFinish} was called already: no more callbacks
    can be added through that L{DeferredContext}.
    """


def _passthrough(result: Any) -> Any:
    return result


def finishWhenFired(action: Action, result: Any, includeResult: bool = False) -> Any:
    """
    A callback and errback that finishes C{action}: as failed when
    C{result} is a L{Failure} (with C{cancelled: true} for a cancellation),
    as succeeded otherwise.

    @param includeResult: Whether a success records C{result} as the
        C{result} field.
    @return: C{result}, unchanged.
    """
    if includeResult and not isinstance(result, Failure):
        action.add_success_fields(result=result)
    return _finishWith(result, action)


def _finishWith(result: Any, action: Action) -> Any:
    """
    L{finishWhenFired} without a result field, in the order of arguments a
    L{Deferred} calls it with: what L{DeferredContext.addActionFinish} adds.
    """
    if isinstance(result, Failure):
        action.finish(result.value)
    else:
        action.finish()
    return result


def _runIn(result: Any, action: Action, f: Callable[..., Any]) -> Any:
    """
    Call C{f(result)} inside C{action}: what a L{DeferredContext} adds to
    its L{Deferred} for a callback with no arguments of its own, with no
    closure per callback and no argument tuple or dictionary per call.
    """
    if _get_action() is action:
        # Fired inside the action already (typically a Deferred that had
        # fired when the callback was added): nothing to switch, unless the
        # callback leaves another action current.
        try:
            return f(result)
        finally:
            if _get_action() is not action:
                _ACTION.set(action)
    token = _ACTION.set(action)
    try:
        return f(result)
    finally:
        _restore(token, action)


def _runInWith(result: Any, action: Action, f: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> Any:
    """
    Call C{f(result, *args, **kwargs)} inside C{action}, as L{_runIn} does.
    """
    return _runIn(result, action, lambda value: f(value, *args, **kwargs))


def _inAction(action: Action, f: Optional[Callable[..., Any]], args: Sequence[Any],
              kwargs: Optional[Dict[str, Any]]) -> "tuple[Callable[..., Any], tuple[Any, ...]]":
    """
    @return: What to add to a L{Deferred} to run C{f(result, *args,
        **kwargs)} inside C{action} (given C{kwargs} as the L{Deferred}'s
        keywords); a passthrough (C{None} too) is added as it is.
    """
    if f is None or f is _passthrough:
        return _passthrough, ()
    if args or kwargs:
        return _runInWith, (action, f, *args)
    return _runIn, (action, f)


class DeferredContext(Generic[_T]):
    """
    A L{Deferred} whose callbacks run inside the action that was current
    when the L{DeferredContext} was made, wherever the L{Deferred} fires from
    (a C{callLater}, another action, a thread via C{callFromThread}).

    Typical use::

        with start_action(action_type="app:fetch").context():
            d = DeferredContext(fetch(url))
            d.addCallback(parse)
            d.addErrback(writeFailure)
            return d.addActionFinish()

    @ivar result: The underlying L{Deferred}.
    """

    __slots__ = ("result", "_action", "_finishAdded")

    def __init__(self, deferred: "Deferred[_T]") -> None:
        """
        @param deferred: The L{Deferred} to add callbacks to.
        @raise RuntimeError: If no action is current.
        @raise TypeError: If C{deferred} is not a L{Deferred}.
        """
        if not isinstance(deferred, Deferred):
            raise TypeError(f"DeferredContext() needs a Deferred, not {type(deferred).__name__}")
        action = _get_action()
        if action is None:
            raise RuntimeError(
                "DeferredContext() must be created inside an action: "
                "use it within start_action(...) or action.context()."
            )
        self.result: "Deferred[Any]" = deferred
        self._action = action
        self._finishAdded = False

    def addCallbacks(
        self,
        callback: Callable[..., Any],
        errback: Optional[Callable[..., Any]] = None,
        callbackArgs: Optional[Sequence[Any]] = None,
        callbackKeywords: Optional[Dict[str, Any]] = None,
        errbackArgs: Optional[Sequence[Any]] = None,
        errbackKeywords: Optional[Dict[str, Any]] = None,
    ) -> "DeferredContext[Any]":
        """
        Add a callback and an errback, both run inside the action, as
        L{Deferred.addCallbacks} does (C{None} arguments standing for none,
        as Eliot accepts them).

        @return: This L{DeferredContext}.
        @raise AlreadyFinished: After L{addActionFinish}.
        """
        if self._finishAdded:
            raise AlreadyFinished("addActionFinish() was already called")
        action = self._action
        cb, cbArgs = _inAction(action, callback, callbackArgs or (), callbackKeywords)
        eb, ebArgs = _inAction(action, errback, errbackArgs or (), errbackKeywords)
        self.result.addCallbacks(cb, eb, cbArgs, callbackKeywords or {}, ebArgs,
                                 errbackKeywords or {})
        return self

    def addCallback(self, callback: Callable[..., Any], *args: Any,
                    **kwargs: Any) -> "DeferredContext[Any]":
        """
        Add a callback run inside the action.

        @return: This L{DeferredContext}.
        @raise AlreadyFinished: After L{addActionFinish}.
        """
        if self._finishAdded:
            raise AlreadyFinished("addActionFinish() was already called")
        # The common case, straight to the Deferred's own fast path.
        if args or kwargs:
            self.result.addCallback(_runInWith, self._action, callback, *args, **kwargs)
        else:
            self.result.addCallback(_runIn, self._action, callback)
        return self

    def addErrback(self, errback: Callable[..., Any], *args: Any,
                   **kwargs: Any) -> "DeferredContext[_T]":
        """
        Add an errback run inside the action.

        @return: This L{DeferredContext}.
        @raise AlreadyFinished: After L{addActionFinish}.
        """
        return self.addCallbacks(_passthrough, errback, errbackArgs=args,
                                 errbackKeywords=kwargs)

    def addBoth(self, callback: Callable[..., Any], *args: Any,
                **kwargs: Any) -> "DeferredContext[Any]":
        """
        Add a callable run inside the action as both callback and errback.

        @return: This L{DeferredContext}.
        @raise AlreadyFinished: After L{addActionFinish}.
        """
        return self.addCallbacks(callback, callback, callbackArgs=args, callbackKeywords=kwargs,
                                 errbackArgs=args, errbackKeywords=kwargs)

    def addActionFinish(self) -> "Deferred[Any]":
        """
        Finish the action when the chain fires: as succeeded with a result,
        as failed (C{exception}, C{reason}) with a L{Failure}.  Cancelling
        the returned L{Deferred} finishes the action as failed with
        C{cancelled: true}.  The result goes on down the chain unchanged.

        @return: The underlying L{Deferred}, also L{DeferredContext.result}.
        @raise AlreadyFinished: If called twice.
        """
        if self._finishAdded:
            raise AlreadyFinished("addActionFinish() was already called")
        self._finishAdded = True
        self.result.addBoth(_finishWith, self._action)
        return self.result


def inline_callbacks(original: Callable[..., Any], debug: bool = False) -> Callable[..., Any]:
    """
    Eliot's C{inline_callbacks}, kept so that code using it needs no
    change: Twisted's own C{inlineCallbacks}, since the current action is a
    C{contextvars} variable that a generator run by it keeps across
    C{yield} with no help.

    @param original: A generator function.
    @param debug: If true, log a C{yielded} message at each C{yield}, in the
        generator's action, as Eliot does.
    @return: C{inlineCallbacks(original)}.
    """
    if debug:
        original = _log_yields(original)
    return inlineCallbacks(original)


def _log_yields(original: Callable[..., Generator[Any, Any, Any]]) -> Callable[..., Any]:
    """
    @return: A generator function that runs C{original}'s generator, logging
        a C{yielded} message each time it yields (where it yields, so in its
        action), and passing values, exceptions and its return value through.
    """
    @wraps(original)
    def logging_yields(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        generator = original(*args, **kwargs)
        value: Any = None
        error: Optional[BaseException] = None
        while True:
            try:
                out = generator.send(value) if error is None else generator.throw(error)
            except StopIteration as e:
                return e.value
            except _RETURN_VALUE as e:
                return getattr(e, "value", None)
            log_message(message_type=YIELDED_MESSAGE_TYPE)
            value, error = None, None
            try:
                value = yield out
            except GeneratorExit:
                generator.close()
                raise
            except BaseException as e:
                error = e

    logging_yields.debug = True  # type: ignore[attr-defined]
    return logging_yields


def writeFailure(failure: Failure, logger: Optional[ILogger] = None) -> None:
    """
    Log C{failure} as an C{eliot:traceback} message inside the current
    action.  Usable directly as an errback: it returns C{None}, so the
    failure is handled.  The C{traceback} field is the failure's brief
    traceback (a line per frame, as Eliot writes it: no source lines, so no
    file is read on the reactor thread).

    @param failure: The failure to log.
    @param logger: Where to write; default: the action's or the default one.
    @raise TypeError: If C{failure} is not a L{Failure}.
    """
    if not isinstance(failure, Failure):
        raise TypeError(f"writeFailure() needs a Failure, not {type(failure).__name__}")
    write_traceback_message(logger, cast(BaseException, failure.value),
                            failure.getBriefTraceback())


__all__ = ["DeferredContext", "AlreadyFinished", "writeFailure", "inline_callbacks"]
