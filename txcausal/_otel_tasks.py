# -*- test-case-name: txcausal.test.test_export -*-
"""
Spans from tasks read back from logs (L{txcausal.parse}): the same spans,
with the same ids, as L{txcausal.otel.SpanDestination} makes while the
program runs, plus the actions whose start or finish is missing, marked,
and the actions among the messages that do not fit their task's tree
(L{txcausal._parse.stray_trees}), with span ids of their own where an
action was read twice.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link

from ._otel_spans import (
    COPY_OF_ATTRIBUTE,
    END_SKIPPED,
    PARENT_SPAN_ID_FIELD,
    START_MISSING_ATTRIBUTE,
    UNFINISHED_ATTRIBUTE,
    UNSET_STATUS,
    SpanBuilder,
    attributes,
    event,
    kind_of,
    named_parent,
    nanoseconds,
    outcome,
    parent_of,
    span_context,
    started_before,
)
from ._parse import stray_trees
from ._parse_tree import Message, Task, WrittenAction
from ._select import tree_actions, tree_nodes
from ._traceids import span_id, trace_id
from ._wire import TIMESTAMP_FIELD


def task_spans(task: Task, builder: SpanBuilder,
               unused: Optional[Callable[[Message], None]] = None,
               taken: Optional[Set[int]] = None) -> Iterator[ReadableSpan]:
    """
    @param unused: Called with each start message whose C{parent_span_id}
        is no span id, and so was not used (see L{action_span}).
    @param taken: The span ids already used in the task's trace (by an
        earlier part of it), updated: see L{action_span}.
    @return: A span for each action of C{task} whose start or finish
        message was read, parents before children.  The messages that do
        not fit its tree are left to L{stray_spans}.
    """
    for node in tree_actions(task.root):
        span = action_span(node, builder, unused, taken)
        if span is not None:
            yield span


def stray_spans(task: Task, builder: SpanBuilder, unused: Optional[Callable[[Message], None]],
                taken: Set[int], left_out: Callable[[Message], None]) -> Iterator[ReadableSpan]:
    """
    The spans of the actions among the messages that do not fit the tree of
    C{task} (see L{stray_trees}), after L{task_spans}.

    @param unused: See L{task_spans}.
    @param taken: The span ids used so far in the task's trace, updated.
    @param left_out: Called with each of those messages that is in no span.
    """
    for root in stray_trees(task):
        for node in tree_nodes(root):
            span = None
            if node.start_message is not None or node.end_message is not None:
                span = action_span(node, builder, unused, taken)
            if span is not None:
                yield span
                continue
            for message in (node.start_message, node.end_message, *node.children):
                if message.__class__ is dict:
                    left_out(message)


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
    return start, end


def action_span(node: WrittenAction, builder: SpanBuilder,
                unused: Optional[Callable[[Message], None]] = None,
                taken: Optional[Set[int]] = None) -> Optional[ReadableSpan]:
    """
    @param unused: Called with the start message if its C{parent_span_id}
        is no span id (not 16 hex digits, or all zeros): the span's parent
        is then the enclosing action's, as without that field.
    @param taken: The span ids used so far in the task's trace, to which
        the span's is added.  If the action's span id is among them (the
        action was read twice), the span gets the next span id of a copy
        (L{span_id}'s C{copy}), the attribute L{COPY_OF_ATTRIBUTE} and a
        link to the first span.
    @return: The span of one action read from a log, or C{None} when no time
        of it is known (timestamps that are not numbers).
    """
    start_time, end_time = _times(node)
    if start_time is None or end_time is None:
        return None
    uuid, level = node.task_uuid, node.task_level
    start, end = node.start_message, node.end_message
    name = node.action_type or "<unnamed>"
    trace = trace_id(uuid)
    fields: Dict[str, Any] = (attributes(start) if start is not None
                              else {START_MISSING_ATTRIBUTE: True})
    events: List[Event] = [event(m, builder.limits) for m in node.children if m.__class__ is dict]
    status = UNSET_STATUS
    if end is None:
        fields[UNFINISHED_ATTRIBUTE] = True
    else:
        fields.update(attributes(end, END_SKIPPED))
        status = outcome(end, events, builder.limits)
    ident, links = _identity(uuid, level, trace, taken, fields)
    context = span_context(trace, ident)
    if (unused is not None and start is not None and PARENT_SPAN_ID_FIELD in start
            and named_parent(start) is None):
        unused(start)
    parent = parent_of(uuid, level, trace, start)
    return builder.span(name, context, parent, kind_of(name, start), start_time, end_time,
                        fields, events, status, links=links)


def _identity(uuid: str, level: Tuple[int, ...], trace: int, taken: Optional[Set[int]],
              fields: Dict[str, Any]) -> Tuple[int, Sequence[Link]]:
    """
    The span id of the action at C{level}, added to C{taken}; if it was
    taken, the first span id of a copy that is not, with the attribute
    L{COPY_OF_ATTRIBUTE} added to C{fields} and a link to the first span.

    @return: The span id and the span's links.
    """
    ident = span_id(uuid, level)
    if taken is None:
        return ident, ()
    links: Sequence[Link] = ()
    if ident in taken:
        fields[COPY_OF_ATTRIBUTE] = f"{ident:016x}"
        links = (Link(span_context(trace, ident)),)
        copy = 2
        while span_id(uuid, level, copy) in taken:
            copy += 1
        ident = span_id(uuid, level, copy)
    taken.add(ident)
    return ident, links


__all__ = ["action_span", "stray_spans", "task_spans"]
