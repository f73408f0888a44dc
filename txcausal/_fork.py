# -*- test-case-name: txcausal.test.test_fork,txcausal.test.test_logwriter_fork -*-
"""
The process's fork hooks for every L{txcausal.logwriter.ThreadedWriter} and
the destination registry: before a fork each writer writes what is queued,
then holds its locks, and the registry its own; after it, the parent
releases them and the child starts each afresh.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Callable, List, Protocol, TypeVar

_T = TypeVar("_T")


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


class RegistryAware(Protocol):
    """
    What L{ForkHooks} calls on the destination registry (see
    L{txcausal._registryfork.RegistryFork}).
    """

    def beforeFork(self) -> None:
        """
        Hold the lock.
        """

    def afterForkInParent(self) -> None:
        """
        Undo L{beforeFork}, in the parent.
        """

    def afterForkInChild(self) -> None:
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
    while it writes reaches a queue still open.  The registry's lock is
    taken between the two: no write is in progress then that could log
    to it and wait, and a thread adding or removing a destination (whose
    C{__eq__} may log) still reaches an open queue.  A hook never leaves a
    lock held by mistake: CPython forks even when a hook raises.
    """

    def __init__(self) -> None:
        self._writers: "weakref.WeakSet[ForkAware]" = weakref.WeakSet()
        # Held across a fork: two threads forking at once take turns.
        self._lock = threading.Lock()
        self._heldWrites: List[ForkAware] = []
        self._heldQueues: List[ForkAware] = []
        self._registries: List[RegistryAware] = []
        self._heldRegistries: List[RegistryAware] = []

    def add(self, writer: ForkAware) -> None:
        """
        Include C{writer}, for as long as it exists.
        """
        with self._lock:
            self._writers.add(writer)

    def addRegistry(self, registry: RegistryAware) -> None:
        """
        Include C{registry}, a destination registry that lasts as long as
        the process.
        """
        with self._lock:
            self._registries.append(registry)

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
        for registry in self._registries:
            # Released even if taking it raises (a signal handler's error).
            self._heldRegistries.append(registry)
            registry.beforeFork()
        for writer in writers:
            writer._holdQueue()
            self._heldQueues.append(writer)

    def afterInParent(self) -> None:
        """
        In the parent: release what was held.
        """
        queues, self._heldQueues = self._heldQueues, []
        writes, self._heldWrites = self._heldWrites, []
        registries, self._heldRegistries = self._heldRegistries, []
        try:
            _each(queues, lambda writer: writer._releaseQueue())
            _each(registries, lambda registry: registry.afterForkInParent())
            _each(writes, lambda writer: writer._releaseWrites())
        finally:
            self._lock.release()

    def afterInChild(self) -> None:
        """
        In the child: the registry and every writer start afresh, with new
        locks.
        """
        self._heldQueues, self._heldWrites, self._heldRegistries = [], [], []
        self._lock = threading.Lock()
        _each(self._registries, lambda registry: registry.afterForkInChild())
        _each(list(self._writers), lambda writer: writer._afterForkInChild())


def _each(writers: List[_T], call: Callable[[_T], None]) -> None:
    """
    Call C{call} with every writer (or registry), even when it raises for
    one: a fork hook cannot report the error, and the others must still be
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
