"""
Tests for L{txcausal._output.Destinations} with a destination that logs from
inside itself, on the thread that logs (no
L{txcausal.logwriter.ThreadedWriter}): what it logs while it writes is not
fed back into it, and is counted and reported.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any, Callable, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination, log_message
from txcausal._feedback import FEEDBACK, FeedbackGuard
from txcausal._output import Destinations, Logger
from txcausal.logwriter import ThreadedWriter

from ._helpers import IsolatedOutputMixin


class Chatty:
    """
    A destination that logs a message of its own each time it is called,
    as one whose HTTP client logs would.
    """

    def __init__(self, logger: Logger) -> None:
        self.received: List[Dict[str, Any]] = []
        self._logger = logger

    def __call__(self, message: Dict[str, Any]) -> None:
        self.received.append(message)
        self._logger.write({"message_type": "chatty:wrote"})


def _reported(messages: List[Dict[str, Any]]) -> int:
    """
    @return: How many messages the feedback reports among C{messages} count.
    """
    return sum(message["count"] for message in messages
               if message.get("message_type") == "txcausal:messages_dropped"
               and message["reason"] == FEEDBACK)


class FeedbackTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    A destination called on the thread that logs, logging while it writes.
    """

    def test_soleDestinationNotFedBack(self) -> None:
        """
        The only destination, logging each time it is called, gets each
        message once: what it logs while it writes is refused, counted in
        C{dropped} (nothing else got it), and reported to it after it
        wrote, with no recursion.
        """
        destinations = Destinations()
        chatty = Chatty(Logger(destinations))
        destinations.add(chatty)
        for n in range(3):
            Logger(destinations).write({"message_type": "app", "n": n})
        logged = [m["n"] for m in chatty.received if m.get("message_type") == "app"]
        self.assertEqual(logged, [0, 1, 2])
        self.assertNotIn("chatty:wrote", [m.get("message_type") for m in chatty.received])
        # One report after each message: what it logged while taking a
        # report is reported with the next.
        self.assertEqual(len(chatty.received), 6)
        self.assertEqual(destinations.dropped, 6)
        self.assertEqual(_reported(chatty.received), 5)
        report = chatty.received[1]
        self.assertEqual(report["destination"], repr(chatty))

    def test_othersStillGetIt(self) -> None:
        """
        What a destination logs while it writes still reaches the other
        destinations; it is not counted in C{dropped} (it was delivered),
        and the report of what that destination did not get reaches them
        too.
        """
        destinations = Destinations()
        chatty = Chatty(Logger(destinations))
        other: List[Dict[str, Any]] = []
        destinations.add(chatty, other.append)
        Logger(destinations).write({"message_type": "app"})
        # The report is sent as soon as the chatty destination returns; it
        # logs while taking it too.
        self.assertEqual([m["message_type"] for m in other],
                         ["chatty:wrote", "chatty:wrote", "txcausal:messages_dropped", "app"])
        self.assertEqual(_reported(other), 1)
        self.assertEqual(destinations.dropped, 0)
        self.assertNotIn("chatty:wrote", [m.get("message_type") for m in chatty.received])

    def test_processWide(self) -> None:
        """
        Through the process-wide registry and C{log_message}, a destination
        logging from inside itself returns normally, once a message.
        """
        destinations = self.isolate()

        calls: List[Dict[str, Any]] = []

        def chatty(message: Dict[str, Any]) -> None:
            calls.append(message)
            log_message("chatty:wrote")

        destinations.add(chatty)
        log_message("app")
        self.assertEqual([m["message_type"] for m in calls],
                         ["app", "txcausal:messages_dropped"])

    def test_otherThreadsNotRefused(self) -> None:
        """
        A message logged by another thread while the destination writes is
        delivered to it: only its own thread's feedback is refused.
        """
        destinations = Destinations()
        received: List[str] = []
        logged = threading.Event()

        def slow(message: Dict[str, Any]) -> None:
            received.append(message["message_type"])
            if message["message_type"] == "first":
                thread = threading.Thread(
                    target=Logger(destinations).write, args=({"message_type": "other"},))
                thread.start()
                thread.join()
                logged.set()

        destinations.add(slow)
        Logger(destinations).write({"message_type": "first"})
        self.assertTrue(logged.is_set())
        self.assertEqual(received, ["first", "other"])
        self.assertEqual(destinations.dropped, 0)

    def test_pendingReportedAtExit(self) -> None:
        """
        What the destination logged while taking the last report is
        reported at exit (L{Destinations.finish}), on standard error when
        it is the only destination: every message it did not get is
        reported.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destinations = Destinations()
        chatty = Chatty(Logger(destinations))
        destinations.add(chatty)
        Logger(destinations).write({"message_type": "app"})
        destinations.finish()
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual(_reported(chatty.received) + _reported(reports),
                         destinations.dropped)

    def test_pendingReportedOnRemoval(self) -> None:
        """
        What a destination logged while it took its last report is reported
        to the other destinations when it is removed: every message it did
        not get is reported.
        """
        destinations = Destinations()
        chatty = Chatty(Logger(destinations))
        other: List[Dict[str, Any]] = []
        destinations.add(chatty, other.append)
        Logger(destinations).write({"message_type": "app"})
        destinations.remove(chatty)
        refused = [m["message_type"] for m in other].count("chatty:wrote")
        self.assertEqual(refused, 2)
        self.assertEqual(_reported(other), refused)


class Raising(Chatty):
    """
    A L{Chatty} destination that raises after it logged: a new C{error()}
    each time.
    """

    def __init__(self, logger: Logger, error: Callable[[], BaseException] = OSError) -> None:
        super().__init__(logger)
        self.error = error
        self.raised: List[BaseException] = []

    def __call__(self, message: Dict[str, Any]) -> None:
        super().__call__(message)
        self.raised.append(self.error())
        raise self.raised[-1]


def _failures(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """
    @return: The failure reports among C{messages}.
    """
    return [message for message in messages
            if message.get("message_type") == "eliot:destination_failure"]


class RaisingFeedbackTests(SynchronousTestCase):
    """
    A destination that logs while it writes, then raises: what it logged is
    counted in the report of its failure, not in a report of its own sent
    to it, which would fail too.
    """

    def test_countedInFailureReport(self) -> None:
        """
        The failure report the other destinations get says how many
        messages the destination logged before it raised, not given to it;
        the failing destination is not sent another report.
        """
        destinations = Destinations()
        raising = Raising(Logger(destinations))
        other: List[Dict[str, Any]] = []
        destinations.add(raising, other.append)
        for n in range(3):
            Logger(destinations).write({"message_type": "app", "n": n})
        self.assertEqual([m["message_type"] for m in raising.received], ["app"] * 3)
        self.assertEqual([m["message_type"] for m in other],
                         ["chatty:wrote", "app", "eliot:destination_failure"] * 3)
        self.assertEqual([m["not_fed_back"] for m in _failures(other)], [1, 1, 1])
        self.assertEqual(destinations.dropped, 0)

    def test_aloneCountsLoggedMessages(self) -> None:
        """
        When it is the only destination, C{dropped} counts the messages
        logged and lost (each application message, and each message the
        destination logged), not txcausal's own reports; the failure
        reports, on standard error, count what it logged.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destinations = Destinations()
        raising = Raising(Logger(destinations))
        destinations.add(raising)
        for n in range(3):
            Logger(destinations).write({"message_type": "app", "n": n})
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual([m["not_fed_back"] for m in _failures(reports)], [1, 1, 1])
        self.assertEqual(len(reports), 3)
        self.assertEqual(destinations.dropped, 6)

    def test_originalKeyboardInterrupt(self) -> None:
        """
        A destination that logs, then raises C{KeyboardInterrupt}: the
        code that logged gets that C{KeyboardInterrupt}, the one the
        destination raised for its message, not another raised later.
        """
        destinations = Destinations()
        raising = Raising(Logger(destinations), KeyboardInterrupt)
        other: List[Dict[str, Any]] = []
        destinations.add(raising, other.append)
        with self.assertRaises(KeyboardInterrupt) as caught:
            Logger(destinations).write({"message_type": "app"})
        self.assertIs(caught.exception, raising.raised[0])
        self.assertEqual([m["not_fed_back"] for m in _failures(other)], [1])

    def test_originalKeyboardInterruptWhenReportRaises(self) -> None:
        """
        So it is when another destination raises a C{KeyboardInterrupt} of
        its own as it takes the failure report.
        """
        destinations = Destinations()
        raising = Raising(Logger(destinations), KeyboardInterrupt)

        def other(message: Dict[str, Any]) -> None:
            if message["message_type"] == "eliot:destination_failure":
                raise KeyboardInterrupt()

        destinations.add(raising, other)
        with self.assertRaises(KeyboardInterrupt) as caught:
            Logger(destinations).write({"message_type": "app"})
        self.assertIs(caught.exception, raising.raised[0])


