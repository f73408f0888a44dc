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
from contextlib import contextmanager
from typing import Iterator

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


@contextmanager
def held(lock: threading.Lock) -> Iterator[bool]:
    """
    Hold C{lock}, taken with L{take_lock}, for the block.

    @return: A context manager giving whether the lock was taken: if not,
        the block goes on without it.
    """
    free = take_lock(lock)
    try:
        yield free
    finally:
        if free:
            lock.release()
