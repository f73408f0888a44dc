"""
Tests for L{txcausal.testing.capture_logging}, L{validate_logging} and
L{check_for_errors} (L{txcausal._capture}) on synchronous tests, run as inner
L{SynchronousTestCase} or L{unittest.TestCase} runs.
"""

from __future__ import annotations

import threading
import unittest
from typing import Any, List

from twisted.trial.unittest import FailTest, SkipTest, SynchronousTestCase

from txcausal import (
    MessageType,
    ValidationError,
    _output,
    fields,
    log_message,
    start_action,
)
from txcausal._message import Message
from txcausal.testing import (
    MemoryLogger,
    UnflushedTracebacks,
    capture_logging,
    check_for_errors,
    validate_logging,
)

from ._testing_helpers import boom as _boom
from ._testing_helpers import failure_text as _failure_text
from ._testing_helpers import run_inner as _run_inner


class CaptureLoggingTests(SynchronousTestCase):
    """
    L{capture_logging} captures the default logger for a test and checks what
    was logged once the test is done.
    """

    def setUp(self) -> None:
        self.original = _output._DEFAULT_LOGGER

    def test_assertionGetsLogger(self) -> None:
        """
        The test gets the L{MemoryLogger} as C{logger}; the assertion runs
        after the test with the test case, the logger and the extra
        arguments, and the default logger is restored.
        """
        calls: List[Any] = []

        def check(case: Any, logger: MemoryLogger, *args: Any, **kwargs: Any) -> None:
            calls.append((case, [m["message_type"] for m in logger.messages], args, kwargs))

        @capture_logging(check, 1, two=2)
        def test(case: Any, logger: MemoryLogger) -> None:
            self.assertIs(_output._DEFAULT_LOGGER, logger)
            log_message("app:seen")

        case, result = _run_inner(test)
        self.assertTrue(result.wasSuccessful())
        self.assertEqual(calls, [(case, ["app:seen"], (1,), {"two": 2})])
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_assertionFailureShowsTree(self) -> None:
        """
        When the assertion fails, the test fails with its message followed by
        the captured messages drawn as a tree.
        """

        def check(case: Any, logger: MemoryLogger) -> None:
            case.assertEqual(len(logger.messages), 5)

        @capture_logging(check)
        def test(case: Any, logger: MemoryLogger) -> None:
            with start_action(action_type="app:outer", user="alice"):
                log_message("app:inner", n=7)

        _, result = _run_inner(test)
        text = _failure_text(result)
        self.assertIn("3 != 5", text)
        self.assertIn("Captured log messages (3):", text)
        self.assertRegex(text, r"\n`-- app:outer/1 => started [^\n]*\n"
                               r"    \|-- user: alice\n"
                               r"    \|-- app:inner/2 [^\n]*\n"
                               r"    \|   `-- n: 7\n")
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_unflushedTracebackFails(self) -> None:
        """
        A traceback logged and not flushed fails the test, showing the
        traceback.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            _boom()

        _, result = _run_inner(test)
        text = _failure_text(result)
        self.assertIn("1 unexpected traceback(s) logged", text)
        self.assertIn(", in boom\nValueError: kaboom\n", text)
        self.assertRegex(text,
                         r"`-- eliot:traceback/1 [^\n]*\n    \|-- exception: builtins.ValueError")

    def test_flushedTracebackPasses(self) -> None:
        """
        A traceback the assertion flushes does not fail the test.
        """

        def check(case: Any, logger: MemoryLogger) -> None:
            case.assertEqual(len(logger.flush_tracebacks(ValueError)), 1)

        @capture_logging(check)
        def test(case: Any, logger: MemoryLogger) -> None:
            _boom()

        _, result = _run_inner(test)
        self.assertTrue(result.wasSuccessful(), result.failures)

    def test_tracebackFromAnotherThread(self) -> None:
        """
        A traceback logged from another thread during the test is captured
        and fails the test.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            thread = threading.Thread(target=_boom)
            thread.start()
            thread.join()

        _, result = _run_inner(test)
        self.assertIn("1 unexpected traceback(s) logged", _failure_text(result))

    def test_invalidTypedMessageFails(self) -> None:
        """
        A typed message that does not match its type fails the test.
        """
        typed = MessageType("app:typed", fields(n=int))

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            typed.log(n="one")

        _, result = _run_inner(test)
        self.assertIn("Logged messages are invalid: ValidationError", _failure_text(result))

    def test_unencodableMessageFails(self) -> None:
        """
        A message that cannot be encoded as JSON fails the test.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            log_message("app:bad", value=object())

        _, result = _run_inner(test)
        self.assertIn("Logged messages are invalid: TypeError", _failure_text(result))

    def test_encoderHook(self) -> None:
        """
        Messages are validated with the encoder hook given as C{encoder_}.
        """

        class Money:
            pass

        def hook(o: object) -> object:
            if isinstance(o, Money):
                return "1 EUR"
            raise TypeError(o)

        @capture_logging(None, encoder_=hook)
        def test(case: Any, logger: MemoryLogger) -> None:
            log_message("app:paid", amount=Money())

        _, result = _run_inner(test)
        self.assertTrue(result.wasSuccessful(), result.failures)

    def test_bodyFailureShowsTree(self) -> None:
        """
        When the test itself fails an assertion, it fails with the test
        case's C{failureException}, the original message and the tree; the
        logging assertion runs too, as a cleanup.
        """
        calls: List[Any] = []

        @capture_logging(lambda case, logger: calls.append(logger))
        def test(case: Any, logger: MemoryLogger) -> None:
            log_message("app:before")
            case.assertEqual("got", "wanted")

        _, result = _run_inner(test)
        [(_, failure)] = result.failures
        self.assertIsInstance(failure.value, FailTest)
        self.assertIn("'got' != 'wanted'", str(failure.value))
        self.assertIn("app:before/1", str(failure.value))
        self.assertEqual(len(calls), 1)
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_baseExceptionRestores(self) -> None:
        """
        Whatever the test raises, the default logger is restored at once.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            raise KeyboardInterrupt()

        self.assertRaises(KeyboardInterrupt, test, object())
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_skipPassesThrough(self) -> None:
        """
        A test that skips is skipped, not failed, and the logger restored.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            _boom()
            raise SkipTest("not today")

        _, result = _run_inner(test)
        self.assertEqual([reason for _, reason in result.skips], ["not today"])
        self.assertEqual(result.failures, [])
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_stdlibTestCase(self) -> None:
        """
        It works on a standard library L{unittest.TestCase}: a failure is an
        L{AssertionError} with the tree.
        """

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            with start_action(action_type="app:std"):
                _boom()

        _, result = _run_inner(test, unittest.TestCase)
        self.assertIn("app:std/1 => started", _failure_text(result))

    def test_badAssertion(self) -> None:
        """
        An assertion that is neither callable nor C{None} is refused at once.
        """
        self.assertRaises(TypeError, capture_logging, "assertHasMessage")

    def test_functionWithoutTestCase(self) -> None:
        """
        A function whose first parameter cannot be the test case (a
        module-level pytest function taking C{logger} alone) is refused when
        decorated, saying what to use instead, rather than failing when
        called for want of C{self}; a test case named otherwise, or
        received in C{*args}, is accepted.
        """

        def test_f(logger: MemoryLogger) -> None:
            pass

        def keyword_only(*, logger: MemoryLogger) -> None:
            pass

        for decorate in [capture_logging(None), validate_logging(None)]:
            for function in [test_f, keyword_only]:
                error = self.assertRaises(TypeError, decorate, function)
                self.assertIn("the test case", str(error))
                self.assertIn("causal_logger", str(error))
            decorate(lambda case, logger: None)
            decorate(lambda *args, **kwargs: None)



class ValidateLoggingTests(SynchronousTestCase):
    """
    L{validate_logging} checks a logger given to the test, leaving the
    default logger alone.
    """

    def test_defaultLoggerUntouched(self) -> None:
        """
        The default logger is not replaced; what is written to the given
        logger is checked.
        """
        original = _output._DEFAULT_LOGGER
        seen: List[Any] = []

        @validate_logging(lambda case, logger: seen.append(list(logger.messages)))
        def test(case: Any, logger: MemoryLogger) -> None:
            self.assertIs(_output._DEFAULT_LOGGER, original)
            Message.new(message_type="app:mine").write(logger)

        _, result = _run_inner(test)
        self.assertTrue(result.wasSuccessful())
        self.assertEqual([m["message_type"] for m in seen[0]], ["app:mine"])

    def test_tracebackFails(self) -> None:
        """
        A traceback written to the given logger fails the test.
        """

        @validate_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            with start_action(logger, action_type="app:mine"):
                _boom(logger)

        _, result = _run_inner(test)
        self.assertIn("app:mine/1 => started", _failure_text(result))


class CheckForErrorsTests(SynchronousTestCase):
    """
    L{check_for_errors} raises for unflushed tracebacks, then for invalid
    messages.
    """

    def test_unflushed(self) -> None:
        """
        Unflushed tracebacks raise L{UnflushedTracebacks}, an
        L{AssertionError} that holds them.
        """
        logger = MemoryLogger()
        _boom(logger)
        error = self.assertRaises(UnflushedTracebacks, check_for_errors, logger)
        self.assertIsInstance(error, AssertionError)
        self.assertEqual(error.tracebacks, logger.tracebackMessages)

    def test_invalid(self) -> None:
        """
        Invalid messages raise what L{MemoryLogger.validate} raises.
        """
        logger = MemoryLogger()
        logger.write({"message_type": "app:bare"})
        self.assertRaises(ValidationError, check_for_errors, logger)

    def test_clean(self) -> None:
        """
        A logger with valid messages and no traceback passes.
        """
        logger = MemoryLogger()
        _boom(logger)
        logger.flush_tracebacks(ValueError)
        check_for_errors(logger)
        self.assertEqual(len(logger.messages), 1)


