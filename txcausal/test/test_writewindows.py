"""
Tests for L{txcausal.logwriter.ThreadedWriter} under a Control-C delivered
where a real signal is acted on: as a Python function begins (a call, its
first instruction checks for signals) while the write lock is held, and
between the steps of the drain of a switch to direct writes.  The lock is
never kept, and every message taken is written or counted and reported.
"""

from __future__ import annotations

import inspect
import sys
import threading
from typing import Any, Callable, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from txcausal import add_destinations, remove_destination
from txcausal._teardown import held
from txcausal._writercore import WriterCore
from txcausal.logwriter import ThreadedWriter

from ._helpers import IsolatedOutputMixin
from ._writer_harness import (
    ImmediateWorker,
    WriterHarness,
    finishesInThread,
    numbered_message,
    switchInterrupted,
)


def _freeLock(lock: Any) -> None:
    """
    Free C{lock} if a failing test left it held, for the next tests.
    """
    if lock.locked():
        lock.release()


def _interruptAtCall(locks: List[Any], nth: int, run: Callable[[], object],
                     inHandler: Callable[[], object]) -> bool:
    """
    Call C{run}, raising C{KeyboardInterrupt} as the C{nth} function called
    while one of C{locks} is held begins (where a real signal is acted on),
    and call C{inHandler} in the C{except} clause, where the interrupt's
    traceback still lives.

    @return: Whether there was such a call.
    """
    calls: List[None] = []

    def trace(frame: Any, event: str, arg: object) -> Any:
        if event == "call" and any(lock.locked() for lock in locks):
            calls.append(None)
            if len(calls) == nth + 1:
                raise KeyboardInterrupt()
        return None

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        run()
    except KeyboardInterrupt:
        sys.settrace(previous)
        inHandler()
    finally:
        sys.settrace(previous)
    return len(calls) > nth


class EveryCallUnderLockTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A Control-C as each function called holding the write lock, or the
    lock of the writer's losses, in a direct write begins (the exit of a
    context manager among them): both locks are free in the program's
    C{except KeyboardInterrupt}, where another thread can log.
    """

    def interruptAtCall(self, nth: int) -> bool:
        """
        Log a message directly, raising C{KeyboardInterrupt} at the
        C{nth} call made while the write lock is held.

        @return: Whether there was such a call.
        """
        writer, _, _ = self.started(createWorker=ImmediateWorker)
        writer.stopThreading()
        lock, lossesLock = writer._forkLock, writer._losses._lock
        self.addCleanup(_freeLock, lock)
        self.addCleanup(_freeLock, lossesLock)

        def inHandler() -> None:
            # What a program does: log that it was interrupted.
            self.assertEqual((lock.locked(), lossesLock.locked(), writer._writingThread),
                             (False, False, None))
            self.assertTrue(finishesInThread(lambda: writer(numbered_message(1))))

        called = _interruptAtCall(
            [lock, lossesLock], nth, lambda: writer(numbered_message(0)), inHandler)
        self.assertFalse(lock.locked() or lossesLock.locked())
        return called

    def test_everyCall(self) -> None:
        self.isolate()
        nth = 0
        while self.interruptAtCall(nth):
            nth += 1
        self.assertGreater(nth, 2)


def _lineOf(text: str, nth: int = 1) -> int:
    """
    @return: The number of the C{nth} line of L{WriterCore._writeTaken}
        that holds C{text}.
    """
    lines, first = inspect.getsourcelines(WriterCore._writeTaken)
    return [first + i for i, line in enumerate(lines) if text in line][nth - 1]


class WriteTakenInterruptedTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A Control-C at each step of L{WriterCore._writeTaken}, in the drain of
    a switch to direct writes, three messages queued and one refused: what
    was taken and not written is counted, its room freed once, and every
    refusal counted and reported.
    """

    def filled(self) -> Tuple[ThreadedWriter, List[Any], List[Any]]:
        """
        @return: A writer whose queue holds three messages and refused a
            fourth, what it wrote and what the other destinations got.
        """
        self.isolate()
        others: List[Any] = []
        add_destinations(others.append)
        self.addCleanup(remove_destination, others.append)
        writer, written, _ = self.started(maxMessages=3)
        for n in range(4):
            writer(numbered_message(n))
        return writer, written, others

    def interruptAt(self, line: int) -> Any:
        """
        Switch to direct writes, raising C{KeyboardInterrupt} at C{line} of
        L{WriterCore._writeTaken}.

        @return: The writer, what it wrote and what the other destinations
            got.
        """
        writer, written, others = self.filled()
        code, fired = WriterCore._writeTaken.__code__, [False]

        def trace(frame: Any, event: str, arg: object) -> Any:
            if event == "call":
                return trace
            if event == "line" and frame.f_code is code and frame.f_lineno == line and not fired[0]:
                fired[0] = True
                raise KeyboardInterrupt()
            return trace

        switchInterrupted(self, writer, trace)
        self.assertEqual(fired, [True])
        self.assertEqual(writer._queue.abandonTaken(), (0, (0, 0, 0)))
        return writer, [m["n"] for m in written if "n" in m], [
            r["count"] for r in others if "count" in r]

    def test_afterTake(self) -> None:
        writer, written, reported = self.interruptAt(_lineOf("if taken is None"))
        self.assertEqual((written, writer.dropped, sorted(reported)), ([], 4, [1, 3]))

    def test_afterWriteBeforeRelease(self) -> None:
        """
        The message written before the Control-C, its room not freed, is
        counted with the others taken (at worst, as documented), its room
        freed once.
        """
        writer, written, reported = self.interruptAt(_lineOf("self._progress += 1") + 1)
        queue = writer._queue
        self.assertEqual((queue._count, queue._taken, queue._size), (0, 0, 0))
        self.assertEqual((written, writer.dropped, sorted(reported)), ([0], 4, [1, 3]))

    def test_afterSettleRefusals(self) -> None:
        writer, written, reported = self.interruptAt(_lineOf("settleRefusals(settled)") + 1)
        self.assertEqual((written, writer.dropped, reported), ([0, 1, 2], 1, [1]))

    def test_noInterrupt(self) -> None:
        """
        Without a Control-C, the refusal is counted and reported once.
        """
        writer, written, others = self.filled()
        writer._switchToDirect()
        self.assertEqual(([m["n"] for m in written if "n" in m], writer.dropped), ([0, 1, 2], 1))
        self.assertEqual([r["count"] for r in others + written if "count" in r], [1])


class HeldInterruptedTests(SynchronousTestCase):
    """
    L{txcausal._teardown.held}, which guards the locks of a writer's losses
    and of its exit reports, is not kept by a Control-C as each function
    it calls holding the lock begins.
    """

    def interruptAtCall(self, lock: threading.Lock, nth: int) -> bool:
        """
        Hold C{lock} with L{held}, raising C{KeyboardInterrupt} at the
        C{nth} call made while it is held; the lock is free in the
        C{except} clause (where the interrupt's traceback still lives).

        @return: Whether there was such a call.
        """
        def holdIt() -> None:
            with held(lock) as free:
                self.assertTrue(free)

        called = _interruptAtCall(
            [lock], nth, holdIt, lambda: self.assertFalse(lock.locked(), nth))
        self.assertFalse(lock.locked(), nth)
        return called

    def test_everyCall(self) -> None:
        lock, nth = threading.Lock(), 0
        self.addCleanup(_freeLock, lock)
        while self.interruptAtCall(lock, nth):
            nth += 1
