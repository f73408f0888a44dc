# -*- test-case-name: txcausal.test.test_parse -*-
"""
Building task trees from log messages that arrive in any order.

A L{Parser} keeps one tree per open task.  Every node counts what it still
waits for (its start message, its finish message, the child slots between
them, its unfinished child actions); when the count of a task's root reaches
zero the task is complete and is handed back at once, so memory is bounded by
the tasks still open, not by the size of the log.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from attrs import define, field, frozen

from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DURATION_FIELD,
    FAILED_STATUS,
    STARTED_STATUS,
    SUCCEEDED_STATUS,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
)

Message = Dict[str, Any]
Child = Union[Message, "WrittenAction"]

_FINISHED = frozenset([SUCCEEDED_STATUS, FAILED_STATUS])


@define(eq=False)
class WrittenAction:
    """
    An action (or, at the top of a task, the slot of the task's root) as read
    back from a log.

    @ivar task_uuid: The task this action belongs to.
    @ivar task_level: The level prefix of this action: its start message is at
        C{task_level + (1,)}.  The root node of a task has the prefix C{()}.
    @ivar start_message: The C{started} message, or C{None} if missing.
    @ivar end_message: The C{succeeded} or C{failed} message, or C{None}.
    @ivar parent: The enclosing action, C{None} for a task's root node.
    """

    task_uuid: str
    task_level: Tuple[int, ...]
    parent: Optional[WrittenAction] = None
    start_message: Optional[Message] = None
    end_message: Optional[Message] = None
    _slots: Dict[int, Child] = field(factory=dict)
    _end_index: int = 0
    _open: int = 2

    @property
    def action_type(self) -> Optional[str]:
        """
        The action type, read from the start or the finish message.
        """
        for message in (self.start_message, self.end_message):
            if message is not None:
                return message.get(ACTION_TYPE_FIELD)
        return None

    @property
    def status(self) -> Optional[str]:
        """
        C{"succeeded"} or C{"failed"} once finished, C{"started"} before,
        C{None} when neither message was seen.
        """
        if self.end_message is not None:
            return self.end_message.get(ACTION_STATUS_FIELD)
        if self.start_message is not None:
            return STARTED_STATUS
        return None

    @property
    def start_time(self) -> Optional[float]:
        """
        The timestamp of the start message, if any.
        """
        if self.start_message is None:
            return None
        return self.start_message.get(TIMESTAMP_FIELD)

    @property
    def end_time(self) -> Optional[float]:
        """
        The timestamp of the finish message, if any.
        """
        if self.end_message is None:
            return None
        return self.end_message.get(TIMESTAMP_FIELD)

    @property
    def duration(self) -> Optional[float]:
        """
        Seconds between start and finish: the finish message's C{duration}
        field when it has one, else the difference of the timestamps; C{None}
        when either end is missing.
        """
        return action_duration(self.start_message, self.end_message)

    @property
    def complete(self) -> bool:
        """
        Whether the start, the finish and everything between them was seen.
        """
        return self._open == 0

    @property
    def children(self) -> List[Child]:
        """
        Messages and child actions logged inside this action, in level order,
        without the start and finish messages.
        """
        slots = self._slots
        return [slots[index] for index in sorted(slots)]

    def missing_levels(self) -> List[Tuple[int, ...]]:
        """
        The levels between start and finish for which nothing was seen.
        """
        if not self._end_index:
            return []
        return [
            self.task_level + (index,)
            for index in range(2, self._end_index)
            if index not in self._slots
        ]

    def messages(self) -> Iterator[Message]:
        """
        Every message of this action and its descendants, in level order.
        """
        if self.start_message is not None:
            yield self.start_message
        for child in self.children:
            if isinstance(child, WrittenAction):
                yield from child.messages()
            else:
                yield child
        if self.end_message is not None:
            yield self.end_message


def action_duration(start: Optional[Message], end: Optional[Message]) -> Optional[float]:
    """
    The duration of an action given its start and finish messages.

    @return: Seconds, or C{None} if it cannot be known.
    """
    if end is None:
        return None
    duration = end.get(DURATION_FIELD)
    if isinstance(duration, (int, float)):
        return float(duration)
    if start is None:
        return None
    began, ended = start.get(TIMESTAMP_FIELD), end.get(TIMESTAMP_FIELD)
    if isinstance(began, (int, float)) and isinstance(ended, (int, float)):
        return float(ended - began)
    return None


@frozen(eq=False)
class Task:
    """
    All the messages of one task, as a tree.

    @ivar uuid: The task's UUID.
    @ivar root: The node whose children are at level C{[n]}: for an ordinary
        task its start message is the root action's; for a lone message the
        message is its only child.
    @ivar complete: Whether every message of the task was seen.
    @ivar strays: Messages that did not fit the tree (duplicate levels, a
        message where an action was expected), kept so that nothing is lost.
    """

    uuid: str
    root: WrittenAction
    complete: bool
    strays: List[Message]

    def messages(self) -> Iterator[Message]:
        """
        Every message of the task in level order, strays last.
        """
        yield from self.root.messages()
        yield from self.strays

    @property
    def failed(self) -> bool:
        """
        Whether an action of the task failed.
        """
        return any(message.get(ACTION_STATUS_FIELD) == FAILED_STATUS for message in self.messages())


def _settle(node: WrittenAction) -> None:
    """
    Propagate the completion of C{node} to its ancestors.
    """
    while node._open == 0 and node.parent is not None:
        node = node.parent
        node._open -= 1


def _add_start(node: WrittenAction, message: Message) -> bool:
    if node.start_message is not None:
        return False
    node.start_message = message
    node._open -= 1
    _settle(node)
    return True


def _add_end(node: WrittenAction, message: Message, index: int) -> bool:
    if node.end_message is not None or index < 2:
        return False
    slots = node._slots
    filled = sum(1 for key in slots if 1 < key < index)
    node.end_message = message
    node._end_index = index
    node._open += index - 2 - filled - 1
    _settle(node)
    return True


def _add_plain(node: WrittenAction, message: Message, index: int) -> bool:
    slots = node._slots
    if index in slots:
        return False
    slots[index] = message
    if not node.task_level and index == 1 and node.start_message is None:
        # A lone message: the whole task.
        node._open = 0
    elif 1 < index < node._end_index:
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
            if not (end and 1 < index < end):
                # Otherwise the incomplete child replaces a missing slot.
                node._open += 1
        elif child.__class__ is not WrittenAction:
            return None
        node = child
    return node


class Parser:
    """
    Turn messages, in any order, into L{Task} trees.

    Feed messages with L{add}; a task is returned by the call that completes
    it.  L{flush} returns the tasks still open (incomplete).
    """

    def __init__(self) -> None:
        self._open: Dict[str, Tuple[WrittenAction, List[Message]]] = {}

    def add(self, message: Message) -> Optional[Task]:
        """
        Add one message.

        @param message: A message with a C{task_uuid} string and a
            C{task_level} list of positive integers.
        @return: The task this message completed, if it did.
        """
        uuid = message[TASK_UUID_FIELD]
        level = message[TASK_LEVEL_FIELD]
        entry = self._open.get(uuid)
        if entry is None:
            entry = self._open[uuid] = (WrittenAction(uuid, ()), [])
        root = entry[0]
        node = _descend(root, level) if len(level) > 1 else root
        if node is None or not _place(node, message, level[-1]):
            entry[1].append(message)
        if root._open == 0:
            del self._open[uuid]
            return Task(uuid, root, True, entry[1])
        return None

    def open_count(self) -> int:
        """
        The number of tasks still waiting for messages.
        """
        return len(self._open)

    def flush(self) -> List[Task]:
        """
        Give up waiting: return every open task, marked incomplete, oldest
        first, and forget them.
        """
        tasks = [Task(uuid, root, False, strays) for uuid, (root, strays) in self._open.items()]
        self._open.clear()
        return tasks


def _place(node: WrittenAction, message: Message, index: int) -> bool:
    """
    Put C{message} at slot C{index} of C{node}.

    @return: C{False} if the slot was taken.
    """
    status = message.get(ACTION_STATUS_FIELD)
    if status is not None and ACTION_TYPE_FIELD in message:
        if status == STARTED_STATUS and index == 1:
            return _add_start(node, message)
        if status in _FINISHED:
            return _add_end(node, message, index)
    return _add_plain(node, message, index)


def parse_messages(messages: Iterable[Message]) -> Iterator[Task]:
    """
    Parse messages into tasks: complete tasks as soon as they complete, then
    the incomplete ones once C{messages} is exhausted.

    @param messages: Message dictionaries, in any order, each with a valid
        C{task_uuid} and C{task_level}.
    """
    parser = Parser()
    add = parser.add
    for message in messages:
        task = add(message)
        if task is not None:
            yield task
    yield from parser.flush()


def is_lone_message(task: Task) -> bool:
    """
    Whether C{task} is a single message logged outside any action.
    """
    root = task.root
    return (
        root.start_message is None
        and root.end_message is None
        and (
            len(root._slots) == 1
            and not isinstance(root._slots.get(1), (WrittenAction, type(None)))
        )
    )


__all__ = [
    "Parser",
    "Task",
    "WrittenAction",
    "action_duration",
    "is_lone_message",
    "parse_messages",
]
