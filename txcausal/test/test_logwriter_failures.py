"""
Tests for L{txcausal.logwriter.ThreadedWriter} when its destination raises:
what is reported, what is counted, and when.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any, Dict, List, Tuple

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, remove_destination
from txcausal._losses import Losses
from txcausal._output import Destinations, Logger, swap_logger
from txcausal._wire import exception_name
from txcausal._writer import Stop
from txcausal.logwriter import ThreadedWriter

from ._helpers import ImmediateReactor, IsolatedOutputMixin, flush_early_buffer
from ._writer_harness import (
    ImmediateWorker,
    Switchable,
    WriterHarness,
    finishesInThread,
    isolate_exit_reports,
    numbered_message,
)


class ThreadedWriterFailureTests(WriterHarness, SynchronousTestCase):
    """
    A L{ThreadedWriter} reports a failing destination once through the
    other destinations, counts what is lost as it is lost, and reports it
    when it can.
    """

    def test_destinationFailureReported(self) -> None:
        """
        A destination that raises is reported through the other destinations
        and later messages are still written.
        """
        logger = self.capture()
        written: List[Dict[str, Any]] = []

        def destination(message: Dict[str, Any]) -> None:
            if message.get("n") == 1:
                raise OSError("disk on fire")
            written.append(message)

        writer, _, performAll = self.started(destination)
        for n in range(3):
            writer(numbered_message(n))
        performAll()
        self.assertEqual([m["n"] for m in written], [0, 2])
        [report] = logger.messages
        self.assertEqual(report["message_type"], "eliot:destination_failure")
        self.assertEqual(report["exception"], "builtins.OSError")
        self.assertEqual(report["reason"], "disk on fire")
        self.assertEqual(report["lost"], 1)
        self.assertEqual(writer.dropped, 1)

    def test_baseExceptionIsAFailure(self) -> None:
        """
        A destination raising a L{BaseException} (C{SystemExit},
        C{KeyboardInterrupt}, C{GeneratorExit}, a subclass of its own) is
        reported as any failing destination; the writer keeps writing, and
        stops when asked.
        """
        class Custom(BaseException):
            pass

        for error in (SystemExit(1), KeyboardInterrupt(), GeneratorExit(), Custom()):
            logger = self.capture()
            written: List[int] = []

            def destination(message: Dict[str, Any], error: BaseException = error,
                            written: List[int] = written) -> None:
                if message.get("n") == 1:
                    raise error
                written.append(message["n"])

            writer, _, performAll = self.started(destination)
            for n in range(3):
                writer(numbered_message(n))
            performAll()
            self.assertEqual(written, [0, 2])
            [report] = logger.messages
            self.assertEqual((report["exception"], report["lost"]), (exception_name(error), 1))
            stopped = writer.stopService()
            performAll()
            self.successResultOf(stopped)

    def test_keyboardInterruptWritingDirectly(self) -> None:
        """
        After C{stopThreading}, a L{KeyboardInterrupt} raised while the
        destination writes on the thread that logs reaches the program, with
        the message counted as lost; the other destinations got it.
        """
        messages: List[Dict[str, Any]] = []

        def interrupted(message: Dict[str, Any]) -> None:
            if message.get("n") == 2:
                raise KeyboardInterrupt()

        writer = ThreadedWriter(interrupted, ImmediateReactor(), createWorker=ImmediateWorker)
        destinations = Destinations()
        destinations.add(writer, messages.append)
        self.addCleanup(swap_logger, swap_logger(Logger(destinations)))
        writer.startService()
        self.addCleanup(remove_destination, writer)
        writer.stopThreading()
        self.assertRaises(KeyboardInterrupt, destinations.send, numbered_message(2))
        self.assertEqual([m.get("n") for m in messages], [2, None])
        self.assertEqual(messages[1]["exception"], "builtins.KeyboardInterrupt")
        self.assertEqual(writer.dropped, 1)

    def test_persistentFailureReportedOnce(self) -> None:
        """
        While a destination keeps raising, the failure is reported once;
        when it works again, the messages lost meanwhile are reported.
        """
        logger = self.capture()
        destination = Switchable()
        writer, _, performAll = self.started(destination)
        for n in range(4):
            writer(numbered_message(n))
        performAll()
        self.assertEqual(len(logger.messages), 1)
        destination.broken = False
        writer(numbered_message(9))
        performAll()
        written = destination.written
        self.assertEqual(written[0]["n"], 9)
        self.assertEqual(written[1]["message_type"], "txcausal:messages_dropped")
        self.assertEqual(written[1]["count"], 3)
        self.assertEqual(writer.dropped, 4)

    def test_stopWhileFailing(self) -> None:
        """
        A writer stopping while its destination still fails reports the
        messages lost since the failure through the other destinations; once
        restarted, a new failure is reported afresh.
        """
        logger = self.capture()
        destination = Switchable()
        writer, _, performAll = self.started(destination)
        for n in range(3):
            writer(numbered_message(n))
        performAll()
        writer.stopService()
        performAll()
        self.assertEqual([(m["message_type"], m.get("lost", m.get("count")))
                          for m in logger.messages],
                         [("eliot:destination_failure", 1), ("txcausal:messages_dropped", 2)])
        self.assertEqual(writer.dropped, 3)
        writer.startService()
        writer(numbered_message(4))
        performAll()
        self.assertEqual([m["message_type"] for m in logger.messages][2:],
                         ["eliot:destination_failure"])
        self.assertEqual(writer.dropped, 4)

    def test_directModeFailureReported(self) -> None:
        """
        After C{stopThreading}, a failure is reported afresh (the failure of
        the threaded run was reported when it stopped), once: the report
        also reaches the failing writer itself, which must not report its
        own report's failure again and again.
        """
        isolate_exit_reports(self)
        destination = Switchable()
        writer = ThreadedWriter(destination, ImmediateReactor(), createWorker=ImmediateWorker)
        reports: List[Dict[str, Any]] = []
        destinations = Destinations()
        destinations.add(writer, reports.append)
        self.addCleanup(swap_logger, swap_logger(Logger(destinations)))
        writer.startService()
        self.addCleanup(remove_destination, writer)
        destinations.send(numbered_message(1))
        writer.stopThreading()
        for n in range(2, 5):
            destinations.send(numbered_message(n))
        kinds = [m.get("message_type") for m in reports]
        self.assertEqual(kinds.count("eliot:destination_failure"), 2)
        # The 4 messages, and the writer's own reports of each run's first
        # failure, which reach it too (taking messages, threaded then
        # directly); not the report of what the stop lost, sent as it
        # stopped, when it would refuse it (the other destination took it).
        self.assertEqual(writer.dropped, 4 + 2)

    def test_unwrittenRefusalReportCarried(self) -> None:
        """
        When the report of refused messages cannot be written either, its
        count is carried to the report written when the destination works
        again.
        """
        self.capture()
        destination = Switchable()
        writer, _, performAll = self.started(destination, maxMessages=2)
        for n in range(5):
            writer(numbered_message(n))
        performAll()
        self.assertEqual(writer.dropped, 5)
        destination.broken = False
        writer(numbered_message(9))
        performAll()
        [report] = [m for m in destination.written if m.get("message_type") ==
                    "txcausal:messages_dropped"]
        self.assertEqual(report["count"], 4)


class LoneWriterTests(IsolatedOutputMixin, WriterHarness, SynchronousTestCase):
    """
    A L{ThreadedWriter} that is the only destination (as under C{twistd
    --logger}, or a program logging only to one file) has nobody to send its
    reports to but its failing destination: they go to standard error too.
    """

    def setUp(self) -> None:
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)

    def reports(self) -> List[Tuple[str, int]]:
        """
        @return: The kind and count of each report on standard error.
        """
        return [(report["message_type"], report.get("lost", report.get("count")))
                for report in map(orjson.loads, self.stderr.getvalue().splitlines())]

    def test_reportsOnStandardError(self) -> None:
        """
        The failure, and the count of what was lost until the writer
        stopped, are written to standard error.
        """
        self.isolate()
        writer, _, performAll = self.started(Switchable())
        for n in range(3):
            writer(numbered_message(n))
        performAll()
        self.assertEqual(self.reports(), [("eliot:destination_failure", 1)])
        writer.stopService()
        performAll()
        # The 2 messages after the failure, and the failure's report, which
        # reached the writer too.
        self.assertEqual(self.reports(), [("eliot:destination_failure", 1),
                                          ("txcausal:messages_dropped", 3)])
        self.assertEqual(writer.dropped, 4)

    def test_othersTakeTheReports(self) -> None:
        """
        With another destination, the reports go there, not to standard
        error.
        """
        others = self.collect()
        writer, _, performAll = self.started(Switchable())
        for n in range(3):
            writer(numbered_message(n))
        performAll()
        writer.stopService()
        performAll()
        self.assertEqual(self.stderr.getvalue(), "")
        self.assertEqual([m["message_type"] for m in others],
                         ["eliot:destination_failure", "txcausal:messages_dropped"])


class FeedbackTests(WriterHarness, SynchronousTestCase):
    """
    A destination behind a L{ThreadedWriter} that logs while it writes does
    not feed its own messages back into itself.
    """

    def test_notFedBack(self) -> None:
        """
        What the destination logs while it writes reaches the other
        destinations, not itself; it is counted, and reported to it with the
        next messages it writes.
        """
        calls: List[Dict[str, Any]] = []

        def chatty(message: Dict[str, Any]) -> None:
            calls.append(message)
            if len(calls) < 100:
                log_message("test:chatty", seen=message.get("n"))

        writer, _, performAll = self.started(chatty)
        others: List[Dict[str, Any]] = []
        destinations = Destinations()
        destinations.add(writer, others.append)
        self.addCleanup(swap_logger, swap_logger(Logger(destinations)))
        for n in range(3):
            writer(numbered_message(n))
        performAll()
        self.assertEqual(([m["n"] for m in calls], writer.dropped), ([0, 1, 2], 3))
        self.assertEqual([m["seen"] for m in others], [0, 1, 2])
        writer(numbered_message(3))
        performAll()
        self.assertEqual([m.get("n") for m in calls[3:]], [3, None])
        self.assertEqual((calls[4]["message_type"], calls[4]["count"]),
                         ("txcausal:messages_dropped", 3))
        self.assertIn("logged by the destination", calls[4]["reason"])
        self.assertEqual(writer.dropped, 5)

    def test_notFedBackWhenWritingDirectly(self) -> None:
        """
        After C{stopThreading}, a destination logging while it writes on the
        thread that logs neither loops nor deadlocks.
        """
        flush_early_buffer()
        destinations = Destinations()
        self.addCleanup(swap_logger, swap_logger(Logger(destinations)))
        calls: List[Dict[str, Any]] = []

        def chatty(message: Dict[str, Any]) -> None:
            calls.append(message)
            if len(calls) < 100:
                log_message("test:chatty")

        writer = ThreadedWriter(chatty, ImmediateReactor(), createWorker=ImmediateWorker)
        # Where what it logs while taking the last report, as it is
        # removed, goes.
        writer._standardError = io.StringIO()
        destinations.add(writer)
        writer.startService()
        self.addCleanup(remove_destination, writer)
        writer.stopThreading()
        self.assertTrue(finishesInThread(lambda: destinations.send(numbered_message(1))))
        self.assertEqual([m.get("n") for m in calls], [1])
        self.assertEqual(writer.dropped, 1)


class DirectFailureDeadlockTests(SynchronousTestCase):
    """
    Writers writing directly (after C{stopThreading}) whose destinations
    fail at once on two threads, each report reaching the other writer.
    """

    def test_noDeadlock(self) -> None:
        """
        A report is sent once the writer's lock is released: two writers
        failing together on two threads, each holding its own lock while
        its destination runs, do not wait for each other's.
        """
        both = threading.Barrier(2, timeout=10)

        def failing(message: Dict[str, Any]) -> None:
            if message.get("message_type") == "test:n":
                both.wait()
                raise OSError("full")

        first = ThreadedWriter(failing, ImmediateReactor(), createWorker=ImmediateWorker)
        second = ThreadedWriter(failing, ImmediateReactor(), createWorker=ImmediateWorker)
        destinations = Destinations()
        destinations.add(first, second)
        self.addCleanup(swap_logger, swap_logger(Logger(destinations)))
        for writer in (first, second):
            writer.startService()
            self.addCleanup(remove_destination, writer)
            writer.stopThreading()
        threads = [threading.Thread(target=writer, args=(numbered_message(n),), daemon=True)
                   for n, writer in enumerate((first, second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        self.assertEqual([thread.is_alive() for thread in threads], [False, False])
        self.assertEqual((first.dropped, second.dropped), (1, 1))


class _GivingUpLosses(Losses):
    """
    L{Losses} with a give-up made by another thread at the first moment it
    can: when C{epoch} is read while nobody holds the lock (a give-up
    takes it), once.  C{gaveUp} is what that give-up read.
    """

    def __init__(self, sink: Any) -> None:
        self.gaveUp: List[Tuple[int, int]] = []
        self._epoch = 0
        super().__init__(sink, orjson.dumps)

    @property
    def epoch(self) -> int:
        epoch = self._epoch
        if not self.gaveUp and self._lock.acquire(False):
            self._lock.release()
            stop = Stop()
            self.giveUp(stop, 0)
            assert stop.unfinished is not None
            self.gaveUp.append(stop.unfinished)
        return epoch

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self._epoch = epoch


class _FailingSink:
    """
    A sink whose every write fails.
    """

    def write(self, data: bytes) -> None:
        raise OSError("failed")

    def finish(self) -> None:
        pass


class GiveUpDuringReportTests(SynchronousTestCase):
    """
    A give-up while a report of refusals is written (by a worker slow, not
    stuck), and the report fails: its count is counted once, either in the
    give-up's report or in what the failing destination lost, never in
    neither.
    """

    def test_reportCountedOnce(self) -> None:
        """
        The refusals a failed report held are carried to the failures' count
        or read by the give-up, wherever the give-up came in.
        """
        losses = _GivingUpLosses(_FailingSink())
        losses.refused(3, "refused")
        ((inReport, _),) = losses.gaveUp
        self.assertEqual(inReport + losses._lostToFailures, 3)
