# -*- test-case-name: txcausal.test.test_logwriter_failures,txcausal.test.test_output_feedback -*-
"""
L{Losses}: what a L{txcausal.logwriter.ThreadedWriter} lost to a failing
destination, and the reports it owes about it, sent later by the writer through
the other destinations (one no destination takes goes to standard error: see
L{txcausal._failure_reports}).
"""

from __future__ import annotations

import os
import threading
import time
from typing import IO, Any, Callable, Dict, List, Optional, Tuple, Type

from ._feedback import FEEDBACK
from ._json import safe_repr
from ._queue import Lines
from ._reentry import Parked, drain, holders, parked, parks
from ._safe import reason_text
from ._shortwrite import PipeClosed, ShortWrite
from ._teardown import held
from ._wire import DESTINATION_FAILURE, dropped_message, exception_name, standalone_message

Report = Dict[str, Any]

#: Why a full queue refused messages.
FULL = "the ThreadedWriter queue was full"
#: Why a stopped writer refused messages.
STOPPED = "logged while the ThreadedWriter was stopped"
#: Why messages taken for writing were not written.
CUT_SHORT = "taken for writing, and not written: a Control-C cut the write short"


def stamp_now(report: Report, _time: Callable[[], float] = time.time,
              _urandom: Callable[[int], bytes] = os.urandom) -> None:
    """
    Make C{report}, made in advance, a task of its own, timed now, deep in
    the teardown: with a random (version 4) UUID made without a builtin or
    a module global (both may be gone then), but what its arguments hold.
    """
    random = _urandom(16).hex()
    variant = "89ab"["0123456789abcdef".index(random[16]) & 3]
    report["task_uuid"] = (f"{random[:8]}-{random[8:12]}-4{random[13:16]}-"
                           f"{variant}{random[17:20]}-{random[20:]}")
    report["timestamp"] = _time()


