"""
Tests for L{txcausal._select}: times as people type them, and choosing
tasks by time, duration and failure.
"""

from __future__ import annotations

from datetime import datetime, timezone

from twisted.trial.unittest import SynchronousTestCase

from txcausal.parse import TaskFilter, actions, parse_messages, parse_time, time_range
from txcausal.test._reading import T0, end, msg, only, sample_task, small_task, start

#: 2026-11-22 11:58:34 UTC.
NOV22 = datetime(2026, 11, 22, 11, 58, 34, tzinfo=timezone.utc).timestamp()


class ParseTimeTests(SynchronousTestCase):
    """
    Tests for L{parse_time}, the same on every supported Python.
    """

    def test_fractions(self) -> None:
        """
        Any number of fraction digits is accepted, with C{.} or C{,}.
        """
        for text, fraction in [("2026-11-22T11:58:34.84Z", 0.84), ("2026-11-22 11:58:34.5", 0.5),
                               ("2026-11-22T11:58:34,123456789Z", 0.123456789),
                               ("2026-11-22T11:58:34Z", 0.0)]:
            self.assertAlmostEqual(parse_time(text), NOV22 + fraction, places=6)

    def test_zones(self) -> None:
        """
        UTC unless a zone is given, as C{Z}, C{+01:00}, C{+0100} or C{-05}.
        """
        self.assertEqual(parse_time("2026-11-22T12:58:34+01:00"), NOV22)
        self.assertEqual(parse_time("2026-11-22T12:58:34+0100"), NOV22)
        self.assertEqual(parse_time("2026-11-22T06:58:34-05"), NOV22)
        self.assertEqual(parse_time("2026-11-22T11:58:34"), NOV22)

    def test_coarse(self) -> None:
        """
        A date alone, or a time without seconds, is the start of it.
        """
        self.assertEqual(parse_time("2026-11-22T11:58"), NOV22 - 34)
        self.assertEqual(parse_time("2026-11-22"), NOV22 - 34 - 58 * 60 - 11 * 3600)

    def test_epoch(self) -> None:
        """
        A number is seconds since the epoch.
        """
        self.assertEqual(parse_time("1000000000.5"), 1000000000.5)

    def test_bad(self) -> None:
        """
        Anything else raises L{ValueError}, not-a-number too (no time is
        before or after it).
        """
        for text in ("yesterday", "2026-13-01", "2026-11-22T25:00", "2026-11-22T11:58:34+2",
                     "nan", "-NaN"):
            self.assertRaises(ValueError, parse_time, text)


class TaskFilterTests(SynchronousTestCase):
    """
    Tests for L{TaskFilter}, L{time_range} and L{actions}.
    """

    def test_timeRange(self) -> None:
        """
        A task's time range runs from its first to its last timestamp.
        """
        task = only(list(parse_messages(sample_task())))
        self.assertEqual(time_range(task), (10.0, 11.0))
        self.assertIsNone(time_range(only(list(parse_messages([{"task_uuid": "x",
                                                                "task_level": [1]}])))))

    def test_actions(self) -> None:
        """
        L{actions} lists every action, parents first, in level order.
        """
        task = only(list(parse_messages(sample_task())))
        self.assertEqual([a.action_type for a in actions(task)],
                         ["app:main", "app:child", "app:fail"])

    def test_since(self) -> None:
        """
        C{since} and C{until} keep the tasks with a message in the range.
        """
        task = only(list(parse_messages(sample_task())))
        self.assertTrue(TaskFilter(since=10.5, until=10.6)(task))
        self.assertTrue(TaskFilter(since=11.0)(task))
        self.assertFalse(TaskFilter(since=11.5)(task))
        self.assertFalse(TaskFilter(until=9.0)(task))

    def test_minDuration(self) -> None:
        """
        C{min_duration} keeps tasks with an action at least that long.
        """
        task = only(list(parse_messages(sample_task())))
        self.assertTrue(TaskFilter(min_duration=0.75)(task))
        self.assertFalse(TaskFilter(min_duration=0.8)(task))
        lone = only(list(parse_messages([msg("L", [1], 1.0)])))
        self.assertFalse(TaskFilter(min_duration=0.0)(lone))

    def test_failedAndUUID(self) -> None:
        """
        C{failed} and C{task_uuids} select as C{--failed} and C{-u} do; all
        conditions must hold.
        """
        bad = only(list(parse_messages(small_task("B"))))
        good = only(list(parse_messages([start("G", [1], T0, "a"), end("G", [2], T0, "a")])))
        self.assertEqual([TaskFilter(failed=True)(t) for t in (bad, good)], [True, False])
        self.assertFalse(TaskFilter(failed=True, task_uuids=frozenset(["G"]))(bad))
        self.assertTrue(TaskFilter().everything)
        self.assertFalse(TaskFilter(failed=True).everything)
