"""
Tests for L{txcausal.testing.capture_logging} and L{validate_logging}
(L{txcausal._capture}) on test cases with C{addCleanup}: as in Eliot, the
assertion and the check for errors are cleanups of the test, and the default
logger is restored by one, so the test's own cleanups run first, with the
logger still captured.
"""

from __future__ import annotations

import unittest
from typing import Any, Generator, List

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase

from txcausal import MessageType, _output, fields, log_message
from txcausal.testing import MemoryLogger, assertHasMessage, capture_logging, validate_logging

from ._testing_helpers import CleanupCase
from ._testing_helpers import boom as _boom
from ._testing_helpers import run_inner as _run_inner

_STOPPED = MessageType("app:stopped", fields(), "A service stopped.")


class CleanupOrderTests(SynchronousTestCase):
    """
    The checks run after the test's own cleanups.
    """

    def setUp(self) -> None:
        self.original = _output._DEFAULT_LOGGER

    def test_flushInCleanup(self) -> None:
        """
        A traceback flushed by a cleanup of the test does not fail it, in a
        trial and in a standard library test case.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            case.addCleanup(logger.flush_tracebacks, ValueError)
            _boom()

        for base in (SynchronousTestCase, unittest.TestCase):
            _, result = _run_inner(test, base)
            self.assertTrue(result.wasSuccessful(), (base, result.failures))
            self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_loggedByCleanup(self) -> None:
        """
        What a cleanup of the test logs is captured, and seen by the
        assertion.
        """

        @capture_logging(assertHasMessage, _STOPPED)
        def test(case: Any, logger: MemoryLogger) -> None:
            case.addCleanup(_STOPPED().write)

        _, result = _run_inner(test)
        self.assertTrue(result.wasSuccessful(), result.failures)
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_validateLoggingCleanup(self) -> None:
        """
        L{validate_logging}'s checks are cleanups too.
        """

        @validate_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            case.addCleanup(logger.flush_tracebacks, ValueError)
            _boom(logger)

        _, result = _run_inner(test)
        self.assertTrue(result.wasSuccessful(), result.failures)

    def test_assertionRunsWhenBodyFails(self) -> None:
        """
        The assertion runs also when the test itself fails; both failures
        are reported, each with the tree.
        """
        calls: List[int] = []

        def check(case: Any, logger: MemoryLogger) -> None:
            calls.append(len(logger.messages))
            case.fail("assertion")

        @capture_logging(check)
        def test(case: Any, logger: MemoryLogger) -> None:
            log_message("app:before")
            case.fail("body")

        _, result = _run_inner(test)
        self.assertEqual(calls, [1])
        # Trial reports the failure of a cleanup as an error.
        texts = [str(failure.value) for _, failure in result.failures + result.errors]
        self.assertEqual([t.split("\n")[0] for t in texts], ["body", "assertion"])
        for text in texts:
            self.assertIn("`-- app:before/1 ", text)
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_deferredChecksAreCleanups(self) -> None:
        """
        For a test returning a L{Deferred}, the logger stays captured after
        it fires, until the cleanups run: they restore it, then check.
        """
        done: Deferred[None] = Deferred()
        seen: List[Any] = []

        @capture_logging(lambda case, logger: seen.append(_output._DEFAULT_LOGGER))
        def test(case: Any, logger: MemoryLogger) -> Deferred[None]:
            return done

        case = CleanupCase()
        result = test(case)
        done.callback(None)
        self.assertIsNone(self.successResultOf(result))
        self.assertIsInstance(_output._DEFAULT_LOGGER, MemoryLogger)
        _boom()
        [error] = case.run_cleanups()
        self.assertIn("1 unexpected traceback(s) logged", str(error))
        self.assertEqual(seen, [self.original])
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_inlineCallbacksAbove(self) -> None:
        """
        With C{@inlineCallbacks} above C{@capture_logging}, the generator the
        decorated method returns runs with the logger captured, and the
        assertion sees what it logged.
        """
        later: Deferred[None] = Deferred()

        def check(case: Any, logger: MemoryLogger) -> None:
            case.assertEqual([m["message_type"] for m in logger.messages],
                             ["app:before", "app:after"])

        @inlineCallbacks
        @capture_logging(check)
        def test(case: Any, logger: MemoryLogger) -> Generator[Any, Any, None]:
            log_message("app:before")
            yield later
            log_message("app:after")

        case = CleanupCase()
        result = test(case)
        later.callback(None)
        self.successResultOf(result)
        self.assertEqual(case.run_cleanups(), [])
        self.assertIs(_output._DEFAULT_LOGGER, self.original)
