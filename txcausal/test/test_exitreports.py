"""
Tests for L{txcausal._exitreports}: what a stopped
L{txcausal.logwriter.ThreadedWriter} refused is reported at its next start
or, if none comes, at exit, by one exit handler over the writers waiting,
which takes nothing from a running writer and holds none alive.
"""

from __future__ import annotations

import gc
import io
import linecache
import sys
import threading
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import _exitreports, _failure_reports, _writerexit, logwriter
from txcausal._exitreports import ExitReports
from txcausal._queue import BoundedQueue
from txcausal._writer import Stop
from txcausal.logwriter import ThreadedWriter

from ._helpers import IsolatedOutputMixin, run_python
from ._writer_harness import Built, WriterHarness, isolate_exit_reports, numbered_message
from .test_logwriter_reports import _dropped

#: Why a stopped writer refused a message.
_STOPPED = "logged while the ThreadedWriter was stopped"


class StoppedWriterTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A message refused by a stopped writer is reported at its next start, or
    else at exit.
    """

    def idleWriter(self) -> Built:
        """
        @return: What L{started} does, for a writer left idle.
        """
        writer, written, performAll = self.started()
        performAll()
        return writer, written, performAll

    def clockedExitReports(self) -> Tuple[_Clock, ExitReports]:
        """
        @return: A clock that moves only as the stops wait, and the exit
            reports, measuring their deadline with it, for this test.
        """
        clock = _Clock()
        exitReports = self._isolatedExitReports = ExitReports(clock=clock)
        self.patch(_exitreports, "EXIT_REPORTS", exitReports)
        return clock, exitReports

    def stuckStop(self, n: int, done: "_ClockedEvent") -> ThreadedWriter:
        """
        @return: A writer whose C{exitTimeout} is 5 s, stopped with message
            C{n} queued, its stop's event C{done}, its standard error a
            L{io.StringIO}.
        """
        writer, _, _ = self.started(exitTimeout=5)
        writer._standardError = io.StringIO()
        writer(numbered_message(n))
        writer.stopService()
        assert writer._stopping is not None
        writer._stopping.done = done  # type: ignore[assignment]
        return writer

    def refusingAfterExitReports(self, count: int) -> Tuple[
            ThreadedWriter, List[Dict[str, Any]], io.StringIO, ExitReports]:
        """
        @return: A writer stopped and idle, its destination's list, its
            standard error, and the exit reports, which ran before it
            refused C{count} messages.
        """
        writer, written, performAll = self.idleWriter()
        writer._standardError = stderr = io.StringIO()
        writer.stopService()
        performAll()
        exitReports = isolate_exit_reports(self)
        exitReports.run()
        for n in range(count):
            writer(numbered_message(n))
        return writer, written, stderr, exitReports

    def test_refusedAfterStopReportedAtExit(self) -> None:
        """
        A message refused because the writer is stopped (a thread still
        holding it logged) wakes nothing: its report waits for the next
        start or, if none comes, for the process's exit, when it goes
        through the other destinations.
        """
        others = self.collect()
        writer, written, performAll = self.idleWriter()
        writer.stopService()
        performAll()
        writer(numbered_message(0))
        writer(numbered_message(1))
        self.assertIsNone(writer._worker)
        self.assertEqual(writer.dropped, 2)
        self.assertEqual(_dropped(others, _STOPPED), [])
        isolate_exit_reports(self).run()
        self.assertEqual(_dropped(others, _STOPPED), [2])
        self.assertEqual(_dropped(written, _STOPPED), [])

    def test_refusedAfterStopReportedAtStart(self) -> None:
        """
        When the writer is started again, that report is written by the
        start instead, to its destination, and not at exit.
        """
        writer, written, performAll = self.idleWriter()
        writer.stopService()
        performAll()
        writer(numbered_message(0))
        self.assertEqual(isolate_exit_reports(self).waiting(), [writer])
        writer.startService()
        performAll()
        self.assertEqual(_dropped(written, _STOPPED), [1])
        writer.stopService()
        performAll()
        self.assertEqual(isolate_exit_reports(self).waiting(), [])

    def test_startRacingRefusal(self) -> None:
        """
        A stopped writer refusing a message registers for the exit under
        the lock a start takes: a start by another thread as the refusal
        registers (standing in for it: run at once if that lock is free,
        otherwise as soon as it is released) either goes first, so the
        writer is not stopped and does not register, or goes after, and
        unregisters it.  Either way, the writer is not left waiting for the
        exit, and the start reports the refusal.
        """
        writer, written, performAll = self.writer()
        exitReports = isolate_exit_reports(self)
        add = exitReports.add
        blocked: List[Callable[[], None]] = []

        def addRacingStart(*args: Any) -> None:
            self.patch(exitReports, "add", add)
            if writer._startLock.acquire(blocking=False):
                writer._startLock.release()
                writer.startService()
            else:
                blocked.append(writer.startService)
            add(*args)

        self.patch(exitReports, "add", addRacingStart)
        writer(numbered_message(0))
        for start in blocked:
            start()
        self.addCleanup(lambda: (writer.stopService(), performAll()))
        self.assertEqual((writer.running, exitReports.waiting()), (1, []))
        performAll()
        self.assertEqual(_dropped(written, _STOPPED), [1])

    def test_exitReportsLeaveRunningWriter(self) -> None:
        """
        The exit reports take nothing from a writer that runs (as one that
        raced a start would, or one whose stop waits for its worker): its
        worker writes what is queued and reports what it refused.
        """
        others = self.collect()
        writer, written, performAll = self.writer()
        writer(numbered_message(0))
        writer.startService()

        def stop() -> None:
            # With the exit reports run, a stop would be finished at once,
            # before this test runs the worker: they stand for the exit.
            self.patch(_exitreports, "EXIT_REPORTS", ExitReports())
            writer.stopService()
            performAll()

        self.addCleanup(stop)
        for n in range(1, 4):
            writer(numbered_message(n))
        exitReports = isolate_exit_reports(self)
        exitReports.add(writer)
        exitReports.run()
        performAll()
        self.assertEqual([m.get("n") for m in written], [1, 2, 3, None])
        self.assertEqual(_dropped(written, _STOPPED), [1])
        self.assertEqual((others, writer.dropped), ([], 1))

    def test_stopInProgressGivenUpAtExit(self) -> None:
        """
        A writer whose stop is still in progress at exit (C{stopService}
        was called, and its L{Deferred} not waited for) is waited for up to
        C{exitTimeout} seconds; a worker that has not finished by then is
        given up on: what is queued, and what was refused meanwhile, is
        counted and reported, on standard error and through the other
        destinations.
        """
        others = self.collect()
        writer, written, _ = self.started(exitTimeout=0.001)
        writer._standardError = stderr = io.StringIO()
        for n in range(3):
            writer(numbered_message(n))
        writer.stopService()
        writer(numbered_message(3))
        isolate_exit_reports(self).run()
        self.assertEqual(written, [])
        self.assertEqual(writer.dropped, 4)
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(sum(report["count"] for report in reports), 4)
        self.assertEqual([report["count"] for report in _droppedReports(others)], [4])

    def test_oneDeadlineForTheExit(self) -> None:
        """
        At exit, the writers whose stops are in progress share one deadline,
        C{exitTimeout} seconds from the start of the exit reports: three
        stuck writers make the exit wait C{exitTimeout} seconds in all, not
        three times that, and each is given up on.
        """
        clock, exitReports = self.clockedExitReports()
        writers = [self.stuckStop(n, _ClockedEvent(clock)) for n in range(3)]
        exitReports.run()
        self.assertEqual((sorted(clock.waits), clock.now), ([0.0, 0.0, 5.0], 5.0))
        self.assertEqual([len(_reportsOf(writer)) for writer in writers], [1, 1, 1])

    def test_interruptedExit(self) -> None:
        """
        A C{KeyboardInterrupt} (Control-C) while the exit reports wait for a
        stop gives up that wait and the remaining ones, yet every writer
        still gives up on what it did not write and reports it, with what it
        refused, before the interrupt is raised again.
        """
        clock, exitReports = self.clockedExitReports()
        writers = [self.stuckStop(n, _InterruptedEvent(clock)) for n in range(3)]
        for writer in writers:
            writer(numbered_message(10))  # Refused: stopped.
        self.assertRaises(KeyboardInterrupt, exitReports.run)
        self.assertEqual(clock.waits, [5.0, 0.0, 0.0, 0.0])
        for writer in writers:
            counts = [report["count"] for report in _reportsOf(writer)]
            self.assertEqual((sum(counts), writer.dropped), (2, 2))

    def test_secondInterrupt(self) -> None:
        """
        A second Control-C, while the exit reports report the writer whose
        wait the first one cut short, loses that writer's report only: the
        others still report what they did not write, and the first
        interrupt is the one raised again.
        """
        clock, exitReports = self.clockedExitReports()
        raised: List[KeyboardInterrupt] = []
        writers = [self.stuckStop(n, _TwiceInterruptedEvent(clock, raised)) for n in range(3)]
        for writer in writers:
            writer(numbered_message(10))  # Refused: stopped.
        error = self.assertRaises(KeyboardInterrupt, exitReports.run)
        self.assertEqual(len(raised), 2)
        self.assertIs(error, raised[0])
        reported = [(sum(report["count"] for report in _reportsOf(writer)), writer.dropped)
                    for writer in writers]
        # The writers are reported in no set order: the first loses its report.
        self.assertEqual(sorted(reported)[1:], [(2, 2), (2, 2)])

    def assertGiveUpFinished(self, interrupt: Callable[[ThreadedWriter], object]) -> None:
        """
        Give up, at exit, on a stuck stop holding a message, another refused,
        with C{interrupt(writer)} making a C{KeyboardInterrupt} in the
        give-up: the exit reports' retry counts both, and reports them once.
        """
        clock, exitReports = self.clockedExitReports()
        writer = self.stuckStop(0, _ClockedEvent(clock))
        writer(numbered_message(10))  # Refused: stopped.
        interrupt(writer)
        self.assertRaises(KeyboardInterrupt, exitReports.run)
        counts = [report["count"] for report in _reportsOf(writer)]
        self.assertEqual((counts, writer.dropped), ([2], 2))

    def interruptedQueue(self, queueClass: Any) -> Callable[[ThreadedWriter], object]:
        """
        @return: What has C{queueClass}'s discard interrupt a writer's
            give-up, once.
        """
        self.patch(queueClass, "interrupted", [])
        return lambda writer: setattr(writer._queue, "__class__", queueClass)

    def test_interruptedGiveUp(self) -> None:
        """
        A Control-C inside the give-up, once it marked the stop given up on
        but before it forgot what was queued, does not keep the retry of the
        exit reports from giving up: what was queued, and what was refused,
        is still counted and reported, once.
        """
        self.assertGiveUpFinished(self.interruptedQueue(_DiscardInterruptedOnce))

    def test_interruptedAsDiscardReturns(self) -> None:
        """
        So for a Control-C as the discard returns, once it forgot what was
        queued (a signal delivered as it releases the queue's lock).
        """
        self.assertGiveUpFinished(self.interruptedQueue(_InterruptedAsDiscardReturns))

    def test_interruptedWritingGiveUpReport(self) -> None:
        """
        So for a Control-C while the give-up's report is written on standard
        error (a stuck pipe, say): the retry writes the report, counting
        nothing twice.
        """
        self.assertGiveUpFinished(
            lambda writer: self.patch(_writerexit, "_last_resort", lastResortInterruptedOnce()))

    def test_retryAfterWriteReturned(self) -> None:
        """
        The retry of a give-up cut short is not skipped when the stuck
        write returned in between, and the stop's last step ran: what the
        give-up forgot is still counted, and reported.
        """
        clock, exitReports = self.clockedExitReports()
        writer = self.stuckStop(0, _DoneAfterFirstWait(clock))
        writer(numbered_message(10))
        self.interruptedQueue(_InterruptedAsDiscardReturns)(writer)
        self.assertRaises(KeyboardInterrupt, exitReports.run)
        self.assertEqual(([report["count"] for report in _reportsOf(writer)], writer.dropped),
                         ([2], 2))

    def test_stopAfterExitReportsRan(self) -> None:
        """
        A stop made after the exit reports ran (by a later exit handler),
        which no other exit handler will finish, is finished at once: a
        worker that has not written what is queued within C{exitTimeout}
        seconds is given up on, and what it did not write is reported on
        standard error.
        """
        writer, written, _ = self.started(exitTimeout=0.001)
        writer._standardError = stderr = io.StringIO()
        writer(numbered_message(0))
        isolate_exit_reports(self).run()
        writer.stopService()
        self.assertEqual((written, writer.dropped), ([], 1))
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual([report["count"] for report in reports], [1])

    def test_stopAfterExitReportsWaitsItsOwnTimeout(self) -> None:
        """
        A stop begun after the exit reports ran (by a later exit handler) is
        not held to their deadline, which stuck writers may have used up:
        its C{stopService()} waits up to the writer's own C{exitTimeout}, so
        that a destination that works writes what it was given.
        """
        clock, exitReports = self.clockedExitReports()
        self.stuckStop(0, _ClockedEvent(clock))
        exitReports.run()
        writer, written, performAll = self.started(exitTimeout=3)
        writer(numbered_message(1))

        def stop(direct: bool = False) -> Stop:
            made = Stop(direct)
            made.done = _WorkingEvent(clock, performAll)
            return made

        self.patch(logwriter, "Stop", stop)
        writer.stopService()
        self.assertEqual(clock.waits, [5.0, 3.0])
        self.assertEqual(([m.get("n") for m in written], writer.dropped), ([1], 0))

    def test_refusedAfterExitReportsRan(self) -> None:
        """
        After the exit reports ran, when no other exit handler will report
        them, the first message refused is reported at once on standard
        error; the later ones are counted, and reported in one line at the
        process's very end (L{ExitReports.reportLate}, which the exit
        reports call as they are collected).
        """
        writer, written, stderr, exitReports = self.refusingAfterExitReports(1000)
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(_dropped(reports, _STOPPED), [1])
        exitReports.reportLate()
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(_dropped(reports, _STOPPED), [1, 999])
        self.assertEqual((_dropped(written, _STOPPED), writer.dropped), ([], 1000))
        exitReports.reportLate()
        self.assertEqual(len(stderr.getvalue().splitlines()), 2)

    def test_reportLateWithLocksHeld(self) -> None:
        """
        The report at the process's very end waits for no lock: a daemon
        thread frozen by the interpreter's teardown as it logged may hold
        the writer's queue's lock, or the exit reports' own, for ever.
        The counts are then read without the lock, and said to be at least
        that many (a frozen thread may have been one short of counting).
        """
        writer, written, stderr, exitReports = self.refusingAfterExitReports(1000)
        (tally,) = exitReports._late.values()
        writer._queue._lock = exitReports._lock = tally._lock = _HeldLock()  # type: ignore[assignment]
        exitReports.reportLate()
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(_dropped(reports, _STOPPED), [1, 999])
        self.assertEqual([report.get("count_at_least") for report in reports], [None, True])

    def test_refusedLateWithoutStandardError(self) -> None:
        """
        With no standard error (C{sys.stderr} is C{None}: pythonw, or a
        daemon started with its standard error closed), a message refused
        after the exit reports ran raises nothing into the program that
        logs it: it is counted, and its report written nowhere.
        """
        writer, _, _, exitReports = self.refusingAfterExitReports(0)
        writer._standardError = None
        self.patch(sys, "stderr", None)
        writer(numbered_message(0))
        writer(numbered_message(1))
        exitReports.reportLate()
        self.assertEqual(writer.dropped, 2)

    def test_discardedWriterNotKept(self) -> None:
        """
        A writer waiting for the exit to report its refusals is not kept
        alive by that: once discarded, it is forgotten.
        """
        writer, _, _ = self.writer()
        writer(numbered_message(0))
        exitReports = isolate_exit_reports(self)
        self.assertEqual(exitReports.waiting(), [writer])
        del writer
        gc.collect()
        self.assertEqual(exitReports.waiting(), [])

    def test_discardedWriterReported(self) -> None:
        """
        A writer discarded while its refusals wait for the exit has them
        reported as it is collected, on its standard error: nothing refers
        to it any more to report them at exit.
        """
        writer, _, _ = self.writer()
        writer._standardError = stderr = io.StringIO()
        writer(numbered_message(0))
        writer(numbered_message(1))
        exitReports = isolate_exit_reports(self)
        del writer
        gc.collect()
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(_dropped(reports, _STOPPED), [2])
        exitReports.run()
        self.assertEqual(len(stderr.getvalue().splitlines()), 1)


def _droppedReports(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """
    @return: The C{txcausal:messages_dropped} reports among C{messages}.
    """
    return [message for message in messages
            if message.get("message_type") == "txcausal:messages_dropped"]


def _reportsOf(writer: ThreadedWriter) -> List[Dict[str, Any]]:
    """
    @return: What C{writer} reported on its standard error, a
        L{io.StringIO}.
    """
    stream = writer._standardError
    assert isinstance(stream, io.StringIO)
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def lastResortInterruptedOnce() -> Callable[..., None]:
    """
    @return: A stand-in for L{_failure_reports._last_resort} whose first call is cut
        short by a C{KeyboardInterrupt} (a Control-C while a report is
        written on a stuck standard error), and whose next calls write.
    """
    calls: List[bool] = []

    def interruptedOnce(report: Dict[str, Any], stream: Optional[IO[str]] = None) -> None:
        if not calls:
            calls.append(True)
            raise KeyboardInterrupt()
        _failure_reports._last_resort(report, stream)

    return interruptedOnce


class _Clock:
    """
    A clock that moves only as L{_ClockedEvent}s wait.

    @ivar waits: How long each wait was for.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: List[float] = []

    def __call__(self) -> float:
        return self.now


