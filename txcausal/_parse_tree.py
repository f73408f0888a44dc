# -*- test-case-name: txcausal.test.test_parse -*-
"""
The trees L{txcausal._parse.Parser} builds: L{WrittenAction} nodes and
L{Task}s (how a message takes its place in them: L{txcausal._parse_place}).

Every node counts what it still waits for (its start message, its finish
message, the child slots between them, its unfinished child actions); when
the count of a task's root reaches zero the task is complete.  Slots that
an action's finish message lists as handed to another process
(C{remote_task_levels}) are not waited for.

A position whose actions are attempts at running one thing (their start
messages are those of L{txcausal._wire.is_attempt}: a Dask task, run again
after its worker died) has no action of its own: it waits for no start or finish
message, only for its attempts, and its attempts are read as children of
the action it is in.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Tuple, Union

from attrs import define, field, frozen

from ._json import type_as_text
from ._tasklevel import LevelRuns
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DURATION_FIELD,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    STARTED_STATUS,
    TIMESTAMP_FIELD,
    TRACEBACK_FIELD,
    TRACEBACK_MESSAGE_TYPE,
    TWISTED_MESSAGE_TYPE,
)

Message = Dict[str, Any]
Child = Union[Message, "WrittenAction"]

_NOTHING: FrozenSet[int] = frozenset()


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
    @ivar attempts: Whether this is a position without an action of its
        own, whose children are attempts (see the module's docstring).
    """

    task_uuid: str
    task_level: Tuple[int, ...]
    parent: Optional[WrittenAction] = None
    start_message: Optional[Message] = None
    end_message: Optional[Message] = None
    _slots: Dict[int, Child] = field(factory=dict)
    _end_index: int = 0
    _open: int = 2
    _handed: FrozenSet[int] = _NOTHING
    attempts: bool = False
    _holds_attempts: bool = False

    @property
    def action_type(self) -> Optional[str]:
        """
        The action type, read from the start or the finish message; one
        that is not text (a number, say) as its JSON text.
        """
        for message in (self.start_message, self.end_message):
            if message is not None:
                return type_as_text(message[ACTION_TYPE_FIELD])
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
        without the start and finish messages; the attempts at a position
        without an action (see L{attempts}) in its place.
        """
        slots = self._slots
        children = [slots[index] for index in sorted(slots)]
        if not self._holds_attempts:
            return children
        return [attempt for child in children for attempt in (
            child.children if child.__class__ is WrittenAction and child.attempts else [child])]

    def missing_levels(self) -> LevelRuns:
        """
        The levels between start and finish for which nothing was seen,
        except those handed off to another process.

        @return: A read-only sequence of the levels, in order, equal to the
            list of them; it holds only the runs of L{gaps} and makes each
            level as it is read, so a hostile finish message at level
            C{[10**9]} costs no more memory than one missing level.
        """
        return LevelRuns(self.task_level, self.gaps())

    def gaps(self) -> List[Tuple[int, int]]:
        """
        The missing child slots, as runs C{(first, last)} of indices, in
        order; cheap however far apart the start and finish are.
        """
        end, handed = self._end_index, self._handed
        if not end:
            return []
        runs: List[Tuple[int, int]] = []
        previous = 1
        for index in sorted([*(i for i in self._slots if i < end), *handed, end]):
            if index > previous + 1:
                runs.append((previous + 1, index - 1))
            previous = index
        return runs

    def handed_off_levels(self) -> List[Tuple[int, ...]]:
        """
        The levels this action handed to another process (listed in its
        finish message's C{remote_task_levels}) of which nothing was seen
        here.
        """
        slots = self._slots
        return [self.task_level + (i,) for i in sorted(self._handed) if i not in slots]

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


def is_failure(message: Message) -> bool:
    """
    Whether a message tells of a failure: the finish of a failed action,
    or a logged traceback (txcausal's C{eliot:traceback} message, or a
    C{twisted:log} message with a traceback, which the reader gives each
    Twisted C{log.failure} record and each event of Twisted's text format
    that holds one).  The one rule for C{tree --failed}, L{Task.failed}
    and the web view.
    """
    if message.get(ACTION_STATUS_FIELD) == FAILED_STATUS:
        return True
    kind = message.get(MESSAGE_TYPE_FIELD)
    return kind == TRACEBACK_MESSAGE_TYPE or (
        kind == TWISTED_MESSAGE_TYPE and TRACEBACK_FIELD in message
    )


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
    @ivar part: How many earlier parts of the task L{Parser
        <txcausal._parse.Parser>} gave up past its C{max_open} (as far as
        it remembers: the last C{2 * max_open} tasks given up); 0 for most.
    """

    uuid: str
    root: WrittenAction
    complete: bool
    strays: List[Message]
    part: int = 0

    def messages(self) -> Iterator[Message]:
        """
        Every message of the task in level order, strays last.
        """
        yield from self.root.messages()
        yield from self.strays

    @property
    def failed(self) -> bool:
        """
        Whether a message of the task tells of a failure (L{is_failure}).
        """
        return any(map(is_failure, self.messages()))

    @property
    def continued_action(self) -> Optional[WrittenAction]:
        """
        For a task continued from another process whose log was not read
        (no root action, only the part below a handed-off position): the
        top-most action known, or, where the top holds attempts (a Dask
        task's runs, requests continued from one bare C{traceparent}), the
        position holding them, whose C{children} are the attempts.  C{None}
        for other tasks.
        """
        return _continued_top(self.root)

    @property
    def continued_from(self) -> Optional[Tuple[int, ...]]:
        """
        The level of the position the task was continued from, when
        L{continued_action} is known.
        """
        top = self.continued_action
        return None if top is None else top.task_level


def _continued_top(root: WrittenAction) -> Optional[WrittenAction]:
    """
    The top action of a task continued from elsewhere: the first node down
    from C{root} with an action, or one holding attempts (the position the
    process was handed, as its attempts' C{attempt_of} says).
    """
    node = root
    while (node.start_message is None and node.end_message is None and not node.attempts
           and len(node._slots) == 1):
        (child,) = node._slots.values()
        if child.__class__ is not WrittenAction:
            return None
        node = child
    if node is root or (node.start_message is None and not node.attempts):
        return None
    return node
