# -*- test-case-name: txcausal.test.test_logwriter_fork,txcausal.test.test_fork -*-
"""
L{WriterFork}: what the fork hooks (see L{txcausal._fork}) call on a
L{txcausal.logwriter.ThreadedWriter}: before a fork, write what is queued
and hold the writer's locks; after it, release them in the parent and start
afresh in the child.
"""

from __future__ import annotations

import _thread
import threading
from typing import Deque, Optional

from ._losses import Losses
from ._queue import BoundedQueue
from ._reentry import drain, hold_outside, release_outside
from ._writer import IWriterWorker


class WriterFork:
    """
    The fork hooks of L{txcausal._writercore.WriterCore}, which sets the
    attributes declared here.
    """

    _forkLock: threading.Lock
    _directLock: _thread.RLock
    _startLock: threading.Lock
    _hurry: threading.Event
    _writingThread: Optional[int]
    _abandoned: Optional[int]
    _parked: Deque[bytes]
    _queue: BoundedQueue
    _losses: Losses
    _worker: Optional[IWriterWorker]
    _workerDue: bool

    def _threaded(self) -> bool:
        """See L{txcausal._writercore.WriterCore._threaded}."""
        raise NotImplementedError()

    def _drainOnce(self, beforeFork: bool = False) -> bool:
        """See L{txcausal._writercore.WriterCore._drainOnce}."""
        raise NotImplementedError()

    def _writeDirect(self, data: bytes) -> None:
        """See L{txcausal._writercore.WriterCore._writeDirect}."""
        raise NotImplementedError()

    def _flushBeforeFork(self) -> None:
        """
        Before a fork, on the forking thread, once the write in progress is
        done: write what is queued now, once, and report the refusals, so
        that the parent's log is complete up to the fork whether it goes on
        or exits at once.  What other threads log meanwhile stays queued for
        the parent's worker: the child starts empty.
        """
        if self._threaded():
            self._drainOnce(beforeFork=True)

    def _holdWrites(self) -> None:
        """
        Wait for the write in progress, and hold off the next, until the
        fork is done.  What this thread writes directly meanwhile (a signal
        handler, a finalizer) is parked (see
        L{txcausal._reentry.hold_outside}) and written by L{_releaseWrites}.
        """
        hold_outside(self)
        self._forkLock.acquire()

    def _holdQueue(self) -> None:
        """
        Hold off every L{txcausal._writercore.WriterCore.__call__} until the
        fork is done, so that no thread is halfway through queueing a
        message.
        """
        self._queue.beforeFork()

    def _releaseQueue(self) -> None:
        """In the parent, undo L{_holdQueue}."""
        self._queue.afterForkInParent()

    def _releaseWrites(self) -> None:
        """
        In the parent, undo L{_holdWrites}; then write what this thread
        logged meanwhile, if it writes directly.
        """
        self._forkLock.release()
        release_outside(self)
        if self._parked:
            drain(self._parked, self._writeDirect)

    def _afterForkInChild(self) -> None:
        """
        In a forked child, the parent's threads are gone and the parent has
        written what was queued: start with new locks and an empty queue.
        If the writer was running, the child's worker is created when the
        child first logs, so that a child that execs or never logs starts no
        thread.
        """
        self._forkLock = threading.Lock()
        self._directLock = threading.RLock()
        self._startLock = threading.Lock()
        self._hurry = threading.Event()
        self._writingThread = self._abandoned = None
        release_outside(self)
        # What the parent parked is the parent's to write.
        self._parked.clear()
        self._queue.afterForkInChild()
        self._losses.afterForkInChild()
        # Not for a writer stopping at the fork: it stays stopped.
        self._workerDue = self._queue.accepting and self._threaded()
        self._worker = None
