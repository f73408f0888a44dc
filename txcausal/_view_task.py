# -*- test-case-name: txcausal.test.test_webview -*-
"""
One task as the web view's page gets it: the tree as nested JSON nodes
(fields, status, times, the process of each node, whether it matches the
search), and the searches themselves.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ._parse import WrittenAction
from ._story import KeyMatcher
from ._view_source import LoadedTask, Predicate
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DURATION_FIELD,
    MESSAGE_TYPE_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
)

Message = Dict[str, Any]
Node = Dict[str, Any]

#: Shown as the node's heading, not among its fields.
_HEADING = frozenset(
    [
        TASK_UUID_FIELD,
        TASK_LEVEL_FIELD,
        TIMESTAMP_FIELD,
        ACTION_STATUS_FIELD,
        ACTION_TYPE_FIELD,
        MESSAGE_TYPE_FIELD,
    ]
)
#: Not searched: where and when, not what.
_UNSEARCHED = frozenset([TASK_LEVEL_FIELD, TIMESTAMP_FIELD])


def _fields(message: Optional[Message], skip: frozenset[str] = _HEADING) -> Dict[str, Any]:
    if message is None:
        return {}
    return {key: value for key, value in message.items() if key not in skip}


def _time(message: Optional[Message]) -> Optional[float]:
    if message is None:
        return None
    when = message.get(TIMESTAMP_FIELD)
    return float(when) if isinstance(when, (int, float)) else None


class _TreeBuilder:
    """
    Turns a L{LoadedTask}'s tree into JSON nodes.
    """

    def __init__(self, loaded: LoadedTask, match: Optional[Predicate]) -> None:
        self._sources = loaded.sources
        self._match = match
        self.matches = 0

    def _source(self, message: Optional[Message]) -> Optional[int]:
        return None if message is None else self._sources.get(id(message))

    def _matches(self, *messages: Optional[Message]) -> bool:
        match = self._match
        if match is None:
            return False
        found = any(m is not None and match(m) for m in messages)
        self.matches += found
        return found

    def message(self, message: Message) -> Node:
        level = message.get(TASK_LEVEL_FIELD)
        return {
            "kind": "message",
            "level": level,
            "type": message.get(MESSAGE_TYPE_FIELD),
            "status": message.get(ACTION_STATUS_FIELD),
            "start": _time(message),
            "process": self._source(message),
            "fields": _fields(message),
            "match": self._matches(message),
        }

    def action(self, node: WrittenAction) -> Node:
        start, end = node.start_message, node.end_message
        children: List[Node] = []
        for child in node.children:
            if isinstance(child, WrittenAction):
                children.append(self.action(child))
            else:
                children.append(self.message(child))
        return {
            "kind": "action",
            "level": list(node.task_level),
            "type": node.action_type,
            "status": node.status,
            "start": _time(start),
            "end": _time(end),
            "duration": node.duration,
            "process": self._source(start if start is not None else end),
            "fields": _fields(start),
            "end_fields": _fields(end, _HEADING | {DURATION_FIELD}),
            "match": self._matches(start, end),
            "missing": [list(level) for level in node.missing_levels()[:100]],
            "children": children,
        }


def task_json(loaded: LoadedTask, match: Optional[Predicate] = None) -> Dict[str, Any]:
    """
    The task as the page shows it.

    @param match: If given, nodes for which it is true for one of their
        messages are marked C{"match": true}.
    """
    task = loaded.task
    builder = _TreeBuilder(loaded, match)
    root = task.root
    if root.start_message is not None or root.end_message is not None:
        nodes = [builder.action(root)]
    else:  # A lone message, or a task continued from a process not read.
        nodes = [
            builder.action(child) if isinstance(child, WrittenAction) else builder.message(child)
            for child in root.children
        ]
    return {
        "uuid": task.uuid,
        "complete": task.complete,
        "failed": task.failed,
        "nodes": nodes,
        "strays": [builder.message(message) for message in task.strays],
        "processes": loaded.source_names,
        "unavailable": loaded.unavailable,
        "dropped": loaded.dropped,
        "matches": builder.matches,
    }


def text_predicate(text: str) -> Predicate:
    """
    Match messages with a field name or value (or type) containing
    C{text}, ignoring case.
    """
    needle = text.lower()

    def mentions(value: Any) -> bool:
        pending = [value]
        while pending:
            value = pending.pop()
            if isinstance(value, dict):
                if any(needle in str(key).lower() for key in value):
                    return True
                pending.extend(value.values())
            elif isinstance(value, list):
                pending.extend(value)
            elif needle in str(value).lower():
                return True
        return False

    def match(message: Message) -> bool:
        return any(
            (needle in key.lower() or mentions(value))
            for key, value in message.items()
            if key not in _UNSEARCHED
        )

    return match


def story_predicate(key: str) -> Predicate:
    """
    Match the messages of the story of C{key}, as C{txcausal story} finds
    them: those of task C{key}, and those with a field that mentions it.
    """
    return KeyMatcher([key]).matches


def needle_for(text: str) -> Optional[bytes]:
    """
    Bytes that every line matching C{text} contains, lower-cased: C{text}
    itself when JSON writes it unchanged, else C{None} (no pre-filter).
    """
    if text.isascii() and text.isprintable() and not any(c in text for c in '"\\/'):
        return text.lower().encode("ascii")
    return None

