"""
Tests for a Control-C (a C{KeyboardInterrupt}) anywhere in
L{txcausal.logwriter.ThreadedWriter.stopThreading}, the exit handler of a
writer nobody stopped: the exit reports finish what it began, so that each
message it gives up on is counted once and reported.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any, Callable, List, Optional

from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from txcausal import _writerexit, logwriter, remove_destination
from txcausal._losses import STOPPED as _STOPPED
from txcausal._writer import IWriterWorker
from txcausal.logwriter import ThreadedWriter

from . import test_logwriter_stop
from ._helpers import ImmediateReactor, IsolatedOutputMixin
from ._writer_harness import ImmediateWorker, WriterHarness, isolate_exit_reports, numbered_message
from .test_exitreports import _InterruptedAsDiscardReturns, lastResortInterruptedOnce
from .test_logwriter_reports import _dropped
from .test_logwriter_stop import _reports, _StopHarness


class _InterruptedWait(threading.Event):
    """
    An event whose wait is cut short by a C{KeyboardInterrupt}.
    """

    def wait(self, timeout: Optional[float] = None) -> bool:
        raise KeyboardInterrupt()


class StopThreadingInterruptedTests(_StopHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A Control-C in C{stopThreading} at exit: the exit reports that run
    after it count each message given up on once, and report it.
    """

    def stuckWriter(self) -> ThreadedWriter:
        """
        @return: What L{test_logwriter_stop.ExitTimeoutTests.stuckWriter} does.
        """
        return test_logwriter_stop.ExitTimeoutTests.stuckWriter(self)  # type: ignore[arg-type]

    def queuedThree(self) -> ThreadedWriter:
        """
        @return: A writer whose destination is stuck, with three messages
            queued.
        """
        writer = self.stuckWriter()
        for n in range(3):
            writer(numbered_message(n))
        return writer

    def assertFinishedAtExit(self, writer: ThreadedWriter) -> None:
        """
        Run the exit reports after an interrupted C{stopThreading}: the three
        messages are counted once and reported once, and a message logged
        afterwards is refused rather than wait for the stuck destination.
        """
        isolate_exit_reports(self).run()
        self.assertEqual(([report["count"] for report in _reports(self.stderr)],
                          writer.dropped), ([3], 3))
        writer(numbered_message(9))
        self.assertEqual(writer.dropped, 4)

    def test_interruptedWait(self) -> None:
        """
        A Control-C while C{stopThreading} waits for the stuck destination
        (a user tired of waiting for the exit).
        """
        writer = self.queuedThree()
        self.patch(logwriter, "threading", SimpleNamespace(Event=_InterruptedWait))
        self.assertRaises(KeyboardInterrupt, writer.stopThreading)
        self.assertFinishedAtExit(writer)

    def test_interruptedAfterGiveUp(self) -> None:
        """
        A Control-C as the destination's give-up returns, once the queue
        was forgotten.
        """
        writer = self.queuedThree()
        real = writer._losses.giveUp
        calls: List[bool] = []

        def interruptedOnce(record: Any, count: int) -> None:
            real(record, count)
            if not calls:
                calls.append(True)
                raise KeyboardInterrupt()

        writer._losses.giveUp = interruptedOnce  # type: ignore[method-assign]
        self.assertRaises(KeyboardInterrupt, writer.stopThreading)
        self.assertFinishedAtExit(writer)

    def test_interruptedWritingReport(self) -> None:
        """
        A Control-C while the give-up's report is written on standard error.
        """
        writer = self.queuedThree()
        self.patch(_writerexit, "_last_resort", lastResortInterruptedOnce())
        self.assertRaises(KeyboardInterrupt, writer.stopThreading)
        self.assertFinishedAtExit(writer)

    def test_interruptedThenWriteReturned(self) -> None:
        """
        A Control-C as the give-up's discard returns, once the queue was
        forgotten, then the stuck write returns and the stop's last step
        runs before the exit reports: they still finish the give-up.
        """
        self.isolate()
        isolate_exit_reports(self)
        works: List[Callable[[], object]] = []
        writer = ThreadedWriter(lambda message: None, ImmediateReactor(), exitTimeout=0.001,
                                createWorker=lambda: _KeptWorker(works))
        writer.startService()
        self.addCleanup(remove_destination, writer)
        for n in range(3):
            writer(numbered_message(n))
        self.patch(_InterruptedAsDiscardReturns, "interrupted", [])
        writer._queue.__class__ = _InterruptedAsDiscardReturns
        self.assertRaises(KeyboardInterrupt, writer.stopThreading)
        for work in works:
            work()
        self.assertFinishedAtExit(writer)


    def test_interruptedAfterExitReports(self) -> None:
        """
        A Control-C in a C{stopThreading} called after the exit reports ran
        (by a later exit handler): no exit handler is left to finish it, so
        it finishes the give-up itself before the interrupt is raised again.
        """
        writer = self.queuedThree()
        isolate_exit_reports(self).run()
        self.patch(logwriter, "threading", SimpleNamespace(Event=_InterruptedWait))
        self.assertRaises(KeyboardInterrupt, writer.stopThreading)
        self.assertEqual(([report["count"] for report in _reports(self.stderr)],
                          writer.dropped), ([3], 3))
        writer(numbered_message(9))
        self.assertEqual(writer.dropped, 4)


class SwitchInterruptedTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A Control-C in C{stopThreading} once the queue was written, before the
    switch to direct writes: nothing was given up on, so nothing is counted
    as given up on; the switch is finished after it.
    """

    def interruptedSwitch(self) -> ThreadedWriter:
        """
        @return: A writer that wrote three messages, whose C{stopThreading}
            was cut short just before it switched to direct writes.
        """
        self.isolate()
        writer, self.written, _ = self.started(createWorker=ImmediateWorker)
        for n in range(3):
            writer(numbered_message(n))
        real = writer._switchToDirect
        calls: List[bool] = []

        def interruptedOnce() -> None:
            if not calls:
                calls.append(True)
                raise KeyboardInterrupt()
            real()

        writer._switchToDirect = interruptedOnce  # type: ignore[method-assign]
        self.assertRaises(KeyboardInterrupt, writer.stopThreading)
        return writer

    def assertSwitched(self, writer: ThreadedWriter) -> None:
        """
        Message 3, logged between the Control-C and the end, was refused by
        the stopped writer and is reported so; message 4 is written.
        """
        writer(numbered_message(4))
        self.assertEqual(([message.get("n") for message in self.written],
                          writer.dropped), ([0, 1, 2, None, 4], 1))
        self.assertEqual(_dropped(self.written, _STOPPED), [1])

    def test_finishedAtExit(self) -> None:
        """
        The exit reports finish the switch, though nothing was logged since
        (the worker's last step had let the writer go from them).
        """
        writer = self.interruptedSwitch()
        isolate_exit_reports(self).run()
        writer(numbered_message(4))
        self.assertEqual(([message.get("n") for message in self.written],
                          writer.dropped), ([0, 1, 2, 4], 0))

    def test_finishedAtExitAfterRefusal(self) -> None:
        """
        So when a message was logged since, which is refused and reported.
        """
        writer = self.interruptedSwitch()
        writer(numbered_message(3))
        isolate_exit_reports(self).run()
        self.assertSwitched(writer)

    def test_finishedAfterExitReports(self) -> None:
        """
        After the exit reports ran, C{stopThreading} finishes it itself,
        before the interrupt is raised again: what is logged then is
        written.
        """
        isolate_exit_reports(self).run()
        writer = self.interruptedSwitch()
        writer(numbered_message(3))
        self.assertEqual(([message.get("n") for message in self.written],
                          writer.dropped), ([0, 1, 2, 3], 0))


@implementer(IWriterWorker)
class _KeptWorker:
    """
    A worker stuck in a write: it keeps its work, for the test to run once
    the write returned.
    """

    def __init__(self, works: List[Callable[[], object]]) -> None:
        self.works = works

    def do(self, work: Callable[[], object]) -> None:
        self.works.append(work)

    def quit(self) -> None:
        pass
