# -*- test-case-name: txcausal.test.test_exitreports -*-
"""
The process's exit handler for the L{txcausal.logwriter.ThreadedWriter}s
that refused messages while stopped: each is reported at its next start,
or else at exit, by one handler over the writers still waiting (held
weakly, as the fork hooks hold them, so that a discarded writer and its
destination are not kept alive until exit; a writer collected meanwhile has
its refusals reported as it goes, on standard error).  What a writer
refuses after that handler ran is reported as it comes once, then counted
until the process ends (see L{txcausal._laterefusals.LateRefusals}).
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import time
import weakref
from typing import IO, Any, Callable, Dict, List, Optional, Protocol, Tuple, Type

from orjson import dumps

from ._failure_reports import _last_resort, standard_error
from ._json import FAST_OPTIONS
from ._laterefusals import LateRefusals
from ._losses import Losses, stamp_now, stopped_reports
from ._queue import BoundedQueue
from ._safe import reason_text, traceback_text
from ._teardown import held
from ._wire import TRACEBACK_MESSAGE_TYPE, dropped_message, exception_name, standalone_message

#: Why a message logged as the interpreter tore down was refused: a thread
#: frozen for ever held a lock it needed.
TORN_DOWN = ("logged as the interpreter tore down, while a frozen thread held"
             " the ThreadedWriter's lock")
#: Why a message logged as the interpreter tore down was lost with the locks
#: free: its write failed then (the builtins or the modules' globals gone).
UNWRITTEN = "logged as the interpreter tore down, and its write failed then"


class Stopped(Protocol):
    """
    What L{ExitReports} calls on a L{txcausal.logwriter.ThreadedWriter}.
    """

    def _reportStopped(self, late: bool = False,
                       left: Callable[[float], float] = float) -> None:
        """
        Report what the writer refused while stopped, and did not report
        yet; C{late}, after the exit handler ran, on standard error only.

        @param left: Given a timeout, how much of it is left (the exit
            reports' one deadline: see L{ExitReports.run}).
        """


class ExitReports:
    """
    The writers whose refusals wait for their next start, or for the exit.
    Thread-safe.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """
        @param clock: Measures the exit's deadline, in seconds (for tests).
        """
        self._clock = clock
        self._writers: "weakref.WeakSet[Stopped]" = weakref.WeakSet()
        #: What reports each writer's refusals if it is collected first.
        self._collected: "weakref.WeakKeyDictionary[Stopped, weakref.finalize[..., Stopped]]" = (
            weakref.WeakKeyDictionary())
        # Re-entrant: a message logged on a thread holding it (a signal
        # handler, a finalizer, at an allocation of add or late) may add a
        # writer that refused it, or find its tally (see late), which keeps
        # every step here consistent.
        self._lock = threading.RLock()
        self._ran = False
        #: What each writer refused too late, by the id of its queue.
        self._late: Dict[int, LateRefusals] = {}

    def add(self, writer: Stopped, queue: Optional[BoundedQueue] = None, name: str = "",
            stream: Optional[IO[str]] = None) -> None:
        """
        Have C{writer}'s refusals reported at exit, unless it is started
        again meanwhile (see L{discard}).  Once the exit handler ran, no
        other will: they are reported at once, on standard error, after a
        stop in progress had up to the writer's own C{exitTimeout} from
        now (not what is left of L{run}'s deadline, which stuck writers may
        have used up) to write what is queued.

        @param queue: The writer's queue, if its refusals are to be reported
            should it be collected before the exit (see L{report_collected}),
            with C{name}, its destination's name, on C{stream}.
        """
        # As the interpreter tears down, the exit handler ran, and a lock
        # held now is held for ever: see txcausal._teardown.
        with held(self._lock) as free:
            if free and not self._ran:
                self._writers.add(writer)
                if queue is not None and writer not in self._collected:
                    finalizer = weakref.finalize(writer, report_collected, queue, name, stream)
                    # At exit, run() reports them.
                    finalizer.atexit = False
                    if self._collected.setdefault(writer, finalizer) is not finalizer:
                        # Added by a call re-entering this one meanwhile.
                        finalizer.detach()
                return
        _report(writer, late=True)

    def discard(self, writer: Stopped) -> None:
        """
        Forget C{writer}: it was started again, and reports its refusals.
        """
        with self._lock:
            self._writers.discard(writer)

    @property
    def ran(self) -> bool:
        """
        Whether the exit handler ran: no other will report for a writer.
        """
        return self._ran

    def late(self, queue: BoundedQueue, name: str,
             stream: Optional[IO[str]] = None) -> Tuple[LateRefusals, bool]:
        """
        For a writer refusing messages too late for any exit handler (see
        L{LateRefusals}), identified by its C{queue}: where its refusals
        are counted until the process ends.

        @param name: Its destination, as reports name it.
        @param stream: Where it writes its reports (standard error if
            C{None}).
        @return: That L{LateRefusals}, and whether it is new: the caller
            then reports what it refused at once.
        """
        with held(self._lock):
            tally = self._late.get(id(queue))
            if tally is not None:
                return tally, False
            made = LateRefusals(queue, name, standard_error(stream=stream))
            # One step: the lock is re-entrant (see __init__), so a call
            # re-entering this one may have added one meanwhile.
            tally = self._late.setdefault(id(queue), made)
            return tally, tally is made

    def reportLate(self) -> None:
        """
        Report what the writers refused too late and did not report yet
        (see L{LateRefusals}).  The process's exit reports call it as they
        are collected, as the process ends, once every exit handler ran (an
        exit handler registered while the exit handlers run is not run, on
        CPython 3.10 to 3.13): it uses nothing but what they hold, and
        waits for no lock (see L{LateRefusals.reportAtEnd}).
        """
        free = self._lock.acquire(blocking=False)
        # A thread frozen holding the lock as the interpreter tears down
        # holds it for ever: the others are frozen too, so read without it.
        late, self._late = self._late, {}
        if free:
            self._lock.release()
        for tally in late.values():
            tally.reportAtEnd()

    def __del__(self) -> None:
        self.reportLate()

    def waiting(self) -> List[Stopped]:
        """
        @return: The writers whose refusals wait.
        """
        with self._lock:
            return list(self._writers)

    def afterForkInChild(self) -> None:
        """
        In a forked child: a new lock (a thread of the parent may have held
        it), and no writer waiting: what they refused is the parent's to
        report, and the child's next refusal registers again.
        """
        self._lock = threading.RLock()
        self._writers = weakref.WeakSet()
        self._late = {}
        for finalizer in self._collected.values():
            finalizer.detach()
        self._collected = weakref.WeakKeyDictionary()

    def run(self) -> None:
        """
        At exit: every writer waiting reports its refusals.  They share one
        deadline: a writer that waits for its stop in progress waits until
        its C{exitTimeout} seconds from the start of the exit reports, not
        from the end of the previous writer's wait.  A C{KeyboardInterrupt}
        (Control-C) while one waits ends the waits: each writer left gives
        up at once on what its stop did not write, and reports it with its
        refusals, then the interrupt is raised again.
        """
        with self._lock:
            self._ran = True
            writers = list(self._writers)
            self._writers.clear()
        start = self._clock()

        def left(timeout: float) -> float:
            return max(0.0, start + timeout - self._clock())

        interrupt: Optional[KeyboardInterrupt] = None
        for writer in writers:
            try:
                _report(writer, left=left)
            except KeyboardInterrupt as error:
                # Control-C: wait no more, but report every writer's losses
                # (a second Control-C, too, loses only that writer's report).
                interrupt, start = interrupt or error, -math.inf
                try:
                    _report(writer, left=left)
                except KeyboardInterrupt:
                    pass
        if interrupt is not None:
            raise interrupt


def _report(writer: Stopped, late: bool = False,
            left: Callable[[float], float] = float) -> None:
    """
    Have C{writer} report its refusals (see L{Stopped._reportStopped}):
    should that raise, the failure is reported on standard error, and
    neither reaches the program that logged (after the exit reports ran)
    nor keeps the exit reports from the other writers.
    """
    try:
        writer._reportStopped(late, left)
    except Exception as error:
        try:
            _last_resort(standalone_message(
                TRACEBACK_MESSAGE_TYPE, reason=reason_text(error), exception=exception_name(error),
                traceback=traceback_text(type(error), error, error.__traceback__)))
        except Exception:
            pass  # As the interpreter tears down, say: nothing more to do.


def write_now(
        losses: Losses, report: Dict[str, Any], _dumps: Callable[..., bytes] = dumps,
        _options: int = FAST_OPTIONS, _sys: Any = sys,
        _write: Callable[[int, bytes], int] = os.write,
        _Exception: Type[Exception] = Exception,
        _stderr: Callable[..., Optional[IO[str]]] = standard_error) -> None:
    """
    Write C{report} at once on the writer's standard error, as the
    interpreter tears down: the modules' globals and the builtins may be
    gone, and C{sys.stderr} is C{None} by then.  It uses only what its
    arguments hold, and writes to the standard error file descriptor when
    there is no C{sys.stderr} (see L{standard_error}).

    @param losses: The writer's L{Losses}: its standard error.
    """
    try:
        line = _dumps(report, option=_options)
        stream = _stderr(_sys, stream=losses.standardError)
        if stream is None:
            _write(2, line)
        else:
            stream.write(line.decode("utf-8", "replace"))
    except _Exception:
        pass


#: The reports of L{_report_torn_down_now}, by reason, but for their task,
#: time and destination: when a frozen thread held a lock, the count may be
#: short (see L{LateRefusals.reportAtEnd}).
_TORN_DOWN_REPORTS = {TORN_DOWN: dropped_message(1, TORN_DOWN, count_at_least=True),
                      UNWRITTEN: dropped_message(1, UNWRITTEN)}


def _report_torn_down_now(
        losses: Losses, reason: str,
        _reports: Dict[str, Dict[str, Any]] = _TORN_DOWN_REPORTS,
        _stamp: Callable[[Dict[str, Any]], None] = stamp_now,
        _write: Callable[[Losses, Dict[str, Any]], None] = write_now) -> None:
    """
    Report at once, on the writer's standard error, a message refused for
    C{reason} deep in the teardown, once the exit reports are gone (see
    L{write_now}).  Each report is a task of its own (see
    L{txcausal._losses.stamp_now}).
    """
    report = _reports[reason].copy()
    _stamp(report)
    report["destination"] = losses.name()
    _write(losses, report)


def refuse_torn_down(losses: Losses, queue: BoundedQueue, reason: str = TORN_DOWN,
                     _now: Callable[[Losses, str], None] = _report_torn_down_now) -> None:
    """
    For a writer's C{queue}: report a message counted as lost as the
    interpreter tore down, for C{reason} (L{TORN_DOWN}: a thread frozen for
    ever held a lock it needed; L{UNWRITTEN}: its write failed).  It is
    counted in the writer's tally of late refusals (see L{LateRefusals}),
    which reports it as the process ends, or at once if it is the first.
    Deeper in the teardown, once this module's globals (the exit reports
    among them) are gone, it is reported at once.

    @param losses: The writer's L{Losses}: its destination's name, and its
        standard error.
    """
    if EXIT_REPORTS is None:
        _now(losses, reason)
        return
    tally, first = EXIT_REPORTS.late(queue, losses.name(), losses.standardError)
    tally.count(reason)
    if first:
        tally.reportAtEnd()


def report_collected(queue: BoundedQueue, name: str, stream: Optional[IO[str]]) -> None:
    """
    Report on C{stream} (standard error by default) what a stopped writer,
    collected before the exit, refused and did not report: what
    L{ExitReports.add} calls, given the writer's queue, and its
    destination's name, not the writer.
    """
    for report in stopped_reports(name, *queue.takeRefusals()):
        _last_resort(report, stream)


#: The process's exit reports, run after the writers' own exit handlers
#: (registered later, by their start) and before the destinations finish.
EXIT_REPORTS = ExitReports()
atexit.register(EXIT_REPORTS.run)
os.register_at_fork(after_in_child=EXIT_REPORTS.afterForkInChild)
