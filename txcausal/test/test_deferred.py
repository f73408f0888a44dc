"""
Tests for L{txcausal._deferred}: L{DeferredContext} and L{writeFailure}.
"""

from __future__ import annotations

import contextvars
import inspect
import warnings
from typing import Any, Dict, Generator, List

from twisted.internet.defer import CancelledError, Deferred, fail, returnValue, succeed
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from txcausal import MemoryLogger, current_action, log_message, start_action
from txcausal._deferred import AlreadyFinished, DeferredContext, _log_yields, writeFailure
from txcausal.test._helpers import CapturingMixin
from txcausal.twisted import inline_callbacks


class _Boom(Exception):
    pass


class DeferredContextTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{DeferredContext}.
    """

    def setUp(self) -> None:
        self.logger = self.capture()
        self.clock = Clock()
        self.action = start_action(action_type="app:act")

    def context(self, d: "Deferred[Any]") -> DeferredContext[Any]:
        with self.action.context():
            return DeferredContext(d)

    def test_needsAnAction(self) -> None:
        """
        Creating a L{DeferredContext} outside any action raises
        L{RuntimeError} saying so.
        """
        error = self.assertRaises(RuntimeError, DeferredContext, Deferred())
        self.assertIn("inside an action", str(error))

    def test_needsADeferred(self) -> None:
        """
        Giving something other than a L{Deferred} raises L{TypeError}.
        """
        with self.action.context():
            self.assertRaises(TypeError, DeferredContext, 3)

    def test_resultIsTheDeferred(self) -> None:
        """
        C{result} is the wrapped L{Deferred}, and L{addActionFinish}
        returns it.
        """
        d: "Deferred[int]" = Deferred()
        context = self.context(d)
        self.assertIs(context.result, d)
        self.assertIs(context.addActionFinish(), d)

    def test_callbackRunsInActionWhenFiredLater(self) -> None:
        """
        A callback runs inside the action even when the L{Deferred} fires
        later from a C{callLater}, outside any action.
        """
        d: "Deferred[int]" = Deferred()
        seen: List[Any] = []
        self.context(d).addCallback(lambda r: seen.append((r, current_action())))
        self.clock.callLater(1, d.callback, 7)
        self.clock.advance(1)
        self.assertEqual(seen, [(7, self.action)])
        self.assertIsNone(current_action())

    def test_callbackRunsInActionWhenFiredFromAnotherAction(self) -> None:
        """
        A callback runs inside its action even when the L{Deferred} fires
        inside another action, which is current again afterwards.
        """
        d: "Deferred[None]" = Deferred()
        seen: List[Any] = []
        self.context(d).addCallback(lambda _: seen.append(current_action()))
        with start_action(action_type="app:other") as other:
            d.callback(None)
            self.assertIs(current_action(), other)
        self.assertEqual(seen, [self.action])

    def test_callbackRunsInActionWhenFiredFromAnotherContext(self) -> None:
        """
        A callback runs inside its action when the L{Deferred} fires from a
        foreign L{contextvars.Context}, as C{callFromThread} calls do.
        """
        d: "Deferred[None]" = Deferred()
        seen: List[Any] = []
        self.context(d).addCallback(lambda _: seen.append(current_action()))
        contextvars.Context().run(d.callback, None)
        self.assertEqual(seen, [self.action])

    def test_errbackRunsInAction(self) -> None:
        """
        An errback runs inside the action, with its extra arguments.
        """
        d: "Deferred[None]" = Deferred()
        seen: List[Any] = []
        self.context(d).addErrback(
            lambda f, tag, key: seen.append((f.type, tag, key, current_action())), "t", key="k"
        )
        d.errback(_Boom())
        self.assertEqual(seen, [(_Boom, "t", "k", self.action)])

    def test_addBothRunsForBoth(self) -> None:
        """
        L{DeferredContext.addBoth} runs its callable in the action for a
        result and for a failure.
        """
        seen: List[Any] = []
        for d in [succeed(1), fail(_Boom())]:
            self.context(d).addBoth(lambda r, extra: seen.append((extra, current_action())), "x")
        self.assertEqual(seen, [("x", self.action), ("x", self.action)])

    def test_addCallbacksArguments(self) -> None:
        """
        L{DeferredContext.addCallbacks} passes callback arguments and
        keywords, and returns the L{DeferredContext} for chaining.
        """
        d: "Deferred[int]" = Deferred()
        context = self.context(d)
        self.assertIs(context.addCallbacks(lambda r, a, b: r + a + b, None, (2,), {"b": 3}),
                      context)
        d.callback(1)
        self.assertEqual(self.successResultOf(d), 6)

    def test_addCallbacksKeywordsOnly(self) -> None:
        """
        L{DeferredContext.addCallbacks} given keywords and no positional
        arguments passes them, to the callback and to the errback, each run
        inside the action.
        """
        seen: List[Any] = []

        def record(result: Any, *, label: str) -> str:
            seen.append((label, current_action()))
            return label

        d: "Deferred[None]" = Deferred()
        context = self.context(d)
        context.addCallbacks(record, None, None, {"label": "ok"})
        context.addCallback(lambda _: 1 / 0)
        context.addCallbacks(record, record, None, {"label": "no"}, None, {"label": "failed"})
        d.callback(None)
        self.assertEqual(self.successResultOf(d), "failed")
        self.assertEqual(seen, [("ok", self.action), ("failed", self.action)])

    def test_addCallbackArguments(self) -> None:
        """
        L{DeferredContext.addCallback} passes any arguments and keywords,
        even keywords named like its own helper's parameters, and returns
        the L{DeferredContext}; a fired L{Deferred} runs the callback inside
        the action at once, whether it is added inside the action or not.
        """
        context = self.context(succeed(1))
        seen: List[Any] = []

        def callback(result: int, a: int, *, action: int, f: int) -> int:
            seen.append(current_action())
            return result + a + action + f

        self.assertIs(context.addCallback(callback, 2, action=3, f=4), context)
        with self.action.context():
            context.addCallback(callback, 0, action=0, f=0)
        self.assertEqual(self.successResultOf(context.result), 10)
        self.assertEqual(seen, [self.action, self.action])
        self.assertIsNone(current_action())

    def test_callbackCannotLeakItsAction(self) -> None:
        """
        An action a callback leaves current (entered, never exited) does not
        stay current after it, even when the L{Deferred} had fired and the
        callback runs at once inside the L{DeferredContext}'s action.
        """
        def leak(result: Any) -> Any:
            start_action(action_type="app:leaked").context().__enter__()
            return result

        with self.action.context():
            DeferredContext(succeed(None)).addCallback(leak)
            self.assertIs(current_action(), self.action)

    def test_messagesInCallbacksAreInTheAction(self) -> None:
        """
        Messages logged by a callback take their place inside the action.
        """
        d: "Deferred[None]" = Deferred()
        self.context(d).addCallback(lambda _: log_message(message_type="app:cb"))
        d.callback(None)
        [message] = [m for m in self.logger.messages if m.get("message_type") == "app:cb"]
        self.assertEqual((message["task_uuid"], message["task_level"]),
                         (self.action.task_uuid, [2]))

    def test_finishOnSuccess(self) -> None:
        """
        L{DeferredContext.addActionFinish} finishes the action as succeeded
        when the L{Deferred} fires, and passes the result on.
        """
        d: "Deferred[int]" = Deferred()
        self.context(d).addActionFinish()
        self.assertFalse(self.action.finished)
        d.callback(5)
        self.assertEqual(self.successResultOf(d), 5)
        finish = self.logger.messages[-1]
        self.assertEqual(finish["action_status"], "succeeded")
        self.assertNotIn("cancelled", finish)

    def test_finishOnFailure(self) -> None:
        """
        L{DeferredContext.addActionFinish} finishes the action as failed,
        with exception and reason, and passes the failure on.
        """
        d: "Deferred[int]" = Deferred()
        self.context(d).addActionFinish()
        d.errback(_Boom("bad"))
        self.failureResultOf(d, _Boom)
        finish = self.logger.messages[-1]
        self.assertEqual(
            (finish["action_status"], finish["exception"], finish["reason"]),
            ("failed", f"{__name__}._Boom", "bad"),
        )
        self.assertNotIn("cancelled", finish)

    def test_cancelMarksTheActionCancelled(self) -> None:
        """
        Cancelling the L{Deferred} that L{addActionFinish} returned
        finishes the action as failed with C{cancelled: true}.
        """
        d: "Deferred[int]" = Deferred()
        self.context(d).addActionFinish().cancel()
        self.failureResultOf(d, CancelledError)
        finish = self.logger.messages[-1]
        self.assertEqual((finish["action_status"], finish["cancelled"], finish["exception"]),
                         ("failed", True, "twisted.internet.defer.CancelledError"))
        self.logger.validate()

    def test_alreadyFinished(self) -> None:
        """
        After L{addActionFinish}, adding callbacks or finishing again raises
        L{AlreadyFinished}.
        """
        context = self.context(Deferred())
        context.addActionFinish()
        for call in [lambda: context.addCallback(str), lambda: context.addErrback(str),
                     lambda: context.addBoth(str), lambda: context.addCallbacks(str, str),
                     context.addActionFinish]:
            self.assertRaises(AlreadyFinished, call)


class WriteFailureTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{writeFailure}.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def test_writesATraceback(self) -> None:
        """
        L{writeFailure} logs an C{eliot:traceback} message inside the current
        action, with the exception object in C{reason} (so
        L{MemoryLogger.flush_tracebacks} finds it) and the traceback text.
        """
        with start_action(action_type="app:act") as action:
            writeFailure(Failure(_Boom("oops")))
        [traceback] = self.logger.flush_tracebacks(_Boom)
        self.assertEqual(traceback["task_uuid"], action.task_uuid)
        self.assertIn("_Boom'>: oops", traceback["traceback"])
        self.logger.validate()
        [serialized] = [m for m in self.logger.serialize()
                        if m.get("message_type") == "eliot:traceback"]
        self.assertEqual((serialized["reason"], serialized["exception"]),
                         ("oops", f"{__name__}._Boom"))

    def test_usableAsErrback(self) -> None:
        """
        As an errback, L{writeFailure} handles the failure: the L{Deferred}
        then fires with C{None}.
        """
        d: "Deferred[None]" = fail(_Boom())
        d.addErrback(writeFailure)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(len(self.logger.flush_tracebacks(_Boom)), 1)

    def test_explicitLogger(self) -> None:
        """
        Given a logger, L{writeFailure} writes there.
        """
        other = MemoryLogger()
        writeFailure(Failure(_Boom()), other)
        self.assertEqual((len(other.flush_tracebacks(_Boom)), self.logger.messages), (1, []))

    def test_notAFailure(self) -> None:
        """
        L{writeFailure} given something other than a L{Failure} raises
        L{TypeError}.
        """
        self.assertRaises(TypeError, writeFailure, _Boom())


class EliotSignatureTests(SynchronousTestCase):
    """
    Calls written for Eliot's C{eliot.twisted}.
    """

    def test_addCallbacksWithNone(self) -> None:
        """
        L{DeferredContext.addCallbacks} takes C{None} for the argument
        tuples and keyword dictionaries, as Eliot's does.
        """
        results: List[object] = []
        d: Deferred[int] = Deferred()
        with start_action(MemoryLogger(), action_type="a").context():
            DeferredContext(d).addCallbacks(results.append, None, None, None, None, None)
        d.callback(1)
        self.assertEqual(results, [1])

    def test_inlineCallbacks(self) -> None:
        """
        L{inline_callbacks} is Twisted's C{inlineCallbacks}: the action
        started inside the generator stays current across C{yield}.
        """
        logger = MemoryLogger()
        d: Deferred[None] = Deferred()

        @inline_callbacks
        def work() -> Generator[Deferred[None], None, object]:
            with start_action(logger, action_type="work") as action:
                yield d
                return current_action() is action

        result = work()
        d.callback(None)
        self.assertIs(self.successResultOf(result), True)


class InlineCallbacksDebugTests(CapturingMixin, SynchronousTestCase):
    """
    L{inline_callbacks} with C{debug=True} logs a C{yielded} message at
    each C{yield}, where the generator is, as Eliot's does.
    """

    def setUp(self) -> None:
        self.logger = self.capture()

    def levels(self) -> List[object]:
        return [(m.get("message_type") or m.get("action_status"), m["task_level"])
                for m in self.logger.messages]

    def test_yielded(self) -> None:
        """
        Each C{yield} logs C{yielded} in the generator's action, between
        the messages logged before and after it; the return value is kept.
        """
        waiting: Deferred[int] = Deferred()

        def work() -> Generator[Deferred[Any], Any, int]:
            log_message("a")
            yield succeed(None)
            with start_action(action_type="inner"):
                value: int = yield waiting
            log_message("b")
            return value + 1

        with start_action(action_type="the-action"):
            result = inline_callbacks(work, debug=True)()
        waiting.callback(1)
        self.assertEqual(self.successResultOf(result), 2)
        # As under Eliot: the outer action finishes while the generator waits.
        self.assertEqual(self.levels(), [
            ("started", [1]), ("a", [2]), ("yielded", [3]), ("started", [4, 1]),
            ("yielded", [4, 2]), ("succeeded", [5]), ("succeeded", [4, 3]), ("b", [6]),
        ])

    def test_failureThrownIn(self) -> None:
        """
        A failed L{Deferred} is raised at the C{yield}, so the generator
        can handle it; an exception the generator lets out fails the
        result.
        """
        def work() -> Generator[Deferred[Any], Any, None]:
            try:
                yield fail(_Boom("handled"))
            except _Boom:
                log_message("caught")
            yield fail(_Boom("not handled"))

        result = inline_callbacks(work, debug=True)()
        self.failureResultOf(result, _Boom)
        self.assertEqual([m.get("message_type") for m in self.logger.messages],
                         ["yielded", "caught", "yielded"])

    def test_returnValue(self) -> None:
        """
        C{returnValue()} in the generator gives the result and the same
        warnings as without C{debug} (none, before Twisted deprecated it):
        none says that it makes the generator's wrapper exit, so with
        warnings as errors the result still arrives.
        """
        def work() -> Generator[Deferred[Any], Any, None]:
            value = yield waiting
            returnValue(value + 1)

        seen: Dict[bool, Any] = {}
        for debug in (False, True):
            waiting: Deferred[int] = Deferred()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = inline_callbacks(work, debug=debug)()
                waiting.callback(1)
            seen[debug] = (self.successResultOf(result),
                           [(w.category, str(w.message)) for w in caught])
            # Warnings as errors: returnValue() is itself deprecated since
            # Twisted 24.7, so the result may be a failure, the same either way.
            waiting = Deferred()
            outcome: List[Any] = []
            with warnings.catch_warnings():
                warnings.simplefilter("error", DeprecationWarning)
                inline_callbacks(work, debug=debug)().addBoth(outcome.append)
                waiting.callback(1)
            seen[debug] += ([o.type if isinstance(o, Failure) else o for o in outcome],)
        self.assertEqual(seen[True], seen[False])
        self.assertEqual(seen[True][0], 2)

    def test_closePassedOn(self) -> None:
        """
        Closing the generator that logs the yields (as happens when
        C{inlineCallbacks} gives up on it) closes the original generator
        there and then, so its C{finally} runs.
        """
        def work() -> Generator[Deferred[Any], Any, None]:
            try:
                yield Deferred()
            finally:
                log_message("closed")

        original = work()
        wrapper = _log_yields(lambda: original)()
        next(wrapper)
        wrapper.close()
        self.assertEqual(inspect.getgeneratorstate(original), inspect.GEN_CLOSED)
        self.assertEqual([m.get("message_type") for m in self.logger.messages],
                         ["yielded", "closed"])

    def test_notDebug(self) -> None:
        """
        Without C{debug}, nothing is logged at a C{yield}, and the generator
        function is left unchanged.
        """
        def work() -> Generator[Deferred[Any], Any, None]:
            yield succeed(None)

        self.successResultOf(inline_callbacks(work)())
        self.assertEqual(self.logger.messages, [])
        self.assertFalse(hasattr(work, "debug"))
