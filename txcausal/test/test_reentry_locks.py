"""
Tests of logging re-entered on a thread inside one of the smaller locks of
the logging path (a destination's feedback guard, the marks of the
twisted.logger bridge, L{MemoryLogger}): as in L{txcausal.test.test_reentry},
a trace function plays the signal handler or the finalizer, here at every
line run inside the critical section, on a thread joined with a timeout.
"""

from __future__ import annotations

import io
import sys
import threading
from types import CodeType, FrameType
from typing import Any, Callable, Collection, Dict, List, Optional, Tuple

from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination, MemoryLogger, log_message, remove_destination, start_task
from txcausal._feedback import FEEDBACK, FeedbackGuard
from txcausal._journal import JournalSocket
from txcausal._ledger import Ledger
from txcausal._otel_destination import SpanDestination, end_open_at_exit
from txcausal._otel_spans import UNFINISHED_ATTRIBUTE
from txcausal._twistedlog import TWISTED_LOG_MESSAGE_TYPE, _Marks
from txcausal.logwriter import ThreadedWriter

from ._writer_harness import isolate_exit_reports, numbered_message
from .test_journald import FakeJournald
from .test_logwriter_stop import _reports, _StopHarness
from .test_otel import SpanMixin
from .test_reentry import _reenterWhen, _runTraced


