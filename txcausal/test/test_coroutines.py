"""
Actions across C{yield} and C{await}: C{inlineCallbacks} generators and
C{async def} coroutines run by C{ensureDeferred} or C{Deferred.fromCoroutine}
keep their action with no help from txcausal, and interleaved coroutines
never see each other's actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Generator, List, Tuple

from twisted.internet.defer import CancelledError, Deferred, ensureDeferred, inlineCallbacks
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import SynchronousTestCase

import txcausal.twisted  # noqa: F401  (marks cancelled actions: cancelled=true)
from txcausal import current_action, log_message, start_action
from txcausal.test._helpers import CapturingMixin

#: A coroutine-running strategy: given the clock, a name and a log of what
#: each step saw, returns a Deferred of the coroutine's result.
_Runner = Callable[[Clock, str, float, List[Tuple[str, Any]]], "Deferred[Any]"]


@inlineCallbacks
def _generator(clock: Clock, name: str, delay: float,
               seen: List[Tuple[str, Any]]) -> Generator["Deferred[Any]", Any, str]:
    with start_action(action_type=f"app:{name}") as action:
        seen.append((name, action))
        yield deferLater(clock, delay, lambda: None)
        seen.append((name, current_action()))
        log_message(message_type="app:step", name=name)
        yield deferLater(clock, delay, lambda: None)
        seen.append((name, current_action()))
    return f"{name}-result"


async def _coroutine(clock: Clock, name: str, delay: float,
                     seen: List[Tuple[str, Any]]) -> str:
    with start_action(action_type=f"app:{name}") as action:
        seen.append((name, action))
        await deferLater(clock, delay, lambda: None)
        seen.append((name, current_action()))
        log_message(message_type="app:step", name=name)
        await deferLater(clock, delay, lambda: None)
        seen.append((name, current_action()))
    return f"{name}-result"


if TYPE_CHECKING:
    _Base = SynchronousTestCase
else:
    _Base = object


class _CoroutineTestsMixin(CapturingMixin, _Base):
    """
    Tests for one way of running coroutines, given as L{start}.
    """

    start: _Runner

    def setUp(self) -> None:
        self.logger = self.capture()
        self.clock = Clock()

    def test_actionKeptAcrossSuspension(self) -> None:
        """
        The action started inside the coroutine is current after each
        resumption, messages take their place inside it, and the return
        value comes through unchanged.
        """
        seen: List[Tuple[str, Any]] = []
        d = self.start(self.clock, "one", 1, seen)
        self.assertNoResult(d)
        self.clock.advance(1)
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(d), "one-result")
        action = seen[0][1]
        self.assertEqual(seen, [("one", action)] * 3)
        levels = [(m.get("message_type"), m.get("action_status"), m["task_level"])
                  for m in self.logger.messages]
        self.assertEqual(levels, [(None, "started", [1]), ("app:step", None, [2]),
                                  (None, "succeeded", [3])])

    def test_callerContextUntouched(self) -> None:
        """
        While the coroutine is suspended inside its action, the caller's
        current action is unchanged.
        """
        seen: List[Tuple[str, Any]] = []
        with start_action(action_type="app:caller") as caller:
            d = self.start(self.clock, "inner", 1, seen)
            self.assertIs(current_action(), caller)
        self.assertIsNone(current_action())
        self.clock.advance(1)
        self.clock.advance(1)
        self.successResultOf(d)
        inner = seen[0][1]
        self.assertEqual(inner.task_uuid, caller.task_uuid)

    def test_interleavedCoroutinesKeepTheirOwnActions(self) -> None:
        """
        Two coroutines whose steps interleave on one clock each see only
        their own action, and each one's messages stay in its own task.
        """
        seen: List[Tuple[str, Any]] = []
        first = self.start(self.clock, "first", 1, seen)
        second = self.start(self.clock, "second", 1.5, seen)
        for _ in range(4):
            self.clock.advance(0.75)
        self.assertEqual((self.successResultOf(first), self.successResultOf(second)),
                         ("first-result", "second-result"))
        actions: Dict[str, Any] = {}
        for name, action in seen:
            self.assertIs(actions.setdefault(name, action), action)
        self.assertEqual([name for name, _ in seen],
                         ["first", "second", "first", "second", "first", "second"])
        self.assertIsNot(actions["first"], actions["second"])
        for step in [m for m in self.logger.messages if m.get("message_type") == "app:step"]:
            self.assertEqual(step["task_uuid"], actions[step["name"]].task_uuid)

    def test_cancelFailsTheAction(self) -> None:
        """
        Cancelling the coroutine's L{Deferred} while it waits finishes its
        action as failed with C{cancelled: true} (once L{txcausal.twisted}
        is imported).
        """
        d = self.start(self.clock, "cancelled", 1, [])
        d.cancel()
        self.failureResultOf(d, CancelledError)
        finish = self.logger.messages[-1]
        self.assertEqual((finish["action_status"], finish["cancelled"]), ("failed", True))


class InlineCallbacksTests(_CoroutineTestsMixin, SynchronousTestCase):
    """
    C{@inlineCallbacks} generators keep their action across C{yield}.
    """

    start = staticmethod(_generator)


class EnsureDeferredTests(_CoroutineTestsMixin, SynchronousTestCase):
    """
    C{async def} coroutines run by C{ensureDeferred} keep their action
    across C{await}.
    """

    start = staticmethod(lambda *args: ensureDeferred(_coroutine(*args)))


class FromCoroutineTests(_CoroutineTestsMixin, SynchronousTestCase):
    """
    C{async def} coroutines run by C{Deferred.fromCoroutine} keep their
    action across C{await}.
    """

    start = staticmethod(lambda *args: Deferred.fromCoroutine(_coroutine(*args)))
