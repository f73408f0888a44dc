"""
Tests of the edges of the parking of a message logged on a thread that holds
a lock (see L{txcausal._reentry}): what is not a re-entry (a subscriber
logging outside the lock while another thread holds it), a reader
interrupted after the re-entry, a parked message that fails, and the
counts and the re-entry guards of the exit reports.
"""

from __future__ import annotations

import io
import sys
import threading
import weakref
from types import FrameType
from typing import Any, Callable, Dict, List, Optional

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from twisted.trial.unittest import SynchronousTestCase

from txcausal import (
    FileDestination,
    MemoryLogger,
    _otel_destination,
    _output,
    add_destinations,
    remove_destination,
    start_action,
    start_task,
)
from txcausal._exitreports import ExitReports
from txcausal._laterefusals import LateRefusals
from txcausal._ledger import Ledger
from txcausal._losses import STOPPED
from txcausal._otel_destination import SpanDestination, end_open_at_exit
from txcausal._otel_open import ShutdownWatch, watch_of
from txcausal._queue import BoundedQueue
from txcausal.logwriter import ThreadedWriter

from .test_reentry import DEADLOCK, _runTraced


def _reenterWith(code: Any, when: Callable[[FrameType], bool],
                 handler: Callable[[], object]) -> Callable[..., Any]:
    """
    @return: A trace function that calls C{handler} once, as a signal
        handler would run, at the first line of a call of C{code} where
        C{when(frame)}.
    """
    fired: List[bool] = []

    def local(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if event == "line" and not fired and when(frame):
            fired.append(True)
            handler()
        return local

    def trace(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if event == "call" and frame.f_code is code and not fired:
            return local
        return None

    return trace


class LedgerSubscriberThreadTests(SynchronousTestCase):
    """
    A L{Ledger}'s subscriber that logs while another thread holds the lock.
    """

    def test_subscriberLogsWhileRead(self) -> None:
        """
        An event logged by a subscriber while another thread reads the
        ledger is recorded before L{Ledger.log_event} returns, and its
        subscribers are called in the thread that logged it.
        """
        ledger = Ledger()
        inside, goOn = threading.Event(), threading.Event()
        seen: Dict[str, Any] = {}

        def readSlowly() -> None:
            def local(frame: FrameType, event: str, arg: object) -> Any:
                if event == "line" and ledger._lock.locked() and not inside.is_set():
                    inside.set()
                    goOn.wait(DEADLOCK)
                return local

            sys.settrace(lambda frame, event, arg: (
                local if frame.f_code is Ledger.topics.__code__ else None))
            try:
                ledger.topics()
            finally:
                sys.settrace(None)

        def onA(event: Any) -> None:
            reader = threading.Thread(target=readSlowly, daemon=True)
            reader.start()
            inside.wait(DEADLOCK)
            ledger.log_event("b", {"from": event[1]})
            seen["recorded"] = len(ledger._topics.get("b", ()))
            goOn.set()
            reader.join(DEADLOCK)

        def onB(event: Any) -> None:
            seen["thread"] = threading.current_thread().name

        ledger.subscribe("a", onA)
        ledger.subscribe("b", onB)
        app = threading.Thread(target=lambda: ledger.log_event("a", 1), name="app", daemon=True)
        app.start()
        app.join(DEADLOCK * 2)
        self.assertFalse(app.is_alive())
        self.assertEqual(seen, {"recorded": 1, "thread": "app"})


class _HeldByAnother:
    """
    A lock another thread holds, until this one waits for it: taken
    without waiting, it is not free; waited for, it is released to this
    thread.
    """

    def __init__(self) -> None:
        self.held = True
        self.waited = 0

    def locked(self) -> bool:
        return self.held

    def acquire(self, blocking: bool = True) -> bool:
        if self.held and not blocking:
            return False
        self.waited += self.held
        self.held = True
        return True

    def release(self) -> None:
        self.held = False


class QueueOtherThreadTests(SynchronousTestCase):
    """
    A message put while another thread holds a L{BoundedQueue}'s lock:
    no re-entry, so it waits for the lock, as L{txcausal._reentry} tells.
    """

    def test_putWaits(self) -> None:
        """
        Put while another thread holds the lock, a message waits for it and
        is refused at once by a full queue, whether its sink is batched or
        not: not parked, nor a drain scheduled again for it.
        """
        for batched in (True, False):
            queue = BoundedQueue(1, 1 << 20, batched=batched)
            queue.setAccepting(True)
            self.assertTrue(queue.put(b"first\n"))
            lock = _HeldByAnother()
            queue._lock = lock  # type: ignore[assignment]
            self.assertFalse(queue.put(b"second\n"))
            self.assertEqual((lock.waited, queue.refused, len(queue._parked)), (1, 1, 0),
                             f"batched={batched}")


class MemoryLoggerInterruptedTests(SynchronousTestCase):
    """
    A L{MemoryLogger} read or changed, interrupted (a signal handler raising)
    after a message was parked.
    """

    def _interrupted(self, call: Callable[[MemoryLogger], object], code: Any) -> None:
        """
        Run C{call}: a message is written where C{code} holds the lock, and
        a C{KeyboardInterrupt} raised there; the message is kept all the
        same.
        """
        logger = MemoryLogger()

        def handler() -> None:
            logger.write({"n": "handler"})
            raise KeyboardInterrupt()

        trace = _reenterWith(code, lambda frame: logger._lock.locked(), handler)
        sys.settrace(trace)
        try:
            self.assertRaises(KeyboardInterrupt, call, logger)
        finally:
            sys.settrace(None)
        self.assertEqual(logger.messages, [{"n": "handler"}])
        self.assertEqual(list(logger._parked), [])

    def test_reset(self) -> None:
        """
        L{MemoryLogger.reset} interrupted keeps what was parked.
        """
        self._interrupted(lambda logger: logger.reset(), MemoryLogger.reset.__code__)

    def test_flushTracebacks(self) -> None:
        """
        L{MemoryLogger.flush_tracebacks} interrupted keeps what was parked.
        """
        self._interrupted(lambda logger: logger.flush_tracebacks(ValueError),
                          MemoryLogger.flush_tracebacks.__code__)

    def test_pairs(self) -> None:
        """
        L{MemoryLogger.validate} interrupted (as it reads the messages)
        keeps what was parked.
        """
        self._interrupted(lambda logger: logger.validate(), MemoryLogger._pairs.__code__)


class _Raising(SpanProcessor):
    """
    A span processor that raises as the span of C{app:handler} ends.
    """

    def on_end(self, span: ReadableSpan) -> None:
        if span.name == "app:handler":
            raise RuntimeError("processor failed")


class SpanDestinationParkedFailureTests(SynchronousTestCase):
    """
    A message parked by L{SpanDestination} as it ends its open actions at
    exit, whose span processor raises when it is taken.
    """

    def _endAtExitReentered(self, *action_types: str) -> None:
        """
        Leave a task open and end it with L{end_open_at_exit}, a signal
        handler logging an action of each of C{action_types} where
        C{_endOpen} holds the destination's lock (the first, C{app:handler},
        failing in L{_Raising}).
        """
        start_task(action_type="app:outer")
        original = _otel_destination.remember  # type: ignore[attr-defined]

        def remember(*args: Any, **kwargs: Any) -> Any:
            for action_type in action_types:
                with start_action(action_type=action_type):
                    pass
            return original(*args, **kwargs)

        self.patch(_otel_destination, "remember", remember)
        end_open_at_exit()

    def test_reportedAsItsFailure(self) -> None:
        """
        The failure is reported as the destination's, as on the normal path,
        and the other messages parked are taken too.
        """
        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        provider.add_span_processor(_Raising())
        destination = SpanDestination(provider)
        reports: List[Dict[str, Any]] = []
        add_destinations(destination, reports.append)
        self.addCleanup(remove_destination, reports.append)
        self.addCleanup(remove_destination, destination)
        self._endAtExitReentered("app:handler", "app:other")
        failures = [r for r in reports if r.get("message_type") == "eliot:destination_failure"]
        self.assertEqual(len(failures), 1)
        self.assertIn("processor failed", failures[0]["reason"])
        self.assertIn("SpanDestination", failures[0]["destination"])
        self.assertEqual(list(destination._parked), [])
        self.assertIn("app:other", [span.name for span in exporter.get_finished_spans()])

    def test_behindAWriter(self) -> None:
        """
        Behind a L{ThreadedWriter}, the only destination added, the failure
        is counted and told on standard error, as on the normal path: not
        given to the writer in front of the destination, stopped by then.
        """
        provider = TracerProvider()
        provider.add_span_processor(_Raising())
        writer = ThreadedWriter(SpanDestination(provider))
        writer.startService()
        self.addCleanup(remove_destination, writer)
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        dropped = _output._DESTINATIONS.dropped
        self._endAtExitReentered("app:handler")
        self.assertIn("processor failed", err.getvalue())
        self.assertEqual(_output._DESTINATIONS.dropped, dropped + 1)


class _LoggingProvider(TracerProvider):
    """
    A provider that logs an action as a span processor is added to it (as
    a signal handler or a finalizer may, where L{watch_of} adds its own).
    """

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        with start_action(action_type="app:handler"):
            pass
        super().add_span_processor(span_processor)


class WatchesReentryTests(SynchronousTestCase):
    """
    A message logged while a L{SpanDestination} being made adds its
    provider's shutdown watch.
    """

    def test_loggedWhileWatchAdded(self) -> None:
        """
        A message logged where the watch is added to the provider of a
        destination being made, taken by another destination that resolves
        its pipeline then (its provider's watch), is not waited for.
        """
        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        first = SpanDestination(provider)
        add_destinations(first)
        self.addCleanup(remove_destination, first)
        made: List[SpanDestination] = []
        thread = threading.Thread(target=lambda: made.append(SpanDestination(_LoggingProvider())),
                                  daemon=True)
        thread.start()
        thread.join(DEADLOCK)
        self.assertFalse(thread.is_alive(), "deadlocked on the watches' lock")
        self.assertEqual(len(made), 1)
        self.assertIn("app:handler", [span.name for span in exporter.get_finished_spans()])

    def test_watchOnceWhenReentered(self) -> None:
        """
        The watch of a provider asked for again between the lookup of its
        watch and the store of a new one (a handler making a destination
        with the same provider) is added to the provider once, and is the
        one both calls return.
        """
        provider = TracerProvider()
        returned: List[ShutdownWatch] = []

        def again() -> None:
            returned.append(watch_of(provider))

        # Once the lookup found no watch for it.
        trace = _reenterWith(watch_of.__code__,
                             lambda frame: frame.f_locals.get("watch", True) is None, again)
        _runTraced(self, trace, again)
        added = [processor for processor in
                 provider._active_span_processor._span_processors
                 if isinstance(processor, ShutdownWatch)]
        self.assertEqual(len(added), 1)
        self.assertEqual(returned, added * 2)


class LateRefusalsParkedTests(SynchronousTestCase):
    """
    A refusal counted where L{LateRefusals} holds its lock as it reports.
    """

    def test_countedInTheReport(self) -> None:
        """
        A refusal counted (a signal handler logging) while the report holds
        the lock is in that report.
        """
        stream = io.StringIO()
        tally = LateRefusals(BoundedQueue(10, 10000), "dest", stream)
        trace = _reenterWith(LateRefusals._reportWith.__code__,
                             lambda frame: tally._lock.locked(),
                             lambda: tally.count(STOPPED))
        _runTraced(self, trace, tally.report)
        self.assertIn('"count":1', stream.getvalue().replace(" ", ""))
        self.assertEqual(list(tally._parked), [])


class ExitReportsGuardTests(SynchronousTestCase):
    """
    The exit reports re-entered (their lock is re-entrant) by a call for
    the same writer.
    """

    def test_addSameWriter(self) -> None:
        """
        A writer added again where the exit reports make its finalizer is
        reported once if it is collected: one finalizer is left alive.
        """
        reports = ExitReports()
        writer = ThreadedWriter(FileDestination(io.BytesIO()))
        queue = BoundedQueue(10, 10000)

        def again() -> None:
            reports.add(writer, queue, "dest", io.StringIO())

        trace = _reenterWith(ExitReports.add.__code__,
                             lambda frame: "finalizer" in frame.f_locals, again)
        _runTraced(self, trace, again)
        alive = [info for info in weakref.finalize._registry.values()  # type: ignore[attr-defined]
                 if info.weakref() is writer]
        self.assertEqual(len(alive), 1)
        self.assertIn(writer, reports._collected)

    def test_lateSameQueue(self) -> None:
        """
        The tally of a queue asked for again where the exit reports make it
        is the same for both, and new for one of them only.
        """
        reports = ExitReports()
        queue = BoundedQueue(10, 10000)
        got: List[Any] = []

        def late() -> None:
            got.append(reports.late(queue, "dest", io.StringIO()))

        trace = _reenterWith(ExitReports.late.__code__,
                             lambda frame: "made" in frame.f_locals, late)
        _runTraced(self, trace, late)
        self.assertEqual(len(got), 2)
        self.assertIs(got[0][0], got[1][0])
        self.assertEqual(sorted(isNew for _, isNew in got), [False, True])
        self.assertIs(reports._late[id(queue)], got[0][0])
