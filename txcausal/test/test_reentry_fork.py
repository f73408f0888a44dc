"""
Tests of a message logged on the forking thread while the fork hooks hold a
L{ThreadedWriter}'s locks (see L{txcausal._fork}): a signal handler or a
finalizer run in the fork hooks' own code, or in another library's hook run
between them, before the fork or after it in the parent.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal._fork import ForkHooks
from txcausal.logwriter import ThreadedWriter
from txcausal.test._helpers import IsolatedOutputMixin, removed_at_end

from ._writer_harness import numbered_message
from .test_logwriter_fork import _Forkable
from .test_reentry import _runTraced
from .test_reentry_locks import _reenterEachLine


class ForkWindowReentryTests(_Forkable, IsolatedOutputMixin, SynchronousTestCase):
    """
    L{ForkHooks} re-entered on the forking thread.
    """

    def _logged(self, writer: ThreadedWriter, hooks: ForkHooks,
                after: Callable[[], object]) -> List[int]:
        """
        Run the hooks before a fork, then C{after} (the hooks after it), with
        a message logged to C{writer} at each line of them, and one between
        them, on a thread joined with a timeout.

        @return: The C{n} of each message logged, in order.
        """
        logged: List[int] = []

        def handler() -> None:
            logged.append(len(logged))
            writer(numbered_message(logged[-1]))

        def fork() -> None:
            hooks.before()
            # Between the hooks: another library's, or the fork itself.
            handler()
            after()

        codes = {ForkHooks.before.__code__, ForkHooks.afterInParent.__code__,
                 ForkHooks.afterInChild.__code__}
        _runTraced(self, _reenterEachLine(codes, lambda: True, handler), fork)
        self.assertNotEqual(logged, [])
        return logged

    def _file(self) -> Tuple[FileDestination, Callable[[], List[int]]]:
        """
        @return: A L{FileDestination} writing JSON lines (which a writer
            queues batched), and what gives the C{n} of each message of
            those written.
        """
        path = self.mktemp()
        file = open(path, "wb")
        self.addCleanup(file.close)

        def ns() -> List[int]:
            file.flush()
            with open(path, "rb") as read:
                lines = [orjson.loads(line) for line in read.read().splitlines()]
            return [line["n"] for line in lines if line.get("message_type") == "test:n"]

        return FileDestination(file), ns

    def test_queuedInParent(self) -> None:
        """
        A message logged on the forking thread while the hooks hold a
        running writer's locks is queued once they are released, in the
        order logged, and written by the parent's worker.
        """
        destination, written = self._file()
        writer, _, _, hooks = self.forkable(destination)
        logged = self._logged(writer, hooks, hooks.afterInParent)
        self.perform(-1)
        self.assertEqual(written(), logged)

    def test_notInChild(self) -> None:
        """
        What the forking thread logged while the hooks held the locks before
        the fork is the parent's: the child does not write it (nor is it
        waited for).
        """
        destination, written = self._file()
        writer, _, _, hooks = self.forkable(destination)
        logged = self._logged(writer, hooks, lambda: None)
        # Those logged before the locks were held: flushed by the parent.
        flushed = written()
        self.assertNotEqual(flushed, logged)
        hooks.afterInChild()
        writer(numbered_message(-1))
        self.perform(-1)
        self.assertEqual(written(), flushed + [-1])

    def test_directInParent(self) -> None:
        """
        A message logged on the forking thread while the hooks hold the
        lock of a writer that writes on the thread that logs (after
        C{stopThreading}) is written once they are released, in order.
        """
        destination, written = self._file()
        writer = ThreadedWriter(destination)
        writer.startService()
        removed_at_end(self, writer)
        writer.stopThreading()
        hooks = ForkHooks()
        hooks.add(writer)
        logged = self._logged(writer, hooks, hooks.afterInParent)
        self.assertEqual(written(), logged)
