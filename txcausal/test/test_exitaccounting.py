"""
Tests for the accounting of a L{txcausal.logwriter.ThreadedWriter}'s last
messages, at exit and as the interpreter tears down: each message is
written, or counted in C{dropped} and reported, once, whatever raises where
(nothing reaches the program but a Control-C).
"""

from __future__ import annotations

import io
from typing import Any, Callable, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from txcausal import _exitreports, _losses, _output, _teardown
from txcausal._exitreports import TORN_DOWN, UNWRITTEN
from txcausal._wire import dropped_message
from txcausal._writer import IWriterWorker
from txcausal.logwriter import ThreadedWriter

from ._helpers import IsolatedOutputMixin, run_python
from ._writer_harness import ImmediateWorker, WriterHarness, isolate_exit_reports, numbered_message
from .test_logwriter_stop import _reports, _StopHarness
from .test_teardown import _FlakySink


def _gone(*args: object, **kwargs: object) -> Any:
    """
    What calling a global does deep in the teardown, once it is C{None}.
    """
    raise TypeError("'NoneType' object is not callable")


class DeepDirectWriteTests(WriterHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    A message written directly deep in the teardown is counted as lost by
    how far its write got, not by whether something raised after it.
    """

    def setUp(self) -> None:
        self.patch(_teardown, "_finalizing", lambda: True)
        self.patch(_teardown, "exiting", True)
        self.isolate()

    def directWriter(self) -> ThreadedWriter:
        """
        @return: A writer switched to direct writes by C{stopThreading},
            its standard error a L{io.StringIO}, writing to C{self.written}.
        """
        writer, self.written, _ = self.started(createWorker=ImmediateWorker)
        writer._standardError = io.StringIO()
        writer.stopThreading()
        return writer

    def endReports(self, writer: ThreadedWriter) -> List[Dict[str, Any]]:
        """
        @return: What C{writer} reported on its standard error once the
            process's very last report ran.
        """
        isolate_exit_reports(self).reportLate()
        stream = writer._standardError
        assert isinstance(stream, io.StringIO)
        return _reports(stream)

    def numbers(self) -> List[int]:
        """
        @return: The numbers of the messages written.
        """
        return [message["n"] for message in self.written if "n" in message]

    def test_feedbackReportFailsAfterWrite(self) -> None:
        """
        The report of what the destination logged while it wrote raising
        after the message was written: written, not counted.
        """
        writer = self.directWriter()
        self.patch(writer._losses, "refused", _gone)
        writer(numbered_message(0))
        self.assertEqual((self.numbers(), writer.dropped, self.endReports(writer)),
                         ([0], 0, []))

    def test_recoveryReportFailsAfterWrite(self) -> None:
        """
        The report of a destination working again raising after the message
        was written: written, not counted.
        """
        writer = self.directWriter()
        writer._losses._failing = True
        self.patch(writer._losses, "_reportCounted", _gone)
        writer(numbered_message(0))
        self.assertEqual((self.numbers(), writer.dropped, self.endReports(writer)),
                         ([0], 0, []))

    def test_failureCountedThenReportRaises(self) -> None:
        """
        The destination raising, its failure counted, then its report
        raising: counted once, and reported for the true reason (the locks
        were free).
        """
        writer = self.directWriter()
        writer._losses._sink = _FlakySink(writer._losses._sink)
        self.patch(_losses, "failureReport", _gone)
        writer(numbered_message(0))
        self.assertEqual(writer.dropped, 1)
        self.assertEqual([(report["count"], report["reason"])
                          for report in self.endReports(writer)], [(1, UNWRITTEN)])

    def test_writeFailsDeepReason(self) -> None:
        """
        A write that fails deep in the teardown with the locks free (a
        global gone) is reported as not written, not as held by a frozen
        thread; a lock held is reported so.
        """
        writer = self.directWriter()
        self.patch(writer._losses, "write", _gone)
        writer(numbered_message(0))
        self.assertEqual((writer.dropped, [(report["count"], report["reason"])
                                           for report in self.endReports(writer)]),
                         (1, [(1, UNWRITTEN)]))

    def test_writeFailsDeeperReason(self) -> None:
        """
        So once the exit reports are gone too: reported at once, for that
        reason, its count exact.
        """
        writer = self.directWriter()
        isolate_exit_reports(self)
        self.patch(_exitreports, "EXIT_REPORTS", None)
        self.patch(writer._losses, "write", _gone)
        writer(numbered_message(0))
        stream = writer._standardError
        assert isinstance(stream, io.StringIO)
        self.assertEqual([(report["count"], report["reason"], report.get("count_at_least"))
                          for report in _reports(stream)], [(1, UNWRITTEN, None)])

    def test_takenReportsKept(self) -> None:
        """
        Reports owed, taken after the write, when sending them raises (the
        modules' globals gone): written on the writer's standard error,
        not dropped.
        """
        writer = self.directWriter()
        owed = dropped_message(2, "owed", destination="d")
        writer._losses._reports.append(owed)
        self.patch(_output, "_report_lost", _gone)
        writer(numbered_message(0))
        self.assertEqual((self.numbers(), writer.dropped), ([0], 0))
        self.assertEqual([(report["count"], report["reason"])
                          for report in self.endReports(writer)], [(2, "owed")])

    def test_takenReportsKeptInterrupted(self) -> None:
        """
        A Control-C as they are sent (raised by the destinations once each
        took the report) is raised again, and the reports not sent yet are
        written on standard error first; the one sent is not.
        """
        writer = self.directWriter()
        writer._losses._reports.extend(
            [dropped_message(2, "first", destination="d"),
             dropped_message(3, "second", destination="d")])
        sent: List[int] = []

        def interrupted(source: object, report: Dict[str, Any], stream: object) -> None:
            sent.append(report["count"])
            raise KeyboardInterrupt()

        self.patch(_output, "_report_lost", interrupted)
        self.assertRaises(KeyboardInterrupt, writer, numbered_message(0))
        self.assertEqual((sent, [report["count"] for report in self.endReports(writer)]),
                         ([2], [3]))

    def test_heldLockReason(self) -> None:
        """
        A lock a frozen thread holds is still the reason given when it is.
        """
        writer = self.directWriter()
        self.addCleanup(setattr, writer, "_directLock", writer._directLock)
        writer._directLock = _Held()  # type: ignore[assignment]
        writer(numbered_message(0))
        self.assertEqual([report["reason"] for report in self.endReports(writer)], [TORN_DOWN])


class _Held:
    """
    A lock a frozen thread holds.
    """

    def acquire(self, blocking: bool = True) -> bool:
        assert not blocking
        return False


@implementer(IWriterWorker)
class _HeldWorker:
    """
    A worker that keeps its work until C{now}, then runs it as given.
    """

    def __init__(self) -> None:
        self.pending: List[Callable[[], object]] = []
        self.now = False

    def do(self, work: Callable[[], object]) -> None:
        if self.now:
            work()
        else:
            self.pending.append(work)

    def quit(self) -> None:
        pass


class StopThreadingAccountingTests(_StopHarness, IsolatedOutputMixin, SynchronousTestCase):
    """
    C{stopThreading}'s last steps count what they did not write, and only
    that, and report it.
    """

    def failingWriter(self) -> ThreadedWriter:
        """
        @return: A writer whose destination raises on every write, with
            three messages queued, its worker running work as given from
            now on.
        """
        self.isolate()
        isolate_exit_reports(self)
        worker = _HeldWorker()

        def failing(message: Dict[str, Any]) -> None:
            raise OSError("disk gone")

        writer = ThreadedWriter(failing, createWorker=lambda: worker)
        writer.startService()
        self.addCleanup(writer.stopThreading)
        for n in range(3):
            writer(numbered_message(n))
        worker.now = True
        return writer

    def test_ownReportsNotRefused(self) -> None:
        """
        The failure report of a destination that never recovered, sent as
        C{stopThreading} writes the last messages, is not offered to the
        stopped writer itself, which would count it as a message it
        refused: the three messages are counted, and reported, once.
        """
        writer = self.failingWriter()
        writer.stopThreading()
        isolate_exit_reports(self).run()
        self.assertEqual(writer.dropped, 3)
        # The first failure, then the messages lost while it kept failing.
        self.assertEqual([report.get("lost", report.get("count"))
                          for report in _reports(self.stderr)], [1, 2])


#: A program whose writer, never stopped, writes to a file destination that
#: raises on every write; what it counted in C{dropped} is printed on
#: standard output by an exit handler that runs after txcausal's.
_FAILING_AT_EXIT = """
import atexit, os, sys
atexit.register(lambda: print(writer.dropped))

from txcausal import FileDestination
from txcausal.logwriter import ThreadedWriter

class Failing(FileDestination):
    def write_encoded(self, data):
        raise OSError("disk gone")

writer = ThreadedWriter(Failing(open(os.devnull, "wb")))
writer.startService()
for n in range(3):
    writer({"message_type": "test:n", "n": n})
"""


class FailingAtExitProcessTests(SynchronousTestCase):
    """
    In a real process, a destination that failed and never recovered.
    """

    def test_failingAtExit(self) -> None:
        """
        The exit's C{stopThreading} counts the messages lost once, and
        reports them (the failure, and the messages lost after it, if any):
        not the writer's own reports, which it would have refused.
        """
        result = run_python(["-c", _FAILING_AT_EXIT], timeout=30)
        self.assertEqual((result.returncode, result.stdout), (0, "3\n"), result.stderr)
        reports = [orjson.loads(line) for line in result.stderr.splitlines()]
        self.assertEqual(sum(report.get("lost", report.get("count", 0)) for report in reports),
                         3, reports)
