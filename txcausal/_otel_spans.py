# -*- test-case-name: txcausal.test.test_otel -*-
"""
What an action becomes as an OpenTelemetry span: the mapping of messages to
names, times, attributes, events and status, shared by
L{txcausal.otel.SpanDestination} (live) and C{txcausal export} (from files).

Spans are built complete, as the SDK's C{ReadableSpan}, when the action's
end is known, with the ids of L{txcausal._traceids}.
"""

from __future__ import annotations

import json
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from orjson import dumps, loads

from ._json import JSONLineEncoder
from ._otel_times import ended_after, nanoseconds, started_before
from ._safe import safe_repr
from ._traceids import read_span_id, span_id
from ._version import __version__
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DURATION_FIELD,
    EXCEPTION_FIELD,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    REASON_FIELD,
    REMOTE_TASK_LEVELS_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    TRACEBACK_FIELD,
    TRACEBACK_MESSAGE_TYPE,
    is_attempt,
)

Message = Dict[str, Any]
Attributes = Dict[str, Any]

#: The instrumentation scope of the spans txcausal makes.
SCOPE = InstrumentationScope("txcausal", __version__)
#: Attribute of a span whose action's finish was never seen.
UNFINISHED_ATTRIBUTE = "txcausal.unfinished"
#: Attribute of a span whose action's start message was not seen: its start
#: time comes from the finish message's C{duration}, and it lacks the start
#: message's fields.
START_MISSING_ATTRIBUTE = "txcausal.start_missing"
#: Attribute of a second span of one action (read twice, or a task given up
#: by C{txcausal export --max-open} whose finish came later): the first's
#: span id, in hex, which it also links to; its own span id differs (see
#: L{txcausal._traceids}): tracing backends merge spans that share one.
COPY_OF_ATTRIBUTE = "txcausal.copy_of"
#: The field of a server's start message naming a parent span that is not a
#: txcausal action (from a bare C{traceparent}).
PARENT_SPAN_ID_FIELD = "parent_span_id"

#: The trace flags of a span that is sampled.
SAMPLED = TraceFlags(TraceFlags.SAMPLED)
#: The trace flags of a span that is not sampled.
NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_OK = Status(StatusCode.OK)
#: The status of a span whose action has not finished.
UNSET_STATUS = Status(StatusCode.UNSET)

#: The fields of a start message that are not a span's attributes (the span
#: itself tells them).
START_SKIPPED = frozenset(
    [TASK_UUID_FIELD, TASK_LEVEL_FIELD, TIMESTAMP_FIELD, ACTION_TYPE_FIELD, ACTION_STATUS_FIELD]
)
#: The fields of a finish message that are not a span's attributes (the
#: span, its status or its exception event tell them).
END_SKIPPED = START_SKIPPED | {
    DURATION_FIELD, EXCEPTION_FIELD, REASON_FIELD, REMOTE_TASK_LEVELS_FIELD, TRACEBACK_FIELD
}
_EVENT_SKIPPED = frozenset([TASK_UUID_FIELD, TASK_LEVEL_FIELD, TIMESTAMP_FIELD, MESSAGE_TYPE_FIELD])
_KINDS = {
    "txcausal:http:client": SpanKind.CLIENT,
    "txcausal:http:server": SpanKind.SERVER,
}
_INT64 = 1 << 63
#: Encodes values as a file destination does.
_ENCODER = JSONLineEncoder()


def json_text(value: Any) -> str:
    """
    @return: C{value} as JSON text; never raises (what JSON cannot hold is
        written as its C{repr}).
    """
    try:
        return dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, default=repr, ensure_ascii=False)


def _homogeneous(values: List[Any]) -> bool:
    """
    @return: Whether C{values} are all strings, all booleans, all finite
        floats or all integers that fit 64 bits.
    """
    if not values:
        return True
    cls = values[0].__class__
    if cls is int:
        return all(v.__class__ is int and -_INT64 <= v < _INT64 for v in values)
    if cls is float:
        return all(v.__class__ is float and v - v == 0.0 for v in values)
    return (cls is str or cls is bool) and all(v.__class__ is cls for v in values)


def attribute_value(value: Any) -> Any:
    """
    @return: C{value} as an OpenTelemetry attribute value: strings, numbers
        (integers that fit 64 bits), booleans and lists of one of these as
        they are (lists copied, as tuples); anything else as it reads back
        from a log file (L{as_read}), then as JSON text if it still is none
        of these.  So a span built from the messages as they are logged
        and one built later from the log file have the same attributes.
    """
    plain = _plain(value)
    if plain is not _NOT_PLAIN:
        return plain
    read = as_read(value)
    plain = _plain(read)
    return json_text(read) if plain is _NOT_PLAIN else plain


