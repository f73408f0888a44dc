# -*- test-case-name: txcausal.test.test_queue,txcausal.test.test_logwriter_fork,txcausal.test.test_logwriter_reports -*-  # noqa: E501
"""
L{BoundedQueue}: the encoded messages between the threads that log and a
L{txcausal.logwriter.ThreadedWriter}'s thread, bounded in bytes (and, if
asked, in messages), counting what it refuses.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, List, Optional, Tuple, Union

from . import _teardown
from ._queuefork import _NONE, QueueFork
from ._queueparked import ITEM_OVERHEAD, PAGE_SIZE, QueueParked
from ._reentry import holders, parked, parks
from ._teardown import take_lock, try_lock

#: Encoded lines: a batch is the queue's own buffer, handed over uncopied.
Lines = Union[bytes, bytearray]

#: One piece of queued work for the writer: encoded lines, how many messages
#: they hold, and the room they take in the queue.
Chunk = Tuple[Lines, int, int]

def _nothing(queue: BoundedQueue) -> None:
    """
    What a queue calls when it counts a message as the interpreter tears
    down, by default: nothing.
    """

#: What L{BoundedQueue.take} returns: the chunks, and the refusals not yet
#: reported because the queue was full, because it was closed, and because
#: the message was logged by the destination while it wrote.
Taken = Tuple[List[Chunk], int, int, int]


class BoundedQueue(QueueParked):
    """
    Encoded messages waiting for the writer or being written, at most
    C{maxBytes} bytes of memory and, if C{maxMessages} is given, that many
    messages.  When full, the message being added is refused (tail drop) and
    counted.  Thread-safe.

    For a batched sink the lines are appended to a growing buffer, which
    becomes a page once past L{PAGE_SIZE}; the writer takes the pages (not
    a copy): a message costs its bytes, plus the buffer's spare room as it
    grows.  Otherwise each message is kept on its
    own, so that it is written, and freed, on its own: it is kept as a copy
    of its own size without its newline (the C{bytes} orjson returns holds
    about 4 KiB whatever its length), and its room counts L{ITEM_OVERHEAD}
    bytes more.  The messages being written count until they are released.

    @ivar refusedFull: Refused because the queue was full, not yet reported.
    @ivar refusedClosed: Refused because the writer was not running, not yet
        reported.
    @ivar refusedFeedback: Refused because the destination logged it while it
        wrote, not yet reported.
    @ivar refused: Refused in all, reported or not.
    """

    # The others: see L{QueueFork}.
    __slots__ = ("_maxMessages", "_maxBytes", "_limit", "_batched", "_buffer", "_pages",
                 "_paged", "_items", "accepting", "_tornDown")

    def __init__(self, maxMessages: Optional[int], maxBytes: int, batched: bool = True,
                 tornDown: Callable[["BoundedQueue"], object] = _nothing) -> None:
        """
        @param maxMessages: How many messages may be queued or being
            written; C{None} for no limit but C{maxBytes}.
        @param maxBytes: How much memory they may take.
        @param batched: Whether the sink takes every line queued at once.
        @param tornDown: Called with the queue for a message counted as
            refused without the lock as the interpreter tore down (see
            L{put}), to report it.
        """
        self._maxMessages = sys.maxsize if maxMessages is None else maxMessages
        self._maxBytes = maxBytes
        #: The room messages may take: C{maxBytes} while accepting, none
        #: otherwise (one test for both on every message).
        self._limit = -1
        self._batched = batched
        self._lock = threading.Lock()
        self._buffer = bytearray()
        #: Full buffers, and the number of messages queued in them.
        self._pages: List[Chunk] = []
        self._paged = 0
        self._items: List[bytes] = []
        #: Messages and bytes queued or being written.
        self._count = 0
        self._size = 0
        #: Messages being written (taken, not yet released): the others of
        #: C{_count} are queued (in the pages, the buffer or the items).
        self._taken = 0
        self._scheduled = False
        self.accepting = False
        self.refusedFull = self.refusedClosed = self.refusedFeedback = self.refused = 0
        #: The refusals the last L{take} took, until L{settleRefusals}.
        self._takenRefusals = _NONE
        self._tornDown = tornDown
        #: What a thread logged while it held the lock (from a signal
        #: handler, or a finalizer run by the garbage collector): messages
        #: as L{put} or L{_putItem} takes them, and C{None} for a refusal of
        #: L{refuseFeedback}; see L{txcausal._reentry}.
        self._parked = parked()

    def put(self, data: bytes) -> bool:
        """
        Add one encoded message, unless the queue is full or closed.  As the
        interpreter tears down, it waits for no lock that another thread
        holds (see L{QueueParked._waitForLock
        <txcausal._queueparked.QueueParked._waitForLock>}, used once the process is exiting).

        @return: C{True} when the caller must schedule a drain: the queue was
            idle, and C{data} was queued or refused (see L{_refuse});
            C{False} when one is already scheduled, or the message was
            refused as the interpreter tore down.
        """
        if not self._batched:
            return self._putItem(data[:-1])
        # This runs for every message: an explicit acquire and release, and
        # the common case tested first, measured a third cheaper than
        # "with self._lock" and the refusals first.
        lock = self._lock
        # Not just false: None deep in the teardown, _teardown's globals gone.
        if _teardown.exiting is False:
            # When taken, this thread may hold it: the message is parked.
            if lock.locked() and parks(
                    lock, self, _HOLDERS, self._parked, data, self._putParked):
                return True
            lock.acquire()
        elif not self._waitForLock():
            return False
        try:
            if self._parked:
                # Logged by this thread in its last put: queued first.
                self._takeParked()
            count = self._count + 1
            size = self._size + len(data)
            if size <= self._limit and count <= self._maxMessages:
                buffer = self._buffer
                buffer += data
                self._count = count
                self._size = size
                # The queue's size first: no call while it is small.
                if size > PAGE_SIZE and len(buffer) > PAGE_SIZE:
                    self._turnPage()
                if self._scheduled:
                    return False
                self._scheduled = True
                return True
            return self._refuse()
        finally:
            lock.release()

    def _putItem(self, item: bytes) -> bool:
        """
        L{put} for a sink that is not batched: C{item} is kept on its own.
        """
        lock = self._lock
        # Not just false: None deep in the teardown, _teardown's globals gone.
        if _teardown.exiting is False:
            # Called by put, which holds no lock: the search begins above it.
            if lock.locked() and parks(
                    lock, self, _HOLDERS, self._parked, item, self._putParked, 4):
                return True
            lock.acquire()
        elif not self._waitForLock():
            return False
        try:
            if self._parked:
                self._takeParked()
            count = self._count + 1
            size = self._size + len(item) + ITEM_OVERHEAD
            if size > self._limit or count > self._maxMessages:
                return self._refuse()
            self._items.append(item)
            self._count = count
            self._size = size
            scheduled, self._scheduled = self._scheduled, True
            return not scheduled
        finally:
            lock.release()

    def _turnPage(self) -> None:
        """
        Make the buffer, now holding the last message queued, a page, and
        start another.  The caller holds the lock.
        """
        buffer = self._buffer
        queued = self._count - self._taken
        self._pages.append((buffer, queued - self._paged, len(buffer)))
        self._paged = queued
        self._buffer = bytearray()

    def _refuse(self) -> bool:
        """
        Count a refused message.  The caller holds the lock.

        @return: Whether the caller must schedule a drain, for the report to
            be written: the queue was idle (full with a message alone larger
            than the bound, or closed), so no drain was scheduled to report
            it.
        """
        self.refused += 1
        if self.accepting:
            self.refusedFull += 1
        else:
            self.refusedClosed += 1
        scheduled, self._scheduled = self._scheduled, True
        return not scheduled

    def refuseFeedback(self) -> None:
        """
        Count a message refused because the destination logged it while it
        wrote.  It does not schedule a drain: it is reported with the next
        one.  The writer's thread may hold the lock already (see L{put}).
        """
        lock = self._lock
        if lock.locked() and parks(lock, self, _HOLDERS, self._parked, None, self._putParked):
            return
        lock.acquire()
        try:
            self.refusedFeedback += 1
            self.refused += 1
        finally:
            lock.release()

    def takeFeedback(self) -> int:
        """
        @return: The refusals of L{refuseFeedback} not yet reported, now
            taken to be reported.
        """
        with self._lock:
            self._takeParked()
            feedback, self.refusedFeedback = self.refusedFeedback, 0
        return feedback

    def takeRefusals(self, quiet: bool = False) -> Tuple[int, int, int]:
        """
        Take the refusal counts not yet reported, leaving what is queued.
        When nothing is queued, no drain is scheduled any more: the next
        L{put} schedules one.

        @param quiet: Whether the next L{put}s are to schedule nothing,
            even when nothing is queued: their refusals are only counted,
            and reported with the next drain, if any (after the exit, as
            the process ends: see L{txcausal._exitreports}).
        @return: The refusals because the queue was full, because it was
            closed, and because the destination logged the message.
        """
        return self.takeRefusalsExact(quiet, take_lock)[0]

    def takeRefusalsExact(self, quiet: bool = False,
                          acquire: Callable[[threading.Lock], bool] = try_lock,
                          ) -> Tuple[Tuple[int, int, int], bool]:
        """
        L{takeRefusals}, taking the lock with C{acquire}: by default, as the
        process ends, when every other thread is frozen where it was,
        without waiting for the lock, which such a thread may hold for
        ever.  When it is not taken, the counts are read without it.

        @return: The refusals, and whether they are exact: they may be one
            short for the thread holding the lock, frozen as it counted.
        """
        free = acquire(self._lock)
        try:
            return self._takeRefusals(quiet), free
        finally:
            if free:
                self._lock.release()

    def _takeRefusals(self, quiet: bool) -> Tuple[int, int, int]:
        """
        L{takeRefusals}, once the lock is taken (or cannot be).
        """
        self._takeParked()
        refusals = self.refusedFull, self.refusedClosed, self.refusedFeedback
        self.refusedFull = self.refusedClosed = self.refusedFeedback = 0
        if quiet:
            self._scheduled = True
        elif self._count == self._taken:
            self._scheduled = False
        return refusals

    def take(self) -> Optional[Taken]:
        """
        Take everything queued, and the refusal counts, for writing.  The
        messages taken still count against the limits until L{release}d.

        @return: C{(chunks, refusedFull, refusedClosed, refusedFeedback)}:
            one chunk for a batched sink, one a message otherwise.  C{None}
            when there is nothing to do (refusals of L{refuseFeedback} alone
            wait for the next message), in which case the next L{put}
            schedules a drain again.
        """
        with self._lock:
            self._takeParked()
            queued = self._count - self._taken
            full, closed = self.refusedFull, self.refusedClosed
            if not queued and not full and not closed:
                self._scheduled = False
                return None
            feedback = self.refusedFeedback
            chunks, buffer, items = self._pages, self._buffer, self._items
            inBuffer = queued - self._paged
            self._taken += queued
            self._forget()
            self.refusedFull = self.refusedClosed = self.refusedFeedback = 0
            self._takenRefusals = (full, closed, feedback)
        if inBuffer and self._batched:
            chunks.append((buffer, inBuffer, len(buffer)))
        elif items:
            chunks = [(item, 1, len(item) + ITEM_OVERHEAD) for item in items]
        return chunks, full, closed, feedback

    def settleRefusals(self, settled: List[int]) -> None:
        """
        Once the messages of a L{take} are written: the refusals it took, to
        be reported now, unless L{discard} took them meanwhile (a give-up,
        while that write was stuck: its report counts them).

        @param settled: Given, before the lock is released (so that a
            C{KeyboardInterrupt} as this returns loses nothing), the
            refusals because the queue was full, because it was closed, and
            because the destination logged the message.
        """
        with self._lock:
            settled[:], self._takenRefusals = self._takenRefusals, _NONE

    def abandonTaken(self) -> Tuple[int, Tuple[int, int, int]]:
        """
        A write cut short by a C{KeyboardInterrupt}: free the room of every
        message taken and not yet released, and take the refusals taken with
        them and not yet settled.  The caller holds the writer's lock, so
        that no other write has taken any.

        @return: How many messages were taken and not released, and the
            refusals (see L{settleRefusals}).
        """
        with self._lock:
            taken, self._taken = self._taken, 0
            self._count -= taken
            self._size = self._queuedSize()
            refusals, self._takenRefusals = self._takenRefusals, _NONE
            return taken, refusals

    def _queuedSize(self) -> int:
        """
        @return: The room that the messages queued (not taken) take.  The
            caller holds the lock.
        """
        return (len(self._buffer) + sum(room for _, _, room in self._pages)
                + sum(len(item) + ITEM_OVERHEAD for item in self._items))

    def idleIfEmpty(self) -> bool:
        """
        Unless messages, or refusals (but for those of L{refuseFeedback},
        which wait for the next message, as in L{take}) not yet reported,
        wait to be taken: no drain is scheduled any more (the next L{put}
        schedules one).

        @return: Whether the queue was empty, and is now idle.
        """
        with self._lock:
            if self._count - self._taken or self.refusedFull or self.refusedClosed:
                return False
            self._scheduled = False
            return True

    def pageWaits(self) -> bool:
        """
        @return: Whether a full page (of a batched sink) waits to be taken.
            Read without the lock: a hint, true or false a moment later.
        """
        return bool(self._pages)

    def _forget(self) -> None:
        """
        Start with nothing queued (the messages being written still count).
        The caller holds the lock.
        """
        self._buffer, self._pages, self._items = bytearray(), [], []
        self._paged = 0

    def release(self, count: int, size: int) -> None:
        """
        Free the room of C{count} taken messages, C{size} bytes of room (as
        their chunk says), once written or given up on.
        """
        with self._lock:
            self._count -= count
            self._taken -= count
            self._size -= size

    def discard(self, record: Any) -> None:
        """
        Give up on what is queued: forget it, free its room, and forget the
        refusals not yet reported (those taken with the messages being
        written too).  The next L{put} schedules a drain.

        @param record: Given, as its C{lost} before the lock is released
            (so that a C{KeyboardInterrupt} as this returns loses nothing):
            how many messages were forgotten, how many are being written
            (taken and not released), and how many refusals were not yet
            reported (see L{txcausal._writer.Stop}).
        """
        with self._lock:
            queued = self._count - self._taken
            size = self._queuedSize()
            pending = (self.refusedFull + self.refusedClosed + self.refusedFeedback
                       + sum(self._takenRefusals))
            self._forget()
            self.refusedFull = self.refusedClosed = self.refusedFeedback = 0
            self._takenRefusals = _NONE
            self._count -= queued
            self._size -= size
            self._scheduled = False
            record.lost = queued, self._count, pending

    def setAccepting(self, accepting: bool) -> None:
        """
        Start or stop accepting messages.
        """
        with self._lock:
            # Parked while accepting or not: queued, or refused, as then.
            self._takeParked()
            self.accepting = accepting
            self._limit = self._maxBytes if accepting else -1


#: The methods that take a queue's lock: a thread logging while it runs one
#: of them may hold it (see L{txcausal._reentry}).
_HOLDERS = holders(
    BoundedQueue.put, BoundedQueue._putItem,
    BoundedQueue.refuseFeedback, BoundedQueue.takeFeedback, BoundedQueue.takeFeedbackAtExit,
    BoundedQueue.takeRefusalsExact, BoundedQueue.take, BoundedQueue.settleRefusals,
    BoundedQueue.abandonTaken, BoundedQueue.idleIfEmpty, BoundedQueue.release,
    BoundedQueue.discard, BoundedQueue.setAccepting, QueueFork.beforeFork,
    QueueFork.afterForkInParent, QueueParked._putParked)