class _ClockedEvent:
    """
    An event never set: waiting for it moves a L{_Clock} on by the wait.
    """

    def __init__(self, clock: _Clock) -> None:
        self._clock = clock

    def wait(self, timeout: float) -> bool:
        self._clock.waits.append(timeout)
        self._clock.now += timeout
        return False

    def is_set(self) -> bool:
        return False


class _DoneAfterFirstWait(_ClockedEvent):
    """
    A L{_ClockedEvent} set once it was waited for once: the stuck write
    returned meanwhile, and the stop's last step ran.
    """

    def __init__(self, clock: _Clock) -> None:
        _ClockedEvent.__init__(self, clock)
        self.waited = False

    def wait(self, timeout: float) -> bool:
        if self.waited:
            return True
        self.waited = True
        return _ClockedEvent.wait(self, timeout)

    def is_set(self) -> bool:
        return self.waited


class _InterruptedEvent(_ClockedEvent):
    """
    A L{_ClockedEvent} whose waits for some time are cut short by a
    C{KeyboardInterrupt}.
    """

    def wait(self, timeout: float) -> bool:
        _ClockedEvent.wait(self, timeout)
        if timeout:
            raise KeyboardInterrupt()
        return False


class _TwiceInterruptedEvent(_ClockedEvent):
    """
    A L{_ClockedEvent} among others sharing C{raised}: the first two waits
    of any of them, however short, are cut by a C{KeyboardInterrupt} each.
    """

    def __init__(self, clock: _Clock, raised: List[KeyboardInterrupt]) -> None:
        _ClockedEvent.__init__(self, clock)
        self.raised = raised

    def wait(self, timeout: float) -> bool:
        _ClockedEvent.wait(self, timeout)
        if len(self.raised) < 2:
            self.raised.append(KeyboardInterrupt())
            raise self.raised[-1]
        return False


