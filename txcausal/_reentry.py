# -*- test-case-name: txcausal.test.test_reentry -*-
"""
A thread logging while it holds one of the logging path's locks.  Python
runs a signal handler on the main thread between two bytecodes of whatever
it was doing (Twisted's C{SIGTERM} and C{SIGINT} handlers log), and the
garbage collector runs a C{__del__} or a weakref callback at an allocation
(Twisted's C{Deferred} logs "Unhandled error in Deferred" from one): either
may log inside a logging call that holds a lock.  Waiting for that lock
would wait for ever.

L{parks} tells such a re-entry apart from another thread holding the lock,
at almost no cost to the uncontended path: the caller calls it only when the
lock's C{locked()} says it is taken.  If this thread holds it, it cannot be
released in between.  L{parks} then looks
through this thread's frames for one of the functions that take the lock,
run on the same object (its C{self}).  If there is none, it waits for the
lock as usual.  If there is one, it parks the work (a message) on a side
list, for the thread holding the lock to do once it has released it (see
L{drain}), after the work it was doing.  Such a frame may not hold the lock
yet, or no more: the work is parked all the same, and whichever thread
releases the lock next does it, or this thread, if the lock is free by the
time it has parked it.  A L{drain} stops the search: the frames under it
released the lock before draining.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any, Callable, Deque, Dict, FrozenSet, Iterator, Optional, Tuple, TypeVar

_T = TypeVar("_T")

#: The work parked for a lock's holder.
Parked = Deque[_T]


def holders(*functions: Callable[..., Any]) -> FrozenSet[CodeType]:
    """
    @param functions: The functions (methods, taking C{self}) that take a
        lock.
    @return: What L{reentered} looks for in the frames of the thread.
    """
    return frozenset(function.__code__ for function in functions)


def parked() -> "Deque[Any]":
    """
    @return: A side list for the work parked for a lock's holder.
    """
    return deque()


def drain(parked: "Deque[_T]", run: Callable[[_T], object]) -> None:
    """
    Do the work parked, in order: call C{run} with each, which waits for the
    lock as usual (this thread holds it in no frame below: the caller has
    just released it, or has just found it free).
    """
    while parked:
        try:
            work = parked.popleft()
        except IndexError:
            # Another thread took the last one meanwhile.
            return
        run(work)


@contextmanager
def holding(lock: Any, parked: "Deque[_T]", run: Callable[[_T], object]) -> Iterator[None]:
    """
    Hold C{lock} for a block; once it is released, also when the block
    raises, do with C{run} what was parked meanwhile (see L{drain}).  For a
    method named among its object's holders (see L{holders}).
    """
    try:
        with lock:
            yield
    finally:
        if parked:
            drain(parked, run)


#: The owners of a lock a thread holds outside any call of theirs (across
#: a fork, see L{txcausal._fork}), by C{id}: the owner (kept alive: its
#: C{id} is not reused meanwhile), that thread and its process.
_held_outside: Dict[int, Tuple[object, int, int]] = {}


def hold_outside(owner: object) -> None:
    """
    Mark this thread as holding C{owner}'s lock outside any call of it,
    before it takes the lock: L{reentered} is true for C{owner} on this
    thread (in this process, not in a forked child) until
    L{release_outside}, called once the lock is released.
    """
    _held_outside[id(owner)] = (owner, threading.get_ident(), os.getpid())


def release_outside(owner: object) -> None:
    """
    Undo L{hold_outside}.
    """
    _held_outside.pop(id(owner), None)


def reentered(owner: object, codes: FrozenSet[CodeType], depth: int = 2) -> bool:
    """
    @return: Whether one of this thread's frames (under the caller's
        caller) runs one of C{codes} on C{owner}, or this thread holds its
        lock outside any (see L{hold_outside}): this thread may hold the
        lock they take.
    """
    if _held_outside:
        held = _held_outside.get(id(owner))
        if (held is not None and held[0] is owner
                and held[1:] == (threading.get_ident(), os.getpid())):
            return True
    frame: Optional[FrameType] = sys._getframe(depth)
    stop = drain.__code__
    while frame is not None:
        code = frame.f_code
        if code is stop:
            return False
        if code in codes and frame.f_locals.get("self") is owner:
            return True
        frame = frame.f_back
    return False


def parks(lock: threading.Lock, owner: object, codes: FrozenSet[CodeType],
          parked: "Deque[_T]", work: _T, run: Callable[[_T], object], depth: int = 3) -> bool:
    """
    For a caller that found C{lock} taken (its C{locked()} is cheaper than a
    try to take it): park C{work} if this thread may hold the lock already
    (see L{reentered}), for the thread holding it to do once it has released
    it (see L{drain}).

    @param run: Does parked work, waiting for the lock (see L{drain}): if
        the lock is free once C{work} is parked, this thread does it.
    @param depth: Where the search of this thread's frames begins (see
        L{reentered}): by default the caller's caller.  One more for a
        caller that one of C{codes} called on C{owner} without taking the
        lock, to hand the work on: that frame holds no lock.
    @return: C{True} when C{work} was parked; C{False} when another thread
        holds the lock, for the caller to wait for it as usual.
    """
    if not reentered(owner, codes, depth):
        return False
    parked.append(work)
    if lock.acquire(False):
        # Not held by this thread after all, and released meanwhile.
        lock.release()
        drain(parked, run)
    return True


def in_order(lock: threading.Lock, owner: object, codes: FrozenSet[CodeType],
             parked: "Deque[_T]", work: _T, run: Callable[[_T], object]) -> None:
    """
    Do C{work} with C{run}, which takes C{lock}: parked if this thread may
    hold it (see L{parks}); after the work parked and not done yet, if any,
    which this thread then does (a message logged after them comes after
    them), or which a L{drain} under this call does; then whatever was
    parked meanwhile (see L{drain}).
    """
    if lock.locked() and parks(lock, owner, codes, parked, work, run):
        return
    if parked:
        parked.append(work)
        if _draining(parked):
            # Done by the drain under this call, after those parked before.
            return
    else:
        run(work)
    if parked:
        drain(parked, run)


def _draining(parked: "Deque[Any]") -> bool:
    """
    @return: Whether one of this thread's frames (under the caller's
        caller) drains C{parked} (see L{drain}).
    """
    frame: Optional[FrameType] = sys._getframe(2)
    stop = drain.__code__
    while frame is not None:
        if frame.f_code is stop and frame.f_locals.get("parked") is parked:
            return True
        frame = frame.f_back
    return False
