# -*- test-case-name: txcausal.test.test_select -*-
"""
Choosing tasks: by UUID, by failure, by time range and by the duration of
their actions; and reading the times people type.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import AbstractSet, Iterator, Optional, Tuple

from attrs import frozen

from ._parse_tree import Task, WrittenAction
from ._wire import TIMESTAMP_FIELD

# Compiled on first use (by the re module's cache).
_ISO = (
    r"\s*(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d\d(?::?\d\d)?)?\s*\Z"
)


def iso_timestamp(text: str) -> Optional[float]:
    """
    Parse an ISO 8601 time (C{2026-11-22}, C{2026-11-22T11:58},
    C{2026-11-22 11:58:34.84Z}, C{...+01:00} or C{...+0100}, any number of
    fraction digits) the same way on every supported Python; UTC unless a
    zone is given.

    @return: POSIX seconds, or C{None} if C{text} is not such a time.
    """
    match = re.match(_ISO, text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        when = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                        int(second or 0), tzinfo=timezone.utc)
    except ValueError:
        return None
    seconds = when.timestamp() + (float("0." + fraction) if fraction else 0.0)
    return seconds - _zone_offset(zone)


def _zone_offset(zone: Optional[str]) -> float:
    if not zone or zone in "Zz":
        return 0.0
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return offset.total_seconds() * (-1 if zone[0] == "-" else 1)


def parse_time(text: str) -> float:
    """
    Parse seconds since the epoch or an ISO 8601 time (C{2026-11-22},
    C{2026-11-22T11:58:34.84Z}, C{...+01:00}; UTC unless a zone is given).

    @raise ValueError: If it is neither (or not a number).
    """
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds:
            raise ValueError(f"not a time: {text!r}")
        return seconds
    when = iso_timestamp(text)
    if when is None:
        raise ValueError(f"not a time: {text!r}")
    return when


def actions(task: Task) -> Iterator[WrittenAction]:
    """
    Every action of a task, parents before their children.
    """
    return tree_actions(task.root)


def tree_actions(root: WrittenAction) -> Iterator[WrittenAction]:
    """
    Every action of the tree of C{root}, parents before their children.
    """
    for node in tree_nodes(root):
        if node.start_message is not None or node.end_message is not None:
            yield node


def tree_nodes(root: WrittenAction) -> Iterator[WrittenAction]:
    """
    Every node of the tree of C{root} (actions, and positions with neither
    start nor finish message read), parents before their children.
    """
    pending = [root]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(reversed([c for c in node.children if c.__class__ is WrittenAction]))


def time_range(task: Task) -> Optional[Tuple[float, float]]:
    """
    The times of the first and last messages of a task that have one.

    @return: C{(first, last)}, or C{None} if no message has a time.
    """
    first = last = None
    for message in task.messages():
        when = message.get(TIMESTAMP_FIELD)
        if when.__class__ is float or when.__class__ is int:
            if first is None or when < first:
                first = when
            if last is None or when > last:
                last = when
    if first is None or last is None:
        return None
    return float(first), float(last)


def longest_duration(task: Task) -> Optional[float]:
    """
    The duration of the task's longest action, if any is known.
    """
    durations = [d for d in (node.duration for node in actions(task)) if d is not None]
    return max(durations) if durations else None


@frozen
class TaskFilter:
    """
    Which tasks to keep; every condition given must hold.

    @ivar task_uuids: Only these tasks (all when empty).
    @ivar failed: Only tasks in which an action failed or an error was
        logged (see L{Task.failed}).
    @ivar since: Only tasks with a message at or after this time.
    @ivar until: Only tasks with a message at or before this time.
    @ivar min_duration: Only tasks with an action that took at least
        this many seconds.
    """

    task_uuids: AbstractSet[str] = frozenset()
    failed: bool = False
    since: Optional[float] = None
    until: Optional[float] = None
    min_duration: Optional[float] = None

    @property
    def everything(self) -> bool:
        """
        Whether every task is kept.
        """
        return self == TaskFilter()

    def __call__(self, task: Task) -> bool:
        """
        Whether C{task} is kept.
        """
        if self.task_uuids and task.uuid not in self.task_uuids:
            return False
        if self.failed and not task.failed:
            return False
        if self.since is not None or self.until is not None:
            span = time_range(task)
            if span is None:
                return False
            if self.since is not None and span[1] < self.since:
                return False
            if self.until is not None and span[0] > self.until:
                return False
        if self.min_duration is not None:
            longest = longest_duration(task)
            if longest is None or longest < self.min_duration:
                return False
        return True
