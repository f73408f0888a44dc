# -*- test-case-name: txcausal.test.test_reentry_registry_fork -*-
"""
L{RegistryFork}: the fork hooks of L{txcausal._destinations.Destinations}:
hold its lock across a fork, so that a child never starts halfway through
another thread's change of destinations; release it in the parent, and
start afresh in the child.
"""

from __future__ import annotations

import threading
from collections import deque
from types import CodeType
from typing import Any, ClassVar, Deque, Dict, FrozenSet, List, Optional, Tuple

from ._reentry import hold_outside, reentered, release_outside


class RegistryFork:
    """
    The fork hooks of L{txcausal._destinations.Destinations}, which sets the
    attributes declared here.
    """

    #: The methods that hold the lock (see L{txcausal._reentry.holders}).
    _holderCodes: ClassVar[FrozenSet[CodeType]] = frozenset()

    _lock: threading.Lock
    _destinations: Tuple[Any, ...]
    _parked: Deque[Dict[str, Any]]
    _buffer_size: int
    _buffer: Optional[Deque[Dict[str, Any]]]
    _overflowed: int
    _shown: List[Dict[str, Any]]
    _emptied: bool
    dropped: int
    #: Whether L{beforeFork} took the lock, for L{afterForkInParent}.
    _heldForFork = False

    def beforeFork(self) -> None:
        """
        Hold the lock across a fork, so that no thread is halfway through
        adding or removing a destination when the process forks;
        L{afterForkInParent} releases it.  What this thread logs meanwhile
        (a signal handler, a finalizer) is parked (see
        L{txcausal._reentry.hold_outside}).  A fork on a thread that may
        hold the lock already (from a signal handler, a finalizer, or a
        destination's attribute or C{__eq__} the registry calls holding
        it) takes the lock only if it is free: waiting would wait for ever
        (the child then makes its state whole, see L{afterForkInChild}).
        """
        mine = reentered(self, self._holderCodes)
        hold_outside(self)
        if mine:
            self._heldForFork = self._lock.acquire(False)
        else:
            self._lock.acquire()
            self._heldForFork = True

    def afterForkInParent(self) -> None:
        """
        Release the lock L{beforeFork} took, in the parent; then keep or
        send what this thread logged meanwhile.  If it took none, the
        thread holding it does that once it releases it.
        """
        held, self._heldForFork = self._heldForFork, False
        if not held:
            release_outside(self)
            return
        self._lock.release()
        release_outside(self)
        self._drain()

    def _drain(self) -> None:
        """See L{txcausal._destinations.Destinations._drain}."""
        raise NotImplementedError()

    def afterForkInChild(self) -> None:
        """
        In a forked child: a new lock (a thread of the parent may have held
        it), and none of the messages the parent kept after its last
        destination was removed, which are the parent's to report.  Those
        logged before the first destination stay, for the child's (a
        daemon forks before it configures its logging).  Forked halfway
        through a change of destinations on the forking thread (see
        L{beforeFork}) with no destination left and no buffer yet, it keeps
        what it logs for its next destination, as after the last was
        removed.
        """
        self._lock = threading.Lock()
        self._heldForFork = False
        release_outside(self)
        if self._buffer is None and not self._destinations:
            self._buffer = deque(maxlen=self._buffer_size)
            self._emptied = True
        if self._buffer is not None and self._emptied:
            self._parked.clear()
            self._buffer.clear()
            self._shown = []
            self.dropped -= self._overflowed
            self._overflowed = 0
