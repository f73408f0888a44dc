"""
Tests for L{txcausal.logwriter.ThreadedWriter} stopping: a stop always
finishes, even when the destination hangs, and what it could not write is
counted and reported; at exit too; a writer restarted before its last stop
finished keeps each run's accounts apart.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any, Callable, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from txcausal import remove_destination
from txcausal._writer import IWriterWorker
from txcausal.logwriter import ThreadedWriter

from ._helpers import ImmediateReactor, IsolatedOutputMixin
from ._writer_harness import Switchable, WriterHarness, isolate_exit_reports, numbered_message


def _reports(stderr: io.StringIO) -> List[Dict[str, Any]]:
    """
    @return: The JSON reports written to C{stderr}.
    """
    return [orjson.loads(line) for line in stderr.getvalue().splitlines()]


#: Why a message logged after the writer gave up at exit was refused.
_GAVE_UP = "logged after the ThreadedWriter gave up on its destination at exit"


class _StopHarness(WriterHarness):
    """
    Writers whose reactor is a L{ImmediateReactor} the test can advance, and
    standard error captured.
    """

    def setUp(self) -> None:
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)  # type: ignore[attr-defined]

    def clock(self, writer: ThreadedWriter) -> ImmediateReactor:
        reactor = writer._reactor
        assert isinstance(reactor, ImmediateReactor)
        return reactor


class StopServiceBoundTests(_StopHarness, SynchronousTestCase):
    """
    L{ThreadedWriter.stopService} waits for the queue while the destination
    makes progress, and gives up on one that made none for C{exitTimeout}
    seconds.
    """

    def test_stuckDestination(self) -> None:
        """
        When nothing is written for C{exitTimeout} seconds, the L{Deferred}
        fires anyway; the messages not written are counted in C{dropped} and
        reported on standard error with their count.
        """
        writer, written, _ = self.started(exitTimeout=5)
        for n in range(3):
            writer(numbered_message(n))
        stopped = writer.stopService()
        self.clock(writer).advance(4.9)
        self.assertNoResult(stopped)
        self.clock(writer).advance(0.2)
        self.successResultOf(stopped)
        self.assertEqual((written, writer.dropped), ([], 3))
        [report] = _reports(self.stderr)
        self.assertEqual((report["message_type"], report["count"], report["unfinished_write"]),
                         ("txcausal:messages_dropped", 3, 0))
        self.assertIn("5 s", report["reason"])

    def test_slowDestinationMakingProgress(self) -> None:
        """
        A destination slower than C{exitTimeout} for the whole queue, but
        returning from each write sooner, is waited for: nothing is lost.
        """
        writer: ThreadedWriter

        def slow(message: Dict[str, Any]) -> None:
            self.clock(writer).advance(4)
            written.append(message)

        writer, _, performAll = self.started(slow, exitTimeout=5)
        written: List[Dict[str, Any]] = []
        for n in range(5):
            writer(numbered_message(n))
        stopped = writer.stopService()
        performAll()
        self.successResultOf(stopped)
        self.assertEqual(([m["n"] for m in written], writer.dropped), ([0, 1, 2, 3, 4], 0))
        self.assertEqual(self.stderr.getvalue(), "")

    def test_stuckWriteCountedOnce(self) -> None:
        """
        The messages given up on are counted once: the write that was stuck
        is not counted again when it finally fails, and the messages taken
        with it are not written after having been counted.
        """
        writer: ThreadedWriter
        calls: List[int] = []

        def stuckThenBroken(message: Dict[str, Any]) -> None:
            calls.append(message["n"])
            self.clock(writer).advance(6)
            raise OSError("gone")

        logger = self.capture()
        writer, _, performAll = self.started(stuckThenBroken, exitTimeout=5)
        for n in range(3):
            writer(numbered_message(n))
        stopped = writer.stopService()
        performAll()
        self.successResultOf(stopped)
        self.assertEqual((calls, writer.dropped), ([0], 3))
        self.assertEqual((logger.messages[0]["count"], logger.messages[0]["unfinished_write"]),
                         (3, 1))
        self.assertEqual([m["message_type"] for m in logger.messages],
                         ["txcausal:messages_dropped"])
        self.assertEqual([r["count"] for r in _reports(self.stderr)], [3])

    def test_stuckReportCounted(self) -> None:
        """
        When the write given up on is a report (here, of a message the full
        queue refused), what that report counts is lost with it: the
        give-up's report counts it, said to be in the unfinished write.
        """
        writer: ThreadedWriter
        written: List[Dict[str, Any]] = []

        def stuckOnReports(message: Dict[str, Any]) -> None:
            if message["message_type"] == "txcausal:messages_dropped":
                # Past the check that sees the progress of message 0, then
                # past the next.
                self.clock(writer).advance(6)
                self.clock(writer).advance(6)
                raise OSError("gone")
            written.append(message)

        logger = self.capture()
        writer, _, performAll = self.started(stuckOnReports, exitTimeout=5, maxMessages=1)
        writer(numbered_message(0))
        writer(numbered_message(1))  # Refused: full.
        stopped = writer.stopService()
        performAll()
        self.successResultOf(stopped)
        self.assertEqual(([m["n"] for m in written], writer.dropped), ([0], 1))
        self.assertEqual([(m["count"], m["unfinished_write"]) for m in logger.messages],
                         [(1, 1)])
        self.assertEqual([r["count"] for r in _reports(self.stderr)], [1])

    def test_restartAfterGivingUp(self) -> None:
        """
        A writer that gave up on its destination starts again with a new
        worker, and writes.
        """
        writer, written, performAll = self.started(exitTimeout=5)
        writer(numbered_message(1))
        writer.stopService()
        self.clock(writer).advance(5)
        writer.startService()
        writer(numbered_message(2))
        performAll()
        self.assertEqual([m["n"] for m in written if "n" in m], [2])
        self.assertEqual(writer.dropped, 1)


class RestartTests(_StopHarness, SynchronousTestCase):
    """
    A writer started again before its last stop finished.
    """

    def test_restartBeforeLastStep(self) -> None:
        """
        When the writer is started again before the worker took the old
        stop's last step, that step neither stops the new run nor reports
        the new run's losses as lost until the stop: they are reported when
        the destination works again.  The old stop's L{Deferred} fires once
        what was logged before it is written.
        """
        logger = self.capture()
        destination = Switchable()
        writer, _, performAll = self.started(destination)
        writer(numbered_message(1))
        stopped = writer.stopService()
        writer.startService()
        writer(numbered_message(2))
        performAll()
        self.successResultOf(stopped)
        self.assertTrue(writer.running)
        destination.broken = False
        writer(numbered_message(3))
        performAll()
        self.assertEqual([m["message_type"] for m in logger.messages],
                         ["eliot:destination_failure"])
        [dropped] = [m for m in destination.written
                     if m.get("message_type") == "txcausal:messages_dropped"]
        self.assertEqual((dropped["count"], dropped["reason"]), (1, "the destination raised"))
        self.assertEqual(writer.dropped, 2)


class RestartWhileStuckTests(_StopHarness, SynchronousTestCase):
    """
    A writer started again while its last stop waits for a stuck
    destination.
    """

    def test_newRunKeepsItsQueue(self) -> None:
        """
        When the old stop's wait runs out after the writer was started
        again, its L{Deferred} fires, but nothing is given up: the new run
        keeps its worker and its queue.
        """
        writer, written, performAll = self.started(exitTimeout=5)
        writer(numbered_message(1))
        stopped = writer.stopService()
        writer.startService()
        writer(numbered_message(2))
        self.clock(writer).advance(5)
        self.successResultOf(stopped)
        self.assertEqual(writer.dropped, 0)
        performAll()
        self.assertEqual([m["n"] for m in written], [1, 2])


@implementer(IWriterWorker)
class _StuckWorker:
    """
    A worker whose work never runs, as a thread stuck in a destination.
    """

    def do(self, work: Callable[[], object]) -> None:
        pass

    def quit(self) -> None:
        pass


class ExitTimeoutTests(_StopHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    L{ThreadedWriter.stopThreading} (at exit) gives up after C{exitTimeout}
    seconds, and says what it lost.
    """

    def stuckWriter(self) -> ThreadedWriter:
        self.isolate()
        isolate_exit_reports(self)
        writer = ThreadedWriter(lambda message: None, ImmediateReactor(), exitTimeout=0.001,
                                createWorker=_StuckWorker)
        writer.startService()
        self.addCleanup(remove_destination, writer)
        return writer

    def test_lostAtExitCountedAndReported(self) -> None:
        """
        What is still queued when the exit timeout runs out is counted in
        C{dropped} and reported on standard error with its count.
        """
        writer = self.stuckWriter()
        for n in range(3):
            writer(numbered_message(n))
        writer.stopThreading()
        self.assertEqual(writer.dropped, 3)
        [report] = _reports(self.stderr)
        self.assertEqual((report["message_type"], report["count"]),
                         ("txcausal:messages_dropped", 3))
        self.assertIn("exit", report["reason"])

    def test_loggedAfterGivingUp(self) -> None:
        """
        A message logged after the writer gave up at exit is not written to
        the stuck destination, and is counted and reported on standard
        error.
        """
        writer = self.stuckWriter()
        writer.stopThreading()
        thread = threading.Thread(target=writer, args=(numbered_message(7),))
        thread.start()
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertEqual(writer.dropped, 1)
        [report] = _reports(self.stderr)
        self.assertEqual(report["count"], 1)
        self.assertIn('"n":7', report["message"])

    def test_manyLoggedAfterGivingUp(self) -> None:
        """
        Each message logged after the writer gave up at exit is reported at
        once, with the message, until the exit reports ran (the process may
        yet end by a signal, as twistd's does); of those logged after, the
        first is reported so, the others are counted, and reported in one
        line at the process's very end (see
        L{txcausal._exitreports.ExitReports.reportLate}).
        """
        writer = self.stuckWriter()
        writer.stopThreading()
        writer(numbered_message(0))
        writer(numbered_message(1))
        exitReports = isolate_exit_reports(self)
        exitReports.run()
        for n in range(2, 1000):
            writer(numbered_message(n))
        self.assertEqual([orjson.loads(report["message"])["n"] for report in _reports(self.stderr)
                          if "message" in report], [0, 1, 2])
        exitReports.reportLate()
        self.assertEqual([(report["count"], report["reason"]) for report in _reports(self.stderr)],
                         [(1, _GAVE_UP)] * 3 + [(997, _GAVE_UP)])
        self.assertEqual(writer.dropped, 1000)

    def test_refusalRacingGiveUpKeepsRefusing(self) -> None:
        """
        A message that a thread queues as the writer gives up at exit (it
        found no bypass, then the queue refused it) does not switch the
        writer to writing directly, which would wait for the stuck write
        for ever: later messages are still refused and reported on standard
        error, and so is that one, by the exit reports.
        """
        writer = self.stuckWriter()
        writer.stopThreading()
        # That thread's put, then its wake-up, after the give-up.
        data = orjson.dumps(numbered_message(8)) + b"\n"
        self.assertTrue(writer._queue.put(data))
        writer._wake()
        self.assertEqual(writer._bypass, writer._refuseAfterGivingUp)
        writer(numbered_message(9))
        self.assertEqual(writer.dropped, 2)
        isolate_exit_reports(self).run()
        self.assertEqual([(report["count"], report["reason"]) for report in _reports(self.stderr)],
                         [(1, _GAVE_UP),
                          (1, "logged while the ThreadedWriter was stopped")])
        self.assertEqual(writer.dropped, 2)


