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

from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext

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
)
from ._otel_times import span_times
from ._parse import stray_trees
from ._parse_tree import Message, Task, WrittenAction
from ._select import tree_actions, tree_nodes
from ._traceids import span_id, trace_id
from ._wire import TIMESTAMP_FIELD


def task_spans(task: Task, builder: SpanBuilder,
               unused: Optional[Callable[[Message], None]] = None,
               part: Optional[PartIds] = None,
               untimed: Optional[Callable[[WrittenAction], None]] = None,
               untimed_event: Optional[Callable[[Message], None]] = None,
               ) -> Iterator[ReadableSpan]:
    """
    @param unused: Called with each start message whose C{parent_span_id}
        is no span id, and so was not used (see L{action_span}).
    @param part: The span ids of this part of the task's trace, updated:
        see L{action_span}.
    @param untimed: Called with each action that has no span because no
        start of it can be told (see L{action_span}).
    @param untimed_event: Called with each message of a span's event that
        has no time of its own (see L{action_span}).
    @return: A span for each action of C{task} whose start or finish
        message was read, parents before children.  The messages that do
        not fit its tree are left to L{stray_spans}.
    """
    for node in tree_actions(task.root):
        span = action_span(node, builder, unused, part, untimed_event=untimed_event)
        if span is not None:
            yield span
        elif untimed is not None:
            untimed(node)


def stray_spans(task: Task, builder: SpanBuilder, unused: Optional[Callable[[Message], None]],
                part: PartIds, left_out: Callable[[Message], None],
                untimed: Optional[Callable[[WrittenAction], None]] = None,
                untimed_event: Optional[Callable[[Message], None]] = None,
                ) -> Iterator[ReadableSpan]:
    """
    The spans of the actions among the messages that do not fit the tree of
    C{task} (see L{stray_trees}), after L{task_spans}.

    @param unused: See L{task_spans}.
    @param part: The span ids of this part of the task's trace, updated.
    @param left_out: Called with each of those messages that is in no span
        and not of an action (the start and finish of an action with no
        span are given to C{untimed}, if given).
    @param untimed: See L{task_spans}.
    @param untimed_event: See L{task_spans}.
    """
    for root in stray_trees(task):
        for node in tree_nodes(root):
            ends: Tuple[Any, ...] = (node.start_message, node.end_message)
            if node.start_message is not None or node.end_message is not None:
                span = action_span(node, builder, unused, part, nearest=True,
                                   untimed_event=untimed_event)
                if span is not None:
                    yield span
                    continue
                if untimed is not None:
                    untimed(node)
                    ends = ()
            for message in (*ends, *node.children):
                if message.__class__ is dict:
                    left_out(message)


def _last_time(node: WrittenAction) -> Optional[int]:
    """
    @return: The time of the last message read of an unfinished action.
    """
    times = [nanoseconds(m.get(TIMESTAMP_FIELD)) for m in node.messages()]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _times(node: WrittenAction) -> Optional[Tuple[int, int]]:
    """
    @return: When the span of an action read starts and ends (see
        L{span_times}), or C{None} if it has no span.
    """
    start_message, end_message = node.start_message, node.end_message
    start = nanoseconds(start_message.get(TIMESTAMP_FIELD)) if start_message is not None else None
    end = nanoseconds(end_message.get(TIMESTAMP_FIELD)) if end_message is not None else None
    last = _last_time(node) if start is not None and end is None else None
    return span_times(start, end, end_message, last)


