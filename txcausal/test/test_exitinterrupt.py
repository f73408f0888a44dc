"""
Tests for a Control-C (a C{KeyboardInterrupt}) anywhere in
L{txcausal.logwriter.ThreadedWriter.stopThreading}, the exit handler of a
writer nobody stopped: the exit reports finish what it began, so that each
message it gives up on is counted once and reported.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import IO, Any, Dict, List, Optional

from twisted.trial.unittest import SynchronousTestCase

from txcausal import _losses, _writerexit, logwriter
from txcausal.logwriter import ThreadedWriter

from . import test_logwriter_stop
from ._helpers import IsolatedOutputMixin
from ._writer_harness import isolate_exit_reports, numbered_message
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
        real = _losses._last_resort
        calls: List[bool] = []

        def interruptedOnce(report: Dict[str, Any], stream: Optional[IO[str]] = None) -> None:
            if not calls:
                calls.append(True)
                raise KeyboardInterrupt()
            real(report, stream)

        self.patch(_writerexit, "_last_resort", interruptedOnce)
        self.assertRaises(KeyboardInterrupt, writer.stopThreading)
        self.assertFinishedAtExit(writer)

