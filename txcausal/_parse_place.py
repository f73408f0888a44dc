# -*- test-case-name: txcausal.test.test_parse -*-
"""
How a message takes its place in its task's tree of L{WrittenAction}s
(see L{txcausal._parse_tree} for what each node counts): L{_descend} finds
or makes the node of its action, L{_place} puts it in its slot, and the
counts of the node and its ancestors follow.
"""

from __future__ import annotations

from typing import FrozenSet, List, Optional, Tuple

from ._parse_tree import _NOTHING, Message, WrittenAction
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    FAILED_STATUS,
    REMOTE_TASK_LEVELS_FIELD,
    STARTED_STATUS,
    SUCCEEDED_STATUS,
    is_attempt,
)

_FINISHED = frozenset([SUCCEEDED_STATUS, FAILED_STATUS])
#: The most digits a part of a handed-off level may have: a part is a slot
#: number, which counts an action's messages (2**64 has 20 digits).  A
#: longer one is junk, and skipped before C{int} refuses it (past 4,300
#: digits) or spends time on it.
_SLOT_DIGITS = 20


def _settle(node: WrittenAction) -> None:
    """
    Propagate the completion of C{node} to its ancestors.
    """
    while node._open == 0 and node.parent is not None:
        node = node.parent
        node._open -= 1


def _add_start(node: WrittenAction, message: Message) -> bool:
    if node.start_message is not None or node.attempts:
        return False
    if node.parent is not None and is_attempt(message, node.task_level):
        _hold_attempts(node.parent)
    node.start_message = message
    node._open -= 1
    _settle(node)
    return True


def _hold_attempts(node: WrittenAction) -> None:
    """
    Make C{node}, the position of an attempt, a position without an action
    of its own: it no longer waits for a start or finish message.
    """
    if (node.attempts or node.parent is None or node.start_message is not None
            or node.end_message is not None):
        return
    node.attempts = True
    node.parent._holds_attempts = True
    node._open -= 2
    _settle(node)


def _reopen(node: WrittenAction) -> None:
    """
    Count one more thing C{node} waits for; if it was complete, its
    ancestors wait for it again.
    """
    node._open += 1
    while node._open == 1 and node.parent is not None:
        node = node.parent
        node._open += 1


def _add_end(node: WrittenAction, message: Message, index: int) -> bool:
    if node.end_message is not None or index < 2 or node.attempts:
        return False
    slots = node._slots
    filled = sum(1 for key in slots if 1 < key < index)
    handed = node._handed = _handed_off(message, node.task_level, index)
    away = sum(1 for key in handed if key not in slots)
    node.end_message = message
    node._end_index = index
    node._open += index - 2 - filled - away - 1
    _settle(node)
    return True


def _handed_off(message: Message, prefix: Tuple[int, ...], end: int,
                field: str = REMOTE_TASK_LEVELS_FIELD) -> FrozenSet[int]:
    """
    The child slots before C{end} that the finish C{message} of the action
    at C{prefix} lists (in C{field}) as handed to another process.  What
    is not a level of such a slot (not a string, not the right depth, a
    part not a slot number) is skipped.
    """
    levels = message.get(field)
    if levels.__class__ is not list:
        return _NOTHING
    found = set()
    for text in levels:
        if text.__class__ is not str:
            continue
        parts = text.rpartition("@")[2].split("/")
        if parts[0] or len(parts) != len(prefix) + 2:
            continue
        if not all(part.isascii() and part.isdigit() and len(part) <= _SLOT_DIGITS
                   for part in parts[1:]):
            continue
        level = tuple(int(part) for part in parts[1:])
        if level[:-1] == prefix and 1 < level[-1] < end:
            found.add(level[-1])
    return frozenset(found) if found else _NOTHING


def _add_plain(node: WrittenAction, message: Message, index: int) -> bool:
    slots = node._slots
    if index in slots:
        return False
    slots[index] = message
    if not node.task_level and index == 1 and node.start_message is None:
        # A lone message: the whole task.
        node._open = 0
    elif 1 < index < node._end_index and index not in node._handed:
        node._open -= 1
        _settle(node)
    return True


def _descend(node: WrittenAction, level: List[int]) -> Optional[WrittenAction]:
    """
    Find or create the action node for the level prefix C{level[:-1]}.

    @return: The node, or C{None} when a message already sits where an action
        is expected.
    """
    for depth in range(len(level) - 1):
        index = level[depth]
        child = node._slots.get(index)
        if child is None:
            child = WrittenAction(node.task_uuid, tuple(level[: depth + 1]), node)
            node._slots[index] = child
            end = node._end_index
            if not (end and 1 < index < end) or index in node._handed:
                # Otherwise the incomplete child replaces a missing slot.
                _reopen(node)
        elif child.__class__ is not WrittenAction:
            return None
        node = child
    return node


def _place(node: WrittenAction, message: Message, index: int) -> bool:
    """
    Put C{message} at slot C{index} of C{node}.

    @return: C{False} if the slot was taken.
    """
    status = message.get(ACTION_STATUS_FIELD)
    # Any action type, as eliot-tree: a program may give a number or None.
    if status.__class__ is str and ACTION_TYPE_FIELD in message:
        if status == STARTED_STATUS and index == 1:
            return _add_start(node, message)
        if status in _FINISHED:
            return _add_end(node, message, index)
    return _add_plain(node, message, index)