def action_span(node: WrittenAction, builder: SpanBuilder,
                unused: Optional[Callable[[Message], None]] = None,
                part: Optional[PartIds] = None, nearest: bool = False,
                untimed_event: Optional[Callable[[Message], None]] = None,
                ) -> Optional[ReadableSpan]:
    """
    @param unused: Called with the start message if its C{parent_span_id}
        is no span id (not 16 hex digits, or all zeros): the span's parent
        is then the enclosing action's, as without that field.
    @param part: The span ids of this part of the task's trace: the span's
        id is one of a copy (see L{PartIds.identity}) in a later part or for
        an action read twice, and its parent the enclosing action's span in
        the same part if it has one.  Without it, the span has the action's
        own id.
    @param nearest: Whether the span's parent, if the enclosing action has
        no span in C{part} (a stray action, whose parent position is a
        plain message), is the nearest enclosing action's that has one.
    @param untimed_event: Called with each message logged in the action
        that has no usable time: its event is at the span's start (see
        L{event}).
    @return: The span of one action read from a log, or C{None} when no time
        start of it can be told (timestamps that are not numbers of seconds
        from 1970 to 2554, see L{nanoseconds} and L{span_times}).
    """
    times = _times(node)
    if times is None:
        return None
    start_time, end_time = times
    uuid, level = node.task_uuid, node.task_level
    start, end = node.start_message, node.end_message
    name = node.action_type or "<unnamed>"
    trace = trace_id(uuid)
    fields: Dict[str, Any] = (attributes(start) if start is not None
                              else {START_MISSING_ATTRIBUTE: True})
    events = _events(node, builder, start_time, untimed_event)
    status = UNSET_STATUS
    if end is None:
        fields[UNFINISHED_ATTRIBUTE] = True
    else:
        fields.update(attributes(end, END_SKIPPED))
        status = outcome(end, events, builder.limits, end_time)
    ident, links = (span_id(uuid, level), ()) if part is None else part.identity(
        level, trace, fields)
    context = span_context(trace, ident)
    if (unused is not None and start is not None and PARENT_SPAN_ID_FIELD in start
            and named_parent(start) is None):
        unused(start)
    parent = parent_of(uuid, level, trace, start)
    if part is not None and parent is not None and not parent.is_remote:
        parent = part.parent(parent, trace, level if nearest else None)
    return builder.span(name, context, parent, kind_of(name, start), start_time, end_time,
                        fields, events, status, links=links)


def _events(node: WrittenAction, builder: SpanBuilder, start: int,
            untimed: Optional[Callable[[Message], None]]) -> List[Event]:
    """
    @return: The events of the messages logged in an action whose span
        starts at C{start}; C{untimed} is called with those that have no
        usable time.
    """
    events: List[Event] = []
    for message in node.children:
        if message.__class__ is dict:
            at = nanoseconds(message.get(TIMESTAMP_FIELD))
            if at is None and untimed is not None:
                untimed(message)
            events.append(event(message, builder.limits, start, at))
    return events


class PartIds:
    """
    The span ids of the spans made from one part of a task (all of it,
    unless C{--max-open} gave it up, or its messages came after it was
    complete): copy ids (L{span_id}'s C{copy}) from C{first_copy} on, so
    that no two spans of one export share an id, without remembering
    every span id.
    """

    def __init__(self, uuid: str, first_copy: int = 1) -> None:
        """
        @param uuid: The task's UUID.
        @param first_copy: The copy id of this part's spans: 1, the
            action's own span id, for the first part; one more than the
            last part's highest for a later part.
        """
        self._uuid = uuid
        self.first_copy = first_copy
        #: One more than the highest copy id used: the next part's first.
        self.next_copy = first_copy + 1
        self._made: Dict[Tuple[int, ...], int] = {}
        self._ids: Dict[int, int] = {}

    def identity(self, level: Tuple[int, ...], trace: int,
                 fields: Dict[str, Any]) -> Tuple[int, Sequence[Link]]:
        """
        The span id of the next span of the action at C{level}: the part's
        copy, or the next copy for a second span of the action in this
        part; a copy gets the attribute L{COPY_OF_ATTRIBUTE}, added to
        C{fields}, and a link to the action's own span id.

        @return: The span id and the span's links.
        """
        made = self._made.get(level, 0)
        self._made[level] = made + 1
        copy = self.first_copy + made
        self.next_copy = max(self.next_copy, copy + 1)
        own = span_id(self._uuid, level)
        if copy == 1:
            self._ids.setdefault(own, own)
            return own, ()
        ident = span_id(self._uuid, level, copy)
        self._ids.setdefault(own, ident)
        fields[COPY_OF_ATTRIBUTE] = f"{own:016x}"
        # Attributes of the SDK's type: the OTLP encoder of 1.25 reads
        # every link's attributes.dropped.
        return ident, (Link(span_context(trace, own), BoundedAttributes()),)

    def parent(self, parent: SpanContext, trace: int,
               level: Optional[Tuple[int, ...]] = None) -> SpanContext:
        """
        @param parent: The parent span named by the enclosing action's own
            span id.
        @param level: The level of the span of a stray action, for its
            nearest enclosing action with a span; C{None} for another span.
        @return: The enclosing action's first span in this part, if it has
            one; else the nearest one's that has one, given C{level}; else
            C{parent} (its span in an earlier part).
        """
        ident = self._ids.get(parent.span_id)
        if ident is None and level is not None:
            for end in range(len(level) - 1, -1, -1):
                ident = self._ids.get(span_id(self._uuid, level[:end]))
                if ident is not None:
                    break
        if ident is None or ident == parent.span_id:
            return parent
        return span_context(trace, ident)


__all__ = ["PartIds", "action_span", "stray_spans", "task_spans"]