class _DiscardInterruptedOnce(BoundedQueue):
    """
    A queue whose first L{discard} is cut short by a C{KeyboardInterrupt}
    before it does anything.
    """

    __slots__ = ()
    interrupted: List[bool] = []

    def discard(self, record: Any) -> None:
        if not self.interrupted:
            self.interrupted.append(True)
            raise KeyboardInterrupt()
        BoundedQueue.discard(self, record)


class _InterruptedAsDiscardReturns(BoundedQueue):
    """
    A queue whose first L{discard} is cut short by a C{KeyboardInterrupt}
    as it returns, once it forgot what was queued.
    """

    __slots__ = ()
    interrupted: List[bool] = []

    def discard(self, record: Any) -> None:
        BoundedQueue.discard(self, record)
        if not self.interrupted:
            self.interrupted.append(True)
            raise KeyboardInterrupt()


class _WorkingEvent(threading.Event):
    """
    A stop's event, whose wait records its timeout on a L{_Clock} then, if
    given some time, lets the worker C{perform} what it was given.
    """

    def __init__(self, clock: _Clock, perform: Callable[[], object]) -> None:
        threading.Event.__init__(self)
        self._clock = clock
        self._perform = perform

    def wait(self, timeout: Optional[float] = None) -> bool:
        self._clock.waits.append(timeout or 0.0)
        if timeout:
            self._perform()
        return self.is_set()