class FlushTests(_StopHarness, SynchronousTestCase):
    """
    L{ThreadedWriter.flush} waits for what was logged, without stopping.
    """

    def test_firesOnceWritten(self) -> None:
        """
        The L{Deferred} fires once every message logged before is written;
        the writer still runs.
        """
        writer, written, performAll = self.started()
        for n in range(3):
            writer(numbered_message(n))
        flushed = writer.flush()
        self.assertNoResult(flushed)
        performAll()
        self.successResultOf(flushed)
        writer(numbered_message(3))
        performAll()
        self.assertEqual([m["n"] for m in written], [0, 1, 2, 3])

    def test_boundedWhenStuck(self) -> None:
        """
        When nothing is written for C{exitTimeout} seconds, the L{Deferred}
        fires anyway, and nothing is given up: the writer keeps its queue.
        """
        writer, written, performAll = self.started(exitTimeout=5)
        writer(numbered_message(1))
        flushed = writer.flush()
        self.clock(writer).advance(5)
        self.successResultOf(flushed)
        self.assertEqual(writer.dropped, 0)
        performAll()
        self.assertEqual([m["n"] for m in written], [1])

    def test_notRunning(self) -> None:
        """
        A writer that is not running has nothing to flush.
        """
        writer, _, _ = self.writer()
        self.successResultOf(writer.flush())
