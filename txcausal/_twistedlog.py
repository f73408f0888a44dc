# -*- test-case-name: txcausal.test.test_twistedlog -*-
"""
The bridge between txcausal and L{twisted.logger}, in both directions.

  - L{TwistedDestination} is a txcausal destination that emits each message
    into twisted.logger, as an event whose text is the message's JSON.
  - L{CausalLogObserver} is an L{ILogObserver} that turns each twisted.logger
    event into a txcausal message inside the current action.

Both can be on at once without looping: events made by L{TwistedDestination}
carry a L{BRIDGED_EVENT_KEY} key that L{CausalLogObserver} skips, and
the messages L{CausalLogObserver} wrote (remembered by task position, see
L{_Marks}) are not sent back to Twisted by L{TwistedDestination}, from
whatever thread it is called (Twisted's observers already saw the original
event); the reports logged meanwhile (of a destination that failed on such
a message, say), and the application's own messages that look alike, are.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Set, Tuple, cast

import orjson
from twisted.logger import (
    ILogObserver,
    LogEvent,
    LogLevel,
    formatEvent,
    globalLogPublisher,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from . import _output
from ._context import _get_action
from ._errors import failure_traceback, report_unbridged, write_traceback_message
from ._interfaces import IDestination, ILogger
from ._json import encoder_for
from ._jsondefault import EncoderClass, JSONDefault, checked_default
from ._message import _stamp_and_write
from ._wire import (
    ACTION_STATUS_FIELD,
    BRIDGED_EVENT_KEY,
    DESTINATION_FAILURE,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    MESSAGES_DROPPED,
    SERIALIZATION_FAILURE,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    TRACEBACK_MESSAGE_TYPE,
    UNENCODABLE_VALUES,
    nanoseconds,
)

#: The key of those events holding the message dictionary, where Eliot's
#: C{TwistedDestination} puts it.
ELIOT_EVENT_KEY = "eliot"

#: The fixed format of those events: the JSON text, never user text.
BRIDGED_EVENT_FORMAT = "{" + BRIDGED_EVENT_KEY + "}"

#: The message type of twisted.logger events seen by L{CausalLogObserver}.
TWISTED_LOG_MESSAGE_TYPE = "twisted:log"

#: Message types that L{TwistedDestination} emits at C{error} level: errors,
#: and reports of lost or damaged messages.
_ERROR_MESSAGE_TYPES = frozenset([
    TRACEBACK_MESSAGE_TYPE, DESTINATION_FAILURE, SERIALIZATION_FAILURE, MESSAGES_DROPPED,
    UNENCODABLE_VALUES,
])


class _BridgeState(threading.local):
    """
    Per thread: whether L{CausalLogObserver} is writing a message now (an
    event emitted meanwhile, by a destination logging to Twisted, is not
    bridged again).
    """

    writing = False


_STATE = _BridgeState()


def _level_of(message: Dict[str, Any]) -> object:
    """
    @return: C{error} for failed actions and tracebacks, C{info} otherwise.
    """
    if message.get(ACTION_STATUS_FIELD) == FAILED_STATUS:
        return LogLevel.error
    if message.get(MESSAGE_TYPE_FIELD) in _ERROR_MESSAGE_TYPES:
        return LogLevel.error
    return LogLevel.info


#: How many of the latest messages written by L{CausalLogObserver} are
#: remembered (see L{_Marks}).
MARKS_KEPT = 10_000


def _position(message: Dict[str, Any]) -> Tuple[object, object]:
    """
    @return: C{message}'s task UUID and level, which tell it from any other
        message, on a copy too (a C{ThreadedWriter} gives its destination
        one, from its thread).
    @raise TypeError: If the level is not a list of hashable values.
    """
    level = message.get(TASK_LEVEL_FIELD)
    return message.get(TASK_UUID_FIELD), tuple(level) if isinstance(level, list) else level


class _Marks:
    """
    The positions (see L{_position}) of the latest messages written by
    L{CausalLogObserver}, which L{TwistedDestination} does not send back to
    Twisted (its observers saw the original event).
    """

    def __init__(self, size: int = MARKS_KEPT) -> None:
        # Re-entrant: see add.
        self._lock = threading.RLock()
        self._order: Deque[Tuple[object, object]] = deque()
        self._kept: Set[Tuple[object, object]] = set()
        self._size = size

    def add(self, message: Dict[str, Any]) -> None:
        """
        Remember C{message}, forgetting the oldest one beyond the size.
        """
        position = _position(message)
        order = self._order
        with self._lock:
            # A Twisted event logged on this thread inside (a finalizer, a
            # signal handler) marks its message here too, re-entering the
            # lock: at every point, each position in the order is kept, and
            # the order is cut back to the size (past it, it was not).
            self._kept.add(position)
            order.append(position)
            while len(order) > self._size:
                self._kept.discard(order.popleft())

    def holds(self, message: Dict[str, Any]) -> bool:
        """
        @return: Whether C{message} (or the original of this copy) is one
            L{CausalLogObserver} wrote.
        """
        kind = message.get(MESSAGE_TYPE_FIELD)
        if kind != TWISTED_LOG_MESSAGE_TYPE and kind != TRACEBACK_MESSAGE_TYPE:
            return False
        try:
            position = _position(message)
            with self._lock:
                return position in self._kept
        except TypeError:
            return False


_MARKS = _Marks()


def _event_time(event: LogEvent) -> Optional[float]:
    """
    @return: The event's C{log_time} if it is a usable time (see
        L{txcausal._wire.nanoseconds}: a number of seconds from 1970 to
        2554, as the exports place messages), else C{None}.
    """
    when: Any = event.get("log_time")
    return None if nanoseconds(when) is None else float(when)


@implementer(ILogger)
class _MarkingLogger:
    """
    The logger L{CausalLogObserver} writes with: it marks each message (see
    L{_Marks}), stamps it with the time of its event if that is usable,
    then hands it to the logger that would have been used.
    """

    __slots__ = ("_logger", "_time")

    def __init__(self, logger: ILogger, time: Optional[float] = None) -> None:
        self._logger = logger
        self._time = time

    def write(self, dictionary: Dict[str, Any], serializer: Optional[Any] = None) -> None:
        """
        Mark and stamp C{dictionary}, then write it.
        """
        if self._time is not None:
            dictionary[TIMESTAMP_FIELD] = self._time
        _MARKS.add(dictionary)
        self._logger.write(dictionary, serializer)


@implementer(IDestination)
class TwistedDestination:
    """
    A txcausal destination that emits every message into twisted.logger,
    so that C{twistd} logs and trial's C{test.log} hold them.

    Each event has C{log_level} (C{error} for failed actions and
    tracebacks, C{info} otherwise), C{log_namespace}, C{log_time} (the
    message's timestamp) and the fixed C{log_format} L{BRIDGED_EVENT_FORMAT},
    whose text is the message as one line of JSON, so those logs can be fed
    back to txcausal's tools.  The message dictionary itself is the event's
    L{ELIOT_EVENT_KEY} (C{"eliot"}) key, where observers written for Eliot's
    C{TwistedDestination} read it; do not change it.  A message with values
    JSON cannot encode is followed by an event of its own reporting them.
    Thread-safe, as twisted.logger's publisher is.

    @ivar publisher: The observer events are given to.
    @ivar namespace: The C{log_namespace} of the events.
    """

    __slots__ = ("publisher", "namespace", "_encode")

    def __init__(
        self,
        publisher: Optional[Callable[[LogEvent], None]] = None,
        namespace: str = "txcausal",
        json_default: JSONDefault = None,
        *,
        encoder: EncoderClass = None,
    ) -> None:
        """
        @param publisher: Where to emit events; default:
            L{twisted.logger.globalLogPublisher}.
        @param namespace: The C{log_namespace} of the events.
        @param json_default: A function for types JSON does not know, as
            for L{txcausal.to_file}.
        @param encoder: Deprecated: a L{json.JSONEncoder} subclass; pass
            C{json_default} instead.
        @raise TypeError: If both are given, or either is not what it
            should be.
        """
        self.publisher: Callable[[LogEvent], None] = (
            globalLogPublisher if publisher is None else publisher
        )
        self.namespace = namespace
        self._encode = encoder_for(checked_default(json_default, encoder)).encode

    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Emit C{message} as a twisted.logger event, unless it came from
        twisted.logger through L{CausalLogObserver} (see L{_Marks}), in any
        thread.
        """
        if _MARKS.holds(message):
            return
        # Split as bytes: C{str.splitlines} also splits at U+2028, U+2029
        # and U+0085, which JSON leaves raw inside strings.
        line, *reports = self._encode(message).splitlines()
        self._emit(message, line.decode("utf-8"))
        for report in reports:
            self._emit(orjson.loads(report), report.decode("utf-8"))

    def _emit(self, message: Dict[str, Any], text: str) -> None:
        """
        Emit one event: C{message}, whose JSON line is C{text}.
        """
        event: LogEvent = {
            "log_level": _level_of(message),
            "log_namespace": self.namespace,
            "log_source": None,
            "log_format": BRIDGED_EVENT_FORMAT,
            BRIDGED_EVENT_KEY: text,
            ELIOT_EVENT_KEY: message,
        }
        timestamp = message.get(TIMESTAMP_FIELD)
        if isinstance(timestamp, (int, float)):
            event["log_time"] = timestamp
        self.publisher(event)

    def __repr__(self) -> str:
        return f"<TwistedDestination {self.publisher!r} namespace={self.namespace!r}>"


def _failure_of(event: LogEvent) -> Optional[Failure]:
    """
    @return: The event's failure: C{log_failure} from twisted.logger, or
        C{failure} from the legacy C{twisted.python.log.err}.
    """
    failure = event.get("log_failure")
    if failure is None and event.get("isError"):
        failure = event.get("failure")
    return failure if isinstance(failure, Failure) else None


def _text_of(event: LogEvent, failure: Optional[Failure]) -> str:
    """
    @return: The event's text: C{why} for legacy errors (their formatted
        text repeats the traceback), C{formatEvent} otherwise.
    """
    if failure is not None and "why" in event and "log_failure" not in event:
        why = event["why"]
        return "Unhandled Error" if why is None else str(why)
    return formatEvent(event)


#: Why C{twistd --logger} refuses L{CausalLogObserver}, by either name.
NOT_A_TWISTD_LOGGER = (
    "CausalLogObserver, the class, is not a twistd logger: it only brings Twisted's events "
    "to txcausal's destinations, and --logger adds none, so nothing would be written. Use "
    "--logger txcausal.twistd.causalLogObserver (or a factory of your own made with "
    "txcausal.twistd.causalLogObserverFor)")


def _made_by_twistd_logger_option() -> bool:
    """
    @return: Whether the L{CausalLogObserver} being made is the observer
        twistd's C{--logger} asked for: twistd's C{AppLogger.start} calls
        the factory that option names itself, with no argument.
    """
    caller = sys._getframe(2)
    return (caller.f_code.co_name == "start"
            and caller.f_globals.get("__name__") == "twisted.application.app")


@implementer(ILogObserver)
class CausalLogObserver:
    """
    An L{ILogObserver} that writes each twisted.logger event as a txcausal
    message inside the current action: a C{twisted:log} message with fields
    C{message} (the formatted text), C{log_level}, C{log_namespace} and
    C{log_system}; or, for an event carrying a failure (C{log_failure}, or
    the legacy C{failure}/C{why} of C{twisted.python.log.err}), an
    C{eliot:traceback} message with those same fields.  Legacy
    C{twisted.python.log.msg} events are included.

    Add it with C{globalLogPublisher.addObserver(CausalLogObserver())}, or
    give it to C{globalLogBeginner.beginLoggingTo}.  It never raises.  It
    skips events made by L{TwistedDestination}, and events emitted in its
    own thread while it is writing (by a destination logging to Twisted),
    which would otherwise loop; Twisted's other observers still see those.
    Thread-safe.
    """

    __slots__ = ("_logger",)

    def __init__(self, logger: Optional[ILogger] = None) -> None:
        """
        @param logger: Where to write; default: the current action's logger,
            or the default one.
        @raise TypeError: If made by C{twistd --logger}, which takes the
            class for a logger that writes (see L{NOT_A_TWISTD_LOGGER}).
        """
        if logger is None and _made_by_twistd_logger_option():
            raise TypeError(NOT_A_TWISTD_LOGGER)
        self._logger = logger

    def __call__(self, event: LogEvent) -> None:
        if BRIDGED_EVENT_KEY in event or _STATE.writing:
            return
        _STATE.writing = True
        try:
            self._write(event)
        except Exception as e:
            # An observer must not raise: report what could not be bridged
            # (the event itself is still seen by Twisted's other observers).
            report_unbridged("a twisted.logger event", e, event=event)
        finally:
            _STATE.writing = False

    def _write(self, event: LogEvent) -> None:
        action = _get_action()
        if self._logger is not None:
            inner = self._logger
        elif action is not None:
            inner = action._logger
        else:
            inner = _output._DEFAULT_LOGGER
        # Stamped with the event's time: events logged before logging
        # began are replayed later (see globalLogBeginner).
        logger = _MarkingLogger(inner, _event_time(event))
        failure = _failure_of(event)
        level = event.get("log_level")
        fields: Dict[str, Any] = {
            "message": _text_of(event, failure),
            "log_level": getattr(level, "name", None),
            "log_namespace": event.get("log_namespace"),
            "log_system": event.get("log_system", event.get("system")),
        }
        if failure is not None:
            exception = cast(BaseException, failure.value)
            write_traceback_message(logger, exception, failure_traceback(failure), **fields)
            return
        fields[MESSAGE_TYPE_FIELD] = TWISTED_LOG_MESSAGE_TYPE
        _stamp_and_write(fields, action, logger, None)

    def __repr__(self) -> str:
        return "<CausalLogObserver>"


__all__ = [
    "TwistedDestination",
    "CausalLogObserver",
    "BRIDGED_EVENT_KEY",
    "BRIDGED_EVENT_FORMAT",
    "ELIOT_EVENT_KEY",
    "TWISTED_LOG_MESSAGE_TYPE",
]
