# -*- test-case-name: txcausal.test.test_webview_task,txcausal.test.test_webview_files -*-
"""
One task as the web view's page gets it, and the searches of the task list.

The task is the document of C{txcausal tree --json} (L{task_document}); with
the story of a key, the story C{txcausal story} shows (L{story_of}: the
task pruned to what mentions the key and the whole subtree of each action
that mentions it, the mentions marked).  The page adds what only it shows:
the process (file) each node came from, and what could not be shown.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

import orjson

from ._cli._text import NESTING_LIMIT, scalar_text
from ._parse_tree import Child, WrittenAction
from ._story import KeyMatcher
from ._task_json import Marker, _none_hidden, _nothing_marked, task_document
from ._task_story import story_of
from ._view_index import QueryStopped, _never
from ._view_source import LoadedTask, Predicate
from ._wire import TASK_LEVEL_FIELD, TIMESTAMP_FIELD

Message = Dict[str, Any]

#: Not searched: where and when, not what.
_UNSEARCHED = frozenset([TASK_LEVEL_FIELD, TIMESTAMP_FIELD])
#: The longest steps of a page's build (making its document, writing the
#: values nested too deep as text) look whether to stop once every this
#: many nodes or values.
STOP_EVERY = 1000


class _Every:
    """
    A look at C{stop} every L{STOP_EVERY} calls: a check cheap enough for
    each node of a task.
    """

    def __init__(self, stop: Callable[[], bool]) -> None:
        self._stop = stop
        self._left = STOP_EVERY

    def __call__(self) -> None:
        """
        Count one; at each L{STOP_EVERY}th, look at C{stop}.

        @raise QueryStopped: When it says to stop.
        """
        self._left -= 1
        if not self._left:
            self._left = STOP_EVERY
            if self._stop():
                raise QueryStopped()


class _Counted:
    """
    A marker that counts the nodes it marks.
    """

    def __init__(self, marked: Marker) -> None:
        self._marked = marked
        self.count = 0

    def __call__(self, node: Child) -> bool:
        found = self._marked(node)
        self.count += found
        return found


def _matching(predicate: Predicate) -> Marker:
    """
    Mark the nodes of which a message matches C{predicate}.
    """

    def marked(node: Child) -> bool:
        if isinstance(node, WrittenAction):
            ends = (node.start_message, node.end_message)
            return any(m is not None and predicate(m) for m in ends)
        return predicate(node)

    return marked


def task_json(loaded: LoadedTask, search: Optional[Tuple[str, str]] = None,
              stop: Callable[[], bool] = _never) -> Dict[str, Any]:
    """
    The task as the page shows it.

    @param search: C{("story", key)}: the story of C{key} in the task, as
        C{txcausal story} shows it (the whole task when it is not in the
        story); C{("q", text)}: the whole task, the nodes with a message
        matching L{text_predicate} marked.
    @param stop: Looked at every L{STOP_EVERY} nodes, finding the story
        (the task, loaded for this page, may then be left partly pruned)
        and making the document.
    @raise QueryStopped: When C{stop} says to stop.
    """
    task, sources = loaded.task, loaded.sources
    marked: Marker = _nothing_marked
    hidden: Callable[[WrittenAction], int] = _none_hidden
    tick = _Every(stop)
    if search is not None and search[0] == "story":
        story = story_of(task, KeyMatcher([search[1]]), tick)
        if story is not None:
            marked, hidden = story.matched, story.hidden_under
    elif search is not None:
        marked = _matching(text_predicate(search[1]))
    counted = _Counted(marked)

    def annotate(node: Child, document: Dict[str, Any]) -> None:
        tick()
        if isinstance(node, WrittenAction):
            first = node.start_message if node.start_message is not None else node.end_message
            document["process"] = None if first is None else sources.get(id(first))
        else:
            document["process"] = sources.get(id(node))

    document = task_document(task, counted, hidden, annotate)
    document.update(
        processes=loaded.source_names,
        stray_processes=[sources.get(id(message)) for message in task.strays],
        unavailable=loaded.unavailable,
        dropped=loaded.dropped,
        matches=counted.count,
    )
    return document


def dumps(value: Any) -> bytes:
    """
    JSON for the page: what orjson cannot encode (integers past 64 bits,
    nesting past its 254 levels) goes through the standard library, what
    neither can as its text.
    """
    try:
        return orjson.dumps(value, default=str)
    except TypeError:
        return json.dumps(value, default=str, allow_nan=False).encode("utf-8")


def task_body(loaded: LoadedTask, search: Optional[Tuple[str, str]] = None,
              stop: Callable[[], bool] = _never) -> bytes:
    """
    L{task_json} written as JSON, the page's body; stopped (raising
    L{QueryStopped}) before each of those two steps once C{stop} says so,
    and inside the longest (making the document, writing the values nested
    too deep as text), every L{STOP_EVERY} nodes or values.
    A task that cannot be written whole (a value nested deeper than the
    JSON writers go) has each value nested deeper than L{NESTING_LIMIT}
    levels replaced by its JSON text (cut there, as C{txcausal tree} shows
    it), and the count of them as C{values_as_text}: one such value does
    not lose the task.
    """
    if stop():
        raise QueryStopped()
    document = task_json(loaded, search, stop)
    if stop():
        raise QueryStopped()
    try:
        return dumps(document)
    except (TypeError, ValueError, RecursionError):
        pass
    document["values_as_text"] = _deep_as_text(document, _Every(stop))
    return dumps(document)


def _too_deep(value: Any, tick: Callable[[], None]) -> bool:
    pending = [(value, 0)]
    while pending:
        tick()
        value, depth = pending.pop()
        if depth > NESTING_LIMIT:
            return True
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend((item, depth + 1) for item in value)
    return False


def _deep_as_text(document: Dict[str, Any], tick: Callable[[], None]) -> int:
    """
    Replace, in a task's document, the values nested deeper than
    L{NESTING_LIMIT} by their text: every value of every node (its type,
    its C{fields} and C{end_fields} one by one, anything else), but its
    C{children}, which are walked (without recursion), and each field of
    its strays.  The nodes are the document's own; the field mappings and
    strays replaced are copies, being the source's messages.

    @param tick: Called for each node and each value looked at (see
        L{_Every}).
    @return: How many were replaced.
    """
    count = 0

    def deep(value: Any) -> bool:
        return isinstance(value, (dict, list, tuple)) and _too_deep(value, tick)

    def clean(fields: Dict[str, Any]) -> Dict[str, Any]:
        nonlocal count
        found = [key for key, value in fields.items() if deep(value)]
        if not found:
            return fields
        fields = dict(fields)
        for key in found:
            fields[key] = scalar_text(fields[key])
        count += len(found)
        return fields

    nodes: List[Dict[str, Any]] = [document]
    while nodes:
        tick()
        node = nodes.pop()
        for key, value in list(node.items()):
            if key == "children" and isinstance(value, list):
                nodes.extend(child for child in value if isinstance(child, dict))
            elif key in ("fields", "end_fields") and isinstance(value, dict):
                node[key] = clean(value)
            elif key == "strays" and node is document and isinstance(value, list):
                node[key] = [clean(stray) if isinstance(stray, dict) else stray
                             for stray in value]
            elif deep(value):
                node[key] = scalar_text(value)
                count += 1
    return count


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
