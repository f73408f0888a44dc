"""
Tests for L{txcausal.logwriter.ThreadedWriter} and its queue across
C{os.fork()}: the parent writes what was queued before it forks, the child
starts empty and makes a worker only when it logs.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Any, Callable, Dict, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from txcausal._fork import ForkHooks
from txcausal._output import Destinations, Logger, swap_logger
from txcausal._queue import BoundedQueue
from txcausal._writer import MemoryWorker, createMemoryWorker
from txcausal.logwriter import ThreadedWriter
from txcausal.test._helpers import (
    CapturingMixin,
    ImmediateReactor,
    IsolatedOutputMixin,
    flush_early_buffer,
    removed_at_end,
)

from ._writer_harness import (
    finishesInThread,
    inAnotherThread,
    isolate_exit_reports,
    numbered_message,
)


class _Forkable(CapturingMixin):
    """
    Builds a started writer driven by memory workers, and its own fork hooks
    that a test runs as C{os.fork} would, without forking.
    """

    def forkable(self, destination: Any = None, **kwargs: Any
                 ) -> Tuple[ThreadedWriter, List[Dict[str, Any]], List[MemoryWorker], ForkHooks]:
        flush_early_buffer()
        isolate_exit_reports(self)
        written: List[Dict[str, Any]] = []
        workers: List[MemoryWorker] = []
        # Every worker made for this test, in order.
        self.performers: List[Callable[[], bool]] = getattr(self, "performers", [])

        def createWorker() -> MemoryWorker:
            worker, perform = createMemoryWorker()
            workers.append(worker)
            self.performers.append(perform)
            return worker

        writer = ThreadedWriter(destination if destination is not None else written.append,
                                ImmediateReactor(), createWorker=createWorker, **kwargs)
        writer.startService()
        removed_at_end(self, writer)
        self.addCleanup(lambda: writer.running and writer.stopService())  # type: ignore[attr-defined]
        hooks = ForkHooks()
        hooks.add(writer)
        return writer, written, workers, hooks

    def perform(self, index: int) -> None:
        """
        Run the work of one worker, by its index in the order they were
        made (-1: the last): the parent's is gone in a child.
        """
        while self.performers[index]():
            pass


class ThreadedWriterForkTests(_Forkable, IsolatedOutputMixin, SynchronousTestCase):
    """
    L{ThreadedWriter}'s fork hooks, run directly.
    """

    def test_queuedWrittenBeforeFork(self) -> None:
        """
        What is queued is written by the forking thread before it forks, in
        order; the parent's worker then finds nothing left to write.
        """
        writer, written, _, hooks = self.forkable()
        for n in range(5):
            writer(numbered_message(n))
        hooks.before()
        self.assertEqual([m["n"] for m in written], [0, 1, 2, 3, 4])
        hooks.afterInParent()
        self.perform(0)
        writer(numbered_message(5))
        self.perform(0)
        self.assertEqual([m["n"] for m in written], [0, 1, 2, 3, 4, 5])

    def test_refusalsReportedBeforeFork(self) -> None:
        """
        Refused messages are reported before the fork, by the parent, and
        never again by the child.
        """
        writer, written, _, hooks = self.forkable(maxMessages=2)
        for n in range(5):
            writer(numbered_message(n))
        hooks.before()
        self.assertEqual([m.get("n") for m in written], [0, 1, None])
        self.assertEqual(written[2]["message_type"], "txcausal:messages_dropped")
        self.assertEqual(written[2]["count"], 3)
        hooks.afterInChild()
        writer(numbered_message(7))
        self.perform(1)
        self.assertEqual([m.get("n") for m in written], [0, 1, None, 7])
        self.assertEqual(writer.dropped, 3)

    def test_noWorkerInChildUntilItLogs(self) -> None:
        """
        The child creates no worker at the fork, whatever the parent had
        queued; its first message creates exactly one, which writes the
        child's messages and only them.
        """
        writer, written, workers, hooks = self.forkable()
        writer(numbered_message(1))
        hooks.before()
        hooks.afterInChild()
        self.assertEqual(len(workers), 1)
        del written[:]
        for n in (10, 11):
            writer(numbered_message(n))
        self.assertEqual(writer._startDueWorker(), workers[1])
        self.assertEqual(len(workers), 2)
        self.perform(1)
        self.assertEqual([m["n"] for m in written], [10, 11])

    def test_childStopsWithoutWorker(self) -> None:
        """
        A child that never logged stops its writer without creating a
        worker, and so does C{stopThreading}, which then writes directly.
        """
        for stop in ("stopService", "stopThreading"):
            writer, written, workers, hooks = self.forkable()
            hooks.before()
            hooks.afterInChild()
            if stop == "stopService":
                self.successResultOf(writer.stopService())
            else:
                writer.stopThreading()
                writer(numbered_message(3))
                self.assertEqual([m["n"] for m in written], [3])
            self.assertEqual(len(workers), 1)
            self.assertFalse(writer.running)

    def test_childStopsAfterLogging(self) -> None:
        """
        In a child that logged, L{ThreadedWriter.stopService} fires once the
        child's worker has written the child's messages, then quits it.
        """
        writer, written, workers, hooks = self.forkable()
        hooks.before()
        hooks.afterInChild()
        writer(numbered_message(4))
        stopped = writer.stopService()
        self.assertNoResult(stopped)
        self.perform(1)
        self.successResultOf(stopped)
        self.assertEqual([m["n"] for m in written], [4])
        self.assertTrue(workers[1].quitted)

    def test_parentStopsAfterFork(self) -> None:
        """
        The parent keeps its worker and stops as usual after a fork.
        """
        writer, written, workers, hooks = self.forkable()
        writer(numbered_message(1))
        hooks.before()
        hooks.afterInParent()
        writer(numbered_message(2))
        stopped = writer.stopService()
        self.perform(0)
        self.successResultOf(stopped)
        self.assertEqual([m["n"] for m in written], [1, 2])
        self.assertEqual(len(workers), 1)

    def test_notRunningAtFork(self) -> None:
        """
        A writer stopped before the fork stays stopped in the child, with no
        worker, however much is logged to it.
        """
        writer, written, workers, hooks = self.forkable()
        writer.stopService()
        self.perform(0)
        hooks.before()
        hooks.afterInChild()
        writer(numbered_message(1))
        self.assertEqual((len(workers), written, writer._queue.refusedClosed), (1, [], 1))

    def test_stoppingAtForkNotWaitedForInChild(self) -> None:
        """
        A child forked while the parent's stop is in progress (a script that
        stops the writer and forks straight away) does not wait at its exit
        for that stop, which nothing in the child will finish: what it
        refused is reported as refused by a stopped writer, and nothing is
        given up on.
        """
        others = self.collect()
        writer, written, workers, hooks = self.forkable(exitTimeout=0.001)
        writer._standardError = stderr = io.StringIO()
        writer.stopService()
        hooks.before()
        hooks.afterInChild()
        self.assertFalse(writer._stopping is not None and writer._stopping.done.is_set())
        writer(numbered_message(1))
        isolate_exit_reports(self).run()
        self.assertEqual([(m["reason"], m["count"]) for m in others],
                         [("logged while the ThreadedWriter was stopped", 1)])
        self.assertEqual(stderr.getvalue(), "")

    def test_failureDuringFlushReported(self) -> None:
        """
        A destination raising while the queue is flushed before the fork
        does not raise out of the hook: the failure is reported through the
        other destinations and counted, and the later messages written.
        """
        logger = self.capture()
        written: List[int] = []

        def destination(message: Dict[str, Any]) -> None:
            if message["n"] == 1:
                raise OSError("disk on fire")
            written.append(message["n"])

        writer, _, _, hooks = self.forkable(destination)
        for n in range(3):
            writer(numbered_message(n))
        hooks.before()
        self.assertEqual(written, [0, 2])
        [report] = logger.messages
        self.assertEqual((report["message_type"], report["lost"]),
                         ("eliot:destination_failure", 1))
        self.assertEqual(writer.dropped, 1)
        hooks.afterInParent()
        self.assertEqual(len(logger.messages), 1)

    def test_loggedDuringForkStaysWithParent(self) -> None:
        """
        A message logged after the flush, while the locks are being taken,
        stays queued for the parent's worker; the child starts without it.
        """
        for parent in (True, False):
            writer, written, _, _ = self.forkable()
            writer._flushBeforeFork()
            writer(numbered_message(1))
            writer._holdWrites()
            writer._holdQueue()
            if parent:
                writer._releaseQueue()
                writer._releaseWrites()
                self.assertEqual(written, [])
                self.perform(-1)
                self.assertEqual([m["n"] for m in written], [1])
            else:
                writer._afterForkInChild()
                writer(numbered_message(2))
                # The child's own worker, made for this message.
                self.perform(-1)
                self.assertEqual([m["n"] for m in written], [2])
            writer.stopService()

    def test_queuedWhileSwitchingToDirect(self) -> None:
        """
        A message queued just as another thread of a child that cannot
        start a thread switched the writer to direct writes is written at
        once, not left in a queue nobody drains.
        """
        writer, written, _, hooks = self.forkable()
        hooks.before()
        hooks.afterInChild()

        def switchedMeanwhile() -> None:
            writer._workerDue = False
            writer._bypass = writer._writeDirect

        self.patch(writer, "_startDueWorker", switchedMeanwhile)
        writer(numbered_message(6))
        self.assertEqual([m["n"] for m in written], [6])

    def test_flushIsBounded(self) -> None:
        """
        The flush before a fork writes what is queued once: messages logged
        while it writes (other threads logging faster than the destination
        writes) stay queued for the parent, so the fork never waits for a
        queue that keeps refilling.
        """
        written: List[Dict[str, Any]] = []

        def destination(message: Dict[str, Any]) -> None:
            written.append(message)
            if len(written) < 1000:
                inAnotherThread(partial(writer, numbered_message(len(written) + 100)))

        writer, _, _, hooks = self.forkable(destination)
        writer(numbered_message(0))
        hooks.before()
        hooks.afterInParent()
        self.assertEqual([m["n"] for m in written], [0])
        self.assertEqual(writer._queue._count, 1)

    def test_raisingFlushLeavesHooksUsable(self) -> None:
        """
        A flush that raises (here C{KeyboardInterrupt}) does not stop the
        other writers from being flushed and held, and leaves no lock
        behind: the next fork goes through.
        """
        def interrupted() -> None:
            raise KeyboardInterrupt()

        writer, _, _, hooks = self.forkable()
        self.patch(writer, "_flushBeforeFork", interrupted)
        other, written, _, _ = self.forkable()
        hooks.add(other)
        other(numbered_message(2))
        hooks.before()
        self.assertEqual([m["n"] for m in written], [2])
        hooks.afterInParent()

        def forkAgain() -> None:
            hooks.before()
            hooks.afterInParent()

        self.assertTrue(finishesInThread(forkAgain))

    def test_holdFailureReleases(self) -> None:
        """
        When holding a writer fails, the hook raises (CPython forks anyway)
        and the parent's hook still releases everything held.
        """
        writer, written, _, hooks = self.forkable()

        def broken(queue: BoundedQueue) -> None:
            raise RuntimeError("no lock")

        self.patch(BoundedQueue, "beforeFork", broken)
        self.assertRaises(RuntimeError, hooks.before)
        hooks.afterInParent()
        self.assertTrue(hooks._lock.acquire(blocking=False))
        hooks._lock.release()
        writer(numbered_message(3))
        self.assertTrue(finishesInThread(lambda: self.perform(0)))
        self.assertEqual([m["n"] for m in written], [3])

    def test_noThreadInChild(self) -> None:
        """
        When the child cannot start a thread, its writer writes on the
        threads that log rather than lose their messages.
        """
        writer, written, _, hooks = self.forkable()
        hooks.before()
        hooks.afterInChild()

        def noThread() -> MemoryWorker:
            raise RuntimeError("can't start new thread")

        writer._createWorker = noThread
        writer(numbered_message(4))
        writer(numbered_message(5))
        self.assertEqual([m["n"] for m in written], [4, 5])

    def test_failureReportToAnotherWriter(self) -> None:
        """
        When one writer's destination fails while the queues are flushed,
        its report reaches another writer and the fork goes on: no writer
        holds a lock while another writes, whichever flushes first.
        """
        def broken(message: Dict[str, Any]) -> None:
            raise OSError("full")

        failing, _, _, hooks = self.forkable(broken)
        other, written, _, _ = self.forkable()
        hooks.add(other)
        destinations = Destinations()
        destinations.add(other)
        self.addCleanup(swap_logger, swap_logger(Logger(destinations)))
        failing(numbered_message(1))
        self.assertTrue(finishesInThread(hooks.before))
        hooks.afterInParent()
        # Written by the other writer's flush, or queued for its worker.
        self.perform(1)
        self.assertEqual([m["message_type"] for m in written], ["eliot:destination_failure"])


class BoundedQueueForkTests(SynchronousTestCase):
    """
    L{BoundedQueue} in a forked child, in both its modes.
    """

    def test_childStartsEmpty(self) -> None:
        """
        After L{BoundedQueue.afterForkInChild}, nothing is queued, taken or
        refused: the child has the whole room, a new lock, and schedules a
        drain for its first message.  It still accepts messages.
        """
        line = b'{"n":1}\n'
        for batched in (True, False):
            queue = BoundedQueue(maxMessages=2, maxBytes=1000, batched=batched)
            queue.setAccepting(True)
            queue.put(line)
            self.assertIsNotNone(queue.take())  # taken by the parent's writer
            queue.put(line)
            queue.put(line)  # refused
            queue.beforeFork()
            queue.afterForkInChild()
            self.assertEqual((queue._count, queue._size, queue.refusedFull), (0, 0, 0))
            self.assertIsNone(queue.take())
            self.assertTrue(queue.put(line))
            self.assertFalse(queue.put(line))  # accepted, the drain already scheduled
            taken = queue.take()
            assert taken is not None
            self.assertEqual((sum(count for _, count, _ in taken[0]), taken[1:]), (2, (0, 0, 0)))

    def test_childDropsParked(self) -> None:
        """
        A message parked (logged from a signal handler while a thread held
        the lock) when the process forks is the parent's to queue: the
        child's first take has only its own.
        """
        for batched in (True, False):
            queue = BoundedQueue(maxMessages=10, maxBytes=1000, batched=batched)
            queue.setAccepting(True)
            queue._parked.append(b'{"n":0}\n')
            queue.beforeFork()
            queue.afterForkInChild()
            queue.put(b'{"n":1}\n')
            taken = queue.take()
            assert taken is not None
            self.assertEqual(sum(count for _, count, _ in taken[0]), 1)
