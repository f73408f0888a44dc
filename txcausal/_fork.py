# -*- test-case-name: txcausal.test.test_fork,txcausal.test.test_logwriter_fork -*-
"""
The process's fork hooks for every L{txcausal.logwriter.ThreadedWriter}:
before a fork each writer writes what is queued, then holds its locks; after
it, the parent releases them and the child starts each writer afresh.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Callable, List, Protocol


class ForkAware(Protocol):
    """
    What L{ForkHooks} calls on a L{txcausal.logwriter.ThreadedWriter}.
    """

    def _flushBeforeFork(self) -> None:
        """
        Write what is queued, on the forking thread.
        """

    def _holdWrites(self) -> None:
        """
        Wait for the write in progress and hold off the next.
        """

    def _holdQueue(self) -> None:
        """
        Hold off queueing.
        """

    def _releaseQueue(self) -> None:
        """
        Undo L{_holdQueue}, in the parent.
        """

    def _releaseWrites(self) -> None:
        """
        Undo L{_holdWrites}, in the parent.
        """

    def _afterForkInChild(self) -> None:
        """
        Start afresh, in the child.
        """


class ForkHooks:
    """
    The fork hooks of every writer in the process, registered with
    C{os.register_at_fork} once and run together.  First every writer
    flushes its queue, holding no other writer's lock (a failure report
    from one goes to the others).  Then every writer's write in progress is
    waited for, and only then is any queue held: a destination that logs
    while it writes reaches a queue still open.  A hook never leaves a lock
    held by mistake: CPython forks even when a hook raises.
    """

    def __init__(self) -> None:
        self._writers: "weakref.WeakSet[ForkAware]" = weakref.WeakSet()
        # Held across a fork: two threads forking at once take turns.
        self._lock = threading.Lock()
        self._heldWrites: List[ForkAware] = []
        self._heldQueues: List[ForkAware] = []

    def add(self, writer: ForkAware) -> None:
        """
        Include C{writer}, for as long as it exists.
        """
        with self._lock:
            self._writers.add(writer)

    def before(self) -> None:
        """
        On the forking thread: every writer writes what is queued, then
        holds its locks.
        """
        self._lock.acquire()
        writers = list(self._writers)
        # A writer whose flush raises keeps its messages queued for the
        # parent; the others still flush, and every writer is held.
        _each(writers, lambda writer: writer._flushBeforeFork())
        for writer in writers:
            writer._holdWrites()
            self._heldWrites.append(writer)
        for writer in writers:
            writer._holdQueue()
            self._heldQueues.append(writer)

    def afterInParent(self) -> None:
        """
        In the parent: release what was held.
        """
        queues, self._heldQueues = self._heldQueues, []
        writes, self._heldWrites = self._heldWrites, []
        try:
            _each(queues, lambda writer: writer._releaseQueue())
            _each(writes, lambda writer: writer._releaseWrites())
        finally:
            self._lock.release()

    def afterInChild(self) -> None:
        """
        In the child: every writer starts afresh, with new locks.
        """
        self._heldQueues, self._heldWrites = [], []
        self._lock = threading.Lock()
        _each(list(self._writers), lambda writer: writer._afterForkInChild())


def _each(writers: List[ForkAware], call: Callable[[ForkAware], None]) -> None:
    """
    Call C{call} with every writer, even when it raises for one: a fork
    hook cannot report the error, and the other writers must still be
    flushed, held or released.
    """
    for writer in writers:
        try:
            call(writer)
        except BaseException:
            pass


#: The process's fork hooks.
FORK_HOOKS = ForkHooks()
os.register_at_fork(before=FORK_HOOKS.before, after_in_parent=FORK_HOOKS.afterInParent,
                    after_in_child=FORK_HOOKS.afterInChild)
