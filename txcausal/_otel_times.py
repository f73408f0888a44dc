# -*- test-case-name: txcausal.test.test_span_times,txcausal.test.test_span_agree -*-
"""
The times of the spans made of actions, live by L{txcausal.otel.SpanDestination}
and from files by C{txcausal export}: one rule for both (L{span_times}),
within what OTLP can hold, for messages whose C{timestamp} is missing or
unusable too.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from opentelemetry.sdk.trace import Event

from ._wire import DURATION_FIELD, LAST_NANOSECOND, nanoseconds

Message = Dict[str, Any]

#: The start of an action, made live, whose start message has no usable
#: time: known at its finish only (see L{span_times}), if at all.
UNKNOWN_START = -1


def _within(time: int) -> Optional[int]:
    """@return: C{time} (nanoseconds) if a span can have it, else C{None}."""
    return time if 0 <= time <= LAST_NANOSECOND else None


def started_before(end: int, finish: Message) -> int:
    """
    @param end: When an action finished, in nanoseconds.
    @param finish: Its finish message.
    @return: When it started, from the finish message's C{duration}; C{end}
        if it has none, a negative one (that would start it after it
        finished), one not finite, or one that would start it before 1970.
    """
    duration = finish.get(DURATION_FIELD)
    if (duration.__class__ is float or duration.__class__ is int) and duration > 0:
        try:
            started = _within(end - round(duration * 1e9))
        except (OverflowError, ValueError):
            started = None
        if started is not None:
            return started
    return end


def ended_after(start: int, end: int, finish: Optional[Message]) -> int:
    """
    @param start: When an action started, in nanoseconds.
    @param end: When its finish message (or, unfinished, its last) says it
        finished.
    @param finish: Its finish message, if any.
    @return: C{end}, unless that is before C{start} (a clock stepped back,
        or processes' clocks disagree): then C{start} plus the finish
        message's C{duration}, if it has one not negative and that ends it
        by 2554, else C{start}.  A span never ends before it starts.
    """
    if end >= start:
        return end
    taken = end - started_before(end, finish) if finish is not None else 0
    return _within(start + max(taken, 0)) or start


def span_times(start: Optional[int], end: Optional[int], finish: Optional[Message],
               last: Optional[int]) -> Optional[Tuple[int, int]]:
    """
    When the span of an action starts and ends: the one rule, live and
    exported.

    @param start: The time of its start message, if it has a usable one.
    @param end: The time of its finish message, if it has a usable one.
    @param finish: Its finish message, if any.
    @param last: The time of its last message with one, or of its
        descendants' (where an unfinished action ends).
    @return: C{start}, or, if it has none, the finish's C{duration} before
        C{end} (L{started_before}); C{end}, or, if it has none (no usable
        time, or no finish), C{last}; the end never before the start (see
        L{ended_after}).  C{None} when no start can be told (no usable time
        for the start, nor for a finish): the action has no span.
    """
    if start is None:
        if end is None or finish is None:
            return None
        start = started_before(end, finish)
    elif end is None:
        end = start if last is None else last
    return start, ended_after(start, end, finish)


def dated(events: List[Event], start: int) -> None:
    """
    Move to C{start} the events in C{events} made at L{UNKNOWN_START} (from
    messages without a usable time, in an action whose start was not known
    then), in place.
    """
    for index, event in enumerate(events):
        if event.timestamp == UNKNOWN_START:
            events[index] = Event(event.name, event.attributes, start)


__all__ = ["LAST_NANOSECOND", "UNKNOWN_START", "dated", "ended_after", "nanoseconds",
           "span_times", "started_before"]
