"""
Tests for L{txcausal._stats}: where the time goes.
"""

from __future__ import annotations

from typing import List

from twisted.trial.unittest import SynchronousTestCase

from txcausal.parse import ActionStats, Instance, action_stats, parse_messages
from txcausal.test._reading import Message, end, sample_task, start


def timed(uuid: str, seconds: List[float], status: str = "succeeded") -> List[Message]:
    """
    A task of one C{app:step} action per duration, under a C{app:job}.
    """
    messages = [start(uuid, [1], 0.0, "app:job")]
    for index, duration in enumerate(seconds, 2):
        messages.append(start(uuid, [index, 1], 0.0, "app:step"))
        messages.append(end(uuid, [index, 2], duration, "app:step", status))
    messages.append(end(uuid, [len(seconds) + 2], 0.0, "app:job", duration=100.0))
    return messages


class ActionStatsTests(SynchronousTestCase):
    """
    Tests for L{ActionStats} and L{action_stats}.
    """

    def test_percentiles(self) -> None:
        """
        Per action type: the count, and the nearest-rank percentiles of the
        durations, with the maximum and the total.
        """
        tasks = parse_messages(timed("A", [float(n) for n in range(1, 101)]))
        step, job = action_stats(tasks)
        self.assertEqual((job.action_type, job.count, job.total), ("app:job", 1, 100.0))
        self.assertEqual((step.count, step.p50, step.p90, step.p99, step.max, step.total),
                         (100, 50.0, 90.0, 99.0, 100.0, 5050.0))
        # Ranks that fall between two values take the higher: 3.5 -> 4th.
        _, step = action_stats(parse_messages(timed("B", [7.0, 1.0, 5.0, 3.0, 2.0, 6.0, 4.0])))
        self.assertEqual((step.p50, step.p90, step.p99), (4.0, 7.0, 7.0))

    def test_slowest(self) -> None:
        """
        The slowest instances are kept, slowest first, with their task and
        level, the first seen first among equals.
        """
        stats = ActionStats(slowest=2)
        for task in parse_messages(timed("A", [1.0, 5.0]) + timed("B", [5.0, 2.0])):
            stats.add_task(task)
        step = [row for row in stats.summary() if row.action_type == "app:step"][0]
        self.assertEqual(step.slowest, (Instance(5.0, "A", (3, 1)), Instance(5.0, "B", (2, 1))))

    def test_failuresAndUnfinished(self) -> None:
        """
        Failed actions are counted; those of unknown duration too, apart.
        """
        messages = timed("F", [1.0], "failed") + [start("U", [1], 0.0, "app:step")]
        rows = {row.action_type: row for row in action_stats(parse_messages(messages))}
        step = rows["app:step"]
        self.assertEqual((step.count, step.failures, step.unfinished), (2, 1, 1))

    def test_order(self) -> None:
        """
        The types with the most total time come first.
        """
        rows = action_stats(parse_messages(sample_task()))
        self.assertEqual([row.action_type for row in rows], ["app:main", "app:child", "app:fail"])
        self.assertEqual(action_stats([]), [])
