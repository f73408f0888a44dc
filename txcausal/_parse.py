# -*- test-case-name: txcausal.test.test_parse -*-
"""
Building task trees from log messages that arrive in any order.

A L{Parser} keeps one tree per open task (see L{txcausal._parse_tree});
when a task is complete it is handed back at once, so memory is bounded by
the tasks still open, not by the size of the log, and the number of open
tasks is capped.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple

from ._parse_place import _descend, _handed_off, _place
from ._parse_tree import Message, Task, WrittenAction, _continued_top, action_duration
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    CLIENT_ACTION_TYPE,
    DASK_COMPUTE_ACTION_TYPE,
    DASK_TASK_MESSAGE_TYPE,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    REMOTE_TASK_LEVELS_FIELD,
    RETRIED_TASK_LEVELS_FIELD,
    RETRIES_FIELD,
    SUCCEEDED_STATUS,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    UNSENT_TASK_LEVELS_FIELD,
)

#: The default cap on open tasks: see L{Parser}.
DEFAULT_MAX_OPEN = 100_000


def retried_slots(node: WrittenAction) -> FrozenSet[int]:
    """
    The child slots C{node}, a request of txcausal's HTTP client, handed off
    (C{remote_task_levels}) whose attempt was cut off before any response
    and sent again at another slot: its finish message lists them in
    C{retried_task_levels} too.  Such a slot explains its gap but is not
    waited for; nothing may ever fill it.
    """
    return _listed_slots(node, RETRIED_TASK_LEVELS_FIELD)


def unsent_slots(node: WrittenAction) -> FrozenSet[int]:
    """
    The child slots C{node}, a request of txcausal's HTTP client, handed off
    (C{remote_task_levels}) whose request failed before any connection was
    made, so that no other process got them: its finish message lists them
    in C{unsent_task_levels} too.  Such a slot explains its gap but is not
    waited for.
    """
    return _listed_slots(node, UNSENT_TASK_LEVELS_FIELD)


def _listed_slots(node: WrittenAction, field: str) -> FrozenSet[int]:
    """
    The child slots C{node} handed off that its finish message also lists
    in C{field}: none unless C{node} is an action of L{CLIENT_ACTION_TYPE},
    whose finish message only txcausal writes these fields in.
    """
    end = node.end_message
    if end is None or not node._handed or field not in end:
        return frozenset()
    if end.get(ACTION_TYPE_FIELD) != CLIENT_ACTION_TYPE:
        # Written by txcausal's client only: on another action, a user's
        # field of that name.
        return frozenset()
    return node._handed & _handed_off(end, node.task_level, node._end_index, field)


class _Entry:
    """
    An open task: its tree, its strays, and the positions its actions
    handed off to other processes.

    @ivar pending: Each handed position, as its action and its index:
        those before L{_done} are filled for good.
    """

    __slots__ = ("root", "strays", "pending", "_done")

    def __init__(self, root: WrittenAction) -> None:
        self.root = root
        self.strays: List[Message] = []
        self.pending: List[Tuple[WrittenAction, int]] = []
        self._done = 0

    def hand(self, node: WrittenAction) -> None:
        """
        Wait for the positions C{node}, just finished, handed off.
        """
        waited = node._handed - retried_slots(node) - unsent_slots(node)
        self.pending.extend((node, index) for index in sorted(waited))

    def awaits_other_process(self) -> bool:
        """
        Whether a position handed off to another process is still empty, or
        holds only attempts (a Dask task's) none of which succeeded while
        the Dask computation (C{dask:compute}) that handed it off
        succeeded (the attempt that did must be in another process's
        messages), or fewer failed attempts than the task's C{retries}
        allow.  A filled position stays filled
        (trees only grow), so each is found filled once.
        """
        pending, done = self.pending, self._done
        while done < len(pending) and _filled(*pending[done]):
            done += 1
        self._done = done
        return done < len(pending)

    def task(self, part: int = 0) -> Task:
        """
        The task as it stands: complete if nothing but handed-off
        positions is missing.

        @param part: See L{Task.part}.
        """
        return Task(self.root.task_uuid, self.root, self.root._open == 0, self.strays, part)


class Parser:
    """
    Turn messages, in any order, into L{Task} trees.

    Feed messages with L{add}; a task is returned by the call that completes
    it.  L{flush} returns the tasks still open (incomplete).

    The same messages make the same trees whatever their order and however
    they are grouped into files or streams: a task whose only gaps are
    positions handed to another process, or a task continued from another
    process (no root action), stays open to be joined by the other
    process's messages, until L{flush}, unless L{eager}.  A handed position
    holding a complete attempt (a Dask task's) is no gap, unless its
    attempts all failed while the C{dask:compute} action that handed it off
    succeeded (the attempt that succeeded is still to be read; a
    C{dask:persist} action succeeds once its graph is submitted, which
    tells nothing of its tasks), or they are fewer than the task's
    C{retries} plus one (its C{dask:task} says): an attempt read after its
    task was returned, as a dead worker's in a file read last, comes out as
    an incomplete task of its own.  So do the messages of a handed position
    the finish message of a C{txcausal:http:client} action also lists in
    its C{retried_task_levels} or C{unsent_task_levels}, read after its
    task was returned: such a
    position is not waited for.

    Memory is bounded: past C{max_open} open tasks, the oldest (by first
    message) is given up and returned incomplete, in constant time.

    @ivar eager: Return those tasks as soon as their own part is complete,
        without waiting for another process's messages: for following a
        live log, where waiting would hold them back indefinitely.
    @ivar given_up: How many tasks were given up past C{max_open} (a task
        given up again, in a later part, is counted once as long as it is
        among the last C{2 * max_open} given up).
    """

    def __init__(self, max_open: int = DEFAULT_MAX_OPEN, eager: bool = False) -> None:
        """
        @param max_open: How many tasks to keep open at most.
        @raise ValueError: If C{max_open} is not positive.
        """
        if max_open < 1:
            raise ValueError(f"max_open must be positive, not {max_open!r}")
        self._max_open = max_open
        self.eager = eager
        self._open: OrderedDict[str, _Entry] = OrderedDict()
        self.given_up = 0
        # Of the last 2 * max_open tasks given up: how many parts were (room
        # for the open ones, and as many given up since).
        self._parts: OrderedDict[str, int] = OrderedDict()

    def add(self, message: Message) -> Optional[Task]:
        """
        Add one message.

        @param message: A message with a C{task_uuid} string and a
            C{task_level} list of positive integers.
        @return: The task this message completed (or, past C{max_open},
            the oldest open task), if any.
        """
        uuid = message[TASK_UUID_FIELD]
        level = message[TASK_LEVEL_FIELD]
        entry = self._open.get(uuid)
        if entry is None:
            entry = self._open[uuid] = _Entry(WrittenAction(uuid, ()))
        root = entry.root
        node = _descend(root, level) if len(level) > 1 else root
        if node is None or not _place(node, message, level[-1]):
            entry.strays.append(message)
        elif node._handed and REMOTE_TASK_LEVELS_FIELD in message:
            entry.hand(node)
        if root._open == 0:
            if self.eager or not entry.pending or not entry.awaits_other_process():
                del self._open[uuid]
                return Task(uuid, root, True, entry.strays, self._parts.pop(uuid, 0))
        elif self.eager and node is not None and node._open == 0:
            top = _continued_top(root)
            if top is not None and top._open == 0:
                del self._open[uuid]
                return Task(uuid, root, False, entry.strays, self._parts.pop(uuid, 0))
        if len(self._open) > self._max_open:
            return self._give_up()
        return None

    def _give_up(self) -> Task:
        """
        Give up the oldest open task, and remember it.
        """
        uuid, entry = self._open.popitem(last=False)
        part = self._parts.pop(uuid, 0)
        if not part:
            self.given_up += 1
        self._parts[uuid] = part + 1
        if len(self._parts) > 2 * self._max_open:
            self._parts.popitem(last=False)
        return entry.task(part)

    def open_count(self) -> int:
        """
        The number of tasks still waiting for messages.
        """
        return len(self._open)

    def peek(self, uuid: str) -> Optional[Task]:
        """
        The open task C{uuid} as it stands, still open; C{None} if it is
        not open.
        """
        entry = self._open.get(uuid)
        return None if entry is None else entry.task()

    def flush(self) -> List[Task]:
        """
        Give up waiting: return every open task, oldest first, and forget
        them.  They are incomplete, but for those whose only gaps are
        positions handed to another process.
        """
        tasks = [entry.task(self._parts.get(uuid, 0)) for uuid, entry in self._open.items()]
        self._open.clear()
        return tasks

    def parse(self, messages: Iterable[Message]) -> Iterator[Task]:
        """
        Add every message: the tasks as they complete, then L{flush}.
        """
        add = self.add
        for message in messages:
            task = add(message)
            if task is not None:
                yield task
        yield from self.flush()


def _filled(node: WrittenAction, index: int) -> bool:
    """
    Whether position C{index} that C{node} handed off holds what the input
    can tell is all of it: anything but attempts none of which succeeded
    when C{node} is a Dask computation (C{dask:compute}, not
    C{dask:persist}, which succeeds once its graph is submitted) that
    succeeded, or fewer failed attempts than the task's C{retries} allow.
    """
    child = node._slots.get(index)
    if child is None:
        return False
    if not isinstance(child, WrittenAction) or not child.attempts:
        return True
    attempts = [a for a in child._slots.values() if isinstance(a, WrittenAction)]
    if any(attempt.status == SUCCEEDED_STATUS for attempt in attempts):
        return True
    if node.status == SUCCEEDED_STATUS and node.action_type == DASK_COMPUTE_ACTION_TYPE:
        return False
    failed = sum(1 for attempt in attempts if attempt.status == FAILED_STATUS)
    return failed > max(map(_retries, attempts), default=0)


def _retries(attempt: WrittenAction) -> int:
    """
    @return: The C{retries} the C{dask:task} message of C{attempt} gives
        its task: 0 if none (or not a positive integer).
    """
    first = attempt._slots.get(2)
    if first.__class__ is not dict or first.get(MESSAGE_TYPE_FIELD) != DASK_TASK_MESSAGE_TYPE:
        return 0
    retries = first.get(RETRIES_FIELD)
    return retries if retries.__class__ is int and retries > 0 else 0


def _put(root: WrittenAction, message: Message) -> bool:
    """
    Put C{message} in the tree of C{root}.

    @return: C{False} if its place was taken.
    """
    level = message[TASK_LEVEL_FIELD]
    node = _descend(root, level) if len(level) > 1 else root
    return node is not None and _place(node, message, level[-1])


def stray_trees(task: Task) -> List[WrittenAction]:
    """
    The strays of C{task} (the messages that did not fit its tree) as trees
    of their own, so that an action whose place was taken (by a plain
    message, or by the same action read twice) can still be read: each
    stray goes in the first of these trees where its place is free.

    A tree that refused a message refuses every later one of the same
    position and kind (trees only grow), so each kind of position starts
    at the first tree that has not refused it: linear in the strays read
    at one position.

    @return: The root node of each tree; none if C{task} has no strays.
    """
    roots: List[WrittenAction] = []
    first: Dict[Tuple[Tuple[int, ...], Any], int] = {}
    for message in task.strays:
        status = message.get(ACTION_STATUS_FIELD)
        key = (tuple(message[TASK_LEVEL_FIELD]), status if status.__class__ is str else None)
        index = first.get(key, 0)
        while index < len(roots) and not _put(roots[index], message):
            index += 1
        first[key] = index
        if index == len(roots):
            root = WrittenAction(task.uuid, ())
            roots.append(root)
            _put(root, message)  # An empty tree has room for any message.
    return roots


def parse_messages(messages: Iterable[Message], max_open: int = DEFAULT_MAX_OPEN) -> Iterator[Task]:
    """
    Parse messages into tasks: complete tasks as soon as they complete, then
    the incomplete ones once C{messages} is exhausted.

    @param messages: Message dictionaries, in any order, each with a valid
        C{task_uuid} and C{task_level}.
    @param max_open: The cap on open tasks: see L{Parser}.
    """
    return Parser(max_open).parse(messages)


__all__ = [
    "DEFAULT_MAX_OPEN",
    "Parser",
    "Task",
    "WrittenAction",
    "action_duration",
    "parse_messages",
    "stray_trees",
]
