"""
Tests for L{txcausal.log_call}, on plain functions, functions returning a
L{Deferred} or a coroutine, and C{async def} functions.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Coroutine, Dict, Generator, List

from twisted.internet.defer import (
    CancelledError,
    Deferred,
    ensureDeferred,
    inlineCallbacks,
    succeed,
)
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import SynchronousTestCase

from txcausal import MemoryLogger, current_action, log_call, log_message, start_action
from txcausal.test._helpers import CapturingMixin


class _Boom(Exception):
    pass


def _actions(logger: MemoryLogger) -> List[Dict[str, Any]]:
    """
    @return: The start and finish messages logged, in order.
    """
    return [m for m in logger.messages if "action_status" in m]


class PlainLogCallTests(CapturingMixin, SynchronousTestCase):
    """
    L{log_call} on functions returning plain values.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def test_argumentsAndResult(self) -> None:
        """
        The start message holds the arguments (defaults applied), the success
        message the result; the action type is the qualified name.
        """

        @log_call
        def add(x: int, y: int = 2) -> int:
            return x + y

        self.assertEqual(add(1), 3)
        start, finish = _actions(self.logger)
        self.assertEqual((start["action_type"], start["x"], start["y"]),
                         (f"{__name__}.{add.__qualname__}", 1, 2))
        self.assertEqual((finish["action_status"], finish["result"]), ("succeeded", 3))

    def test_options(self) -> None:
        """
        C{action_type}, C{include_args} and C{include_result=False} choose
        what is logged; C{self} is never logged.
        """

        class Calc:
            @log_call(action_type="calc", include_args=["x"], include_result=False)
            def mul(self, x: int, y: int) -> int:
                return x * y

        self.assertEqual(Calc().mul(2, 5), 10)
        start, finish = _actions(self.logger)
        self.assertEqual((start["action_type"], start.get("x"), "y" in start, "self" in start),
                         ("calc", 2, False, False))
        self.assertNotIn("result", finish)

    def test_unknownIncludeArgs(self) -> None:
        """
        C{include_args} naming an argument the function lacks raises
        L{ValueError} at decoration time.
        """
        self.assertRaises(ValueError, log_call(include_args=["nope"]), lambda x: x)

    def test_exceptionFailsTheAction(self) -> None:
        """
        An exception fails the action and propagates.
        """

        @log_call
        def broken() -> None:
            raise _Boom("no")

        self.assertRaises(_Boom, broken)
        finish = _actions(self.logger)[-1]
        self.assertEqual((finish["action_status"], finish["reason"]), ("failed", "no"))

    def test_bodyRunsInTheAction(self) -> None:
        """
        The function runs inside its action, a child of the current one.
        """
        seen: List[Any] = []

        @log_call
        def inner() -> None:
            seen.append(current_action())

        with start_action(action_type="app:outer") as outer:
            inner()
            self.assertIs(current_action(), outer)
        self.assertEqual((seen[0].task_uuid, seen[0].action_type),
                         (outer.task_uuid, f"{__name__}.{inner.__qualname__}"))


class MethodLogCallTests(CapturingMixin, SynchronousTestCase):
    """
    L{log_call} on methods and generators.
    """

    def test_boundObjectOmitted(self) -> None:
        """
        Neither C{self} of a method nor C{cls} of a class method is logged,
        so the start message stays encodable.
        """
        logger = self.capture()

        class Shop:
            @log_call
            def price(self, sku: str) -> int:
                return 1

            @classmethod
            @log_call
            def open(cls, hour: int) -> bool:
                return True

        Shop().price("apple")
        Shop.open(9)
        starts = [m for m in logger.messages if m["action_status"] == "started"]
        self.assertEqual([(m.get("sku"), m.get("hour")) for m in starts],
                         [("apple", None), (None, 9)])
        self.assertFalse({"self", "cls"} & {k for m in starts for k in m})
        logger.validate()

    def test_generatorLoggedAsEliot(self) -> None:
        """
        A generator function, sync or async, is logged as Eliot logs it,
        with a warning at decoration: the action is the call, its result
        the generator's C{repr}; the generator works as before.
        """
        logger = self.capture()

        def numbers(n: int) -> Generator[int, None, None]:
            yield n

        async def stream() -> Any:
            yield 1

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            logged = log_call(numbers)
            streaming = log_call(action_type="x", include_result=False)(stream)
        self.assertEqual([(w.category, w.filename) for w in caught], [(UserWarning, __file__)] * 2)
        self.assertIn("log_call on generator function", str(caught[0].message))
        self.assertEqual(list(logged(4)), [4])
        self.assertEqual(type(streaming()).__name__, "async_generator")
        start, end = logger.messages[:2]
        self.assertEqual((start["n"], start["action_status"]), (4, "started"))
        self.assertRegex(end["result"], r"^<generator object .*numbers at 0x")
        self.assertNotIn("result", logger.messages[-1])
        logger.validate()


