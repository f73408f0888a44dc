"""
Tests for L{txcausal._fork}: the order in which L{ForkHooks} calls the
writers, on stand-ins (the writers' side: C{test_logwriter_fork}).
"""

from __future__ import annotations

from typing import Callable, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal._fork import ForkHooks


class _Recording:
    """
    A stand-in for a writer that records what the fork hooks call.
    """

    def __init__(self, name: str, calls: List[str], failing: str = "") -> None:
        self.name, self.calls, self.failing = name, calls, failing

    def __getattr__(self, method: str) -> Callable[[], None]:
        def record() -> None:
            self.calls.append(f"{method} {self.name}")
            if method == self.failing:
                raise RuntimeError(method)
        return record


class ForkHooksTests(SynchronousTestCase):
    """
    The order of L{ForkHooks}' calls, on stand-in writers.
    """

    def hooks(self, *writers: _Recording) -> ForkHooks:
        """
        @return: Fork hooks for C{writers}, kept alive for the test (the
            hooks hold them weakly).
        """
        self.writers = writers
        hooks = ForkHooks()
        for writer in writers:
            hooks.add(writer)
        return hooks

    def test_writesHeldBeforeQueues(self) -> None:
        """
        Every writer flushes, then every write in progress is waited for,
        and only then is any queue held: a destination that logs while it
        writes never meets a queue already held, whatever the order of the
        writers.
        """
        calls: List[str] = []
        hooks = self.hooks(_Recording("a", calls), _Recording("b", calls))
        hooks.before()
        hooks.afterInParent()
        kinds = [call.split()[0] for call in calls]
        self.assertEqual(kinds, ["_flushBeforeFork"] * 2 + ["_holdWrites"] * 2
                         + ["_holdQueue"] * 2 + ["_releaseQueue"] * 2 + ["_releaseWrites"] * 2)

    def test_releaseGoesOnWhenOneRaises(self) -> None:
        """
        When releasing one writer raises, the others are still released,
        and the hooks' own lock too.
        """
        calls: List[str] = []
        hooks = self.hooks(_Recording("a", calls, failing="_releaseQueue"),
                           _Recording("b", calls, failing="_releaseQueue"))
        hooks.before()
        hooks.afterInParent()
        self.assertEqual(sorted(call for call in calls if call.startswith("_release")),
                         ["_releaseQueue a", "_releaseQueue b",
                          "_releaseWrites a", "_releaseWrites b"])
        self.assertTrue(hooks._lock.acquire(blocking=False))

    def test_childGoesOnWhenOneRaises(self) -> None:
        """
        In the child, every writer starts afresh even when one raises.
        """
        calls: List[str] = []
        hooks = self.hooks(_Recording("a", calls, failing="_afterForkInChild"),
                           _Recording("b", calls, failing="_afterForkInChild"))
        hooks.before()
        hooks.afterInChild()
        self.assertEqual(sorted(call for call in calls if "Child" in call),
                         ["_afterForkInChild a", "_afterForkInChild b"])
