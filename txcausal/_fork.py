# -*- test-case-name: txcausal.test.test_logwriter_fork -*-
"""
The process's fork hooks for every L{txcausal.logwriter.ThreadedWriter}:
before a fork each writer writes what is queued, then holds its locks; after
it, the parent releases them and the child starts each writer afresh.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import List, Protocol


class ForkAware(Protocol):
    """
    What L{ForkHooks} calls on a L{txcausal.logwriter.ThreadedWriter}.
    """

    def _flushBeforeFork(self) -> None:
        """
        Write what is queued, on the forking thread.
        """

    def _holdForFork(self) -> None:
        """
        Take the locks to hold across the fork; write nothing.
        """

    def _releaseAfterFork(self) -> None:
        """
        Release them, in the parent.
        """

    def _afterForkInChild(self) -> None:
        """
        Start afresh, in the child.
        """


class ForkHooks:
    """
    The fork hooks of every writer in the process, registered with
    L{os.register_at_fork} once and run together: first every writer
    flushes its queue (holding no other writer's lock, since a failure
    report from one goes to the others), then every writer holds its locks
    until the fork is done.  A hook never leaves a lock held by mistake:
    CPython forks even when a hook raises.
    """

    def __init__(self) -> None:
        self._writers: "weakref.WeakSet[ForkAware]" = weakref.WeakSet()
        # Held across a fork: two threads forking at once take turns.
        self._lock = threading.Lock()
        self._held: List[ForkAware] = []

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
        for writer in writers:
            try:
                writer._flushBeforeFork()
            except BaseException:
                # Its messages stay queued for the parent; the others
                # still flush, and every writer is held.
                pass
        for writer in writers:
            writer._holdForFork()
            self._held.append(writer)

    def afterInParent(self) -> None:
        """
        In the parent: release what was held.
        """
        writers, self._held = self._held, []
        try:
            for writer in writers:
                writer._releaseAfterFork()
        finally:
            self._lock.release()

    def afterInChild(self) -> None:
        """
        In the child: every writer starts afresh, with new locks.
        """
        self._held = []
        self._lock = threading.Lock()
        for writer in list(self._writers):
            writer._afterForkInChild()


#: The process's fork hooks.
FORK_HOOKS = ForkHooks()
os.register_at_fork(before=FORK_HOOKS.before, after_in_parent=FORK_HOOKS.afterInParent,
                    after_in_child=FORK_HOOKS.afterInChild)