class Losses:
    """
    Writes to a sink and accounts for what it loses.  The first failure of a
    run is reported as an C{eliot:destination_failure} message; the messages
    lost while the destination keeps failing are counted, and reported as
    C{txcausal:messages_dropped} when it works again (L{write}) or when the
    writer stops (L{close}).  A pipe whose reader has gone is told of once:
    the messages lost to it afterwards are counted, not reported.

    L{write}, L{refused} and L{close} are called by one thread at a time
    (the writer holds its write lock); L{count} and L{takeReports} from any
    thread.  A lock of its own guards the counts and the reports, and is
    never held while writing.

    @ivar lost: How many messages were lost to failures, or given up on.
    @ivar epoch: How many times the writer gave up on the destination: a
        write begun before it gave up was counted then, whatever it does.
    @ivar writing: How many messages the write in progress holds, if any.
    @ivar reporting: How many lost messages the write in progress reports,
        if it is a report (see L{_reportCounted}).
    @ivar standardError: Where the writer writes the reports that no other
        destination can take; C{None} for C{sys.stderr} as it is then.
    """

    def __init__(self, sink: Any, encode: Callable[[Report], bytes]) -> None:
        """
        @param sink: Has C{write(data)}, C{finish()}, and a C{repr} naming
            the destination.
        @param encode: Encodes a report as the sink's lines.
        """
        self._sink = sink
        # Named once: as the interpreter tears down, repr may be gone.
        self._name = safe_repr(sink, 200)
        self._encode = encode
        self._lock = threading.Lock()
        #: What L{count} counts once the lock is released (see
        #: L{txcausal._reentry}).
        self._parked: Parked[int] = parked()
        self.lost = 0
        self.epoch = 0
        self.writing = self.reporting = 0
        self.standardError: Optional[IO[str]] = None
        self._failing = False
        self._lostToFailures = 0
        self._reports: List[Report] = []
        self._deepReport = dropped_message(0, "", destination=self._name)
        # Whether the destination is a pipe whose reader has gone, for good.
        self._pipeClosed = False

    def name(self) -> str:
        """
        @return: The destination, as reports name it.
        """
        return self._name

    def afterForkInChild(self) -> None:
        """
        Start afresh in a forked child: the parent reports its own losses.
        """
        self._lock = threading.Lock()
        self._failing = False
        self._lostToFailures = 0
        self._reports = []

    def write(self, data: Lines, count: int, interruptible: bool = False) -> bool:
        """
        Write C{data}, which holds C{count} messages.  A failure, whatever
        it raises, is counted, and its report left for L{takeReports}: sent
        now, it could reach a writer whose lock the caller holds.

        @param interruptible: Whether a C{KeyboardInterrupt} is re-raised
            (with the messages counted, and left for the caller to report):
            on the thread that logs, it is Control-C, not a failure.
        @return: Whether it was written.
        """
        epoch = self.epoch
        self.writing = count
        try:
            self._sink.write(data)
        except BaseException as e:
            if epoch != self.epoch:
                return False
            if interruptible and isinstance(e, KeyboardInterrupt):
                self.count(count)
                raise
            self._failed(e, data, count)
            return False
        finally:
            self.writing = 0
        if self._failing and epoch == self.epoch:
            self._recovered()
        return True

    def _recovered(self, _Exception: Type[Exception] = Exception) -> None:
        """
        For L{write}, the destination working again: report what it lost
        meanwhile (deep in the teardown, owed if it cannot be made: see
        L{_reportCounted}).  Should sending it fail, the message was written
        all the same: L{write} says so (its losses were counted as they
        came).
        """
        try:
            with held(self._lock):
                self._failing = False
                lost, self._lostToFailures = self._lostToFailures, 0
            self._countParked()
            self._reportCounted(lost, "the destination raised")
        except _Exception:
            pass

    def refused(self, count: int, reason: str) -> None:
        """
        Write a C{txcausal:messages_dropped} report of C{count} messages
        refused for C{reason}, already counted by the queue.
        """
        if count:
            self._reportCounted(count, reason)

    def refusals(self, full: int, closed: int, feedback: int) -> None:
        """
        Write the reports of the messages a writer's queue refused (see
        L{txcausal._queue.BoundedQueue.take}), already counted.
        """
        self.refused(full, FULL)
        self.refused(closed, STOPPED)
        self.refused(feedback, FEEDBACK)

    def cutShort(self, count: int, refusals: Tuple[int, int, int]) -> None:
        """
        Count C{count} messages taken for writing and not written, a
        Control-C having cut the write short, and owe their report and
        those of the C{refusals} taken with them (already counted), for
        L{takeReports}: the destination is not written to again.
        """
        with held(self._lock):
            self.lost += count
            if count:
                self._reports.append(dropped_message(count, CUT_SHORT, destination=self._name))
            self._reports.extend(self.stoppedReports(*refusals))
        self._countParked()

    def stoppedReports(self, full: int, closed: int, feedback: int) -> List[Report]:
        """
        @return: The reports of the messages a stopped writer refused,
            already counted (see L{refusals}).
        """
        return stopped_reports(self.name(), full, closed, feedback)

    def _reportCounted(self, count: int, reason: str,
                       _Exception: Type[Exception] = Exception,
                       _stamp: Callable[[Report], None] = stamp_now) -> None:
        """
        Write a report of C{count} messages counted already.  If it cannot
        be written, its count is carried to the report of what the failing
        destination lost; if the writer gave up on it meanwhile, to its
        give-up's report (see L{reporting}).  If it cannot be made (deep in
        the teardown), one made with the writer is owed instead (see
        L{takeReports}), a task of its own, timed now (see L{stamp_now}).
        """
        if count:
            try:
                report = dropped_message(count, reason, destination=self.name())
            except _Exception:
                # Deep in the teardown, the modules' globals gone: owed.
                report = self._deepReport.copy()
                report["count"], report["reason"] = count, reason
                _stamp(report)
                self._reports.append(report)
                return
            # With the lock, as giveUp reads them: a give-up either counts
            # this report in its own, or comes after it.
            # Without the lock should a frozen thread hold it, as the
            # interpreter tears down (see txcausal._teardown), as below.
            with held(self._lock):
                epoch, self.reporting = self.epoch, count
            self._countParked()
            written = False
            try:
                written = self.write(self._encode(report), 0)
            finally:
                with held(self._lock):
                    self.reporting = 0
                    if not written and epoch == self.epoch and not self._pipeClosed:
                        self._lostToFailures += count
                self._countParked()

    def count(self, count: int) -> None:
        """
        Count C{count} messages lost without a failure to report (as the
        interpreter tears down, without the lock should a frozen thread
        hold it: see L{txcausal._teardown}).
        """
        lock = self._lock
        if lock.locked() and parks(lock, self, _HOLDERS, self._parked, count, self.count):
            # On a thread holding the lock (a signal handler or a finalizer
            # logging after a give-up): counted once it is released.
            return
        with held(lock):
            self.lost += count
        self._countParked()

    def _countParked(self) -> None:
        """
        Once this thread has released the lock: count what L{count} parked
        meanwhile (see L{txcausal._reentry}).
        """
        if self._parked:
            drain(self._parked, self.count)

    def countTornDown(self) -> None:
        """
        Count a message lost as the interpreter tears down, for a caller
        that found a lock held by a frozen thread: without the lock, which
        such a thread may hold, and without a builtin, which may be gone.
        """
        self.lost += 1

    def giveUp(self, record: Any, count: int) -> None:
        """
        Give up on the destination, unless C{record} says it was (its
        C{unfinished} is set): L{write} counts nothing more for a write
        begun before, nor L{_reportCounted} for a report; count the C{count}
        messages given up on; set C{record}'s C{unfinished} to what the
        write in progress reports, if it is a report (see L{reporting}),
        and how many messages it holds.  All of it is one step: a
        C{KeyboardInterrupt} either finds it done or not begun.
        """
        with self._lock:
            if record.unfinished is None:
                # One statement, with no call in it, where a signal handler
                # (a KeyboardInterrupt) could run.
                self.epoch, self.lost, record.unfinished = (
                    self.epoch + 1, self.lost + count, (self.reporting, self.writing))
        self._countParked()

    def _failed(self, error: BaseException, data: Lines, count: int) -> None:
        """
        Count the messages of C{data} lost to C{error}: of the C{count}
        messages, a L{ShortWrite} loses those it counts; another error, all.
        Report the first failure of a run; count the rest for later.
        """
        if isinstance(error, ShortWrite):
            count = min(error.lost, count)
        try:
            self._failedHeld(error, data, count)
        finally:
            self._countParked()

    def _failedHeld(self, error: BaseException, data: Lines, count: int) -> None:
        """
        L{_failed}, holding the lock.
        """
        with held(self._lock):
            self.lost += count
            if self._pipeClosed:
                # Told of once, when it closed: that report says nothing
                # more is written there.
                return
            self._pipeClosed = isinstance(error, PipeClosed)
            if self._failing:
                self._lostToFailures += count
                return
            self._failing = True
            self._reports.append(failureReport(self._sink, error, data, count))

    def close(self, reason: str, feedback: int = 0) -> None:
        """
        After the last write of a run: have the sink finish what it keeps
        (the rest of a line a full disk cut short), and report the messages
        lost to a destination still failing, and the C{feedback} messages
        the destination logged while it took the run's last report (which
        it is not given: that would go on for ever), which no later write
        will report.  A failure of the next run is reported afresh.
        """
        try:
            self._sink.finish()
        except BaseException as e:
            self._failed(e, b"", 1)
        with self._lock:
            lost, self._lostToFailures = self._lostToFailures, 0
            self._failing = False
            for count, why in ((lost, reason), (feedback, FEEDBACK)):
                if count:
                    self._reports.append(dropped_message(count, why, destination=self.name()))
        self._countParked()

    def takeReports(self) -> List[Report]:
        """
        @return: The reports owed so far, for the writer to send.
        """
        with held(self._lock):
            reports, self._reports = self._reports, []
        self._countParked()
        return reports

    def hasReports(self) -> bool:
        """
        @return: Whether any report is owed.
        """
        # Not bool(): as the interpreter tears down, the builtins may be gone.
        return self._reports != []


