"""
Tests for L{txcausal._twistedlog}: the twisted.logger bridge, both ways.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import orjson
from twisted.logger import (
    ILogObserver,
    LogLevel,
    LogPublisher,
    formatEvent,
    globalLogPublisher,
)
from twisted.logger import Logger as TwistedLogger
from twisted.python import log as legacyLog
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import (
    IDestination,
    ILogger,
    log_message,
    register_exception_extractor,
    start_action,
    write_traceback,
)
from txcausal._output import Destinations, Logger, swap_logger
from txcausal._twistedlog import (
    BRIDGED_EVENT_FORMAT,
    BRIDGED_EVENT_KEY,
    TWISTED_LOG_MESSAGE_TYPE,
    CausalLogObserver,
    TwistedDestination,
    _MarkingLogger,
    _Marks,
)
from txcausal._wire import DESTINATION_FAILURE, MESSAGES_DROPPED
from txcausal.test._helpers import CapturingMixin, linecache_looks


class _Boom(Exception):
    pass


class _Lookalike(Exception):
    """
    An exception whose extractor gives the fields of a bridged event.
    """


def _routeTo(case: SynchronousTestCase, *destinations: Any) -> None:
    """
    Send every message logged during the test to C{destinations}, through
    a real (private) L{Destinations}.
    """
    registry = Destinations()
    registry.add(*destinations)
    previous = swap_logger(Logger(registry))
    case.addCleanup(swap_logger, previous)


class TwistedDestinationTests(SynchronousTestCase):
    """
    Tests for L{TwistedDestination}.
    """

    def setUp(self) -> None:
        self.events: List[Dict[str, Any]] = []
        self.destination = TwistedDestination(self.events.append)

    def test_interface(self) -> None:
        """
        L{TwistedDestination} provides L{IDestination}.
        """
        self.assertTrue(verifyObject(IDestination, self.destination))

    def test_defaultPublisher(self) -> None:
        """
        Without a publisher, events go to twisted.logger's global publisher.
        """
        self.assertIs(TwistedDestination().publisher, globalLogPublisher)

    def test_textIsTheJSONMessage(self) -> None:
        """
        The formatted text of the event is the message as one line of JSON.
        """
        message = {"message_type": "app:x", "value": 3, "task_level": [1], "timestamp": 5.0}
        self.destination(message)
        [event] = self.events
        text = formatEvent(event)
        self.assertNotIn("\n", text)
        self.assertEqual(orjson.loads(text), message)

    def test_unicodeLineSeparatorsKeepTheLineWhole(self) -> None:
        """
        U+2028, U+2029 and U+0085, which JSON leaves raw in strings but
        C{str.splitlines} splits at, do not cut the message: each is one
        event holding its whole JSON, and nothing is reported.
        """
        registry = Destinations()
        others: List[Dict[str, Any]] = []
        registry.add(self.destination, others.append)
        previous = swap_logger(Logger(registry))
        self.addCleanup(swap_logger, previous)
        for separator in ("\u2028", "\u2029", "\x85"):
            log_message(message_type="app:comment", text=f"first{separator}second")
        self.assertEqual([orjson.loads(e[BRIDGED_EVENT_KEY]) for e in self.events],
                         [e["eliot"] for e in self.events])
        self.assertEqual([e["eliot"]["text"] for e in self.events],
                         ["first\u2028second", "first\u2029second", "first\x85second"])
        self.assertEqual([m["message_type"] for m in others], ["app:comment"] * 3)

    def test_userTextIsNeverAFormat(self) -> None:
        """
        The event's C{log_format} is fixed: braces and percent signs in the
        message's values come through literally.
        """
        message = {"message_type": "app:x", "text": "{log_namespace} %(x)s {0}"}
        self.destination(message)
        [event] = self.events
        self.assertEqual(event["log_format"], BRIDGED_EVENT_FORMAT)
        self.assertEqual(orjson.loads(formatEvent(event))["text"], "{log_namespace} %(x)s {0}")

    def test_levels(self) -> None:
        """
        Failed actions, tracebacks and reports of lost or damaged messages
        are emitted at C{error} level, other messages at C{info}.
        """
        errors = [{"action_status": "failed"}, {"message_type": "eliot:traceback"},
                  {"message_type": "eliot:destination_failure"},
                  {"message_type": "eliot:serialization_failure"},
                  {"message_type": "txcausal:messages_dropped"}]
        for message in errors + [{"action_status": "succeeded"}, {"message_type": "app:x"}]:
            self.destination(message)
        self.assertEqual([e["log_level"] for e in self.events],
                         [LogLevel.error] * 5 + [LogLevel.info] * 2)

    def test_namespaceAndTime(self) -> None:
        """
        Events have the destination's C{log_namespace} and the message's
        timestamp as C{log_time}.
        """
        TwistedDestination(self.events.append, namespace="app")({"timestamp": 12.5})
        self.destination({"timestamp": 1.0})
        self.assertEqual([(e["log_namespace"], e["log_time"]) for e in self.events],
                         [("app", 12.5), ("txcausal", 1.0)])

    def test_unencodableMessageIsReported(self) -> None:
        """
        A message with a value that cannot be encoded is emitted with the
        value's C{repr}, followed by an C{error} event reporting it.
        """
        self.destination({"message_type": "app:x", "bad": object()})
        message, report = self.events
        self.assertIn("object object", orjson.loads(message[BRIDGED_EVENT_KEY])["bad"])
        self.assertEqual((report["log_level"], report["eliot"]["message_type"]),
                         (LogLevel.error, "txcausal:unencodable_values"))
        self.assertEqual(orjson.loads(report[BRIDGED_EVENT_KEY]), report["eliot"])

    def test_eliotKey(self) -> None:
        """
        The message dictionary is the event's C{"eliot"} key, as Eliot's
        C{TwistedDestination} puts it, for observers that pick messages out
        of Twisted's log.
        """
        message = {"message_type": "app:x", "n": 1}
        self.destination(message)
        self.assertIs(self.events[0]["eliot"], message)

    def test_actionMessagesThroughTwisted(self) -> None:
        """
        Registered as a destination, it emits the start, inner and finish
        messages of an action, in order, as JSON.
        """
        _routeTo(self, self.destination)
        with start_action(action_type="app:act"):
            log_message(message_type="app:inner")
        fields = [orjson.loads(formatEvent(e)) for e in self.events]
        self.assertEqual([(f.get("action_status"), f.get("message_type"), f["task_level"])
                          for f in fields],
                         [("started", None, [1]), (None, "app:inner", [2]),
                          ("succeeded", None, [3])])


class CausalLogObserverTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{CausalLogObserver}.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.observer = CausalLogObserver()
        self.log = TwistedLogger(namespace="app.web", observer=self.observer)

    def test_interface(self) -> None:
        """
        L{CausalLogObserver} provides L{ILogObserver}.
        """
        self.assertTrue(verifyObject(ILogObserver, self.observer))

    def test_eventInsideCurrentAction(self) -> None:
        """
        An event becomes a C{twisted:log} message inside the current action,
        with the formatted text, level, namespace and system.
        """
        with start_action(action_type="app:act") as action:
            self.log.warn("hello {who}", who="you", log_system="web#1")
        message = self.logger.messages[1]
        self.assertEqual(
            {k: message[k] for k in ("message_type", "message", "log_level",
                                     "log_namespace", "log_system", "task_uuid", "task_level")},
            {"message_type": TWISTED_LOG_MESSAGE_TYPE, "message": "hello you",
             "log_level": "warn", "log_namespace": "app.web", "log_system": "web#1",
             "task_uuid": action.task_uuid, "task_level": [2]},
        )
        self.logger.validate()

    def test_eventOutsideAnyAction(self) -> None:
        """
        Outside any action, an event becomes a message of a task of its own.
        """
        self.log.info("alone")
        [message] = self.logger.messages
        self.assertEqual((message["message"], message["task_level"]), ("alone", [1]))

    def test_logFailureIsATraceback(self) -> None:
        """
        An event with a C{log_failure} becomes an C{eliot:traceback}
        message, with the event's text and level, that
        L{MemoryLogger.flush_tracebacks} finds.
        """
        try:
            raise _Boom("kaboom")
        except _Boom:
            self.log.failure("while {doing}", doing="frobbing")
        [traceback] = self.logger.flush_tracebacks(_Boom)
        self.assertEqual((traceback["message"], traceback["log_level"]),
                         ("while frobbing", "critical"))
        self.assertIn("kaboom", traceback["traceback"])
        self.logger.validate()

    def test_failureReadsNoSource(self) -> None:
        """
        The traceback of an event's failure is formatted without reading or
        checking any source file (the observer runs on the reactor thread):
        file, line and function of each frame, as L{write_traceback}
        writes them; a cleaned failure (no traceback left) gets the brief
        traceback L{writeFailure} writes.
        """
        try:
            raise _Boom("kaboom")
        except _Boom:
            failure = Failure()
        assert failure.tb is not None
        line = failure.tb.tb_lineno
        cleaned = Failure(_Boom("cleaned"))
        cleaned.cleanFailure()
        looked = linecache_looks(self)
        self.log.failure("first", failure)
        self.log.failure("second", cleaned)
        self.assertEqual(looked, [])
        first, second = self.logger.flush_tracebacks(_Boom)
        code = self.test_failureReadsNoSource.__code__
        self.assertIn(f'  File "{code.co_filename}", line {line}, in '
                      f"{code.co_name}\n", first["traceback"])
        self.assertTrue(first["traceback"].endswith("_Boom: kaboom\n"), first["traceback"])
        self.assertEqual(second["traceback"], cleaned.getBriefTraceback())

    def test_legacyErrIsATraceback(self) -> None:
        """
        A legacy C{twisted.python.log.err} becomes an C{eliot:traceback}
        message whose text is the C{why}.
        """
        globalLogPublisher.addObserver(self.observer)
        self.addCleanup(globalLogPublisher.removeObserver, self.observer)
        legacyLog.err(Failure(_Boom("legacy")), "it broke")
        self.flushLoggedErrors(_Boom)
        [traceback] = self.logger.flush_tracebacks(_Boom)
        self.assertEqual((traceback["message"], traceback["log_level"]),
                         ("it broke", "critical"))

    def test_legacyMsgIsIncluded(self) -> None:
        """
        A legacy C{twisted.python.log.msg} becomes a C{twisted:log} message
        with its text and system.
        """
        globalLogPublisher.addObserver(self.observer)
        self.addCleanup(globalLogPublisher.removeObserver, self.observer)
        legacyLog.msg("old", "style", system="legacy-sys")
        [message] = [m for m in self.logger.messages if m.get("message") == "old style"]
        self.assertEqual((message["log_system"], message["log_level"]), ("legacy-sys", "info"))

    def test_skipsBridgedEvents(self) -> None:
        """
        Events made by L{TwistedDestination} are not written back.
        """
        TwistedDestination(self.observer)({"message_type": "app:x"})
        self.assertEqual(self.logger.messages, [])

    def test_timestampIsTheEventTime(self) -> None:
        """
        The message's timestamp is the event's C{log_time}, when the event
        was logged, not when the observer saw it (events logged before
        logging began are replayed later): for a message and a traceback.
        """
        self.observer({"log_format": "early", "log_level": LogLevel.info, "log_time": 1000.25})
        self.observer({"log_format": "at once", "log_level": LogLevel.info, "log_time": 7})
        self.observer({"log_format": "failed", "log_level": LogLevel.error,
                       "log_failure": Failure(_Boom("no")), "log_time": 2000.5})
        self.flushLoggedErrors(_Boom)
        self.assertEqual([(m["message"], m["timestamp"]) for m in self.logger.messages],
                         [("early", 1000.25), ("at once", 7.0), ("failed", 2000.5)])

    def test_unusableEventTimeIsNow(self) -> None:
        """
        An event whose C{log_time} is missing or not a usable time (not a
        number, not finite, before 1970 or past the year 2554) is stamped
        with the time the observer sees it.
        """
        times: List[object] = [None, "12", True, float("nan"), float("inf"), -1.0, 1e12, [5]]
        before = time.time()
        for when in times:
            event = {"log_format": "x", "log_level": LogLevel.info, "log_time": when}
            if when is None:
                del event["log_time"]
            self.observer(event)
        after = time.time()
        stamps = [m["timestamp"] for m in self.logger.messages]
        self.assertEqual(len(stamps), len(times))
        for stamp in stamps:
            self.assertTrue(before <= stamp <= after, (before, stamp, after))

    def test_neverRaises(self) -> None:
        """
        When writing fails, the observer does not raise: it logs a
        C{txcausal:messages_dropped} report to the default logger.
        """

        class Broken:
            def write(self, dictionary: Dict[str, Any], serializer: Any = None) -> None:
                raise RuntimeError("broken logger")

        broken: Any = Broken()

        CausalLogObserver(broken)({"log_format": "x", "log_level": LogLevel.info})
        [report] = self.logger.messages
        self.assertEqual((report["message_type"], report["count"], report["exception"]),
                         (MESSAGES_DROPPED, 1, "builtins.RuntimeError"))


class BothDirectionsTests(SynchronousTestCase):
    """
    L{TwistedDestination} and L{CausalLogObserver} on at once.
    """

    def setUp(self) -> None:
        self.publisher = LogPublisher()
        self.events: List[Dict[str, Any]] = []
        self.messages: List[Dict[str, Any]] = []
        self.publisher.addObserver(self.events.append)  # type: ignore[arg-type]
        self.publisher.addObserver(CausalLogObserver())
        _routeTo(self, self.messages.append, TwistedDestination(self.publisher))

    def test_causalMessageGoesToTwistedOnce(self) -> None:
        """
        A txcausal message is emitted into Twisted once, and does not come
        back as a message.
        """
        log_message(message_type="app:x")
        self.assertEqual([m["message_type"] for m in self.messages], ["app:x"])
        self.assertEqual(len(self.events), 1)

    def test_twistedEventComesToCausalOnce(self) -> None:
        """
        A Twisted event becomes one txcausal message, which is not emitted
        back into Twisted.
        """
        TwistedLogger(namespace="app", observer=self.publisher).info("hi")
        self.assertEqual([m["message"] for m in self.messages], ["hi"])
        self.assertEqual([formatEvent(e) for e in self.events], ["hi"])

    def test_destinationFailureWhileBridgingReachesTwisted(self) -> None:
        """
        When a destination fails on a message bridged from a Twisted event,
        the C{eliot:destination_failure} report reaches Twisted's observers
        (only the bridged message itself is not sent back).
        """

        def broken(message: Dict[str, Any]) -> None:
            raise _Boom("disk gone")

        _routeTo(self, self.messages.append, TwistedDestination(self.publisher), broken)
        TwistedLogger(namespace="app", observer=self.publisher).info("hi")
        self.assertEqual([m["message_type"] for m in self.messages],
                         [TWISTED_LOG_MESSAGE_TYPE, DESTINATION_FAILURE])
        reports = [orjson.loads(e[BRIDGED_EVENT_KEY]) for e in self.events
                   if BRIDGED_EVENT_KEY in e]
        self.assertEqual([r["message_type"] for r in reports], [DESTINATION_FAILURE])
        self.assertEqual(len(self.events), 2)

    def test_bridgedMessageFromAnotherThreadNotSentBack(self) -> None:
        """
        The messages L{CausalLogObserver} writes, given to
        L{TwistedDestination} from another thread (a C{ThreadedWriter}'s),
        as a snapshot of their JSON, are not emitted back into Twisted:
        neither an event's message nor a failure's traceback.
        """
        written: List[Dict[str, Any]] = []
        _routeTo(self, written.append)
        twisted = TwistedLogger(namespace="app", observer=self.publisher)
        twisted.info("hi")
        twisted.failure("failed", Failure(_Boom("no")))
        self.assertEqual([m["message_type"] for m in written],
                         [TWISTED_LOG_MESSAGE_TYPE, "eliot:traceback"])
        before = len(self.events)
        destination = TwistedDestination(self.publisher)

        def writeSnapshots() -> None:
            for message in written:
                destination(orjson.loads(orjson.dumps(message)))

        thread = threading.Thread(target=writeSnapshots)
        thread.start()
        thread.join()
        self.assertEqual(len(self.events), before)

    def test_bridgedBeforeAnyDestinationNotSentBack(self) -> None:
        """
        The messages L{CausalLogObserver} writes while there is no
        destination yet (twistd's startup events, given to it by
        C{globalLogBeginner}), kept until the first destination is added,
        are not emitted back into Twisted when that destination is a
        L{TwistedDestination}; the messages are written (to the other
        destination added with it).
        """
        registry = Destinations()
        previous = swap_logger(Logger(registry))
        self.addCleanup(swap_logger, previous)
        twisted = TwistedLogger(namespace="app", observer=self.publisher)
        twisted.info("startup")
        twisted.failure("failed", Failure(_Boom("no")))
        before = len(self.events)
        written: List[Dict[str, Any]] = []
        registry.add(written.append, TwistedDestination(self.publisher))
        self.assertEqual([m["message_type"] for m in written],
                         [TWISTED_LOG_MESSAGE_TYPE, "eliot:traceback"])
        self.assertEqual(len(self.events), before)

    def test_tracebackOfOwnNotSkipped(self) -> None:
        """
        The application's own tracebacks still go to Twisted.
        """
        try:
            raise _Boom("mine")
        except _Boom:
            write_traceback()
        [event] = self.events
        self.assertEqual(orjson.loads(event[BRIDGED_EVENT_KEY])["message_type"],
                         "eliot:traceback")

    def test_ownLookalikesSentToTwisted(self) -> None:
        """
        The application's own messages that merely look bridged reach
        Twisted: a C{twisted:log} message it logs itself, and a traceback
        whose exception extractor gives C{log_namespace} and C{log_system}.
        """
        log_message(TWISTED_LOG_MESSAGE_TYPE, message="relayed")
        register_exception_extractor(
            _Lookalike, lambda e: {"log_namespace": "svc", "log_system": "svc-7"})
        try:
            raise _Lookalike("mine")
        except _Lookalike:
            write_traceback()
        sent = [orjson.loads(e[BRIDGED_EVENT_KEY]) for e in self.events]
        self.assertEqual([(m["message_type"], m.get("log_system")) for m in sent],
                         [(TWISTED_LOG_MESSAGE_TYPE, None), ("eliot:traceback", "svc-7")])
        self.assertEqual(len(self.messages), 2)


class MarksTests(SynchronousTestCase):
    """
    L{_Marks}, the positions of the messages L{CausalLogObserver} wrote.
    """

    def test_boundedOldestForgotten(self) -> None:
        """
        Past its size, the oldest position is forgotten; a copy of a marked
        message is held; a message of another type, or with a level that
        cannot be hashed, is not.
        """
        marks = _Marks(size=2)
        messages = [{"message_type": TWISTED_LOG_MESSAGE_TYPE, "task_uuid": "u",
                     "task_level": [i]} for i in range(3)]
        for message in messages:
            marks.add(message)
        self.assertEqual([marks.holds(orjson.loads(orjson.dumps(m))) for m in messages],
                         [False, True, True])
        self.assertFalse(marks.holds({"message_type": "app:x", "task_uuid": "u",
                                      "task_level": [2]}))
        self.assertFalse(marks.holds({"message_type": TWISTED_LOG_MESSAGE_TYPE,
                                      "task_uuid": "u", "task_level": [{}]}))

    def test_markingLoggerInterface(self) -> None:
        """
        L{_MarkingLogger} provides L{ILogger}.
        """
        self.assertTrue(verifyObject(ILogger, _MarkingLogger(Logger(Destinations()))))

