# -*- test-case-name: txcausal.test.test_exitreports,txcausal.test.test_exitaccounting,txcausal.test.test_exitedges,txcausal.test.test_logwriter_stop,txcausal.test.test_logwriter_reports -*-  # noqa: E501
"""
L{WriterExit}: how a L{txcausal.logwriter.ThreadedWriter}'s run ends: the
last writes of a stop and, when it cannot end well, giving up on a
destination that makes no progress (counting and reporting what is lost),
refusing what comes after a give-up at exit, finishing at exit a stop nobody
waited for, the exit reports of its refusals (see L{txcausal._exitreports}),
and the last report of what its destination logged after C{stopThreading}.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import IO, Any, Callable, List, Optional, Tuple, Type

from orjson import loads

from . import _exitreports, _output
from ._exitreports import write_now
from ._failure_reports import _last_resort
from ._feedback import FEEDBACK
from ._losses import Losses, Report
from ._queue import BoundedQueue
from ._teardown import take_lock
from ._wire import TASK_UUID_FIELD, dropped_message
from ._writer import Stop
from ._writercore import WriterCore

#: Why a message logged after the writer gave up at exit is refused.
GAVE_UP = "logged after the ThreadedWriter gave up on its destination at exit"


def _noTimeLeft(timeout: float) -> float:
    """
    For a stop finished at once: none of C{timeout} is left.
    """
    return 0.0


class WriterExit(WriterCore):
    """
    The ends of a writer's runs, for L{txcausal.logwriter.ThreadedWriter}
    (which sets the attributes declared here).

    @ivar running: Whether the service runs (C{Service.running}).
    """

    running: int
    #: How long a stop waits for a destination that makes no progress.
    _exitTimeout: float
    #: The last C{stopService}'s stop, for the exit to finish.
    _stopping: Optional[Stop]
    #: The tasks of the reports the stopped writer sends (see L{_report}).
    _ownReports: Optional[List[str]] = None

    @property
    def _standardError(self) -> Optional[IO[str]]:
        """
        Where reports no other destination can take go (see
        L{txcausal._losses.Losses.standardError}): under twistd --logger,
        whose C{sys.stderr} feeds this writer's log, the one from before.
        """
        return self._losses.standardError

    @_standardError.setter
    def _standardError(self, stream: Optional[IO[str]]) -> None:
        self._losses.standardError = stream

    def _reportStopped(self, late: bool = False,
                       left: Callable[[float], float] = float) -> None:
        """
        At exit (see L{txcausal._exitreports}), or for a stop after the
        exit reports ran.  First finish a stop still in progress (a
        C{stopService} whose C{Deferred} nobody waited for), as
        C{stopThreading} does: wait up to C{exitTimeout} seconds for the
        worker to write what is queued, then give up on it, counting and
        reporting what it did not write.  Then, unless the writer has a
        worker, which reports them, report the refusals not reported yet
        (never what is queued): through the other destinations (see
        L{txcausal._output._report_lost}); on standard error after giving
        up (the writer, among them, would refuse the report); when C{late}
        (after the exit handler ran), as L{txcausal._laterefusals.LateRefusals}
        says.  C{left} says how much of C{exitTimeout} is left of the exit
        reports' deadline (see L{txcausal._exitreports.ExitReports.run}).
        A C{stopThreading} cut short (a Control-C) once the queue was
        written, before it switched to direct writes, is switched now.
        """
        stop = self._stopping
        if (stop is not None and stop.direct and not stop.gaveUp and stop.done.is_set()
                and self._bypass is None):
            # stopThreading cut short once the queue was written: switch.
            self._switchToDirect()
        # A give-up begun (by stopThreading, or cut short) is finished at
        # once, even if the stuck write returned since: what it forgot is
        # counted and reported only by its end.
        if (stop is not None and not stop.reported and not self.running
                and (stop.gaveUp or not stop.done.wait(left(self._exitTimeout)))):
            self._giveUp(stop, f"not written within the exit timeout of {self._exitTimeout:g} s"
                               + ("" if stop.direct else " of a stop not waited for"),
                         toOthers=not (late or stop.direct))
        if self._threaded():
            return
        if late:
            tally, first = _exitreports.EXIT_REPORTS.late(
                self._queue, self._losses.name(), self._standardError)
            if first:
                tally.report(quiet=True)
            return
        toOthers = self._bypass in (None, self._writeDirect)
        send: Callable[..., None] = (
            partial(_output._report_lost, self) if toOthers else _last_resort)
        for report in self._losses.stoppedReports(*self._queue.takeRefusals()):
            send(report, self._standardError)

    def _stopCutShort(self, stop: Stop, written: bool, interrupted: bool) -> None:
        """
        For C{stopThreading}, which did not switch to direct writes: unless
        the queue was C{written}, the writer gave up on the destination or
        is to (the exit reports finish it, at once); if it was, only the
        switch is left, which they finish too (nothing was given up on).
        When C{interrupted} (a Control-C) after the exit reports ran, no
        exit handler is left to finish it: it is finished now, at once
        (a second Control-C loses only that).
        """
        if not written:
            stop.gaveUp = True
            self._bypass = self._refuseAfterGivingUp
        elif not _exitreports.EXIT_REPORTS.ran:
            # The worker's last step let the writer go from them.
            _exitreports.EXIT_REPORTS.add(self)
        if interrupted and _exitreports.EXIT_REPORTS.ran:
            try:
                _exitreports._report(self, late=True, left=_noTimeLeft)
            except KeyboardInterrupt:
                pass

    def _afterForkInChild(self) -> None:
        """
        In a forked child, also forget the parent's stop in progress, if
        any: nothing in the child will finish it, so its exit must not wait
        for it (the writer stays stopped, and reports what it refuses).
        """
        super()._afterForkInChild()
        self._stopping = None

    def _close(self, direct: bool = False) -> None:
        """
        After the last drain: write the report of what the destination
        logged while it wrote, finish the run's writes and send the reports
        (see L{txcausal._losses.Losses.close}, which also reports what the
        destination logged while it took that report, unless the writer
        goes on C{direct}: that is reported after its next message, as it is
        for every message written directly).
        """
        self._writing(partial(self._closeRun, direct))
        self._report()

    def _closeRun(self, direct: bool) -> None:
        """
        For L{_close}, holding the write lock: write the feedback report and
        finish the run's writes.
        """
        self._writeFeedback()
        self._losses.close("the destination raised, until the ThreadedWriter stopped",
                           0 if direct else self._queue.takeFeedback())

    def _report(self) -> None:
        """
        L{WriterCore._report}; but the writer stopped and still among the
        destinations (C{stopThreading}'s last writes, on the worker) would
        refuse its own reports, as if they were messages it lost: it lets
        each pass, known by its task (the other destinations, or standard
        error, take it), and refuses every other message that reaches it
        meanwhile (see L{_refuseOthers}).
        """
        if not self._losses.hasReports():
            return
        own = self._ownReports
        outer = own is None
        if outer:
            if self._bypass is not None or self._queue.accepting:
                return WriterCore._report(self)
            own = self._ownReports = []
            self._bypass = self._refuseOthers
        assert own is not None
        try:
            for report in self._losses.takeReports():
                own.append(report[TASK_UUID_FIELD])
                _output._report_lost(self, report, self._standardError)
        finally:
            if outer:
                self._ownReports = None
                if self._bypass == self._refuseOthers:
                    self._bypass = None

    def _refuseOthers(self, data: bytes) -> None:
        """
        While L{_report} sends the stopped writer's own reports: refuse (count,
        and report) a message that is not one of them, whatever the thread
        (one another destination logs as it takes a report, too).
        """
        own = self._ownReports
        if (own is None or loads(data).get(TASK_UUID_FIELD) not in own) and self._queue.put(data):
            self._wake()

    def _giveUp(self, stop: Stop, reason: str, toOthers: bool = True) -> None:
        """
        Stop waiting for a destination that makes no progress: forget what
        is queued, count it with the messages of the write in progress, and
        report them on standard error (and, C{toOthers}, through the other
        destinations), with the refusals not reported yet, and those that
        the write in progress reports, if it is a report; the report's
        C{unfinished_write} says how many of them were in the write that
        had not returned, which may yet finish.  The stuck worker is left
        to finish on its own; a restart makes another.  A give-up cut short
        (a C{KeyboardInterrupt}) is finished by the next, which does only
        the steps not done (see L{Stop}): what is lost is counted once, and
        reported unless the interrupt came after the report was written.
        """
        stop.gaveUp = True
        self._abandoned = self._writingThread
        with self._startLock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.quit()
        if stop.lost is None:
            self._queue.discard(stop)
        assert stop.lost is not None
        queued, inWrite, _ = stop.lost
        self._losses.giveUp(stop, queued + inWrite)
        if not stop.reported:
            self._reportGivenUp(stop, reason, toOthers)

    def _reportGivenUp(self, stop: Stop, reason: str, toOthers: bool) -> None:
        """
        Write the report of L{_giveUp}, then mark C{stop} reported.
        """
        assert stop.lost is not None and stop.unfinished is not None
        queued, inWrite, refusals = stop.lost
        # A report being written counts refusals counted already.
        inReport, writing = stop.unfinished
        total = queued + inWrite + refusals + inReport
        report = None
        if total:
            # The write that had not returned may yet finish: its messages
            # are counted, and said apart.
            report = dropped_message(total, reason, destination=self._losses.name(),
                                     unfinished_write=writing + inReport)
            _last_resort(report, self._standardError)
        stop.reported = True
        if report is not None and toOthers:
            _output._DEFAULT_LOGGER.write(report)

    def _writeDirectAtExit(
            self, data: bytes, _take: Callable[[Any], bool] = take_lock,
            _ident: Callable[[], int] = threading.get_ident,
            _refuse: Callable[[Losses, BoundedQueue, str], None] = _exitreports.refuse_torn_down,
            _reasons: Tuple[str, str] = (_exitreports.TORN_DOWN, _exitreports.UNWRITTEN),
            _Interrupt: Type[BaseException] = KeyboardInterrupt,
            _BaseException: Type[BaseException] = BaseException,
    ) -> None:
        """
        L{WriterCore._writeDirect} once the process is exiting: as the interpreter
        tears down, it waits for none of its locks (its own, the write
        lock, the queue's) that a frozen thread holds (see
        L{txcausal._teardown}): the message is then counted, and reported
        (see L{txcausal._exitreports.refuse_torn_down}).  Deep in the
        teardown the modules' globals and the builtins may be gone: what it
        uses is bound here, and a write that fails for that is counted and
        reported so too, unless the write counted it already (its
        destination raised), or wrote it (a report failed after it);
        nothing is raised but a C{KeyboardInterrupt}.
        """
        losses = self._losses
        lost = losses.lost
        # How far the write got: 1, begun (the locks taken); 2, returned
        # (the message written, or counted by the write as lost).
        step = [0]
        taken = True
        try:
            taken = self._writeLocked(data, _take, _ident, step)
        except _Interrupt:
            raise
        except _BaseException:
            pass
        if step[0] == 2:
            self._reportAtExit()
            return
        if step[0] == 0 or losses.lost == lost:
            losses.countTornDown()
        try:
            _refuse(losses, self._queue, _reasons[0] if not taken else _reasons[1])
        except _Interrupt:
            raise
        except _BaseException:
            pass

    def _writeLocked(self, data: bytes, _take: Callable[[Any], bool],
                     _ident: Callable[[], int], step: List[int]) -> bool:
        """
        For L{_writeDirectAtExit}: write C{data} holding the writer's locks,
        taken with C{_take}, marking in C{step} how far it got.

        @return: Whether the locks were taken: if not, a frozen thread holds
            one.
        """
        directLock, forkLock = self._directLock, self._forkLock
        taken = False
        if _take(directLock):
            try:
                if _take(forkLock):
                    self._writingThread = _ident()
                    try:
                        taken = self._writeWithFeedback(data, step)
                    finally:
                        self._writingThread = None
                        forkLock.release()
            finally:
                directLock.release()
        return taken

    def _writeWithFeedback(self, data: bytes, step: List[int]) -> bool:
        """
        For L{_writeDirectAtExit}, holding the writer's locks: take what the
        destination logged while it wrote, write C{data}, then report that.

        @return: Whether the queue's lock was taken: if not, nothing was.
        """
        feedback = self._queue.takeFeedbackAtExit()
        if feedback is None:
            return False
        step[0] = 1
        self._losses.write(data, 1, interruptible=True)
        step[0] = 2
        self._losses.refused(feedback, FEEDBACK)
        return True

    def _reportAtExit(
            self, _out: Any = _output, _now: Callable[[Losses, Report], None] = write_now,
            _Interrupt: Type[BaseException] = KeyboardInterrupt,
            _BaseException: Type[BaseException] = BaseException) -> None:
        """
        For L{_writeDirectAtExit}: send the reports owed, as L{_report}
        does.  Deep in the teardown, should that fail (the modules' globals
        gone), those not sent yet are written on standard error at once
        (see L{txcausal._exitreports.write_now}), and so before a
        C{KeyboardInterrupt} is raised again (the one it was raised from
        sent: the destinations raise it once each took the report): none
        vanishes, none is made twice.
        """
        losses = self._losses
        if not losses.hasReports():
            return
        try:
            reports = losses.takeReports()
        except _Interrupt:
            raise
        except _BaseException:
            reports, losses._reports = losses._reports, []
        try:
            while reports:
                _out._report_lost(self, reports[0], self._standardError)
                del reports[0]
        except _Interrupt:
            # Raised again by the destinations, once each took the report.
            for report in reports[1:]:
                _now(losses, report)
            raise
        except _BaseException:
            for report in reports:
                _now(losses, report)

    def _refuseAfterGivingUp(self, data: bytes) -> None:
        """
        After giving up at exit: count a message, rather than wait for the
        stuck destination, and report it on standard error, with the
        message.  After the exit reports ran, only the first is reported so,
        the others in one line as the process ends (see
        L{txcausal._laterefusals.LateRefusals}).
        """
        self._losses.count(1)
        name = self._losses.name()
        exitReports = _exitreports.EXIT_REPORTS
        if exitReports.ran:
            tally, first = exitReports.late(self._queue, name, self._standardError)
            if not first:
                tally.count(GAVE_UP)
                return
        _last_resort(dropped_message(
            1, GAVE_UP, destination=name,
            message=data[:1000].decode("utf-8", "replace").rstrip("\n")), self._standardError)

    def _countGuarded(self) -> None:
        """
        For the registry (see L{txcausal._feedback.count_guarded}): count in
        C{dropped} a message the guard of a subclass overriding C{__call__}
        refused, which the guard reports.
        """
        self._losses.count(1)

    def _finishFeedback(self) -> None:
        """
        For the registry, at exit or on removal (see
        L{txcausal._feedback.finish_guarded}): after C{stopThreading},
        report to the destination what it logged while it wrote the last
        message written directly, which no later message will, and what it
        logs while it takes that report on standard error.  Threaded, the
        writer's stop reports it.  When the destination removes its writer
        as it writes on this thread, which holds the writer's lock, what it
        logged so far is reported on standard error only (what it logs
        after that, in the same write, only if the writer writes again).
        """
        if self._bypass != self._writeDirect:
            return
        if self._writingThread != threading.get_ident():
            self._writeLastFeedback()
        for report in self._losses.stoppedReports(0, 0, self._queue.takeFeedback()):
            _last_resort(report, self._standardError)

    def _writeLastFeedback(self) -> None:
        """
        Write the report of what the destination logged while it wrote the
        last message written directly (see L{_finishFeedback}).
        """
        with self._directLock:
            self._writing(self._writeFeedback)
        self._report()
