# -*- test-case-name: txcausal.test.test_stats -*-
"""
Where the time goes: per action type, how many actions, how many failed,
the distribution of their durations and the slowest instances.

Durations are kept as 8-byte floats, one per finished action, so the
percentiles are exact; the slowest instances are kept in a small heap per
action type.
"""

from __future__ import annotations

import heapq
from array import array
from math import ceil
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from attrs import frozen

from ._parse import stray_trees
from ._parse_tree import Task, WrittenAction
from ._select import actions, tree_nodes
from ._wire import ACTION_TYPE_FIELD, FAILED_STATUS

#: How many of the slowest instances are kept per action type by default.
DEFAULT_SLOWEST = 3


@frozen
class Instance:
    """
    One action, to find it again with C{txcausal tree -u TASK_UUID}.

    @ivar task_level: The level of its start message.
    """

    duration: float
    task_uuid: str
    task_level: Tuple[int, ...]


@frozen
class TypeStats:
    """
    The figures of one action type.

    @ivar count: How many actions were seen (finished or not).
    @ivar failures: How many failed.
    @ivar unfinished: How many have no known duration (no finish message,
        or neither a C{duration} field nor both timestamps).
    @ivar total: The sum of the known durations, in seconds.
    @ivar p50: The median duration (nearest rank), C{None} if none known;
        likewise L{p90}, L{p99} and L{max}.
    @ivar slowest: The slowest instances, slowest first.
    """

    action_type: str
    count: int
    failures: int
    unfinished: int
    total: float
    p50: Optional[float]
    p90: Optional[float]
    p99: Optional[float]
    max: Optional[float]
    slowest: Tuple[Instance, ...]


def percentile(ordered: List[float], percent: float) -> Optional[float]:
    """
    The nearest-rank percentile of sorted values; C{None} if there are none.
    """
    if not ordered:
        return None
    rank = max(1, ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _ignore(message: Dict[str, Any]) -> None:
    """
    Leave a message out without a word.
    """


class _Accumulator:
    __slots__ = ("count", "failures", "durations", "slowest")

    def __init__(self) -> None:
        self.count = 0
        self.failures = 0
        self.durations = array("d")
        self.slowest: List[Tuple[float, int, str, Tuple[int, ...]]] = []


class ActionStats:
    """
    Collect the figures of actions, task by task (L{add_task}), then read
    them with L{summary}.
    """

    def __init__(self, slowest: int = DEFAULT_SLOWEST,
                 left_out: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        """
        @param slowest: How many of the slowest instances to keep per type.
        @param left_out: Called with each message of an action that is not
            counted: see L{add_task}.
        """
        self._keep = slowest
        self._types: Dict[str, _Accumulator] = {}
        self._seen = 0
        self._left_out = left_out

    def add_task(self, task: Task) -> None:
        """
        Count every action of C{task}, and those among the messages that do
        not fit its tree (those a tree leaves out) whose start message was
        read: a
        finish alone there is a second finish of an action, not another
        action, and is left out (as is any message of an action that fits
        no tree).  So is a finish alone in a later part of a task given up
        (L{Task.part}): the action was counted in an earlier part.
        """
        for node in actions(task):
            if not task.part or node.start_message is not None:
                self.add_action(node)
        if task.strays:
            self._add_strays(task)

    def _add_strays(self, task: Task) -> None:
        left_out = self._left_out or _ignore
        for root in stray_trees(task):
            for node in tree_nodes(root):
                if node.start_message is not None:
                    self.add_action(node)
                elif node.end_message is not None:
                    left_out(node.end_message)
                for child in node.children:
                    if child.__class__ is dict and ACTION_TYPE_FIELD in child:
                        left_out(child)

    def add_action(self, node: WrittenAction) -> None:
        """
        Count one action.
        """
        kind = node.action_type
        name = kind if isinstance(kind, str) else "<unknown action>"
        entry = self._types.get(name)
        if entry is None:
            entry = self._types[name] = _Accumulator()
        entry.count += 1
        if node.status == FAILED_STATUS:
            entry.failures += 1
        duration = node.duration
        if duration is None:
            return
        entry.durations.append(duration)
        self._seen += 1
        item = (duration, -self._seen, node.task_uuid, (*node.task_level, 1))
        if len(entry.slowest) < self._keep:
            heapq.heappush(entry.slowest, item)
        elif self._keep and item > entry.slowest[0]:
            heapq.heapreplace(entry.slowest, item)

    def summary(self) -> List[TypeStats]:
        """
        The figures of each action type, the most total time first.
        """
        rows = [self._row(name, entry) for name, entry in self._types.items()]
        rows.sort(key=lambda row: (-row.total, row.action_type))
        return rows

    def _row(self, name: str, entry: _Accumulator) -> TypeStats:
        ordered = sorted(entry.durations)
        slowest = sorted(entry.slowest, reverse=True)
        return TypeStats(
            action_type=name,
            count=entry.count,
            failures=entry.failures,
            unfinished=entry.count - len(ordered),
            total=sum(ordered),
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p99=percentile(ordered, 99),
            max=ordered[-1] if ordered else None,
            slowest=tuple(Instance(d, uuid, level) for d, _, uuid, level in slowest),
        )


def action_stats(tasks: Iterable[Task], slowest: int = DEFAULT_SLOWEST) -> List[TypeStats]:
    """
    The figures of every action of C{tasks}, per action type.
    """
    stats = ActionStats(slowest)
    for task in tasks:
        stats.add_task(task)
    return stats.summary()
