"""
Tests for L{txcausal.testing.capture_logging} (L{txcausal._capture}) on tests
that return a L{Deferred} or are C{async def}, driven by hand, and for how a
test's own errors are reported: with the tree as a note, or, in a trial test
case, as an L{ErrorWithLog} (trial prints no notes).
"""

from __future__ import annotations

import unittest
from typing import Any, Dict, List

from twisted.internet.defer import Deferred, succeed
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from txcausal import _output, log_message
from txcausal.testing import ErrorWithLog, MemoryLogger, capture_logging

from ._testing_helpers import CleanupCase, NoCleanups
from ._testing_helpers import boom as _boom
from ._testing_helpers import failure_text as _failure_text
from ._testing_helpers import run_inner as _run_inner


def _lookup() -> None:
    """
    Raise a L{LookupError} caused by a L{KeyError}.
    """
    empty: Dict[str, int] = {}
    try:
        empty["x"]
    except KeyError as e:
        raise LookupError("lost") from e


class CaptureAsyncTests(SynchronousTestCase):
    """
    On a test object without C{addCleanup} (a pytest test class), the checks
    of L{capture_logging} run when a test's L{Deferred} fires or its
    coroutine returns.
    """

    def setUp(self) -> None:
        self.original = _output._DEFAULT_LOGGER

    def test_stdlibAsyncTestCase(self) -> None:
        """
        An C{async def} test of L{unittest.IsolatedAsyncioTestCase} is checked
        once it has run.
        """

        @capture_logging(None)
        async def test(case: Any, logger: MemoryLogger) -> None:
            _boom()

        _, result = _run_inner(test, unittest.IsolatedAsyncioTestCase)
        self.assertIn("unexpected traceback", _failure_text(result))

    def test_deferredCheckedWhenFired(self) -> None:
        """
        For a test returning a L{Deferred}, the logger stays captured and the
        assertion waits until the L{Deferred} fires; a failed check fails the
        L{Deferred} with the tree.
        """
        done: Deferred[None] = Deferred()
        calls: List[Any] = []

        def check(case: Any, logger: MemoryLogger) -> None:
            calls.append(len(logger.messages))
            case.assertEqual(len(logger.messages), 0)

        @capture_logging(check)
        def test(case: Any, logger: MemoryLogger) -> Deferred[None]:
            return done

        result = test(NoCleanups())
        self.assertNoResult(result)
        captured = _output._DEFAULT_LOGGER
        self.assertIsInstance(captured, MemoryLogger)
        log_message("app:later")
        self.assertEqual(calls, [])
        done.callback(None)
        failure = self.failureResultOf(result, AssertionError)
        self.assertIn("`-- app:later/1 ", str(failure.value))
        self.assertEqual(calls, [1])
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_deferredFailureShowsTree(self) -> None:
        """
        A test L{Deferred} that fails with an assertion error fails with the
        tree added.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> Deferred[None]:
            log_message("app:before")
            d: Deferred[None] = Deferred()
            d.errback(AssertionError("nope"))
            return d

        failure = self.failureResultOf(test(NoCleanups()), AssertionError)
        self.assertIn("nope\n\nCaptured log messages (1):", str(failure.value))
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_coroutineCheckedWhenDone(self) -> None:
        """
        For an C{async def} test, the checks run when the coroutine returns.
        """
        waiting: Deferred[None] = Deferred()

        @capture_logging(None)
        async def test(case: Any, logger: MemoryLogger) -> str:
            await waiting
            _boom()
            return "done"

        result = Deferred.fromCoroutine(test(NoCleanups()))
        self.assertNoResult(result)
        waiting.callback(None)
        failure = self.failureResultOf(result, AssertionError)
        self.assertIn("unexpected traceback", str(failure.value))
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_coroutineResult(self) -> None:
        """
        An C{async def} test that passes its checks keeps its result.
        """

        @capture_logging(None)
        async def test(case: Any, logger: MemoryLogger) -> str:
            return "done"

        self.assertEqual(self.successResultOf(Deferred.fromCoroutine(test(NoCleanups()))), "done")



class ErrorReportTests(SynchronousTestCase):
    """
    An exception other than an assertion failure, raised by a decorated test
    itself, keeps its type and gets the tree as a note; in a trial test case
    (trial prints no notes) it is reported as an L{ErrorWithLog}, naming the
    original and chaining it, with the original's frames.
    """

    def setUp(self) -> None:
        self.original = _output._DEFAULT_LOGGER

    def test_noteOutsideTrial(self) -> None:
        """
        In a standard library test case, the exception stays as it is, an
        error with its cause, with the tree added as a note.
        """
        if not hasattr(Exception, "add_note"):
            raise SkipTest("Exception notes need Python 3.11")

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            log_message("app:before")
            _lookup()

        _, result = _run_inner(test, unittest.TestCase)
        [(_, failure)] = result.errors
        self.assertIsInstance(failure.value, LookupError)
        self.assertIsInstance(failure.value.__cause__, KeyError)
        self.assertIn("app:before/1", failure.value.__notes__[0])

    def test_trialError(self) -> None:
        """
        In a trial test case, the test errors with an L{ErrorWithLog} whose
        message names the original exception and has the tree; the
        original is its C{error} and C{__cause__}, and the traceback trial
        prints shows where it was raised.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            log_message("app:before")
            _lookup()

        _, result = _run_inner(test)
        [(_, failure)] = result.errors
        self.assertIsInstance(failure.value, ErrorWithLog)
        self.assertIsInstance(failure.value.error, LookupError)
        self.assertIs(failure.value.__cause__, failure.value.error)
        text = failure.getTraceback()
        self.assertIn("raise LookupError(\"lost\") from e", text)
        self.assertRegex(text, r"ErrorWithLog: builtins.LookupError: lost\n\n"
                               r"Captured log messages \(1\):\n[^\n]+\n`-- app:before/1 ")
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_deferredError(self) -> None:
        """
        A test L{Deferred} failing with another exception fails with an
        L{ErrorWithLog} that keeps the original failure's frames, even once
        the L{Deferred} has cleaned them of their traceback.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> "Deferred[None]":
            log_message("app:before")
            return succeed(None).addCallback(lambda _: _lookup())

        case = CleanupCase()
        failure = self.failureResultOf(test(case), ErrorWithLog)
        self.assertIsInstance(failure.value.error, LookupError)
        self.assertIn("_lookup", [frame[0] for frame in failure.frames])
        text = failure.getTraceback()
        self.assertIn("ErrorWithLog: builtins.LookupError: lost\n\nCaptured log messages (1)", text)
        self.assertEqual(case.run_cleanups(), [])
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_coroutineError(self) -> None:
        """
        An C{async def} test raising another exception fails with an
        L{ErrorWithLog}.
        """

        @capture_logging(None)
        async def test(case: Any, logger: MemoryLogger) -> None:
            log_message("app:before")
            empty: Dict[str, int] = {}
            empty["missing"]

        case = CleanupCase()
        failure = self.failureResultOf(Deferred.fromCoroutine(test(case)), ErrorWithLog)
        self.assertIsInstance(failure.value.error, KeyError)
        self.assertIn("builtins.KeyError: 'missing'\n\nCaptured log messages (1):",
                      str(failure.value))
        self.assertEqual(case.run_cleanups(), [])
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_todoKeepsError(self) -> None:
        """
        A trial test marked C{todo} keeps its own exception, so that trial
        can tell whether it is the expected one.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            _lookup()

        _, result = _run_inner(test, todo=((LookupError,), "not yet"))
        [(_, failure, _)] = result.expectedFailures
        self.assertIsInstance(failure.value, LookupError)
        self.assertEqual(result.errors, [])