class UnguardedTests(SynchronousTestCase):
    """
    Which destinations the registry calls without a guard: those that never
    log, or keep their feedback out by themselves.
    """

    def test_fileDestination(self) -> None:
        """
        A L{FileDestination} is called as it is; a subclass that overrides
        C{__call__} (and could log) is guarded.
        """
        class Logging(FileDestination):
            def __call__(self, message: Dict[str, Any]) -> None:
                super().__call__(message)

        destinations = Destinations()
        plain, logging = FileDestination(io.BytesIO()), Logging(io.BytesIO())
        destinations.add(plain, logging)
        self.assertEqual([type(getattr(d, "__self__", d)) for d in destinations._destinations],
                         [FileDestination, FeedbackGuard])

    def test_threadedWriter(self) -> None:
        """
        A L{ThreadedWriter}, which refuses its destination's feedback by
        itself, is called as it is, whatever its destination; a subclass
        that overrides C{__call__} is guarded.
        """
        class Queueing(ThreadedWriter):
            def __call__(self, message: Dict[str, Any]) -> None:
                super().__call__(message)

        destinations = Destinations()
        writer = ThreadedWriter(lambda message: None, object())
        destinations.add(writer, Queueing(lambda message: None, object()))
        self.assertEqual([type(getattr(d, "__self__", d)) for d in destinations._destinations],
                         [ThreadedWriter, FeedbackGuard])