#: What L{_plain} returns for a value that is no attribute value as it is.
_NOT_PLAIN = object()


def _plain(value: Any) -> Any:
    """
    @return: C{value} as an attribute value if it is a string, number,
        boolean or list of one of these; else L{_NOT_PLAIN}.
    """
    cls = value.__class__
    if cls is str or cls is bool or (cls is float and value - value == 0.0):
        return value
    if cls is int and -_INT64 <= value < _INT64:
        return value
    if cls is list and _homogeneous(value):
        return tuple(value)
    return _NOT_PLAIN


def as_read(value: Any) -> Any:
    """
    @return: C{value} as orjson reads it once a file destination has
        written it (see C{docs/outputting.md}): a tuple or a set as a list,
        bytes as text, an integer past 64 bits (which txcausal's readers
        read exactly, but an attribute cannot hold) as a float, a float
        that is not finite as C{"NaN"}...
    """
    line = _ENCODER.encode({"v": value}).partition(b"\n")[0]
    try:
        return loads(line)["v"]
    except (ValueError, KeyError, TypeError):  # Not a value's line: never, but never raise.
        return safe_repr(value)


def attributes(message: Mapping[str, Any],
               skipped: FrozenSet[str] = START_SKIPPED) -> Attributes:
    """
    @return: The fields of C{message} but the C{skipped} ones, as attributes.
    """
    result = {}
    for key, value in message.items():
        if key not in skipped:
            cls = value.__class__
            plain = cls is str or cls is bool or (cls is float and value - value == 0.0)
            result[key] = value if plain else attribute_value(value)
    return result


def event(message: Message, limits: SpanLimits, start: int, at: Optional[int] = None) -> Event:
    """
    @param start: When the span of the action the message is in starts.
    @param at: The message's time, if already read (L{nanoseconds}).
    @return: The span event standing for a message inside an action: named
        by its C{message_type}, at its time (at C{start} if it has no usable
        time), with its fields as attributes.
    """
    if at is None:
        at = nanoseconds(message.get(TIMESTAMP_FIELD))
    name = message.get(MESSAGE_TYPE_FIELD)
    return Event(name if name.__class__ is str else "<unnamed>",
                 event_attributes(attributes(message, _EVENT_SKIPPED), limits),
                 start if at is None else at)


class EventAttributes(Dict[str, Any]):
    """
    An event's attributes, none dropped: a C{dict} with the C{dropped} count
    of the SDK's C{BoundedAttributes}, which the OTLP exporters of 1.25
    read from every event.
    """

    dropped = 0


#: Whether the SDK's OTLP encoder reads each event's C{attributes.dropped}
#: (an SDK whose C{Event} has no C{dropped_attributes}, as 1.25).
_OLD_EVENTS = not hasattr(Event, "dropped_attributes")


def event_attributes(fields: Attributes, limits: SpanLimits) -> Any:
    """
    @return: C{fields}, or within the limits on events' attributes (their
        number and the length of their values), as the SDK bounds them.
    """
    maximum, length = limits.max_event_attributes, limits.max_attribute_length
    if length is None and (maximum is None or len(fields) <= maximum):
        return EventAttributes(fields) if _OLD_EVENTS else fields
    return BoundedAttributes(maximum, fields, immutable=True, max_value_len=length)


def kind_of(action_type: str, start: Optional[Message]) -> SpanKind:
    """
    @return: CLIENT for HTTP requests made with L{txcausal.treq}, SERVER for
        requests served by L{txcausal.web}, INTERNAL otherwise.
    """
    kind = _KINDS.get(action_type)
    if kind is not None:
        return kind
    if action_type == "eliot:remote_task" and start is not None and "method" in start:
        return SpanKind.SERVER
    return SpanKind.INTERNAL


def named_parent(start: Optional[Message]) -> Optional[int]:
    """
    @return: The span id a start message's C{parent_span_id} names: 16 hex
        digits, not all zero (see L{read_span_id}); else C{None}.
    """
    return read_span_id(start.get(PARENT_SPAN_ID_FIELD)) if start is not None else None


def parent_of(task_uuid: str, level: Sequence[int], trace: int,
              start: Optional[Message]) -> Optional[SpanContext]:
    """
    @param level: The action's level.
    @return: The parent span: the one a bare C{traceparent} named (the start
        message's C{parent_span_id}, if a span id: see L{named_parent}),
        else the enclosing action's (for an attempt, see L{is_attempt}, the
        action two levels up: the position between has no action); C{None}
        for a task's root action.
    """
    if start is not None and PARENT_SPAN_ID_FIELD in start:
        named = named_parent(start)
        if named is not None:
            return SpanContext(trace, named, True, SAMPLED)
    if not level:
        return None
    if start is not None and is_attempt(start, level):
        # An attempt: the position above it has no action.
        return SpanContext(trace, span_id(task_uuid, level[:-2]), False, SAMPLED)
    return SpanContext(trace, span_id(task_uuid, level[:-1]), False, SAMPLED)


