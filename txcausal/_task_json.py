# -*- test-case-name: txcausal.test.test_task_json -*-
"""
A task as one JSON document, for tools: nested children, times, durations
and status, every field kept.

A task::

    {"task_uuid": "...", "complete": true, "failed": false,
     "start_time": 1.0, "end_time": 2.0, "continued_from": null,
     "children": [NODE, ...], "strays": [MESSAGE, ...]}

An action node::

    {"action_type": "app:req", "task_level": [1], "status": "succeeded",
     "start_time": 1.0, "end_time": 2.0, "duration": 1.0,
     "fields": {...start fields...}, "end_fields": {...finish fields...},
     "children": [NODE, ...], "missing": [[[1, 3], [1, 5]]], "handed_off": [[1, 6], [1, 7]],
     "retried": [[1, 6]], "unsent": [[1, 7]]}

A message node::

    {"message_type": "app:note", "task_level": [2], "timestamp": 1.5,
     "fields": {...}}

A message that tells of a failure (a logged traceback, a Twisted
C{log.failure} record: see L{is_failure<txcausal._parse_tree.is_failure>})
has C{"failed": true}.

An action's C{task_level} is that of its start message.  C{fields} hold a
message's fields but for C{task_uuid}, C{task_level},
C{timestamp}, C{message_type}, C{action_type}, C{action_status} and
C{duration}.  C{missing} lists the runs of levels of which nothing was seen,
as C{[first, last]} pairs, and C{handed_off} the levels handed to another
process whose log was not read, of which C{retried} lists those whose
attempt was cut off before a response and sent again (a connection pool's
retry: nothing may ever be logged there) and C{unsent} those whose request
failed before any connection was made (no process got them); each appears
only when not empty.  A node the caller marks (the matches of a story) has
C{"match": true}, and an action some of whose children were left out (by a
story) C{"hidden": n} instead of C{missing}.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ._parse import retried_slots, unsent_slots
from ._parse_tree import Child, Task, WrittenAction, is_failure
from ._select import time_range
from ._wire import MESSAGE_TYPE_FIELD, STRUCTURAL_FIELDS, TASK_LEVEL_FIELD, TIMESTAMP_FIELD

Message = Dict[str, Any]
#: Says whether a node (a message or a L{WrittenAction}) is marked.
Marker = Callable[[Child], bool]
#: Adds to the document of a node (see L{task_document}).
Annotator = Callable[[Child, Dict[str, Any]], None]


def _nothing_marked(child: Child) -> bool:
    return False


def _none_hidden(node: WrittenAction) -> int:
    return 0


def task_document(
    task: Task,
    marked: Marker = _nothing_marked,
    hidden: Callable[[WrittenAction], int] = _none_hidden,
    annotate: Optional[Annotator] = None,
) -> Dict[str, Any]:
    """
    The JSON document of a task (see the module's description).

    @param marked: Says which nodes get C{"match": true}.
    @param hidden: How many children of an action were left out of the
        task (a story prunes them); when not 0, the action's document has
        C{"hidden": n}.
    @param annotate: If given, called with each node and its document, to
        add what a particular viewer shows (the web view adds the process
        each node came from).
    """
    span = time_range(task)
    top = task.continued_action
    if top is not None:
        items: List[Child] = top.children if top.attempts else [top]
    elif task.root.start_message is not None or task.root.end_message is not None:
        items = [task.root]
    else:
        items = task.root.children
    converter = _Converter(marked, hidden, annotate)
    return {
        "task_uuid": task.uuid,
        "complete": task.complete if top is None else top.complete,
        "failed": task.failed,
        "start_time": None if span is None else span[0],
        "end_time": None if span is None else span[1],
        "continued_from": None if top is None else list(top.task_level),
        "children": [converter.node(item) for item in items],
        "strays": list(task.strays),
    }


def fields_of(message: Optional[Message]) -> Message:
    """
    The fields of a message but for those that place and name it.
    """
    if message is None:
        return {}
    return {key: value for key, value in message.items() if key not in STRUCTURAL_FIELDS}


class _Converter:
    def __init__(
        self, marked: Marker, hidden: Callable[[WrittenAction], int], annotate: Optional[Annotator]
    ) -> None:
        self._marked = marked
        self._hidden = hidden
        self._annotate = annotate

    def node(self, item: Child) -> Dict[str, Any]:
        if isinstance(item, WrittenAction):
            document = self.action(item)
        else:
            document = {
                "message_type": item.get(MESSAGE_TYPE_FIELD),
                "task_level": item[TASK_LEVEL_FIELD],
                "timestamp": item.get(TIMESTAMP_FIELD),
                "fields": fields_of(item),
            }
            if is_failure(item):
                document["failed"] = True
        if self._marked(item):
            document["match"] = True
        if self._annotate is not None:
            self._annotate(item, document)
        return document

    def action(self, node: WrittenAction) -> Dict[str, Any]:
        document: Dict[str, Any] = {
            "action_type": node.action_type,
            "task_level": [*node.task_level, 1],
            "status": node.status,
            "start_time": node.start_time,
            "end_time": node.end_time,
            "duration": node.duration,
            "fields": fields_of(node.start_message),
            "end_fields": fields_of(node.end_message),
            "children": [self.node(child) for child in node.children],
        }
        hidden = self._hidden(node)
        if hidden:
            document["hidden"] = hidden
            return document
        gaps = node.gaps()
        if gaps:
            prefix = list(node.task_level)
            document["missing"] = [[prefix + [first], prefix + [last]] for first, last in gaps]
        handed = node.handed_off_levels()
        if handed:
            document["handed_off"] = [list(level) for level in handed]
            retried = retried_slots(node)
            if retried:
                document["retried"] = [list(level) for level in handed if level[-1] in retried]
            unsent = unsent_slots(node)
            if unsent:
                document["unsent"] = [list(level) for level in handed if level[-1] in unsent]
        return document