def _reenterEachLine(codes: Collection[CodeType], when: Callable[[], bool],
                     handler: Callable[[], object]) -> Callable[..., Any]:
    """
    @return: A trace function that calls C{handler}, as a signal handler
        would run, at each line of every call of one of C{codes} begun while
        C{when()}; not within C{handler} itself, and 200 times at the most.
    """
    firing: List[bool] = []
    # What the handler logs may be kept by calls of codes in turn: bounded.
    fired: List[bool] = []

    def local(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if event == "line" and not firing and len(fired) < 200:
            firing.append(True)
            fired.append(True)
            try:
                handler()
            finally:
                firing.pop()
        return local

    def trace(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if event == "call" and frame.f_code in codes and not firing and when():
            return local
        return None

    return trace


def _owned(lock: Any) -> bool:
    """
    @return: Whether this thread holds C{lock}, a re-entrant lock (which
        has no C{locked} before Python 3.14).
    """
    return bool(lock._is_owned())


def _twistedMessage(level: int) -> Dict[str, Any]:
    """
    @return: A message as L{txcausal._twistedlog.CausalLogObserver} writes
        one, at C{level} of a task.
    """
    return {"message_type": TWISTED_LOG_MESSAGE_TYPE, "task_uuid": "u", "task_level": [level]}


class FeedbackGuardReentryTests(SynchronousTestCase):
    """
    L{FeedbackGuard} counting a refusal while a signal handler or a
    finalizer logs to the same destination.
    """

    def test_refusalReentered(self) -> None:
        """
        A message logged at any point of the refusal of one the destination
        logged is refused and counted too: the report sent once the
        destination returns counts every one.
        """
        sent: List[Dict[str, Any]] = []
        handled: List[int] = []

        def destination(message: Dict[str, Any]) -> None:
            if message.get("n") == 0:
                guard({"n": 1})

        def handler() -> None:
            handled.append(1)
            guard({"n": 2})

        guard = FeedbackGuard("destination", destination, sent.append, lambda added: None)
        trace = _reenterEachLine(
            {FeedbackGuard.__call__.__code__},
            lambda: threading.get_ident() in guard._writing, handler)
        _runTraced(self, trace, lambda: guard({"n": 0}))
        self.assertNotEqual(handled, [])
        self.assertEqual([(m["reason"], m["count"]) for m in sent],
                         [(FEEDBACK, 1 + len(handled))])
        self.assertEqual(guard.take_refused(), 0)


class MarksReentryTests(SynchronousTestCase):
    """
    L{_Marks}, the marks of the twisted.logger bridge, re-entered by a
    Twisted event logged at a finalizer (C{Deferred}'s "Unhandled error in
    Deferred") or a signal handler.
    """

    def test_addReentered(self) -> None:
        """
        A message marked at any point of the marking of another is marked
        too, without waiting for the lock its thread holds; the marks stay
        within their size (one less where both cut them back) and each
        position kept is one remembered.
        """
        marks = _Marks(size=3)
        for level in range(3):
            marks.add(_twistedMessage(level))
        added: List[int] = []

        def handler() -> None:
            level = 100 + len(added)
            added.append(level)
            marks.add(_twistedMessage(level))

        trace = _reenterEachLine({_Marks.add.__code__}, lambda: True, handler)
        _runTraced(self, trace, lambda: marks.add(_twistedMessage(10)))
        self.assertNotEqual(added, [])
        self.assertTrue(marks.holds(_twistedMessage(10)))
        self.assertTrue(marks.holds(_twistedMessage(added[-1])))
        self.assertLessEqual(len(marks._order), 3)
        self.assertEqual(marks._kept, set(marks._order))
        # One cut back twice grows back.
        marks.add(_twistedMessage(20))
        self.assertEqual(len(marks._order), 3)


class MemoryLoggerReentryTests(SynchronousTestCase):
    """
    L{MemoryLogger} re-entered by a message logged where it holds its lock.
    """

    def _reentered(self, call: Callable[[MemoryLogger], object],
                   *functions: Callable[..., object]) -> MemoryLogger:
        """
        Run C{call} with a message written to the logger at each line of
        C{functions} (see L{_reenterEachLine}).

        @return: The logger, which held C{{"n": 0}} before.
        """
        logger = MemoryLogger()
        logger.write({"n": 0})
        written: List[int] = []

        def handler() -> None:
            written.append(1)
            logger.write({"n": len(written)}, None)

        trace = _reenterEachLine({f.__code__ for f in functions}, lambda: True, handler)
        _runTraced(self, trace, lambda: call(logger))
        self.assertNotEqual(written, [])
        return logger

    def test_writeReentered(self) -> None:
        """
        A message written at any point of the writing of another is kept
        (before it if it was not kept yet, else after it), once, with its
        own serializer.
        """
        serializer = object()
        logger = self._reentered(lambda logger: logger.write({"n": -1}, serializer),
                                 MemoryLogger.write, MemoryLogger._keep)
        pairs = logger._pairs()
        self.assertEqual(pairs[0], ({"n": 0}, None))
        self.assertIn(({"n": -1}, serializer), pairs)
        others = [pair for pair in pairs[1:] if pair[0] != {"n": -1}]
        # Each once, with its own serializer (one logged as a parked one is
        # about to be kept may come before it: see docs/outputting.md).
        self.assertEqual(sorted(others, key=lambda pair: pair[0]["n"]),
                         [({"n": n}, None) for n in range(1, len(pairs) - 1)])

    def test_pairsReentered(self) -> None:
        """
        A message written while the messages are read is kept, after them.
        """
        logger = self._reentered(lambda logger: logger._pairs(), MemoryLogger._pairs)
        self.assertEqual([m["n"] for m in logger.messages], list(range(len(logger.messages))))
        self.assertEqual(len(logger.serializers), len(logger.messages))

    def test_resetReentered(self) -> None:
        """
        A message written while the logger forgets its messages is kept.
        """
        logger = self._reentered(lambda logger: logger.reset(), MemoryLogger.reset)
        self.assertNotEqual(logger.messages, [])
        self.assertNotIn({"n": 0}, logger.messages)
        self.assertEqual(len(logger.serializers), len(logger.messages))

    def test_flushReentered(self) -> None:
        """
        A message written while tracebacks are flushed is kept.
        """
        logger = self._reentered(lambda logger: logger.flush_tracebacks(ValueError),
                                 MemoryLogger.flush_tracebacks)
        self.assertEqual([m["n"] for m in logger.messages], list(range(len(logger.messages))))


class WriterStartReentryTests(SynchronousTestCase):
    """
    L{ThreadedWriter}'s start lock, which the thread that logs takes when
    the writer has no worker, re-entered there.
    """

    def test_refusedWhileStopped(self) -> None:
        """
        A message a writer not started refuses while it registers its
        refusals for the exit reports (holding its start lock) is refused
        and counted too: both are reported.
        """
        reports = isolate_exit_reports(self)
        writer = ThreadedWriter(FileDestination(io.BytesIO()))
        trace = _reenterWhen(writer._startLock.locked, ["_startDueWorker"],
                             lambda: writer({"message_type": "inner"}))
        _runTraced(self, trace, lambda: writer({"message_type": "outer"}))
        self.assertEqual(writer._queue.refused, 2)
        self.assertEqual(reports.waiting(), [writer])


class WriterGiveUpReentryTests(_StopHarness, SynchronousTestCase):
    """
    L{ThreadedWriter} giving up on a stuck destination (holding its start
    lock as it lets the worker go) re-entered there.
    """

    def stuck(self) -> Tuple[ThreadedWriter, Callable[[], None]]:
        """
        @return: A writer holding one message, and what runs its worker's
            work: its write of that message stops the writer (as at exit),
            which gives up on that write at once, as stuck.
        """
        holder: List[ThreadedWriter] = []

        def stuck(message: Dict[str, Any]) -> None:
            writer = holder[0]
            if writer.running:
                writer.stopThreading()

        writer, _, performAll = self.started(stuck, exitTimeout=0.001)
        holder.append(writer)
        writer(numbered_message(0))
        return writer, performAll

    def test_loggedWhileGivingUp(self) -> None:
        """
        A message logged while the writer lets go of its stuck worker (at
        exit, the write having taken everything queued) is refused and
        counted with the messages given up on, not waited for.
        """
        writer, performAll = self.stuck()
        trace = _reenterWhen(writer._startLock.locked, ["_giveUp"],
                             lambda: writer({"message_type": "inner"}))
        _runTraced(self, trace, performAll)
        self.assertEqual(writer.dropped, 2)

    def givenUp(self) -> ThreadedWriter:
        """
        @return: A writer that gave up on its stuck destination (as at
            exit): it counts what is logged to it afterwards, reporting it
            on standard error.
        """
        writer, performAll = self.stuck()
        performAll()
        self.assertEqual(writer.dropped, 1)
        return writer

    def reported(self, writer: ThreadedWriter) -> int:
        """
        @return: How many messages the reports on standard error say
            C{writer} lost (not a writer of another test, collected).
        """
        return sum(report["count"] for report in _reports(self.stderr)
                   if report.get("destination") == writer._losses.name())

    def test_countedAfterGivingUp(self) -> None:
        """
        A message logged after the give-up while the writer counts another
        is counted too, not waited for.
        """
        writer = self.givenUp()
        trace = _reenterWhen(writer._losses._lock.locked, ["count"],
                             lambda: writer({"message_type": "inner"}))
        _runTraced(self, trace, lambda: writer({"message_type": "outer"}))
        self.assertEqual(writer.dropped, 3)

    def test_lateAfterGivingUp(self) -> None:
        """
        After the exit reports ran, a message logged after the give-up
        while the writer finds where to count another is counted too, and
        each is reported.
        """
        writer = self.givenUp()
        reports = isolate_exit_reports(self)
        reports.run()
        trace = _reenterWhen(lambda: _owned(reports._lock), ["late"],
                             lambda: writer({"message_type": "inner"}))
        _runTraced(self, trace, lambda: writer({"message_type": "outer"}))
        reports.reportLate()
        self.assertEqual(writer.dropped, 3)
        self.assertEqual(self.reported(writer), 3)

    def test_lateCountAfterGivingUp(self) -> None:
        """
        After the exit reports ran, a message logged after the give-up
        while the writer counts another among its late refusals is counted
        there too, and reported.
        """
        writer = self.givenUp()
        reports = isolate_exit_reports(self)
        reports.run()
        writer({"message_type": "first"})
        [tally] = reports._late.values()
        trace = _reenterWhen(tally._lock.locked, ["count"],
                             lambda: writer({"message_type": "inner"}))
        _runTraced(self, trace, lambda: writer({"message_type": "outer"}))
        reports.reportLate()
        self.assertEqual(writer.dropped, 4)
        self.assertEqual(self.reported(writer), 4)


class ExitReportsReentryTests(SynchronousTestCase):
    """
    L{ExitReports} re-entered by a message logged where it holds its lock.
    """

    def test_addReentered(self) -> None:
        """
        A writer not started that refuses a message logged while the exit
        reports add another waits for their lock no more than the first.
        """
        reports = isolate_exit_reports(self)
        first = ThreadedWriter(FileDestination(io.BytesIO()))
        second = ThreadedWriter(FileDestination(io.BytesIO()))
        trace = _reenterWhen(lambda: _owned(reports._lock), ["add"],
                             lambda: second({"message_type": "inner"}))
        _runTraced(self, trace, lambda: first({"message_type": "outer"}))
        self.assertEqual(set(reports.waiting()), {first, second})


class LedgerReentryTests(SynchronousTestCase):
    """
    L{Ledger} re-entered by a message logged where it holds its lock (its
    own events are recorded outside any destination call, so the feedback
    guard does not see such a message).
    """

    def _reentered(self, call: Callable[[Ledger], object],
                   *functions: Callable[..., object]) -> List[int]:
        """
        Run C{call} with a message logged to the ledger at each line of
        C{functions}.

        @return: The C{n} of the messages of topic C{"inner"} kept, in
            order.
        """
        ledger = Ledger()
        ledger.log_event("outer", 0)
        logged: List[int] = []

        def handler() -> None:
            logged.append(len(logged))
            ledger({"message_type": "inner", "n": logged[-1], "timestamp": 1.0})

        trace = _reenterEachLine({f.__code__ for f in functions}, lambda: True, handler)
        _runTraced(self, trace, lambda: call(ledger))
        self.assertNotEqual(logged, [])
        kept = [msg["n"] for _, msg in ledger.get_events("inner")]
        self.assertEqual(kept, logged)
        return kept

    def test_logEventReentered(self) -> None:
        """
        A message logged at any point of the recording of an event is kept,
        in the order logged.
        """
        self._reentered(lambda ledger: ledger.log_event("outer", 1),
                        Ledger._record, Ledger._keep, Ledger._store)

    def test_readsReentered(self) -> None:
        """
        A message logged while the entries or subscribers are read or
        changed is kept, in the order logged.
        """
        def reads(ledger: Ledger) -> None:
            ledger.get_events("outer")
            ledger.get_events()
            ledger.topics()
            ledger.story("k")
            ledger.subscribe("x", print)
            ledger.unsubscribe("x", print)

        self._reentered(reads, Ledger.get_events, Ledger.topics, Ledger.story,
                        Ledger.subscribe, Ledger.unsubscribe)


def _reenterAtOpcode(code: CodeType, when: Callable[[], bool],
                     handler: Callable[[], object]) -> Callable[..., Any]:
    """
    @return: A trace function that calls C{handler} once, as a signal
        handler would run (between two bytecodes), at the first bytecode of
        a call of C{code} run while C{when()}: a critical section of one
        line is entered between its lines.
    """
    fired: List[bool] = []

    def local(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if event == "line":
            # Python 3.13 gives no opcode events for a frame asked for them
            # only at its call event: asked again at each line.
            frame.f_trace_opcodes = True
        elif event == "opcode" and not fired and when():
            fired.append(True)
            handler()
        return local

    def trace(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if event == "call" and frame.f_code is code and not fired:
            frame.f_trace_opcodes = True
            return local
        return None

    return trace


class JournalReentryTests(SynchronousTestCase):
    """
    L{JournalSocket} re-entered by a message logged where it holds its lock.
    """

    def test_closeReentered(self) -> None:
        """
        A message sent to journald between the moment the socket is let go
        of and the release of the lock is sent on a new socket, not waited
        for.
        """
        journal = FakeJournald(self)
        sender = JournalSocket(journal.path)
        sender.send(b"MESSAGE=outer\n")
        trace = _reenterAtOpcode(
            JournalSocket.close.__code__,
            lambda: _owned(sender._lock) and sender._socket is None,
            lambda: sender.send(b"MESSAGE=inner\n"))
        _runTraced(self, trace, sender.close)
        self.assertEqual(journal.entries(), [{"MESSAGE": b"outer"}, {"MESSAGE": b"inner"}])
        self.assertIsNotNone(sender._socket)
        sender.close()


class SpanDestinationReentryTests(SpanMixin, SynchronousTestCase):
    """
    L{SpanDestination} re-entered by a message logged where it holds its
    lock as it ends the actions still open at exit (outside any call of the
    destination, so the feedback guard does not see such a message).
    """

    def test_endedAtExitReentered(self) -> None:
        """
        A message logged in an open action while the destination ends it
        at exit, at any point, is not waited for: an event of its span if
        taken before it ended it, else counted as logged in an action
        already ended.
        """
        exporter = self.spans()
        task = start_task(action_type="app:outer")
        logged: List[int] = []

        def handler() -> None:
            logged.append(1)
            with task.context():
                log_message(message_type="app:late")

        def outsideCalls() -> bool:
            # In a call of the destination, its feedback guard refuses what
            # is logged, whatever the lock.
            frame: Optional[FrameType] = sys._getframe()
            while frame is not None:
                if frame.f_code is SpanDestination.__call__.__code__:
                    return False
                frame = frame.f_back
            return True

        trace = _reenterEachLine({SpanDestination._endOpen.__code__,
                                  SpanDestination._report.__code__},
                                 outsideCalls, handler)
        _runTraced(self, trace, end_open_at_exit)
        self.assertNotEqual(logged, [])
        [span] = exporter.get_finished_spans()
        self.assertEqual((span.name, span.attributes), ("app:outer", {UNFINISHED_ATTRIBUTE: True}))
        remove_destination(self.destination)
        # Before the action was ended, an event of its span; after, lost.
        self.assertEqual(len(span.events) + self.destination.dropped, len(logged))
        self.assertNotEqual(self.destination.dropped, 0)