def _traceback_of(end: Message, events: Sequence[Event]) -> Optional[str]:
    """
    @return: The traceback of the exception an action failed with: in its
        finish message, or the last C{eliot:traceback} logged in it for an
        exception of that class.
    """
    traceback = end.get(TRACEBACK_FIELD)
    if traceback.__class__ is str:
        return traceback
    exception = end.get(EXCEPTION_FIELD)
    for logged in reversed(events):
        if logged.name == TRACEBACK_MESSAGE_TYPE and logged.attributes:
            if logged.attributes.get(EXCEPTION_FIELD) == exception:
                text = logged.attributes.get(TRACEBACK_FIELD)
                return text if text.__class__ is str else None
    return None


def outcome(end: Message, events: List[Event], limits: SpanLimits, at: int) -> Status:
    """
    The status of a finished action; for a failed one, append the
    C{exception} event (type, message and, when logged, stack trace) to
    C{events}, within C{limits}, at C{at}: when its span ends.
    """
    if end.get(ACTION_STATUS_FIELD) != FAILED_STATUS:
        return _OK
    exception = attribute_value(end.get(EXCEPTION_FIELD, "<unknown>"))
    reason = attribute_value(end.get(REASON_FIELD, ""))
    details = {"exception.type": exception, "exception.message": reason}
    traceback = _traceback_of(end, events)
    if traceback is not None:
        details["exception.stacktrace"] = traceback
    events.append(Event("exception", event_attributes(details, limits), at))
    return Status(StatusCode.ERROR, f"{exception}: {reason}")


class SpanBuilder:
    """
    Makes spans with a provider's resource and limits.
    """

    def __init__(self, resource: Resource, limits: SpanLimits,
                 scope: InstrumentationScope = SCOPE) -> None:
        self._resource = resource
        self.limits = limits
        self.scope = scope

    @property
    def resource(self) -> Resource:
        """The resource of the spans made now."""
        return self._resource

    def bounded(self, fields: Attributes) -> Any:
        """
        @return: C{fields}, or within the limits on span attributes.
        """
        limits = self.limits
        maximum, length = limits.max_span_attributes, limits.max_span_attribute_length
        if length is None and (maximum is None or len(fields) <= maximum):
            return fields
        return BoundedAttributes(maximum, fields, immutable=True, max_value_len=length)

    def events(self, events: List[Event], dropped: int) -> Sequence[Event]:
        """
        @return: C{events}, or the last of them within the limit, with the
            count of those dropped (C{dropped} earlier ones included).
        """
        maximum = self.limits.max_events
        if not dropped and (maximum is None or len(events) <= maximum):
            return events
        kept: Sequence[Event] = BoundedList.from_seq(maximum, events)
        kept.dropped += dropped  # type: ignore[attr-defined]
        return kept

    def span(self, name: str, context: SpanContext, parent: Optional[SpanContext],
             kind: SpanKind, start: int, end: int, fields: Attributes,
             events: List[Event], status: Status = UNSET_STATUS, dropped_events: int = 0,
             links: Sequence[Link] = ()) -> ReadableSpan:
        """
        @return: A finished span.
        """
        return ReadableSpan(name, context, parent, self.resource, self.bounded(fields),
                            self.events(events, dropped_events), links, kind, None, status,
                            start, end, self.scope)


def span_context(trace: int, span: int, flags: TraceFlags = SAMPLED,
                 state: Optional[TraceState] = None) -> SpanContext:
    """
    @return: The context of a span of ours (not remote).
    """
    return SpanContext(trace, span, False, flags, state)


__all__ = [
    "COPY_OF_ATTRIBUTE",
    "END_SKIPPED",
    "NOT_SAMPLED",
    "PARENT_SPAN_ID_FIELD",
    "SAMPLED",
    "SCOPE",
    "START_MISSING_ATTRIBUTE",
    "START_SKIPPED",
    "SpanBuilder",
    "UNFINISHED_ATTRIBUTE",
    "UNSET_STATUS",
    "as_read",
    "attribute_value",
    "attributes",
    "ended_after",
    "event",
    "event_attributes",
    "json_text",
    "kind_of",
    "named_parent",
    "nanoseconds",
    "outcome",
    "parent_of",
    "span_context",
    "started_before",
]