def failureReport(sink: object, error: BaseException, data: Lines,
                  count: int) -> Report:
    """
    The C{eliot:destination_failure} message for the C{count} messages
    C{sink} lost writing C{data}: all of them or, for a L{ShortWrite},
    those it counts.  Its C{message} field shows the first line lost (or,
    when none is, the line a L{ShortWrite} cut short).
    """
    shown: Lines
    if isinstance(error, ShortWrite):
        shown = error.first
    else:
        shown = data[:1000].split(b"\n", 1)[0]
    return standalone_message(
        DESTINATION_FAILURE,
        destination=safe_repr(sink, 200),
        exception=exception_name(error),
        reason=reason_text(error, 1000),
        message=bytes(shown).decode("utf-8", "replace"),
        lost=count,
    )


def stopped_reports(name: str, full: int, closed: int, feedback: int) -> List[Report]:
    """
    @param name: The destination, as reports name it.
    @return: The reports of the messages a stopped writer refused because
        its queue was full, because it was stopped, and because its
        destination logged them while it wrote, already counted.
    """
    return [dropped_message(count, reason, destination=name)
            for count, reason in ((full, FULL), (closed, STOPPED), (feedback, FEEDBACK))
            if count]


#: The methods that hold a L{Losses}'s lock: a thread counting a message
#: while it runs one of them may hold it (see L{txcausal._reentry}).
_HOLDERS = holders(Losses._recovered, Losses.cutShort, Losses._reportCounted, Losses.count,
                   Losses.giveUp, Losses._failedHeld, Losses.close, Losses.takeReports)
