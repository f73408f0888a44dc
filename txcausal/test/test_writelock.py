"""
Tests for L{txcausal.logwriter.ThreadedWriter}'s write lock under Control-C:
a C{KeyboardInterrupt} delivered right as a writer takes the lock, in each
place that takes it to write, never leaves it held (which would make every
later message wait for ever).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal import add_destinations, remove_destination
from txcausal._losses import CUT_SHORT, FULL
from txcausal._writercore import WriterCore
from txcausal.logwriter import ThreadedWriter

from ._helpers import IsolatedOutputMixin
from ._writer_harness import (
    ImmediateWorker,
    WriterHarness,
    finishesInThread,
    isolate_exit_reports,
    numbered_message,
    switchInterrupted,
)


def _calledFrom(frame: Any, code: Any) -> bool:
    """
    @return: Whether C{frame} runs C{code}, or was called, however deep,
        from a frame that does.
    """
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def interruptOnceHeld(lock: Any, inside: Callable[..., Any],
                      fired: List[bool]) -> Callable[..., Any]:
    """
    A trace function that raises C{KeyboardInterrupt} once, as a signal
    handler would, at the first instruction (or, where opcode events do not
    come, as on Python 3.13, the first line) run while C{lock} is held by a
    call of C{inside}: a Control-C delivered right as it took the lock,
    whichever function took it.  It appends to C{fired} when it does.
    """
    code = inside.__code__

    def trace(frame: Any, event: str, arg: object) -> Any:
        if event == "call":
            frame.f_trace_opcodes = True
            return trace
        if (event in ("opcode", "line") and not fired and lock.locked()
                and _calledFrom(frame, code)):
            fired.append(True)
            raise KeyboardInterrupt()
        return trace

    return trace


class WriteLockInterruptedTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A Control-C as a writer takes its write lock leaves the lock free, and
    no thread marked as writing (whose messages would be refused as the
    destination's own).
    """

    def freeLock(self, writer: ThreadedWriter) -> None:
        """
        Should the write lock have been kept, free it, so that the failure
        does not hang the suite.
        """
        if writer._forkLock.locked():
            writer._forkLock.release()

    def interrupted(self, writer: ThreadedWriter, inside: Callable[..., Any],
                    run: Callable[[], object]) -> None:
        """
        Call C{run} with a Control-C delivered as C{inside} takes the write
        lock; check that it was, and that the lock and the writing thread
        were given back.
        """
        self.addCleanup(self.freeLock, writer)
        fired: List[bool] = []
        previous = sys.gettrace()
        sys.settrace(interruptOnceHeld(writer._forkLock, inside, fired))
        try:
            run()
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(previous)
        self.assertEqual((fired, writer._forkLock.locked(), writer._writingThread),
                         ([True], False, None))
        self.assertTrue(finishesInThread(lambda: writer(numbered_message(9))))

    def test_writeDirect(self) -> None:
        """
        After C{stopThreading}, in the write on the thread that logs.
        """
        self.isolate()
        writer, written, _ = self.started(createWorker=ImmediateWorker)
        writer.stopThreading()
        self.interrupted(writer, type(writer)._writeDirect,
                         lambda: writer(numbered_message(0)))
        self.assertEqual([m["n"] for m in written], [9])

    def test_drainOnce(self) -> None:
        """
        In the worker's write of what is queued.
        """
        self.isolate()
        writer, written, performAll = self.started()
        writer(numbered_message(0))
        self.interrupted(writer, type(writer)._drainOnce, performAll)
        writer.flush()
        performAll()
        self.assertEqual([m["n"] for m in written], [0, 9])

    def test_close(self) -> None:
        """
        In the last step of a stop, which reports what the destination
        logged while it wrote.
        """
        self.isolate()
        isolate_exit_reports(self)
        writer, written, _ = self.started(createWorker=ImmediateWorker)
        self.interrupted(writer, type(writer)._close, writer.stopThreading)

    def test_writeLastFeedback(self) -> None:
        """
        In the last report of what the destination logged while it wrote
        directly, as the registry finishes it.
        """
        self.isolate()
        writer, written, _ = self.started(createWorker=ImmediateWorker)
        writer.stopThreading()
        self.interrupted(writer, type(writer)._writeLastFeedback, writer._finishFeedback)
        self.assertEqual([m["n"] for m in written], [9])


class SwitchDrainInterruptedTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A Control-C in the drain of a switch to direct writes (as a forked
    child's first messages are written when no thread can be had), once it
    took the queued messages and wrote and released one: the others are
    counted and reported, with the refusals taken with them.
    """

    def test_takenNotWrittenCounted(self) -> None:
        """
        Of the three messages taken, the one written is not counted; the
        other two are, as is the message refused for the full queue, and
        their reports reach the other destinations.
        """
        self.isolate()
        writer, written, _ = self.started(maxMessages=3)
        others: List[Dict[str, Any]] = []
        add_destinations(others.append)
        self.addCleanup(remove_destination, others.append)
        for n in range(4):
            writer(numbered_message(n))
        code = WriterCore._writeTaken.__code__
        fired: List[bool] = []

        def trace(frame: Any, event: str, arg: object) -> Any:
            if event == "call":
                frame.f_trace_opcodes = True
                return trace
            if frame.f_code is code and writer._queue._taken == 2 and not fired:
                fired.append(True)
                raise KeyboardInterrupt()
            return trace

        switchInterrupted(self, writer, trace)
        self.assertEqual(([m["n"] for m in written if "n" in m], writer.dropped, fired),
                         ([0], 3, [True]))
        self.assertEqual([(r["count"], r["reason"]) for r in others if "count" in r],
                         [(2, CUT_SHORT), (1, FULL)])