class DeferredLogCallTests(CapturingMixin, SynchronousTestCase):
    """
    L{log_call} on functions returning a L{Deferred}: the action ends when
    the L{Deferred} fires.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.pending: "Deferred[int]" = Deferred()

        @log_call
        def fetch(key: str) -> "Deferred[int]":
            log_message(message_type="app:fetching")
            return self.pending

        self.fetch = fetch

    def test_finishesWhenFired(self) -> None:
        """
        The action is still open when the function returns, and finishes
        with the value the L{Deferred} fires with, which the caller gets.
        """
        d = self.fetch("k")
        self.assertIs(d, self.pending)
        self.assertEqual(len(_actions(self.logger)), 1)
        self.pending.callback(42)
        self.assertEqual(self.successResultOf(d), 42)
        finish = _actions(self.logger)[-1]
        self.assertEqual((finish["action_status"], finish["result"], finish["task_level"]),
                         ("succeeded", 42, [3]))

    def test_failureFailsTheAction(self) -> None:
        """
        A failure finishes the action as failed and goes on to the caller.
        """
        d = self.fetch("k")
        self.pending.errback(_Boom("lost"))
        self.failureResultOf(d, _Boom)
        finish = _actions(self.logger)[-1]
        self.assertEqual((finish["action_status"], finish["reason"]), ("failed", "lost"))
        self.assertNotIn("cancelled", finish)

    def test_cancelMarksCancelled(self) -> None:
        """
        Cancelling the L{Deferred} fails the action with C{cancelled: true}.
        """
        self.fetch("k").cancel()
        finish = _actions(self.logger)[-1]
        self.assertEqual((finish["action_status"], finish["cancelled"]), ("failed", True))
        self.failureResultOf(self.pending, CancelledError)

    def test_alreadyFired(self) -> None:
        """
        An already fired L{Deferred} finishes the action at once; without
        C{include_result}, no result is logged.
        """
        result = log_call(include_result=False)(lambda: succeed("v"))()
        self.assertEqual(self.successResultOf(result), "v")
        finish = _actions(self.logger)[-1]
        self.assertEqual(finish["action_status"], "succeeded")
        self.assertNotIn("result", finish)


    def test_aboveInlineCallbacks(self) -> None:
        """
        Above C{@inlineCallbacks}, L{log_call} sees the L{Deferred}: the
        generator runs inside the action, which ends with the returned value.
        """
        clock = Clock()

        @log_call(action_type="gen")
        @inlineCallbacks
        def gen() -> Generator["Deferred[None]", None, str]:
            yield deferLater(clock, 1, lambda: None)
            log_message(message_type="app:resumed")
            return "done"

        d = gen()
        self.assertNoResult(d)
        clock.advance(1)
        self.assertEqual(self.successResultOf(d), "done")
        resumed, finish = self.logger.messages[1:]
        self.assertEqual((resumed["task_level"], finish["result"], finish["task_level"]),
                         ([2], "done", [3]))


class CoroutineLogCallTests(CapturingMixin, SynchronousTestCase):
    """
    L{log_call} on C{async def} functions and on functions returning a
    coroutine: the action ends when the coroutine completes.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.clock = Clock()

    def test_asyncDefStaysACoroutineFunction(self) -> None:
        """
        Decorating an C{async def} function gives an C{async def} function.
        """

        @log_call
        async def f() -> None:
            pass

        self.assertTrue(inspect.iscoroutinefunction(f))

    def sleepThen(self, result: Any) -> Any:
        clock = self.clock

        async def sleeper(delay: float) -> Any:
            await deferLater(clock, delay, lambda: None)
            action = current_action()
            log_message(message_type="app:woke", action=action and action.action_type)
            if isinstance(result, Exception):
                raise result
            return result

        return sleeper

    def assertFinishesAfterAwait(self, f: Any, action_type: str) -> None:
        d = ensureDeferred(f(1))
        self.assertNoResult(d)
        self.assertEqual(len(_actions(self.logger)), 1)
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(d), {"x": 1})
        woke = [m for m in self.logger.messages if m.get("message_type") == "app:woke"]
        finish = _actions(self.logger)[-1]
        self.assertEqual(
            (woke[0]["action"], woke[0]["task_level"], finish["action_status"],
             finish["result"], finish["task_level"]),
            (action_type, [2], "succeeded", {"x": 1}, [3]),
        )

    def test_asyncDefResult(self) -> None:
        """
        An C{async def} function's action stays current across C{await} and
        finishes with the returned value when the coroutine completes.
        """
        self.assertFinishesAfterAwait(log_call(action_type="a")(self.sleepThen({"x": 1})), "a")

    def test_coroutineReturningResult(self) -> None:
        """
        A plain function returning a coroutine gets the same treatment.
        """
        sleeper = self.sleepThen({"x": 1})

        def makesCoroutine(delay: float) -> Coroutine[Any, Any, Any]:
            coroutine: Coroutine[Any, Any, Any] = sleeper(delay)
            return coroutine

        self.assertFinishesAfterAwait(log_call(action_type="c")(makesCoroutine), "c")

    def test_asyncDefException(self) -> None:
        """
        An exception raised after an C{await} fails the action and reaches
        the caller.
        """
        d = ensureDeferred(log_call(self.sleepThen(_Boom("late")))(1))
        self.clock.advance(1)
        self.failureResultOf(d, _Boom)
        finish = _actions(self.logger)[-1]
        self.assertEqual((finish["action_status"], finish["reason"]), ("failed", "late"))

    def test_asyncDefCancelled(self) -> None:
        """
        Cancelling the coroutine's L{Deferred} fails the action with
        C{cancelled: true}.
        """
        d = ensureDeferred(log_call(self.sleepThen(None))(1))
        d.cancel()
        self.failureResultOf(d, CancelledError)
        finish = _actions(self.logger)[-1]
        self.assertEqual((finish["action_status"], finish["cancelled"]), ("failed", True))

    def test_badArgumentsFinishTheAction(self) -> None:
        """
        Calling an C{async def} function with bad arguments fails its action
        rather than leaving it open.
        """
        d = ensureDeferred(log_call(self.sleepThen(None))(1, 2, 3))
        self.failureResultOf(d, TypeError)
        self.assertEqual([m["action_status"] for m in _actions(self.logger)],
                         ["started", "failed"])
