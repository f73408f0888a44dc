# -*- test-case-name: txcausal.test.test_queue,txcausal.test.test_logwriter_fork -*-
"""
L{QueueFork}: the fork hooks of L{txcausal._queue.BoundedQueue}: hold its
lock across a fork, release it in the parent and start afresh in the child.
"""

from __future__ import annotations

import threading
from typing import Tuple

from ._reentry import hold_outside, release_outside

#: No refusal: full, closed, feedback.
_NONE = (0, 0, 0)


class QueueFork:
    """
    The fork hooks of L{txcausal._queue.BoundedQueue}, which sets the
    attributes declared here (those the child starts afresh).
    """

    __slots__ = ("_lock", "_count", "_size", "_taken", "_scheduled", "refusedFull",
                 "refusedClosed", "refusedFeedback", "_takenRefusals")

    _lock: threading.Lock
    _count: int
    _size: int
    _taken: int
    _scheduled: bool
    refusedFull: int
    refusedClosed: int
    refusedFeedback: int
    _takenRefusals: Tuple[int, int, int]

    def _forget(self) -> None:
        """See L{txcausal._queue.BoundedQueue._forget}."""
        raise NotImplementedError()

    def beforeFork(self) -> None:
        """
        Hold the lock across a fork, so that no thread is halfway through a
        L{put} when the process forks; L{afterForkInParent} releases it.
        What this thread logs meanwhile (a signal handler, a finalizer) is
        parked (see L{txcausal._reentry.hold_outside}).
        """
        hold_outside(self)
        self._lock.acquire()

    def afterForkInParent(self) -> None:
        """
        Release the lock L{beforeFork} took, in the parent.  What was parked
        meanwhile is queued by the next L{put} or take (the call that
        parked it scheduled a drain).
        """
        self._lock.release()
        release_outside(self)

    def afterForkInChild(self) -> None:
        """
        Start the queue afresh in a forked child: a new lock, nothing queued
        or being written, no refusal to report and no drain scheduled.  The
        messages queued at the fork, and the refusals, are the parent's to
        write and report; the child keeps only whether it accepts messages,
        and the count of all refusals.
        """
        self._lock = threading.Lock()
        release_outside(self)
        self._forget()
        self._count = self._size = self._taken = 0
        self._scheduled = False
        self.refusedFull = self.refusedClosed = self.refusedFeedback = 0
        self._takenRefusals = _NONE