class _HeldLock:
    """
    A lock held by a thread frozen for ever: waiting for it fails the test
    rather than hang it.
    """

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if blocking:
            raise AssertionError("waited for a lock held for ever")
        return False

    def locked(self) -> bool:
        return True

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        raise AssertionError("released a lock not taken")


class _Stub:
    """
    Stands in for a writer: records its reports.
    """

    def __init__(self) -> None:
        self.reported: List[bool] = []

    def _reportStopped(self, late: bool = False, left: Callable[[float], float] = float) -> None:
        self.reported.append(late)


class _Raising:
    """
    Stands in for a writer whose report raises.
    """

    def _reportStopped(self, late: bool = False, left: Callable[[float], float] = float) -> None:
        raise ZeroDivisionError("the report")


class LateRefusalsTests(SynchronousTestCase):
    """
    L{txcausal._laterefusals.LateRefusals}.
    """

    def test_countsOfOneReasonAdded(self) -> None:
        """
        Refusals of one reason counted both in the queue and outside it are
        reported in one line with their sum, none forgotten.
        """
        from txcausal._laterefusals import LateRefusals
        from txcausal._losses import STOPPED
        from txcausal._queue import BoundedQueue

        queue = BoundedQueue(None, 1000)
        stream = io.StringIO()
        late = LateRefusals(queue, "file", stream)
        for puts, report in [(2, late.report), (1, late.reportAtEnd)]:
            for _ in range(puts):
                queue.put(b"{}\n")  # Closed: refused, counted in the queue.
            late.count(STOPPED)
            report()
        reports = [orjson.loads(line) for line in stream.getvalue().splitlines()]
        self.assertEqual([(r["reason"], r["count"]) for r in reports],
                         [(STOPPED, 3), (STOPPED, 2)])


