# -*- test-case-name: txcausal.test.test_logcall -*-
"""
L{log_call}: log a function's calls as actions, with its arguments and
result.  For a function returning a L{twisted.internet.defer.Deferred} or a coroutine, and for an
C{async def} function, the action ends when the result is ready.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from functools import partial, wraps
from typing import Any, Awaitable, Callable, Dict, Iterable, Optional, TypeVar, cast, overload

from ._action import Action, _begin
from ._context import current_action
from ._safe import safe_repr

_F = TypeVar("_F", bound=Callable[..., Any])


@overload
def log_call(
    wrapped_function: _F,
    action_type: Optional[str] = None,
    include_args: Optional[Iterable[str]] = None,
    include_result: bool = True,
) -> _F: ...


@overload
def log_call(
    wrapped_function: None = None,
    action_type: Optional[str] = None,
    include_args: Optional[Iterable[str]] = None,
    include_result: bool = True,
) -> Callable[[_F], _F]: ...


def log_call(
    wrapped_function: Optional[_F] = None,
    action_type: Optional[str] = None,
    include_args: Optional[Iterable[str]] = None,
    include_result: bool = True,
) -> Any:
    """
    Decorate a function so each call is an action whose start message holds
    the arguments and whose success message holds the result.

    Usable bare (C{@log_call}) or with options
    (C{@log_call(action_type="calc", include_args=["x"])}).

    @param action_type: The action type; default: the function's module and
        qualified name.
    @param include_args: The names of the arguments to log; default: all
        but C{self} and C{cls}.
    @param include_result: Whether to log the result as C{result}.  When
        the function returns a L{twisted.internet.defer.Deferred} or a
        coroutine, or is an C{async def} function, the action finishes when
        that result is ready, recording the value it fires with or the
        failure.
    @raise ValueError: If C{include_args} names an argument the function
        does not have.
    @warn UserWarning: For a generator function, logged as Eliot logs it:
        the action is the call, which only makes the generator (its
        C{repr} is the result); the generator's work happens later,
        outside it.
    """
    if wrapped_function is None:
        return partial(log_call, action_type=action_type, include_args=include_args,
                       include_result=include_result)
    f = wrapped_function
    name = action_type or f"{f.__module__}.{f.__qualname__}"
    arguments = _arguments_logger(f, include_args)
    if inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f):
        warnings.warn(
            f"log_call on generator function {f.__qualname__} logs only the call that makes "
            "the generator, as Eliot does: its work happens later, outside the action; "
            "use start_action inside it to log that", stacklevel=2)
        return cast(_F, _wrapper(f, name, arguments, include_result, _finish_generator))
    if inspect.iscoroutinefunction(f):
        return cast(_F, _async_wrapper(f, name, arguments, include_result))
    return cast(_F, _wrapper(f, name, arguments, include_result))


#: Arguments that are the object or class a method is bound to.
_BOUND = frozenset(["self", "cls"])

_Arguments = Callable[[Any, Any], Dict[str, Any]]


def _arguments_logger(f: Callable[..., Any], include_args: Optional[Iterable[str]]) -> _Arguments:
    """
    @return: A function giving the start fields of a call of C{f}: its
        arguments by name (defaults included), those of C{include_args} or
        all but C{self} and C{cls}.
    @raise ValueError: If C{include_args} names an argument C{f} does not
        have.
    """
    signature = inspect.signature(f)
    wanted = None if include_args is None else frozenset(include_args)
    if wanted is not None and not wanted <= signature.parameters.keys():
        raise ValueError(
            f"include_args {sorted(wanted - signature.parameters.keys())} are not "
            f"arguments of {f.__qualname__}"
        )

    def arguments(args: Any, kwargs: Any) -> Dict[str, Any]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return {}
        bound.apply_defaults()
        if wanted is None:
            return {k: v for k, v in bound.arguments.items() if k not in _BOUND}
        return {k: v for k, v in bound.arguments.items() if k in wanted}

    return arguments


def _wrapper(f: Callable[..., Any], name: str, arguments: _Arguments, include_result: bool,
             finish: Optional[Callable[[Action, Any, bool], Any]] = None) -> Callable[..., Any]:
    """
    Wrap a plain function (which may return a Deferred or a coroutine).

    @param finish: Finishes the action with the call's result, and gives
        what the call returns; default: L{_finish_with}.
    """
    finish_with = _finish_with if finish is None else finish

    # The wrapper refers only to what pickle can import (current_action,
    # not the ContextVar): Dask pickles functions of __main__ by value.
    @wraps(f)
    def logging_wrapper(*args: Any, **kwargs: Any) -> Any:
        action = _begin(current_action(), None, name, arguments(args, kwargs), None)
        try:
            with action.context():
                result = f(*args, **kwargs)
        except BaseException as e:
            action.finish(e)
            raise
        return finish_with(action, result, include_result)

    return logging_wrapper


def _finish_generator(action: Action, generator: Any, include_result: bool) -> Any:
    """
    Finish the action of a call of a generator function as Eliot does: the
    action is the call; its result, the generator's C{repr} (as the encoder
    would write it, without reporting it as a value JSON cannot encode).
    """
    if include_result:
        action.add_success_fields(result=safe_repr(generator))
    action.finish()
    return generator


def _async_wrapper(f: Callable[..., Any], name: str, arguments: _Arguments,
                   include_result: bool) -> Callable[..., Any]:
    """
    Wrap an C{async def} function, keeping it one.
    """

    @wraps(f)
    async def async_logging_wrapper(*args: Any, **kwargs: Any) -> Any:
        action = _begin(current_action(), None, name, arguments(args, kwargs), None)
        try:
            coroutine = f(*args, **kwargs)
        except BaseException as e:
            action.finish(e)
            raise
        return await _await_in_action(action, coroutine, include_result)

    return async_logging_wrapper


def _finish_with(action: Action, result: Any, include_result: bool) -> Any:
    """
    Finish C{action} with what the function returned: at once for a plain
    value; when it fires for a L{twisted.internet.defer.Deferred}; when it completes for a
    coroutine.

    @return: What the caller gets: C{result}, or for a coroutine one that
        awaits it inside the action.
    """
    defer = sys.modules.get("twisted.internet.defer")
    if defer is not None and isinstance(result, defer.Deferred):
        from ._deferred import finishWhenFired

        return result.addBoth(lambda r: finishWhenFired(action, r, include_result))
    if inspect.iscoroutine(result):
        return _await_in_action(action, result, include_result)
    if include_result:
        action.add_success_fields(result=result)
    action.finish()
    return result


async def _await_in_action(action: Action, awaitable: Awaitable[Any], include_result: bool) -> Any:
    """
    Await C{awaitable} with C{action} current, then finish C{action} with
    its result or exception.
    """
    try:
        with action.context():
            result = await awaitable
    except BaseException as e:
        action.finish(e)
        raise
    if include_result:
        action.add_success_fields(result=result)
    action.finish()
    return result
