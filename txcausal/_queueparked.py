# -*- test-case-name: txcausal.test.test_reentry,txcausal.test.test_reentry_parked -*-
"""
L{QueueParked}: what a thread logs while it holds the lock of a
L{txcausal._queue.BoundedQueue} (from a signal handler, or a finalizer the
garbage collector runs), parked, then queued once the lock is released (see
L{txcausal._reentry}).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Deque, List, Optional

from . import _teardown
from ._queuefork import QueueFork
from ._teardown import take_lock

#: The size past which a batch's buffer becomes a page of its own: the
#: writer writes, and frees, a batch page by page, and shows progress
#: between pages (see L{txcausal._writer.StallWatch}).
PAGE_SIZE = 1 << 20

#: What a message kept on its own costs in memory beyond its bytes: the
#: header of its C{bytes} object, its place in the list (42 bytes on
#: CPython 3.10 to 3.13, measured by C{txcausal.test.test_queue}), and the
#: allocator's rounding.
ITEM_OVERHEAD = 50


class QueueParked(QueueFork):
    """
    The parked messages of L{txcausal._queue.BoundedQueue}, which sets the
    attributes declared here.

    @ivar _parked: What a thread logged while it held the lock: messages as
        C{put} or C{_putItem} takes them, and C{None} for a refusal of
        C{refuseFeedback}.
    """

    __slots__ = ("_parked", "refused")

    _parked: Deque[Optional[bytes]]
    _batched: bool
    _limit: int
    _maxMessages: int
    _buffer: bytearray
    _items: List[bytes]
    refused: int
    _tornDown: Callable[[Any], object]

    def _refuse(self) -> bool:
        """See L{txcausal._queue.BoundedQueue._refuse}."""
        raise NotImplementedError()

    def _turnPage(self) -> None:
        """See L{txcausal._queue.BoundedQueue._turnPage}."""
        raise NotImplementedError()

    def _waitForLock(self, take_lock: Callable[[threading.Lock], bool] = take_lock) -> bool:
        """
        For L{put}, once the process is exiting: take the lock, waiting for
        another thread that holds it, unless the interpreter is tearing
        down (see L{txcausal._teardown}); then count the message as
        refused, without the lock, and call C{tornDown}, to report it.

        @param take_lock: L{txcausal._teardown.take_lock}, bound here: deep
            in the teardown this module's globals are gone.
        @return: Whether the lock was taken.
        """
        if take_lock(self._lock):
            return True
        self.refused += 1
        self._tornDown(self)
        return False

    def _putParked(self, parked: Optional[bytes]) -> None:
        """
        Queue a message, or count a refusal of
        L{BoundedQueue.refuseFeedback<txcausal._queue.BoundedQueue.refuseFeedback>}, that a
        thread logged while it held the lock, waiting for the lock: this
        thread holds it in no frame (see L{txcausal._reentry.drain}).
        """
        if _teardown.exiting is False:
            self._lock.acquire()
        elif not self._waitForLock():
            return
        try:
            self._add(parked)
        finally:
            self._lock.release()

    def _add(self, parked: Optional[bytes]) -> None:
        """
        What L{BoundedQueue.put<txcausal._queue.BoundedQueue.put>},
        L{_putItem<txcausal._queue.BoundedQueue._putItem>} or
        L{refuseFeedback<txcausal._queue.BoundedQueue.refuseFeedback>} does with the lock, for
        what was parked (see L{_putParked}).  The caller holds the lock.  The
        drain it may need is scheduled by the call that parked it.
        """
        if parked is None:
            self.refusedFeedback += 1
            self.refused += 1
            return
        count = self._count + 1
        batched = self._batched
        size = self._size + len(parked) + (0 if batched else ITEM_OVERHEAD)
        if size > self._limit or count > self._maxMessages:
            self._refuse()
            return
        self._count = count
        self._size = size
        self._scheduled = True
        if not batched:
            self._items.append(parked)
            return
        buffer = self._buffer
        buffer += parked
        if len(buffer) > PAGE_SIZE:
            self._turnPage()

    def _takeParked(self) -> None:
        """
        Queue what was parked (see L{_putParked}), and count the refusals
        parked, not done yet: logged while this thread held the lock for
        something else than L{put} (the call that parked a message woke the
        writer).  For C{take} and the takes of refusals, holding the lock.
        """
        parked = self._parked
        while parked:
            try:
                self._add(parked.popleft())
            except IndexError:
                return

    def takeFeedbackAtExit(
            self, _take: Callable[[threading.Lock], bool] = take_lock) -> Optional[int]:
        """
        L{txcausal._queue.BoundedQueue.takeFeedback}, once the process is
        exiting: as the interpreter tears down, it does not wait for the
        lock (see L{take_lock}, bound here: this module's globals may be
        gone by then).

        @return: The refusals taken, or C{None} if the lock was not taken.
        """
        if not _take(self._lock):
            return None
        self._takeParked()
        feedback, self.refusedFeedback = self.refusedFeedback, 0
        self._lock.release()
        return feedback

    def afterForkInChild(self) -> None:
        """
        L{QueueFork.afterForkInChild}, and nothing parked: what was parked
        is the parent's to write.
        """
        super().afterForkInChild()
        self._parked.clear()
