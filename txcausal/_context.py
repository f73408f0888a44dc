# -*- test-case-name: txcausal.test.test_action,txcausal.test.test_coroutines -*-
"""
Which action is current: a C{contextvars.ContextVar}, so threads, asyncio
tasks and Twisted coroutines (C{inlineCallbacks}, C{ensureDeferred}) each see
their own action with no help.
"""

from __future__ import annotations

import contextvars
from functools import wraps
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

if TYPE_CHECKING:
    from ._action import Action

_T = TypeVar("_T")

_ACTION: contextvars.ContextVar[Optional["Action"]] = contextvars.ContextVar(
    "txcausal_action", default=None
)

#: Fast accessor for the current action, used on the hot path.
_get_action = _ACTION.get


def current_action() -> Optional["Action"]:
    """
    @return: The action of the current context, or C{None} outside any
        action.
    """
    return _ACTION.get()


def preserve_context(f: Callable[..., _T]) -> Callable[..., _T]:
    """
    Wrap C{f} so that, when it runs later (typically in another thread), it
    runs inside the action that is current now.

    The action is captured as a serialized task position and continued in the
    other thread as an C{eliot:remote_task} action, so the thread's messages
    get their own well-ordered place in the tree.  The wrapper may be called
    only once.

    @param f: The callable to run later.
    @return: The wrapper; if no action is current, C{f} itself.
    """
    action = _ACTION.get()
    if action is None:
        return f
    task_id = action.serialize_task_id()
    used: list[bool] = []

    @wraps(f)
    def restore(*args: Any, **kwargs: Any) -> _T:
        if used:
            raise RuntimeError("A preserve_context() wrapper can only be called once.")
        used.append(True)
        from ._action import Action

        with Action.continue_task(task_id=task_id):
            return f(*args, **kwargs)

    return restore
