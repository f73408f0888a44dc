# -*- test-case-name: txcausal.test.test_export -*-
"""
Spans from tasks read back from logs (L{txcausal.parse}): the same spans,
with the same ids, as L{txcausal.otel.SpanDestination} makes while the
program runs, plus the actions whose start or finish is missing, marked.
"""

from __future__ import annotations

from typing import Callable, Iterator, List, Optional

from opentelemetry.sdk.trace import Event, ReadableSpan

from ._otel_spans import (
    END_SKIPPED,
    PARENT_SPAN_ID_FIELD,
    START_MISSING_ATTRIBUTE,
    UNFINISHED_ATTRIBUTE,
    UNSET_STATUS,
    SpanBuilder,
    attributes,
    ended_after,
    event,
    kind_of,
    named_parent,
    nanoseconds,
    outcome,
    parent_of,
    span_context,
    started_before,
)
from ._parse_tree import Message, Task, WrittenAction
from ._traceids import span_id, trace_id
from ._wire import TIMESTAMP_FIELD


def task_spans(task: Task, builder: SpanBuilder,
               unused: Optional[Callable[[Message], None]] = None,
               untimed: Optional[Callable[[WrittenAction], None]] = None,
               ) -> Iterator[ReadableSpan]:
    """
    @param unused: Called with each start message whose C{parent_span_id}
        is no span id, and so was not used (see L{action_span}).
    @param untimed: Called with each action that has no span because none
        of its times is known (see L{action_span}).
    @return: A span for each action of C{task} whose start or finish
        message was read, parents before children.
    """
    pending = [task.root]
    while pending:
        node = pending.pop()
        if node.start_message is not None or node.end_message is not None:
            span = action_span(node, builder, unused)
            if span is not None:
                yield span
            elif untimed is not None:
                untimed(node)
        pending.extend(reversed([c for c in node.children if c.__class__ is WrittenAction]))


def _last_time(node: WrittenAction) -> Optional[int]:
    """
    @return: The time of the last message read of an unfinished action.
    """
    times = [nanoseconds(m.get(TIMESTAMP_FIELD)) for m in node.messages()]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _times(node: WrittenAction) -> "tuple[Optional[int], Optional[int]]":
    start = end = None
    if node.start_message is not None:
        start = nanoseconds(node.start_message.get(TIMESTAMP_FIELD))
    if node.end_message is not None:
        end = nanoseconds(node.end_message.get(TIMESTAMP_FIELD))
        if start is None and end is not None:
            start = started_before(end, node.end_message)
    elif start is not None:
        end = _last_time(node)
    if start is not None and end is not None:
        end = ended_after(start, end, node.end_message)
    return start, end


def action_span(node: WrittenAction, builder: SpanBuilder,
                unused: Optional[Callable[[Message], None]] = None) -> Optional[ReadableSpan]:
    """
    @param unused: Called with the start message if its C{parent_span_id}
        is no span id (not 16 hex digits, or all zeros): the span's parent
        is then the enclosing action's, as without that field.
    @return: The span of one action read from a log, or C{None} when no time
        of it is known (timestamps that are not numbers of seconds from 1970
        to 2554, see L{nanoseconds}).
    """
    start_time, end_time = _times(node)
    if start_time is None or end_time is None:
        return None
    uuid, level = node.task_uuid, node.task_level
    start, end = node.start_message, node.end_message
    name = node.action_type or "<unnamed>"
    trace = trace_id(uuid)
    fields = attributes(start) if start is not None else {START_MISSING_ATTRIBUTE: True}
    events: List[Event] = [event(m, builder.limits) for m in node.children if m.__class__ is dict]
    status = UNSET_STATUS
    if end is None:
        fields[UNFINISHED_ATTRIBUTE] = True
    else:
        fields.update(attributes(end, END_SKIPPED))
        status = outcome(end, events, builder.limits)
    context = span_context(trace, span_id(uuid, level))
    if (unused is not None and start is not None and PARENT_SPAN_ID_FIELD in start
            and named_parent(start) is None):
        unused(start)
    parent = parent_of(uuid, level, trace, start)
    return builder.span(name, context, parent, kind_of(name, start), start_time, end_time,
                        fields, events, status)


__all__ = ["action_span", "task_spans"]
