# -*- test-case-name: txcausal.test.test_action,txcausal.test.test_web_scope_edges -*-
"""
Making an action current for a while and putting back what was current:
L{_ActionContext} (what L{Action.context<txcausal._action.Action.context>}
returns), L{_restore} for a token of the current action, and L{_reset} for
a token of any context variable.

A token made in another context than the one it is used in (a callback
chain, a coroutine that Twisted runs in a context of its own) cannot reset
its variable: what it found there is put back by value (L{_put_back}), and
for the current action only where the action it made current is current
(L{_restore_elsewhere}).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Optional

from ._context import _ACTION

if TYPE_CHECKING:
    from ._action import Action


class _ActionContext:
    """
    What L{Action.context<txcausal._action.Action.context>} returns: makes
    the action current, and restores the previous one on exit, without
    finishing it.
    """

    __slots__ = ("_action", "_token")

    def __init__(self, action: "Action") -> None:
        self._action = action
        self._token: Optional[Token[Optional[Action]]] = None

    def __enter__(self) -> "Action":
        self._token = _ACTION.set(self._action)
        return self._action

    def __exit__(self, *exc_info: object) -> None:
        _restore(self._token, self._action)


def _put_back(var: "ContextVar[Any]", token: "Token[Any]") -> None:
    """
    Set C{var} here to the value it had before C{token} was made, for a
    token made in another context (which C{var.reset} refuses).
    """
    old = token.old_value
    var.set(None if old is Token.MISSING else old)


def _reset(var: "ContextVar[Any]", token: "Token[Any]") -> None:
    """
    Put back the value C{var} had before C{token} was made; by value, when
    the token was made in another context, or was used already.
    """
    try:
        var.reset(token)
    except (ValueError, RuntimeError):
        _put_back(var, token)


def _restore(token: Optional["Token[Optional[Action]]"], action: Optional["Action"] = None,
             ) -> None:
    """
    Put back the action that was current before C{token} was made.

    @param action: The action C{token} made current, if known: when the
        token was made in another context, what was current is put back
        only where C{action} is current (see L{_restore_elsewhere}).
    """
    if token is None:
        return
    try:
        _ACTION.reset(token)
    except ValueError:
        _restore_elsewhere(token, action)


def _restore_elsewhere(token: "Token[Optional[Action]]", action: Optional["Action"]) -> bool:
    """
    Put back the action that was current before C{token} (which made
    C{action} current) was made, in another context than the one C{token}
    was made in (e.g. a callback chain): the best that can be done is to
    restore the old value here, when C{action} is current here.  Otherwise
    (a coroutine closed by the garbage collector in the reactor's context)
    the old value belongs to the other context: nothing is changed.

    @return: Whether it was put back.
    """
    if action is None or _ACTION.get() is action:
        _put_back(_ACTION, token)
        return True
    return False
