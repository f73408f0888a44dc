# -*- test-case-name: txcausal.test.test_tasklevel -*-
"""
Positions in a task's tree: L{TaskLevel}, and L{InvalidTaskId} for a
position (or a serialized task id) that is malformed.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional

from attrs import field, frozen


class InvalidTaskId(ValueError):
    """
    A serialized task id is malformed: not C{b"<uuid>@/<level>/<level>..."}
    with positive levels, ASCII, at most 1 KiB.
    """


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
        Parse C{"/3/2"}.

        @raise InvalidTaskId: If C{text} is not of that form.
        """
        if not re.fullmatch(r"(?:/[1-9][0-9]{0,9})+", text):
            raise InvalidTaskId(f"Bad task level: {text[:100]!r}")
        return cls(tuple(int(part) for part in text[1:].split("/")))

    def to_string(self) -> str:
        """
        @return: The level as C{"/3/2"}.
        """
        return "".join(f"/{n}" for n in self.level)

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
