# -*- test-case-name: txcausal.test.test_tasklevel -*-
"""
Positions in a task's tree: L{TaskLevel}, L{InvalidTaskId} for a position
(or a serialized task id) that is malformed, L{parse_task_id} for a
serialized task id, and L{LevelRuns}, sibling positions held as runs of
indices.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from operator import index as as_index
from typing import Any, Iterable, Iterator, List, Optional, Tuple, Union, overload

from attrs import field, frozen


class InvalidTaskId(ValueError):
    """
    A serialized task id is malformed: not C{b"<uuid>@/<level>/<level>..."}
    with positive levels (or C{b"<uuid>@/"}, the root), ASCII, at most
    1 KiB.
    """


#: The longest serialized task id accepted from another process.
MAX_TASK_ID_LENGTH = 1024
#: No message is written, nor read back, deeper than this many levels.  An
#: action whose messages would be deeper (a position continued from
#: another process, or a child action nested that deep) starts a fresh task
#: instead, its start message recording the position in C{parent_task_id}.
MAX_TASK_LEVEL_DEPTH = 100
#: A serialized task id: the task's UUID and, after C{@}, the level (C{/}
#: for the root, as L{TaskLevel} and Eliot write it and Eliot continues it).
#: L{txcausal._propagation} reads a matched level with orjson, which is
#: right only while each number has no leading zero (orjson refuses C{01})
#: and at most 10 digits (above 2 ** 64 - 1, orjson returns a float).
TASK_ID_PATTERN = (
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"@((?:/[1-9][0-9]{0,9})+|/)"
)
_TASK_ID = re.compile(rf"\A{TASK_ID_PATTERN}\Z")


def valid_level(level: Any) -> bool:
    """
    @return: Whether C{level}, as decoded from JSON, is a message's
        C{task_level} as the log readers take it: a non-empty list of
        positive integers, at most L{MAX_TASK_LEVEL_DEPTH} deep.
    """
    if level.__class__ is not list or not level or len(level) > MAX_TASK_LEVEL_DEPTH:
        return False
    for index in level:
        if index.__class__ is not int or index < 1:
            return False
    return True


def parse_task_id(task_id: Union[bytes, str]) -> "tuple[str, List[int]]":
    """
    Parse a serialized task id.

    @return: The task uuid and the level of the position (C{[]} for
        C{<uuid>@/}, the root: the action continuing it is the task's root
        action, as in Eliot).
    @raise InvalidTaskId: If it is malformed.
    """
    if not isinstance(task_id, (bytes, str)):
        raise InvalidTaskId(f"Task id must be bytes or str, not {type(task_id).__name__}")
    if len(task_id) > MAX_TASK_ID_LENGTH:
        raise InvalidTaskId(f"Task id longer than {MAX_TASK_ID_LENGTH} characters")
    if isinstance(task_id, bytes):
        try:
            task_id = task_id.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidTaskId("Task id is not ASCII") from None
    match = _TASK_ID.match(task_id)
    if match is None:
        raise InvalidTaskId(f"Malformed task id: {task_id[:100]!r}")
    level = match.group(2)
    return match.group(1), [int(part) for part in level[1:].split("/")] if level != "/" else []


def _as_tuple(level: Iterable[int]) -> "tuple[int, ...]":
    return tuple(level)


@frozen(order=True)
class TaskLevel:
    """
    A position in a task's tree: C{[3, 2]} is the 2nd child of the 3rd child
    of the task.  Positions compare in the order their messages are
    written in (a parent before its children).

    @ivar level: The path, as a tuple of positive ints (a list given is
        made a tuple).
    """

    level: "tuple[int, ...]" = field(converter=_as_tuple)

    def as_list(self) -> List[int]:
        """
        @return: The path as a list, as it is written in C{task_level}.
        """
        return list(self.level)

    def is_sibling_of(self, other: "TaskLevel") -> bool:
        """
        @return: Whether C{other} has the same parent.
        """
        return self.parent() == other.parent()

    @classmethod
    def from_string(cls, text: str) -> "TaskLevel":
        """
        Parse C{"/3/2"}; C{"/"} is the root (the empty level), as in Eliot.

        @raise InvalidTaskId: If C{text} is not of that form.
        """
        if text == "/":
            return cls(())
        if not re.fullmatch(r"(?:/[1-9][0-9]{0,9})+", text):
            raise InvalidTaskId(f"Bad task level: {text[:100]!r}")
        return cls(tuple(int(part) for part in text[1:].split("/")))

    def to_string(self) -> str:
        """
        @return: The level as C{"/3/2"}; the root as C{"/"}, as in Eliot.
        """
        return "/" + "/".join(map(str, self.level))

    def child(self) -> "TaskLevel":
        """
        @return: The first child of this position.
        """
        return TaskLevel(self.level + (1,))

    def next_sibling(self) -> "TaskLevel":
        """
        @return: The position after this one, under the same parent.
        """
        return TaskLevel(self.level[:-1] + (self.level[-1] + 1,))

    def parent(self) -> Optional["TaskLevel"]:
        """
        @return: The enclosing position, or C{None} at the top.
        """
        return TaskLevel(self.level[:-1]) if self.level else None


Level = Tuple[int, ...]

#: Up to this many levels, a L{LevelRuns} shows itself as the list of them.
_SHOWN = 20


class LevelRuns(Sequence[Level]):
    """
    The levels C{prefix + (i,)} for the indices C{i} of runs of indices, in
    order: a read-only sequence that holds only the runs, so that a run of
    a billion levels (a hostile log's finish message at level C{[10**9]})
    takes no more memory than a run of one.  Each level is made as it is
    read; C{len}, an index and C{in} take time in the number of runs, not
    of levels.  It reads as the list of its levels does (iterated, indexed,
    sliced into a list, searched, reversed) and is equal to that list, but
    it is not a list: C{list(runs)} makes one.
    """

    __slots__ = ("_prefix", "_runs", "_firsts", "_ends")

    def __init__(self, prefix: Level, runs: Iterable[Tuple[int, int]]) -> None:
        """
        @param prefix: The level the indices are under.
        @param runs: Runs C{(first, last)} of indices, both included, in
            increasing order; runs that touch are joined, empty ones left
            out.

        @raise ValueError: If a run starts before the one before it ends.
        """
        joined: List[Tuple[int, int]] = []
        for first, last in runs:
            if first > last:
                continue
            if joined and first <= joined[-1][1]:
                raise ValueError(f"runs out of order: {joined[-1]} then {(first, last)}")
            if joined and first == joined[-1][1] + 1:
                joined[-1] = (joined[-1][0], last)
            else:
                joined.append((first, last))
        self._prefix = tuple(prefix)
        self._runs = tuple(joined)
        self._firsts = [first for first, _ in joined]
        self._ends: List[int] = []
        total = 0
        for first, last in joined:
            total += last - first + 1
            self._ends.append(total)

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, index: int) -> Level: ...

    @overload
    def __getitem__(self, index: slice) -> List[Level]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[Level, List[Level]]:
        """
        @return: The level at C{index}; for a slice, the list of those
            levels.

        @raise IndexError: If there is no level at C{index}.
        """
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = as_index(index)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError("level index out of range")
        run = bisect_right(self._ends, position)
        before = self._ends[run - 1] if run else 0
        return self._prefix + (self._firsts[run] + position - before,)

    def __iter__(self) -> Iterator[Level]:
        prefix = self._prefix
        for first, last in self._runs:
            for i in range(first, last + 1):
                yield prefix + (i,)

    def __reversed__(self) -> Iterator[Level]:
        prefix = self._prefix
        for first, last in reversed(self._runs):
            for i in range(last, first - 1, -1):
                yield prefix + (i,)

    def __contains__(self, level: object) -> bool:
        """
        @return: Whether C{level}, a tuple of ints, is one of the levels.
        """
        if not (isinstance(level, tuple) and len(level) == len(self._prefix) + 1
                and level[:-1] == self._prefix and isinstance(level[-1], int)):
            return False
        run = bisect_right(self._firsts, level[-1]) - 1
        return run >= 0 and level[-1] <= self._runs[run][1]

    def index(self, value: object, start: int = 0, stop: Optional[int] = None) -> int:
        """
        @return: The position of level C{value}, between C{start} and
            C{stop} (as for a list) if given.

        @raise ValueError: If it is not there.
        """
        low, high, _ = slice(start, stop).indices(len(self))
        if value in self:
            last = value[-1]  # type: ignore[index]
            run = bisect_right(self._firsts, last) - 1
            position: int = (self._ends[run - 1] if run else 0) + last - self._firsts[run]
            if low <= position < high:
                return position
        raise ValueError(f"{value!r} is not in the levels")

    def count(self, value: object) -> int:
        """
        @return: 1 if level C{value} is one of the levels, else 0.
        """
        return 1 if value in self else 0

    def __eq__(self, other: object) -> bool:
        """
        @return: Whether C{other}, a L{LevelRuns} or a list, holds the same
            levels in the same order.
        """
        if isinstance(other, LevelRuns):
            same = (self._prefix, self._runs) == (other._prefix, other._runs)
            return same or not (self._runs or other._runs)
        if isinstance(other, list):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if len(self) <= _SHOWN:
            return repr(list(self))
        return (f"<LevelRuns: {len(self)} levels under {list(self._prefix)}, "
                f"in runs {list(self._runs)}>")