class ExitReportsTests(SynchronousTestCase):
    """
    L{ExitReports} itself.
    """

    def test_runOnce(self) -> None:
        """
        At exit, each writer waiting reports, once; one added later reports
        at once, late; one discarded does not.
        """
        reports = ExitReports()
        first, second, discarded = _Stub(), _Stub(), _Stub()
        reports.add(first)
        reports.add(discarded)
        reports.discard(discarded)
        reports.run()
        reports.add(second)
        reports.run()
        self.assertEqual((first.reported, second.reported, discarded.reported),
                         ([False], [True], []))

    def test_lateReportRaisesNothing(self) -> None:
        """
        A writer added after the exit reports ran reports at once; should
        that report raise, it is reported on standard error, not raised
        into the program that logged.
        """
        reports = ExitReports()
        reports.run()
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        reports.add(_Raising())
        (report,) = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual((report["message_type"], report["exception"]),
                         ("eliot:traceback", "builtins.ZeroDivisionError"))

    def test_runReportsEachWriter(self) -> None:
        """
        At exit, a writer whose report raises keeps none of the others from
        reporting: its failure is reported on standard error.
        """
        reports = ExitReports()
        stubs = [_Stub(), _Stub()]
        raising = _Raising()
        for writer in [stubs[0], raising, stubs[1]]:
            reports.add(writer)  # type: ignore[arg-type]
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        reports.run()
        self.assertEqual([stub.reported for stub in stubs], [[False], [False]])
        (report,) = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(report["exception"], "builtins.ZeroDivisionError")

    def test_failedReportReadsNoSource(self) -> None:
        """
        The traceback of a report that raised is formatted without reading
        or checking any source file (the interpreter may be tearing down):
        each frame gives its file, line and function, never its source line.
        """
        looked: List[Any] = []

        def spy(result: object) -> Callable[..., object]:
            def look(*args: object, **kwargs: object) -> object:
                looked.append(args[:1])
                return result
            return look

        for name, result in [("getline", ""), ("getlines", []), ("checkcache", None),
                             ("updatecache", []), ("lazycache", False)]:
            self.patch(linecache, name, spy(result))
        reports, raising = ExitReports(), _Raising()
        reports.add(raising)
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        reports.run()
        (report,) = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(looked, [])
        self.assertIn(", in _reportStopped\n", report["traceback"])
        self.assertTrue(report["traceback"].endswith("ZeroDivisionError: the report\n"),
                        report["traceback"])

    def test_afterForkInChild(self) -> None:
        """
        In a forked child, the lock a thread of the parent held is not held,
        and no writer waits (the parent reports its writers' refusals).
        """
        reports = ExitReports()
        reports.add(_Stub())
        # Held by a thread of the parent (gone in the child).
        held = threading.RLock()
        taker = threading.Thread(target=held.acquire)
        taker.start()
        taker.join()
        reports._lock = held
        reports.afterForkInChild()
        self.assertEqual(reports.waiting(), [])
        stub = _Stub()
        reports.add(stub)
        self.assertEqual(reports.waiting(), [stub])


#: A program whose writer, never started, refuses a message, then 1,000
#: in an exit handler that runs after the exit reports.
_REFUSING = """
import atexit
later = []
atexit.register(lambda: [later[0]({"message_type": "test:late"}) for _ in range(1000)])

from txcausal.logwriter import ThreadedWriter

writer = ThreadedWriter(lambda message: None)
later.append(writer)
writer({"message_type": "test:refused"})
"""


class ExitReportsProcessTests(SynchronousTestCase):
    """
    In a real process, the exit reports run at exit.
    """

    def test_reportedAtExit(self) -> None:
        """
        A message refused by a writer never started is reported at exit,
        on standard error when there is no destination; of the 1,000
        refused after the exit reports ran, the first at once, the others
        in one line as the process ends.
        """
        result = run_python(["-c", _REFUSING])
        self.assertEqual(result.returncode, 0, result.stderr)
        reports = [orjson.loads(line) for line in result.stderr.splitlines()]
        self.assertEqual(_dropped(reports, _STOPPED), [1, 1, 999])
