# -*- test-case-name: txcausal.test.test_logcall -*-
"""
L{log_call}: log a function's calls as actions, with its arguments and
result.
"""

from __future__ import annotations

import inspect
from functools import partial, wraps
from typing import Any, Callable, Dict, Iterable, Optional, TypeVar, cast

from ._action import _begin
from ._context import _get_action

_F = TypeVar("_F", bound=Callable[..., Any])


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
        but C{self}.
    @param include_result: Whether to log the result as C{result}.
    @raise ValueError: If C{include_args} names an argument the function
        does not have.
    """
    if wrapped_function is None:
        return partial(log_call, action_type=action_type, include_args=include_args,
                       include_result=include_result)
    f = wrapped_function
    name = action_type or f"{f.__module__}.{f.__qualname__}"
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
            return {k: v for k, v in bound.arguments.items() if k != "self"}
        return {k: v for k, v in bound.arguments.items() if k in wanted}

    @wraps(f)
    def logging_wrapper(*args: Any, **kwargs: Any) -> Any:
        with _begin(_get_action(), None, name, arguments(args, kwargs), None) as action:
            result = f(*args, **kwargs)
            if include_result:
                action.add_success_fields(result=result)
            return result

    return cast(_F, logging_wrapper)
