"""
What the tests of L{txcausal.logwriter.ThreadedWriter} share: numbered
messages, writers built around a list destination and memory workers, a
destination that fails until told not to, and ways to run code in another
thread.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Tuple

from zope.interface import implementer

from txcausal import _exitreports
from txcausal._exitreports import ExitReports
from txcausal._writer import IWriterWorker, MemoryWorker, createMemoryWorker
from txcausal.logwriter import ThreadedWriter

from ._helpers import CapturingMixin, ImmediateReactor, flush_early_buffer, removed_at_end


def numbered_message(n: int, **fields: Any) -> Dict[str, Any]:
    """
    @return: A message of task C{u} at level C{[n]}, with C{n} as a field
        too, and C{fields}.
    """
    return {"message_type": "test:n", "task_uuid": "u", "task_level": [n],
            "timestamp": 0.0, "n": n, **fields}


#: A writer, the list its destination appends to, and a function running
#: all the work its workers were given.
Built = Tuple[ThreadedWriter, List[Dict[str, Any]], Callable[[], None]]


def isolate_exit_reports(case: Any) -> ExitReports:
    """
    Give trial test C{case} exit reports of its own (the first call of the
    test makes them), standing in for the process's until it ends: no
    writer of the test waits for the process's exit.

    @return: Those exit reports, which the test may run.
    """
    reports = getattr(case, "_isolatedExitReports", None)
    if reports is None:
        reports = case._isolatedExitReports = ExitReports()
        case.patch(_exitreports, "EXIT_REPORTS", reports)
    return reports


class WriterHarness(CapturingMixin):
    """
    Builds writers around a list destination and a memory worker, with exit
    reports of the test's own (see L{isolate_exit_reports}); of the class
    given as C{writerClass}, if any.
    """

    def writer(self, destination: Any = None, **kwargs: Any) -> Built:
        isolate_exit_reports(self)
        written: List[Dict[str, Any]] = []
        performers: List[Callable[[], bool]] = []

        def createWorker() -> MemoryWorker:
            worker, perform = createMemoryWorker()
            performers.append(perform)
            return worker

        kwargs.setdefault("createWorker", createWorker)
        writerClass = kwargs.pop("writerClass", ThreadedWriter)
        writer = writerClass(destination if destination is not None else written.append,
                             ImmediateReactor(), **kwargs)

        def performAll() -> None:
            for perform in performers:
                while perform():
                    pass

        return writer, written, performAll

    def started(self, destination: Any = None, **kwargs: Any) -> Built:
        flush_early_buffer()
        writer, written, performAll = self.writer(destination, **kwargs)
        writer.startService()
        removed_at_end(self, writer)
        self.addCleanup(lambda: writer.running and (writer.stopService(), performAll()))  # type: ignore[attr-defined]
        return writer, written, performAll


def real_log_file(case: Any) -> Tuple[Path, IO[bytes]]:
    """
    Open a real log file for an end-to-end test of a writer, closed when
    C{case} ends, after emptying the buffer of messages logged before any
    destination was added (so that none of them lands in the file).

    @return: The file's path and the file, open for appending.
    """
    flush_early_buffer()
    path = Path(case.mktemp())
    file = open(path, "ab")
    case.addCleanup(file.close)
    return path, file


@implementer(IWriterWorker)
class ImmediateWorker:
    """
    A worker that runs work as it is given.
    """

    def do(self, work: Callable[[], object]) -> None:
        work()

    def quit(self) -> None:
        pass


class Switchable:
    """
    A destination that raises while C{broken}, and collects otherwise.
    """

    def __init__(self) -> None:
        self.broken = True
        self.written: List[Dict[str, Any]] = []

    def __call__(self, message: Dict[str, Any]) -> None:
        if self.broken:
            raise OSError("full")
        self.written.append(message)


def inAnotherThread(f: Callable[[], object]) -> None:
    """
    Run C{f} in a thread of its own, and wait for it.
    """
    thread = threading.Thread(target=f)
    thread.start()
    thread.join()


def finishesInThread(f: Callable[[], object], timeout: float = 10.0) -> bool:
    """
    Run C{f} in a thread, so that a deadlock fails the test instead of
    hanging the suite.

    @return: Whether it finished within C{timeout} seconds.
    """
    thread = threading.Thread(target=f, daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive()


def switchInterrupted(case: Any, writer: ThreadedWriter, trace: Any) -> None:
    """
    Run C{writer}'s switch to direct writes under the trace function
    C{trace}, which raises a C{KeyboardInterrupt} in it, and check that the
    switch lets it through.
    """
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        case.assertRaises(KeyboardInterrupt, writer._switchToDirect)
    finally:
        sys.settrace(previous)
