# -*- test-case-name: txcausal.test.test_teardown -*-
"""
Taking a lock as the interpreter tears down: every thread but the one
tearing it down is then frozen where it was, for ever, and so is a lock
that one of them holds.  A L{txcausal.logwriter.ThreadedWriter} logged to
then (by a C{__del__}, say) goes on without such a lock rather than wait
for it for ever.
"""

from __future__ import annotations

import atexit
import sys
import threading
from typing import ContextManager, Type

#: Whether the interpreter is tearing down (for tests to replace).
_finalizing = sys.is_finalizing

#: Whether the process has begun to exit: set by an exit handler, which
#: runs before the interpreter tears down.  Until then, a lock is taken the
#: plain way, which costs less on every message than trying it first.
exiting = False


def _beginExit() -> None:
    """
    Mark the process as exiting (see L{exiting}).
    """
    global exiting
    exiting = True


atexit.register(_beginExit)


def take_lock(lock: threading.Lock) -> bool:
    """
    Take C{lock}, waiting for it unless the interpreter is tearing down:
    every thread but the one tearing it down is then frozen where it was,
    for ever, and so is a lock that one of them holds.  It uses no builtin
    (see L{txcausal._exitreports.refuse_torn_down}).

    @return: Whether the lock was taken: if not, the caller goes on without
        it.
    """
    if lock.acquire(False):
        return True
    # None: deep in the teardown, this module's globals are gone.
    if _finalizing is None or _finalizing():
        return False
    lock.acquire()
    return True


def try_lock(lock: threading.Lock) -> bool:
    """
    Take C{lock} if it is free, as the process ends (see L{take_lock}).

    @return: Whether the lock was taken.
    """
    return lock.acquire(False)


class _Taken:
    """
    A lock taken already, as the interpreter tears down, released as the
    block ends (see L{held}).
    """

    __slots__ = ("_lock",)

    def __init__(self, lock: "threading.Lock | threading.RLock") -> None:
        self._lock = lock

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


class _NotTaken:
    """
    A lock a frozen thread holds as the interpreter tears down: the block
    goes on without it (see L{held}).
    """

    __slots__ = ()

    def __enter__(self) -> bool:
        return False

    def __exit__(self, *exc_info: object) -> None:
        return None


_NOT_TAKEN = _NotTaken()


def held(lock: "threading.Lock | threading.RLock", _Taken: Type[_Taken] = _Taken,
         _notTaken: _NotTaken = _NOT_TAKEN) -> ContextManager[bool]:
    """
    Hold C{lock} for a C{with} block, taken as L{take_lock} takes it.
    Until the interpreter tears down, that is C{lock} itself: a Control-C
    cannot keep it, as it could a context manager written in Python (at the
    points where its C{__enter__} has taken the lock, or its C{__exit__}
    has not yet released it, where signals are acted on).

    @return: A context manager giving whether the lock was taken: if not,
        the block goes on without it.
    """
    # None: deep in the teardown, this module's globals are gone.
    if _finalizing is None or _finalizing():
        return _Taken(lock) if lock.acquire(False) else _notTaken
    return lock
