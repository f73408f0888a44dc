"""
Tests for L{txcausal.logwriter.ThreadedWriter}'s reports of what it refused:
every refusal is written, whichever way the writer ends (a stop, a switch
to direct writes, a fork), and a refusal made while the writer is idle is
reported without waiting for the next message.
"""

from __future__ import annotations

import io
import sys
from typing import Any, Callable, Dict, List, Tuple

import orjson
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination, _output, log_message
from txcausal._feedback import FEEDBACK, FeedbackGuard
from txcausal._fork import ForkHooks
from txcausal._writer import MemoryWorker
from txcausal.logwriter import ThreadedWriter

from ._helpers import ImmediateReactor, IsolatedOutputMixin
from ._writer_harness import (
    Built,
    ImmediateWorker,
    WriterHarness,
    finishesInThread,
    isolate_exit_reports,
    numbered_message,
)

#: Why a full queue refused a message, as its report says.
_FULL = "the ThreadedWriter queue was full"
#: Why a stopped writer refused a message.
_STOPPED = "logged while the ThreadedWriter was stopped"


def _dropped(messages: List[Dict[str, Any]], reason: str) -> List[int]:
    """
    @return: The counts of the C{txcausal:messages_dropped} reports for
        C{reason} among C{messages}.
    """
    return [message["count"] for message in messages
            if message.get("message_type") == "txcausal:messages_dropped"
            and message["reason"] == reason]


def _allReported(messages: List[Dict[str, Any]]) -> int:
    """
    @return: How many lost messages the reports among C{messages} count:
        the C{lost} of each failure report, the C{count} of each report of
        dropped messages.
    """
    return sum(message.get("lost", 0) if message["message_type"] == "eliot:destination_failure"
               else message["count"] for message in messages
               if message.get("message_type") in ("eliot:destination_failure",
                                                  "txcausal:messages_dropped"))


class Chatty:
    """
    A destination that logs a message of its own each time it is called, as
    a shipper logging its retries does; it raises afterwards while
    C{broken}.

    @ivar log: How it logs that message: by default, to every destination.
    """

    def __init__(self, broken: bool = False) -> None:
        self.received: List[Dict[str, Any]] = []
        self.broken = broken
        self.log: Callable[[Dict[str, Any]], None] = lambda message: log_message(
            "test:chatty", seen=message.get("n"))

    def __call__(self, message: Dict[str, Any]) -> None:
        self.received.append(message)
        self.log(message)
        if self.broken:
            raise OSError("full")


class _Overriding(ThreadedWriter):
    """
    A writer whose class overrides C{__call__}, as a user's subclass may.
    """

    def __call__(self, message: Dict[str, Any]) -> None:
        super().__call__(message)


class FeedbackAtEndTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    What the destination logged while it wrote, refused and counted, is
    reported however the writer ends, even when no other message comes.
    """

    def setUp(self) -> None:
        self.stderr = io.StringIO()

    def chattyWriter(self, broken: bool = False, alone: bool = False, **kwargs: Any
                     ) -> Tuple[ThreadedWriter, Chatty, List[Dict[str, Any]], Any]:
        """
        @return: A started writer around a L{Chatty} destination, the
            destination, what the other destination (unless C{alone})
            collects, and the function running the worker's work.
        """
        others: List[Dict[str, Any]] = []
        destinations = self.isolate()
        if not alone:
            destinations.add(others.append)
        chatty = Chatty(broken)
        writer, _, performAll = self.started(chatty, **kwargs)
        writer._standardError = self.stderr
        return writer, chatty, others, performAll

    def loggingToWriter(self, alone: bool) -> Tuple[ThreadedWriter, Chatty,
                                                    List[Dict[str, Any]]]:
        """
        @return: What L{chattyWriter} does, for a destination that logs to
            the writer itself (as a thread still holding a stopped writer
            would), stopped once it wrote a message.
        """
        writer, chatty, others, performAll = self.chattyWriter(alone=alone)
        chatty.log = lambda message: writer({"message_type": "test:chatty"})
        writer(numbered_message(0))
        performAll()
        stopped = writer.stopService()
        performAll()
        self.successResultOf(stopped)
        return writer, chatty, others

    def test_pendingAtStopWritten(self) -> None:
        """
        A stop writes the report of what the destination logged while it
        wrote its last messages, before the stop's L{Deferred} fires; what
        it logs while it takes that report reaches the other destinations,
        the writer being no longer among them.
        """
        writer, chatty, others, performAll = self.chattyWriter()
        writer(numbered_message(0))
        performAll()
        self.assertEqual(writer.dropped, 1)
        stopped = writer.stopService()
        received: List[List[Dict[str, Any]]] = []
        stopped.addCallback(lambda _: received.append(list(chatty.received)))
        performAll()
        self.successResultOf(stopped)
        self.assertEqual(_dropped(received[0], FEEDBACK), [1])
        self.assertEqual([m["seen"] for m in others if m["message_type"] == "test:chatty"],
                         [0, None])
        self.assertEqual(writer.dropped, 1)

    def test_loggedWhileTakingLastReport(self) -> None:
        """
        What the destination logs into its writer while it takes the last
        report of a stop is refused, counted, and reported through the
        other destinations, not to the destination: that would go on for
        ever.
        """
        writer, chatty, others = self.loggingToWriter(alone=False)
        self.assertEqual(_dropped(chatty.received, FEEDBACK), [1])
        self.assertEqual(_dropped(others, FEEDBACK), [1])
        self.assertEqual(writer.dropped, 2)

    def test_loggedWhileTakingLastReportAlone(self) -> None:
        """
        When there is no other destination, that report goes to standard
        error.
        """
        writer, chatty, _ = self.loggingToWriter(alone=True)
        self.assertEqual(_dropped(chatty.received, FEEDBACK), [1])
        [report] = [orjson.loads(line) for line in self.stderr.getvalue().splitlines()]
        self.assertEqual(_dropped([report], FEEDBACK), [1])
        self.assertEqual(writer.dropped, 2)

    def test_raisingUntilStopReported(self) -> None:
        """
        A destination that logs while it writes and raises every time,
        until the writer stops: every message it lost, and every one it
        logged while it wrote, is reported through the other destinations
        by the time the stop's L{Deferred} fires.
        """
        writer, _, others, performAll = self.chattyWriter(broken=True)
        for n in range(3):
            writer(numbered_message(n))
            performAll()
        stopped = writer.stopService()
        performAll()
        self.successResultOf(stopped)
        self.assertEqual(_allReported(others), writer.dropped)
        self.assertGreater(writer.dropped, 3)

    def test_pendingAtSwitchToDirectWritten(self) -> None:
        """
        C{stopThreading} (as at exit) writes the report of what the
        destination logged while it wrote its last messages.
        """
        writer, chatty, others, _ = self.chattyWriter(createWorker=ImmediateWorker)
        writer(numbered_message(0))
        self.assertEqual(writer.dropped, 1)
        writer.stopThreading()
        self.assertEqual(_dropped(chatty.received, FEEDBACK), [1])
        # What it logged while taking that report is reported after the
        # next message, written directly.
        self.assertEqual(writer.dropped, 2)
        writer(numbered_message(1))
        self.assertEqual(_dropped(chatty.received, FEEDBACK), [1, 1])
        self.assertEqual(_dropped(others, FEEDBACK), [])

    def test_pendingAfterDirectWritesAtExit(self) -> None:
        """
        After C{stopThreading}, what the destination logged while it wrote
        the last message written directly is reported at exit (by the
        registry's L{Destinations.finish}), to the destination, and what it
        logs while it takes that report on standard error: every refusal
        is reported.
        """
        self.assertPendingReportedAtExit(ThreadedWriter)

    def test_pendingAfterDirectWritesAtExitSubclass(self) -> None:
        """
        So it is for a subclass overriding C{__call__}, which the registry
        calls behind a L{FeedbackGuard}: what the writer refused is
        reported once, as for the writer itself.
        """
        self.assertPendingReportedAtExit(_Overriding)
        [called] = _output._DESTINATIONS._destinations
        self.assertIs(type(getattr(called, "__self__", None)), FeedbackGuard)

    def assertPendingReportedAtExit(self, writerClass: type) -> None:
        """
        Check what L{test_pendingAfterDirectWritesAtExit} says, for a
        writer of C{writerClass}.
        """
        writer, chatty, _, _ = self.chattyWriter(createWorker=ImmediateWorker, alone=True,
                                                 writerClass=writerClass)
        writer.stopThreading()
        writer(numbered_message(0))
        self.assertEqual(writer.dropped, 1)
        _output._DESTINATIONS.finish()
        stderr = [orjson.loads(line) for line in self.stderr.getvalue().splitlines()]
        self.assertEqual(_dropped(chatty.received, FEEDBACK), [1])
        self.assertEqual(_dropped(stderr, FEEDBACK), [1])
        self.assertEqual(writer.dropped, 2)

    def test_guardedSubclassFeedbackOnce(self) -> None:
        """
        For such a subclass, what the destination logs while it writes a
        message sent through the registry is refused by the guard, and
        reported once: to the destination after the message, and, for what
        it logged while taking that report, at exit, to the destination
        once more, then on standard error; not again by the writer.
        """
        writer, chatty, _, _ = self.chattyWriter(createWorker=ImmediateWorker, alone=True,
                                                 writerClass=_Overriding)
        self.patch(sys, "stderr", self.stderr)
        writer.stopThreading()
        log_message("test:app")
        self.assertEqual(_dropped(chatty.received, FEEDBACK), [1])
        _output._DESTINATIONS.finish()
        stderr = [orjson.loads(line) for line in self.stderr.getvalue().splitlines()]
        self.assertEqual(_dropped(chatty.received, FEEDBACK), [1, 1])
        self.assertEqual(_dropped(stderr, FEEDBACK), [1])

    def test_guardedSubclassCounts(self) -> None:
        """
        What the guard of such a subclass refuses is counted in the
        writer's C{dropped}, as what the writer refuses itself is (and in
        the registry's, as no other destination got it).
        """
        writer, chatty, _, _ = self.chattyWriter(createWorker=ImmediateWorker, alone=True,
                                                 writerClass=_Overriding)
        self.patch(sys, "stderr", self.stderr)
        writer.stopThreading()
        registryDropped = _output._DESTINATIONS.dropped
        log_message("test:app")
        _output._DESTINATIONS.finish()
        stderr = [orjson.loads(line) for line in self.stderr.getvalue().splitlines()]
        reported = _dropped(chatty.received, FEEDBACK) + _dropped(stderr, FEEDBACK)
        self.assertEqual(reported, [1, 1, 1])
        self.assertEqual((writer.dropped, _output._DESTINATIONS.dropped - registryDropped),
                         (3, 3))

    def test_removedByDestinationWritingDirectly(self) -> None:
        """
        After C{stopThreading}, a destination that removes its own writer
        while it writes (on the thread that logs, holding the writer's
        lock) does not wait for itself: the report of what it logged
        before it removed the writer goes to standard error.
        """
        writer, chatty, _, _ = self.chattyWriter(createWorker=ImmediateWorker, alone=True)
        writer.stopThreading()
        log = chatty.log

        def logThenRemove(message: Dict[str, Any]) -> None:
            log(message)
            _output.remove_destination(writer)

        chatty.log = logThenRemove
        self.assertTrue(finishesInThread(lambda: writer(numbered_message(0))))
        stderr = [orjson.loads(line) for line in self.stderr.getvalue().splitlines()]
        self.assertEqual(_dropped(stderr, FEEDBACK), [1])
        self.assertEqual(writer.dropped, 1)

    def test_pendingAtForkWritten(self) -> None:
        """
        Before a fork, the forking thread writes the report of what the
        destination logged while it wrote, so that the parent's log is
        complete up to the fork even if the parent exits at once.
        """
        writer, chatty, _, performAll = self.chattyWriter()
        hooks = ForkHooks()
        hooks.add(writer)
        writer(numbered_message(0))
        performAll()
        hooks.before()
        hooks.afterInParent()
        self.assertEqual(_dropped(chatty.received, FEEDBACK), [1])


class IdleRefusalTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A message refused while the writer is idle, because it alone is larger
    than the queue's bound, is reported at once, not with the next message;
    one refused as a stop ends, by the stop (one refused by a stopped
    writer: see L{txcausal.test.test_exitreports}).
    """

    def idleWriter(self, destination: Any = None) -> Built:
        """
        @return: What L{started} does, for a writer whose queue holds 1000
            bytes, left idle.
        """
        writer, written, performAll = self.started(destination, maxBytes=1000)
        performAll()
        return writer, written, performAll

    def test_oversizedWhileIdleReported(self) -> None:
        """
        A message larger than the bound, logged while nothing is queued, is
        refused, and the report is written by the worker it wakes.
        """
        writer, written, performAll = self.idleWriter()
        writer(numbered_message(0, padding="x" * 2000))
        performAll()
        self.assertEqual(_dropped(written, _FULL), [1])
        self.assertEqual(writer.dropped, 1)

    def test_oversizedWhileIdleReportedToFile(self) -> None:
        """
        So it is for a L{FileDestination}, which takes batches of lines.
        """
        file = io.BytesIO()
        writer, _, performAll = self.idleWriter(FileDestination(file))
        writer(numbered_message(0, padding="x" * 2000))
        performAll()
        lines = [orjson.loads(line) for line in file.getvalue().splitlines()]
        self.assertEqual(_dropped(lines, _FULL), [1])

    def test_reportedWithinRound(self) -> None:
        """
        With C{linger}, while messages keep coming, the report of a message
        refused while nothing is queued is written after one round,
        C{linger} seconds, as a message queued then would be.
        """
        clock = Clock()
        sleeps: List[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            clock.advance(seconds)

        writer, written, performAll = self.started(maxBytes=1000, linger=0.005,
                                                   clock=clock.seconds, sleep=sleep)
        writer(numbered_message(0))
        performAll()
        writer(numbered_message(1, padding="x" * 2000))
        performAll()
        self.assertEqual(sleeps, [0.005])
        self.assertEqual([m.get("n") for m in written], [0, None])
        self.assertEqual(_dropped(written, _FULL), [1])

    def test_oneWakeForManyRefusals(self) -> None:
        """
        Refusals while the writer is idle wake its worker once, as the first
        message queued would: the others are reported with it.
        """
        writer, written, performAll = self.idleWriter()
        worker = writer._worker
        assert isinstance(worker, MemoryWorker)
        for n in range(3):
            writer(numbered_message(n, padding="x" * 2000))
        self.assertEqual(len(worker.pending), 1)
        performAll()
        self.assertEqual(_dropped(written, _FULL), [3])
        writer(numbered_message(9))
        performAll()
        self.assertEqual(written[-1]["n"], 9)

    def test_oneWakeForBurst(self) -> None:
        """
        A burst that fills the queue while the worker is busy adds one
        piece of work for it, whatever it refuses; every refusal is
        reported.
        """
        writer, written, performAll = self.started(maxMessages=10)
        performAll()
        worker = writer._worker
        assert isinstance(worker, MemoryWorker)
        for n in range(100):
            writer(numbered_message(n))
        self.assertEqual(len(worker.pending), 1)
        performAll()
        self.assertEqual(_dropped(written, _FULL), [90])

    def test_refusedAsStopEndsReported(self) -> None:
        """
        A message refused while the stop lets its worker go, after its last
        drain, woke that worker, which no longer writes: the stop reports
        it before its L{Deferred} fires.
        """
        writer, written, performAll = self.idleWriter()
        drain = writer._drain

        def drainThenRefused() -> None:
            drain()
            if writer.dropped == 0:
                writer(numbered_message(9))

        self.patch(writer, "_drain", drainThenRefused)
        stopped = writer.stopService()
        performAll()
        self.successResultOf(stopped)
        self.assertEqual(_dropped(written, _STOPPED), [1])


class GivingUpTests(WriterHarness, SynchronousTestCase):
    """
    A stop that gives up on a destination making no progress reports the
    refusals not yet reported with the messages it gives up on.
    """

    def test_refusalsCountedInReport(self) -> None:
        """
        Refusals because the queue was full, not yet reported when the stop
        gives up, are counted in its report on standard error.
        """
        stderr = io.StringIO()
        writer, written, _ = self.started(maxMessages=1, exitTimeout=5)
        writer._standardError = stderr
        for n in range(3):
            writer(numbered_message(n))
        stopped = writer.stopService()
        reactor = writer._reactor
        assert isinstance(reactor, ImmediateReactor)
        reactor.advance(6)
        self.successResultOf(stopped)
        [report] = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual((written, report["count"], writer.dropped), ([], 3, 3))

    def stuckAtExit(self, logs: bool = False) -> Tuple[ThreadedWriter, io.StringIO]:
        """
        @return: A writer whose first write is stuck until C{stopThreading}
            (as at exit) gave up on it: the destination itself calls it (the
            memory worker runs on this thread, as the stuck write's thread
            would go on), then logs into the writer if C{logs}; and the
            writer's standard error.  It took, with that write, the refusal
            of a message the full queue refused.
        """
        stderr = io.StringIO()
        holder: List[ThreadedWriter] = []

        def stuck(message: Dict[str, Any]) -> None:
            writer = holder[0]
            if writer.running:
                writer.stopThreading()
                if logs:
                    writer({"message_type": "test:feedback"})

        writer, _, performAll = self.started(stuck, maxMessages=1, exitTimeout=0.001)
        holder.append(writer)
        writer._standardError = stderr
        writer(numbered_message(0))
        writer(numbered_message(1))
        performAll()
        return writer, stderr

    def test_refusalsTakenByStuckWriteReported(self) -> None:
        """
        The refusals a write took (to report them once it is done) are
        counted in the report of a give-up at exit while it is stuck: the
        write, begun before, does not report them when it returns.
        """
        writer, stderr = self.stuckAtExit()
        isolate_exit_reports(self).run()
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(writer.dropped, 2)
        self.assertEqual(sum(report["count"] for report in reports), 2)

    def test_feedbackOnStuckThreadReported(self) -> None:
        """
        What the destination logs on the thread of a write given up on at
        exit, refused and counted, is reported by the exit reports: no
        later write of that thread will.
        """
        writer, stderr = self.stuckAtExit(logs=True)
        isolate_exit_reports(self).run()
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(writer.dropped, 3)
        self.assertEqual(_dropped(reports, FEEDBACK), [1])
        self.assertEqual(sum(report["count"] for report in reports), 3)
