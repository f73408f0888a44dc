"""
Tests for the edges of a L{txcausal.logwriter.ThreadedWriter}'s end (review
22): a user's message logged while the stopped writer sends its last
report, a Control-C at awkward moments of C{stopThreading} and of the exit
reports, a stop that times out just before the queue is written, and
reports that fail deep in the teardown.
"""

from __future__ import annotations

import io
import sys
import threading
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from txcausal import (
    _losses,
    _teardown,
    add_destinations,
    log_message,
    logwriter,
    remove_destination,
)
from txcausal._wire import dropped_message
from txcausal.logwriter import ThreadedWriter

from ._helpers import IsolatedOutputMixin
from ._writer_harness import (
    ImmediateWorker,
    WriterHarness,
    inAnotherThread,
    isolate_exit_reports,
    numbered_message,
)
from .test_exitaccounting import _HeldWorker
from .test_logwriter_stop import _reports, _StopHarness
from .test_writelock import interruptOnceHeld


def _gone(*args: object, **kwargs: object) -> Any:
    """
    Stand in for a module global gone deep in the teardown.
    """
    raise TypeError("'NoneType' object is not callable")


def _failing(message: Dict[str, Any]) -> None:
    """
    A destination whose disk is gone.
    """
    raise OSError("disk gone")


class LastReportTests(_StopHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    The stopped writer's last report passes it; what else reaches it
    meanwhile, from any thread, is refused and counted.
    """

    def stoppingWithReport(self, onReport: Callable[[], None]) -> ThreadedWriter:
        """
        Stop a writer whose destination failed three messages; another
        destination calls C{onReport} once, on taking the report.
        """
        self.isolate()
        isolate_exit_reports(self)
        worker = _HeldWorker()
        writer = ThreadedWriter(_failing, createWorker=lambda: worker)
        writer.startService()
        self.addCleanup(remove_destination, writer)
        self.addCleanup(writer.stopThreading)
        fired: List[bool] = []

        def alerting(message: Dict[str, Any]) -> None:
            if message.get("message_type") == "eliot:destination_failure" and not fired:
                fired.append(True)
                onReport()

        add_destinations(alerting)
        for n in range(3):
            writer(numbered_message(n))
        worker.now = True
        writer.stopThreading()
        self.assertEqual(fired, [True])
        return writer

    def test_destinationLogsDuringLastReport(self) -> None:
        """
        A message another destination logs, on the reporting thread, while it
        takes the report is counted with the three lost, and so is the
        report that it was not fed back into that destination.
        """
        writer = self.stoppingWithReport(lambda: log_message(message_type="user:alert"))
        self.assertEqual(writer.dropped, 5)

    def test_otherThreadDuringLastReport(self) -> None:
        """
        So is one logged by another thread meanwhile.
        """
        writer = self.stoppingWithReport(
            lambda: inAnotherThread(lambda: log_message(message_type="user:other")))
        self.assertEqual(writer.dropped, 4)


class SwitchLockInterruptedTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A Control-C in C{stopThreading}'s switch to direct writes, right as it
    takes the write lock, leaves the lock free.
    """

    def test_interruptedAsTheLockIsTaken(self) -> None:
        """
        The interrupt is raised; the write lock is free: a later message
        from another thread does not wait for ever, it is refused (counted),
        the switch being left to the exit reports.
        """
        self.isolate()
        isolate_exit_reports(self)
        writer, written, _ = self.started(createWorker=ImmediateWorker)
        stderr = writer._standardError = io.StringIO()
        for n in range(3):
            writer(numbered_message(n))
        switch = writer._switchToDirect
        fired: List[bool] = []

        def traced() -> None:
            previous = sys.gettrace()
            sys.settrace(interruptOnceHeld(writer._forkLock, type(writer)._switchToDirect, fired))
            try:
                switch()
            finally:
                sys.settrace(previous)
                del writer._switchToDirect

        writer._switchToDirect = traced  # type: ignore[method-assign]
        self.assertRaises(KeyboardInterrupt, writer.stopThreading)
        self.assertEqual((fired, writer._forkLock.locked()), ([True], False))
        inAnotherThread(lambda: writer(numbered_message(3)))
        self.assertEqual(([m["n"] for m in written], writer.dropped), ([0, 1, 2], 1))
        isolate_exit_reports(self).run()
        self.assertEqual(([(r["count"], r["reason"]) for r in written if "count" in r],
                          _reports(stderr)),
                         ([(1, "logged while the ThreadedWriter was stopped")], []))


class ReportAtExitInterruptedTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A report sent at exit, which another destination interrupts (a Control-C)
    as it takes it, is not written on standard error too.
    """

    def test_reportOnceWhenAnotherDestinationInterrupts(self) -> None:
        """
        The destinations take every message before the interrupt is raised
        again: the report was made, once.
        """
        self.patch(_teardown, "exiting", True)
        self.isolate()
        writer, written, _ = self.started(createWorker=ImmediateWorker)
        stderr = writer._standardError = io.StringIO()

        def interrupting(message: Dict[str, Any]) -> None:
            if message.get("reason") == "owed":
                raise KeyboardInterrupt()

        add_destinations(interrupting)
        writer.stopThreading()
        writer._losses._reports.append(dropped_message(2, "owed", destination="d"))
        self.assertRaises(KeyboardInterrupt, writer, numbered_message(0))
        copies = ([m for m in written if m.get("reason") == "owed"]
                  + [r for r in _reports(stderr) if r.get("reason") == "owed"])
        self.assertEqual(len(copies), 1, copies)


class _LateEvent:
    """
    A C{threading.Event} whose wait times out just before the worker sets
    it: C{wait} says C{False}, C{is_set} then C{True}.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: object = None) -> bool:
        return False


class TimedOutThenWrittenTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    C{stopThreading} gives up when its wait times out, even if the queue is
    written just after.
    """

    def test_givenUpRefusesLater(self) -> None:
        """
        A message logged later is refused: counted once.
        """
        self.isolate()
        writer, written, _ = self.started(createWorker=ImmediateWorker)
        writer._standardError = io.StringIO()
        writer(numbered_message(0))
        self.patch(logwriter, "threading", SimpleNamespace(Event=_LateEvent))
        writer.stopThreading()
        self.assertTrue(writer._stopping and writer._stopping.gaveUp)
        writer(numbered_message(9))
        isolate_exit_reports(self).run()
        isolate_exit_reports(self).reportLate()
        self.assertEqual(writer.dropped, 1)


class DeepRecoveryTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    Deep in the teardown, a report of messages counted already that cannot
    be made (the modules' globals gone) is owed all the same: its count is
    reported.
    """

    def deepWriter(self) -> Tuple[ThreadedWriter, List[Dict[str, Any]], io.StringIO]:
        """
        @return: A writer stopped with C{stopThreading} deep in the
            teardown, what it writes, and its standard error.
        """
        self.patch(_teardown, "_finalizing", lambda: True)
        self.patch(_teardown, "exiting", True)
        self.isolate()
        writer, written, _ = self.started(createWorker=ImmediateWorker)
        stderr = writer._standardError = io.StringIO()
        writer.stopThreading()
        return writer, written, stderr

    def writeWithoutReports(self, writer: ThreadedWriter,
                            written: List[Dict[str, Any]]) -> None:
        """
        Have C{writer} write a message while the global that makes reports
        is gone; it is written.
        """
        gone = self.patch(_losses, "dropped_message", _gone)
        try:
            writer(numbered_message(0))
        finally:
            gone.restore()
        self.assertEqual([m["n"] for m in written if "n" in m], [0])

    def test_recoveryCountNotLost(self) -> None:
        """
        The report of what a destination lost while it failed, made as it
        works again.
        """
        writer, written, stderr = self.deepWriter()
        losses = writer._losses
        # The destination failed earlier and lost 2 messages (counted).
        losses._failing, losses._lostToFailures, losses.lost = True, 2, 2
        # Deep in the teardown: a global the recovery report needs is gone.
        self.writeWithoutReports(writer, written)
        # The teardown's very end: whatever is owed is reported now.
        isolate_exit_reports(self).reportLate()
        writer._finishFeedback()
        losses.close("end")
        reports = {r["task_uuid"]: (r["count"], r["reason"])
                   for r in written + _reports(stderr) if "count" in r}
        self.assertEqual(list(reports.values()), [(2, "the destination raised")])

    def test_feedbackCountNotLost(self) -> None:
        """
        The report of what the destination logged while it wrote, taken from
        the queue (counted there).
        """
        writer, written, stderr = self.deepWriter()
        writer._queue.refuseFeedback()
        writer._queue.refuseFeedback()
        self.assertEqual(writer.dropped, 2)
        self.writeWithoutReports(writer, written)
        isolate_exit_reports(self).reportLate()
        writer._finishFeedback()
        writer._losses.close("end")
        writer._report()
        # The writer being the only destination, its reports are written on
        # standard error too: each is counted once, by its task.
        counts = {r["task_uuid"]: r["count"] for r in written + _reports(stderr) if "count" in r}
        self.assertEqual((writer.dropped, sum(counts.values())), (2, 2), counts)

    def test_eachReportItsOwnTask(self) -> None:
        """
        Two reports that cannot be made are each a task of their own, timed
        when they are owed (not when the writer was made), as every other
        report is: a reader does not see one task holding both, dated
        before the losses they report.
        """
        writer, written, stderr = self.deepWriter()
        # As if the writer was made at the epoch.
        writer._losses._deepReport["timestamp"] = 0.0
        self.patch(_losses, "dropped_message", _gone)
        writer._losses._reportCounted(2, "first")
        writer._losses._reportCounted(3, "second")
        reports = writer._losses.takeReports()
        self.assertEqual(([r["count"] for r in reports], len({r["task_uuid"] for r in reports})),
                         ([2, 3], 2))
        self.assertNotIn(0.0, [r["timestamp"] for r in reports])
