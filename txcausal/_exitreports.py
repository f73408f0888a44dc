# -*- test-case-name: txcausal.test.test_exitreports -*-
"""
The process's exit handler for the L{txcausal.logwriter.ThreadedWriter}s
that refused messages while stopped: each is reported at its next start,
or else at exit, by one handler over the writers still waiting (held
weakly, as the fork hooks hold them, so that a discarded writer and its
destination are not kept alive until exit; a writer collected meanwhile has
its refusals reported as it goes, on standard error).
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import IO, List, Optional, Protocol

from ._losses import _last_resort, stopped_reports
from ._queue import BoundedQueue


class Stopped(Protocol):
    """
    What L{ExitReports} calls on a L{txcausal.logwriter.ThreadedWriter}.
    """

    def _reportStopped(self, late: bool = False) -> None:
        """
        Report what the writer refused while stopped, and did not report
        yet; C{late}, after the exit handler ran, on standard error only.
        """


class ExitReports:
    """
    The writers whose refusals wait for their next start, or for the exit.
    Thread-safe.
    """

    def __init__(self) -> None:
        self._writers: "weakref.WeakSet[Stopped]" = weakref.WeakSet()
        #: What reports each writer's refusals if it is collected first.
        self._collected: "weakref.WeakKeyDictionary[Stopped, weakref.finalize[..., Stopped]]" = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()
        self._ran = False

    def add(self, writer: Stopped, queue: Optional[BoundedQueue] = None, name: str = "",
            stream: Optional[IO[str]] = None) -> None:
        """
        Have C{writer}'s refusals reported at exit, unless it is started
        again meanwhile (see L{discard}).  Once the exit handler ran, no
        other will: they are reported at once, on standard error.

        @param queue: The writer's queue, if its refusals are to be reported
            should it be collected before the exit (see L{report_collected}),
            with C{name}, its destination's name, on C{stream}.
        """
        with self._lock:
            if not self._ran:
                self._writers.add(writer)
                if queue is not None and writer not in self._collected:
                    finalizer = weakref.finalize(writer, report_collected, queue, name, stream)
                    # At exit, run() reports them.
                    finalizer.atexit = False
                    self._collected[writer] = finalizer
                return
        writer._reportStopped(late=True)

    def discard(self, writer: Stopped) -> None:
        """
        Forget C{writer}: it was started again, and reports its refusals.
        """
        with self._lock:
            self._writers.discard(writer)

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
        self._lock = threading.Lock()
        self._writers = weakref.WeakSet()
        for finalizer in self._collected.values():
            finalizer.detach()
        self._collected = weakref.WeakKeyDictionary()

    def run(self) -> None:
        """
        At exit: every writer waiting reports its refusals.
        """
        with self._lock:
            self._ran = True
            writers = list(self._writers)
            self._writers.clear()
        for writer in writers:
            writer._reportStopped()


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
