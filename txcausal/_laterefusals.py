# -*- test-case-name: txcausal.test.test_exitreports -*-
"""
L{LateRefusals}: what a L{txcausal.logwriter.ThreadedWriter} refuses after
the process's exit reports ran (see L{txcausal._exitreports}), counted
until the process ends and reported then, with what the writer holds.
"""

from __future__ import annotations

import threading
import time
from typing import IO, Callable, Dict, Optional, Tuple

from orjson import dumps

from ._feedback import FEEDBACK
from ._json import FAST_OPTIONS
from ._losses import FULL, STOPPED
from ._queue import BoundedQueue
from ._reentry import Parked, drain, holders, parked, parks
from ._teardown import held, take_lock
from ._wire import dropped_message


class LateRefusals:
    """
    What a writer refused too late for any exit handler, after the exit
    reports ran (stopped, or given up on at exit).  The first such refusal
    is reported at once, on standard error; the later ones are
    counted (in the writer's queue, which then schedules no report, or
    here), and reported in one line for each reason as the process ends
    (see L{ExitReports.reportLate}): however many messages a later exit
    handler logs, a few lines, and every message counted.

    That last report may be written as the interpreter tears down, when
    the builtins and the modules' globals are gone: L{report} uses only
    what this object holds.

    @ivar queue: The writer's queue, holding the counts of its refusals.
    """

    def __init__(self, queue: BoundedQueue, name: str, stream: Optional[IO[str]]) -> None:
        """
        @param name: The writer's destination, as reports name it.
        @param stream: Where the reports go; C{None} when there is no
            standard error (C{sys.stderr} is C{None}): nowhere.
        """
        self.queue = queue
        self._name = name
        self._lock = threading.Lock()
        self._counts: Dict[str, int] = {}
        #: The reasons L{count} counts once the lock is released (see
        #: L{txcausal._reentry}).
        self._parked: Parked[str] = parked()
        self._IndexError = IndexError
        self._reasons = (FULL, STOPPED, FEEDBACK)
        #: A report for each reason, but for its count and time.
        self._reports = {reason: dropped_message(0, reason, destination=name)
                         for reason in self._reasons}
        self._write = None if stream is None else stream.write
        self._dumps: Callable[..., bytes] = dumps
        self._options = FAST_OPTIONS
        self._time = time.time

    def count(self, reason: str) -> None:
        """
        Count a message refused for C{reason} outside the queue (as the
        interpreter tears down, without the lock should a frozen thread
        hold it: see L{txcausal._teardown}).
        """
        if reason not in self._reports:
            # One step: no lock needed.
            self._reports.setdefault(reason, dropped_message(0, reason, destination=self._name))
        lock = self._lock
        if lock.locked() and parks(lock, self, _HOLDERS, self._parked, reason, self.count):
            # On a thread holding the lock (a signal handler or a finalizer
            # logging as it counts or reports): counted once it is released,
            # or by the report it is taking (see _reportWith).
            return
        with held(lock):
            self._counts[reason] = self._counts.get(reason, 0) + 1
        if self._parked:
            drain(self._parked, self.count)

    def report(self, quiet: bool = False) -> None:
        """
        Report what was refused and is not reported yet, one line a reason.
        As the interpreter tears down, it waits for no lock (see
        L{reportAtEnd}).

        @param quiet: Whether the queue's later refusals are only counted
            (see L{BoundedQueue.takeRefusals}), for the next report.
        """
        inQueue, exact = self.queue.takeRefusalsExact(quiet, take_lock)
        self._reportWith(inQueue, exact, take_lock(self._lock))

    def reportAtEnd(self) -> None:
        """
        L{report}, as the process ends, when every other thread is frozen
        where it was: waiting for no lock, which such a thread may hold for
        ever.  When one is held, the counts are read without it, and the
        reports say C{count_at_least}: a thread frozen as it counted may
        not have counted its message yet.
        """
        inQueue, exact = self.queue.takeRefusalsExact()
        self._reportWith(inQueue, exact, self._lock.acquire(False))

    def _reportWith(self, inQueue: Tuple[int, int, int], exact: bool, free: bool) -> None:
        """
        Report the refusals C{inQueue} and those counted here, taken with
        the lock if C{free} (which is then released), else without it, and
        then said to be at least that many, as they are unless C{exact}.
        """
        counts, self._counts = self._counts, {}
        # Counted on this thread while it held the lock: in this report.
        # With what this object holds (deep in the teardown, the builtins
        # may be gone).
        parked = self._parked
        while parked:
            try:
                reason = parked.popleft()
            except self._IndexError:
                # Another thread took the last one, to count it.
                break
            counts[reason] = counts.get(reason, 0) + 1
        if free:
            self._lock.release()
        self._writeReports(counts, inQueue, exact and free)

    def _writeReports(self, counts: Dict[str, int], inQueue: Tuple[int, int, int],
                      exact: bool) -> None:
        """
        Write one report a reason: C{counts}, and the refusals C{inQueue}
        (see L{BoundedQueue.takeRefusals}), each with C{count_at_least}
        unless C{exact}.
        """
        write = self._write
        if write is None:
            return
        for index in (0, 1, 2):
            if inQueue[index]:
                reason = self._reasons[index]
                counts[reason] = counts.get(reason, 0) + inQueue[index]
        for reason, count in counts.items():
            report = self._reports[reason].copy()
            report["count"] = count
            if not exact:
                report["count_at_least"] = True
            report["timestamp"] = self._time()
            try:
                write(self._dumps(report, option=self._options).decode("utf-8", "replace"))
            except Exception:
                pass


#: The methods that hold a L{LateRefusals}'s lock: a thread counting a
#: message while it runs one of them may hold it (see L{txcausal._reentry}).
_HOLDERS = holders(LateRefusals.count, LateRefusals.report, LateRefusals.reportAtEnd,
                   LateRefusals._reportWith)
