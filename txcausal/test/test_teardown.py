"""
Tests for a L{txcausal.logwriter.ThreadedWriter} logged to as the
interpreter tears down, when every thread but the main one is frozen where
it was, for ever: a lock one of them holds is never released, so a message
that would wait for it (logged by a C{__del__}, as Twisted's "Unhandled
error in Deferred" is) is counted and reported as the process ends instead.
"""

from __future__ import annotations

import io
from typing import Any, Dict, List, Tuple
from uuid import UUID

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import _exitreports, _teardown
from txcausal._exitreports import TORN_DOWN, UNWRITTEN
from txcausal.logwriter import ThreadedWriter

from ._helpers import IsolatedOutputMixin, run_python
from ._writer_harness import (
    ImmediateWorker,
    WriterHarness,
    isolate_exit_reports,
    numbered_message,
)
from .test_exitreports import _STOPPED, _HeldLock
from .test_logwriter_reports import _dropped


def _reports(stream: io.StringIO) -> List[Dict[str, Any]]:
    """
    @return: The JSON reports written to C{stream}.
    """
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


class HeldLockTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    As the interpreter tears down, a message never waits for a lock that a
    frozen thread holds: it is counted in C{dropped}, and reported, with
    C{count_at_least}, at the process's very end.
    """

    def setUp(self) -> None:
        self.patch(_teardown, "_finalizing", lambda: True)
        self.patch(_teardown, "exiting", True)

    def stoppedAfterExitReports(self) -> ThreadedWriter:
        """
        @return: A writer that ran and stopped, its standard error a
            L{io.StringIO}; the exit reports ran.
        """
        writer, _, performAll = self.started()
        performAll()
        writer._standardError = io.StringIO()
        writer.stopService()
        performAll()
        isolate_exit_reports(self).run()
        return writer

    def endReports(self, writer: ThreadedWriter) -> List[Dict[str, Any]]:
        """
        @return: What C{writer} reported on its standard error, once the
            process's very last report ran.
        """
        isolate_exit_reports(self).reportLate()
        stream = writer._standardError
        assert isinstance(stream, io.StringIO)
        return _reports(stream)

    def test_queueHeld(self) -> None:
        """
        A stopped writer whose queue's lock a frozen thread holds counts
        the messages logged as the interpreter tears down without it; they
        are reported at the end, at least that many, beside the refusals
        counted before.
        """
        writer = self.stoppedAfterExitReports()
        for n in range(3):
            writer(numbered_message(n))
        writer._queue._lock = _HeldLock()  # type: ignore[assignment]
        writer(numbered_message(3))
        writer(numbered_message(4))
        reports = self.endReports(writer)
        self.assertEqual((_dropped(reports, _STOPPED), _dropped(reports, TORN_DOWN)),
                         ([1, 2], [2]))
        self.assertEqual([report.get("count_at_least") for report in reports],
                         [None, True, True])
        self.assertEqual(writer.dropped, 5)

    def test_runningQueueHeld(self) -> None:
        """
        So for a writer still running (a daemon thread logged to it), whose
        worker is frozen too: the message is counted, not queued.
        """
        writer, written, performAll = self.started()
        writer._standardError = io.StringIO()
        self.addCleanup(setattr, writer._queue, "_lock", writer._queue._lock)
        writer._queue._lock = _HeldLock()  # type: ignore[assignment]
        writer(numbered_message(0))
        self.assertEqual([(report["count"], report["reason"], report["count_at_least"])
                          for report in self.endReports(writer)], [(1, TORN_DOWN, True)])
        self.assertEqual((written, writer.dropped), ([], 1))

    def directWriter(self) -> Tuple[ThreadedWriter, List[Dict[str, Any]]]:
        """
        @return: A writer that ran and was switched to writing directly (by
            C{stopThreading}, as its exit handler does), its standard error
            a L{io.StringIO}, and what it wrote.
        """
        writer, written, _ = self.started(createWorker=ImmediateWorker)
        writer._standardError = io.StringIO()
        writer.stopThreading()
        return writer, written

    def test_directHeld(self) -> None:
        """
        A writer writing directly (switched to it at exit) waits for none
        of the locks of a direct write (its own, the write lock, the
        queue's) that a frozen thread holds: the message is counted and
        reported at the end, and the next one, with the locks free again,
        is written.
        """
        for name in ("_directLock", "_forkLock", "_queue._lock"):
            writer, written = self.directWriter()
            owner, attribute = ((writer._queue, "_lock") if name == "_queue._lock"
                                else (writer, name))
            real = getattr(owner, attribute)
            self.addCleanup(setattr, owner, attribute, real)
            setattr(owner, attribute, _HeldLock())
            writer(numbered_message(0))
            setattr(owner, attribute, real)
            writer(numbered_message(1))
            reports = self.endReports(writer)
            self.assertEqual([(report["count"], report["reason"]) for report in reports],
                             [(1, TORN_DOWN)], name)
            self.assertEqual(([message["n"] for message in written], writer.dropped),
                             ([1], 1), name)

    def test_directHeldDeeper(self) -> None:
        """
        Deeper in the teardown, once the modules' globals (the exit reports
        among them) are gone, such a message is reported at once, on the
        writer's standard error.
        """
        writer, written = self.directWriter()
        isolate_exit_reports(self)
        self.patch(_exitreports, "EXIT_REPORTS", None)
        self.patch(_teardown, "_finalizing", None)
        self.addCleanup(setattr, writer, "_directLock", writer._directLock)
        writer._directLock = _HeldLock()  # type: ignore[assignment]
        writer(numbered_message(0))
        stream = writer._standardError
        assert isinstance(stream, io.StringIO)
        self.assertEqual([(report["count"], report["reason"], report["count_at_least"])
                          for report in _reports(stream)], [(1, TORN_DOWN, True)])
        self.assertEqual((written, writer.dropped), ([], 1))
        writer(numbered_message(1))
        # Each its own task, as a task_uuid names one (a uuid4).
        uuids = [UUID(report["task_uuid"]) for report in _reports(stream)]
        self.assertEqual(([uuid.version for uuid in uuids], len(set(uuids))), ([4, 4], 2))

    def test_lateLocksHeld(self) -> None:
        """
        The first refusal after the exit reports ran goes on to report
        itself: it waits for none of the locks on that way (the writer's
        start lock, the exit reports' lock, that of the tally of late
        refusals and the queue's) when a frozen thread holds them.
        """
        writer = self.stoppedAfterExitReports()
        exitReports = isolate_exit_reports(self)
        writer._startLock = exitReports._lock = _HeldLock()  # type: ignore[assignment]
        writer(numbered_message(0))
        (tally,) = exitReports._late.values()
        writer._queue._lock = tally._lock = _HeldLock()  # type: ignore[assignment]
        writer(numbered_message(1))
        reports = self.endReports(writer)
        self.assertEqual((_dropped(reports, _STOPPED), _dropped(reports, TORN_DOWN)),
                         ([1], [1]))
        self.assertEqual(writer.dropped, 2)

    def test_givenUpLocksHeld(self) -> None:
        """
        After the writer gave up on a stuck destination at exit, a message
        waits for none of the locks on the way to its report either.
        """
        writer = self.stoppedAfterExitReports()
        writer._bypass = writer._refuseAfterGivingUp
        exitReports = isolate_exit_reports(self)
        writer(numbered_message(0))
        (tally,) = exitReports._late.values()
        writer._losses._lock = exitReports._lock = tally._lock = _HeldLock()  # type: ignore[assignment]
        writer(numbered_message(1))
        reports = self.endReports(writer)
        self.assertEqual([(report["count"], report.get("count_at_least"))
                          for report in reports], [(1, None), (1, True)])
        self.assertEqual(writer.dropped, 2)

    def test_directLossesHeld(self) -> None:
        """
        Nor for the lock of its L{Losses}, which a frozen thread holds (one
        that was taking the reports owed, say): a direct write that has
        what the destination logged while it wrote to report, and a
        destination that fails then works again, wait for it neither.
        """
        self.isolate()
        writer, written = self.directWriter()
        self.addCleanup(setattr, writer._losses, "_lock", writer._losses._lock)
        writer._losses._lock = _HeldLock()  # type: ignore[assignment]
        writer._queue.refusedFeedback = 1
        writer(numbered_message(0))
        sink = writer._losses._sink
        failing = _FlakySink(sink)
        writer._losses._sink = failing
        writer(numbered_message(1))
        failing.failing = False
        writer(numbered_message(2))
        self.assertEqual([message["n"] for message in written if "n" in message], [0, 2])
        stream = writer._standardError
        assert isinstance(stream, io.StringIO)
        self.assertEqual([report["lost"] for report in _reports(stream)], [1])

    def test_directFailingDeep(self) -> None:
        """
        With its locks free, a direct write deep in the teardown whose
        write raises (the modules' globals or the builtins gone, say) raises
        nothing into the program: the message is counted and reported, as
        not written (no frozen thread held a lock).
        """
        writer, written = self.directWriter()

        def gone(*args: object, **kwargs: object) -> bool:
            raise TypeError("'NoneType' object is not callable")

        self.patch(writer._losses, "write", gone)
        writer(numbered_message(0))
        self.assertEqual([(report["count"], report["reason"])
                          for report in self.endReports(writer)], [(1, UNWRITTEN)])
        self.assertEqual((written, writer.dropped), ([], 1))

    def test_directInterruptedReportingDeep(self) -> None:
        """
        A Control-C while a message not written deep in the teardown is
        being reported is raised, not swallowed: the message was counted.
        """
        writer, written = self.directWriter()

        def gone(*args: object, **kwargs: object) -> bool:
            raise TypeError("'NoneType' object is not callable")

        def interrupted(*args: object) -> None:
            raise KeyboardInterrupt()

        self.patch(writer._losses, "write", gone)
        self.assertRaises(KeyboardInterrupt, writer._writeDirectAtExit, b"{}\n",
                          _refuse=interrupted)
        self.assertEqual((written, writer.dropped), ([], 1))

    def test_directReportFailingDeep(self) -> None:
        """
        So for a direct write whose reports then fail: the message was
        written, and nothing is raised.
        """
        self.isolate()
        writer, written = self.directWriter()

        def gone() -> None:
            raise TypeError("'NoneType' object is not callable")

        self.patch(writer, "_report", gone)
        writer(numbered_message(0))
        self.assertEqual(([message["n"] for message in written], writer.dropped), ([0], 0))


class _FlakySink:
    """
    A sink that fails while C{failing}, then writes to the sink it wraps.
    """

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self.failing = True

    def write(self, data: bytes) -> None:
        if self.failing:
            raise OSError("failed")
        self._sink.write(data)

    def finish(self) -> None:
        pass


#: The end of the programs below: an object whose C{__del__} logs to
#: C{writer} as the interpreter tears down.
_LOGS_AS_IT_GOES = """
class LogsAsItGoes:
    def __init__(self, writer):
        self.writer = writer

    def __del__(self):
        self.writer({"message_type": "test:torn_down"})

going = LogsAsItGoes(writer)
"""


#: A program whose writer, never started, is logged to by a C{__del__} as
#: the interpreter tears down, while its queue's lock is held for ever, as
#: by a daemon thread frozen while it logged (that thread's own frame would
#: keep the C{__main__} module, and the object, alive: the lock is taken by
#: a thread that ends at once, which leaves it held all the same).
_HELD_AT_TEARDOWN = """
import threading
from txcausal.logwriter import ThreadedWriter

writer = ThreadedWriter(lambda message: None)
holder = threading.Thread(target=writer._queue._lock.acquire, daemon=True)
holder.start()
holder.join()
"""


#: A program whose writer, started and never stopped, is switched to direct
#: writes by its exit handler; then a thread takes the writer's direct-write
#: lock and ends (as a daemon thread frozen inside a direct write holds it
#: for ever), and a C{__del__} logs as the interpreter tears down.
_DIRECT_HELD_AT_TEARDOWN = """
import atexit, threading

def holdDirectLock():
    # Registered before txcausal is imported: runs after its exit handlers.
    holder = threading.Thread(target=writer._directLock.acquire)
    holder.start()
    holder.join()

atexit.register(holdDirectLock)

from txcausal.logwriter import ThreadedWriter

writer = ThreadedWriter(lambda message: None)
writer.startService()
"""


#: A program whose writer, started and never stopped, writes directly at
#: exit, to a destination saying so on standard output.
_DIRECT_AT_TEARDOWN = """
import os
from txcausal.logwriter import ThreadedWriter

def show(message, _write=os.write):
    _write(1, b"written\\n")

writer = ThreadedWriter(show)
writer.startService()
"""

class TeardownProcessTests(SynchronousTestCase):
    """
    In a real process, the interpreter's teardown does not hang on a lock
    that a frozen daemon thread holds.
    """

    def test_delLogsWhileQueueHeld(self) -> None:
        """
        A C{__del__} that logs as the interpreter tears down, while a daemon
        thread holds the writer's queue's lock, does not hang the process:
        the message is reported on standard error as it ends.
        """
        result = run_python(["-c", _HELD_AT_TEARDOWN + _LOGS_AS_IT_GOES], timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        reports = [orjson.loads(line) for line in result.stderr.splitlines()]
        self.assertEqual([(report["count"], report["reason"], report["count_at_least"])
                          for report in reports], [(1, TORN_DOWN, True)])

    def test_delLogsWhileDirectHeld(self) -> None:
        """
        So for a writer nobody stopped, which writes directly at teardown:
        a C{__del__} that logs while a frozen thread holds its direct-write
        lock does not hang the process either.  (The C{__del__} runs before
        or after the modules' globals are cleared, as the Python version
        has it: reported with the writer's late refusals, its count exact,
        or at once, said to be at least that many.)
        """
        result = run_python(["-c", _DIRECT_HELD_AT_TEARDOWN + _LOGS_AS_IT_GOES], timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        reports = [orjson.loads(line) for line in result.stderr.splitlines()]
        self.assertEqual([(report["count"], report["reason"]) for report in reports],
                         [(1, TORN_DOWN)])

    def test_delLogsDeepLocksFree(self) -> None:
        """
        So for a C{__del__} of the C{__main__} module, run deep in the
        teardown with the writer's locks free (the builtins may be gone by
        then): the message is written, or counted and reported, and
        nothing is raised.
        """
        result = run_python(["-c", _DIRECT_AT_TEARDOWN + _LOGS_AS_IT_GOES], timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        reports = [(report["count"], report["reason"])
                   for report in map(orjson.loads, result.stderr.splitlines())]
        self.assertIn((result.stdout, reports), [("written\n", []), ("", [(1, UNWRITTEN)])])
