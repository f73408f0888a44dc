"""
Tests for L{txcausal.testing}: capturing, checking, navigating and drawing
what a test logged.

Most run decorated test methods in-process, as inner L{SynchronousTestCase}
or L{unittest.TestCase} runs, or by calling the decorated method directly to
drive its L{Deferred} or coroutine by hand; one real C{trial} subprocess
runs Deferred-returning and C{async def} tests, and the trial example.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import unittest
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

from twisted.internet.defer import Deferred
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import FailTest, SkipTest, SynchronousTestCase

import txcausal.testing
from txcausal import (
    Action,
    ActionType,
    MessageType,
    ValidationError,
    _output,
    fields,
    log_message,
    start_action,
    start_task,
    write_traceback,
)
from txcausal._capture import MAX_TREE_LINES, logged_tree
from txcausal._message import Message
from txcausal.testing import (
    LoggedAction,
    LoggedMessage,
    MemoryLogger,
    UnflushedTracebacks,
    assertContainsFields,
    assertHasAction,
    assertHasMessage,
    capture_logging,
    check_for_errors,
    render_messages,
    validate_logging,
)

from ._helpers import CapturingMixin, examples_dir, run_python


def _boom(logger: Any = None) -> None:
    """
    Log a traceback of a L{ValueError}.
    """
    try:
        raise ValueError("kaboom")
    except ValueError:
        write_traceback(logger)


def _run_inner(method: Callable[..., Any], base: type = SynchronousTestCase) -> Tuple[Any, Any]:
    """
    Run C{method} as the only test of an inner test case.

    @return: The test case and the trial L{TestResult}.
    """
    inner = type("Inner", (base,), {"test_it": method})
    case = inner("test_it")
    result = TestResult()
    case.run(result)
    return case, result


def _failure_text(result: TestResult) -> str:
    """
    @return: The message of the one failure of C{result}.
    """
    [(_, failure)] = result.failures
    return str(failure.value)  # type: ignore[attr-defined]


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
        self.assertRegex(
            text, r"\n  /1 app:outer => started  user='alice'\n      /2 app:inner  n=7\n")
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
        self.assertIn('raise ValueError("kaboom")', text)
        self.assertIn("eliot:traceback  reason='kaboom' exception='builtins.ValueError'", text)

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
        logging assertion is not run.
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
        self.assertIn("/1 app:before", str(failure.value))
        self.assertEqual(calls, [])
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_bodyErrorGetsNote(self) -> None:
        """
        Another exception from the test itself stays as it is, an error with
        its cause, with the tree added as a note (where Python has notes).
        """
        if not hasattr(Exception, "add_note"):
            raise SkipTest("Exception notes need Python 3.11")

        @capture_logging(None)
        def test(case: Any, logger: MemoryLogger) -> None:
            log_message("app:before")
            empty: Dict[str, int] = {}
            try:
                empty["x"]
            except KeyError as e:
                raise LookupError("lost") from e

        _, result = _run_inner(test)
        [(_, failure)] = result.errors
        self.assertIsInstance(failure.value, LookupError)
        self.assertIsInstance(failure.value.__cause__, KeyError)
        self.assertIn("/1 app:before", failure.value.__notes__[0])

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
        self.assertIn("app:std => started", _failure_text(result))

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

        result = test(self)
        self.assertNoResult(result)
        captured = _output._DEFAULT_LOGGER
        self.assertIsInstance(captured, MemoryLogger)
        log_message("app:later")
        self.assertEqual(calls, [])
        done.callback(None)
        failure = self.failureResultOf(result, FailTest)
        self.assertIn("/1 app:later", str(failure.value))
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
            d.errback(FailTest("nope"))
            return d

        failure = self.failureResultOf(test(self), FailTest)
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

        result = Deferred.fromCoroutine(test(self))
        self.assertNoResult(result)
        waiting.callback(None)
        failure = self.failureResultOf(result, FailTest)
        self.assertIn("unexpected traceback", str(failure.value))
        self.assertIs(_output._DEFAULT_LOGGER, self.original)

    def test_coroutineResult(self) -> None:
        """
        An C{async def} test that passes its checks keeps its result.
        """

        @capture_logging(None)
        async def test(case: Any, logger: MemoryLogger) -> str:
            return "done"

        self.assertEqual(self.successResultOf(Deferred.fromCoroutine(test(self))), "done")

    def test_badAssertion(self) -> None:
        """
        An assertion that is neither callable nor C{None} is refused at once.
        """
        self.assertRaises(TypeError, capture_logging, "assertHasMessage")


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
        self.assertIn("app:mine => started", _failure_text(result))


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
        self.assertEqual(error.tracebacks, logger.tracebacks)

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


SEARCH = ActionType("app:search", fields(key=str), fields(found=bool))
CHECK = MessageType("app:check", fields(server=str))


def _search(servers: List[str], key: str, fail: bool = False) -> None:
    with SEARCH(key=key) as action:
        for server in servers:
            CHECK(server=server).write()
        with start_action(action_type="app:remote"):
            log_message("app:remote:sent")
        if fail:
            raise KeyError(key)
        action.add_success_fields(found=True)


class LoggedActionTests(SynchronousTestCase, CapturingMixin):
    """
    L{LoggedAction} and L{LoggedMessage} find actions and messages in a list
    of captured messages.
    """

    def test_ofType(self) -> None:
        """
        L{LoggedAction.of_type} finds actions by L{ActionType} or by name,
        with their start and end messages and children in order.
        """
        logger = self.capture()
        _search(["a", "b"], "k")
        [action] = LoggedAction.of_type(logger.messages, SEARCH)
        self.assertEqual(LoggedAction.of_type(logger.messages, "app:search"), [action])
        self.assertEqual(action.start_message["key"], "k")
        self.assertEqual(action.end_message["found"], True)
        self.assertTrue(action.succeeded)
        checks = LoggedMessage.of_type(logger.messages, CHECK)
        self.assertEqual([m.message["server"] for m in checks], ["a", "b"])
        self.assertEqual(action.children[:2], checks)
        self.assertIsInstance(action.children[2], LoggedAction)

    def test_descendantsAndTypeTree(self) -> None:
        """
        C{descendants} walks the whole subtree depth first; C{type_tree}
        gives its types, nested.
        """
        logger = self.capture()
        _search(["a"], "k")
        [action] = LoggedAction.of_type(logger.messages, SEARCH)
        kinds = [d.start_message["action_type"] if isinstance(d, LoggedAction)
                 else d.message.get("message_type") for d in action.descendants()]
        self.assertEqual(kinds, ["app:check", "app:remote", "app:remote:sent"])
        self.assertEqual(action.type_tree(),
                         {"app:search": ["app:check", {"app:remote": ["app:remote:sent"]}]})

    def test_failed(self) -> None:
        """
        A failed action has C{succeeded} false and its failure message as
        C{end_message}.
        """
        logger = self.capture()
        self.assertRaises(KeyError, _search, [], "k", fail=True)
        [action] = LoggedAction.of_type(logger.messages, SEARCH)
        self.assertFalse(action.succeeded)
        self.assertEqual(action.end_message["exception"], "builtins.KeyError")

    def test_severalTasksAndOrder(self) -> None:
        """
        Actions of several tasks are found in the order they started, each
        with only its own task's messages, whatever order they were logged
        in.
        """
        logger = self.capture()
        first = start_task(action_type="app:job", n=1)
        second = start_task(action_type="app:job", n=2)
        second.run(log_message, "app:step", n=2)
        first.run(log_message, "app:step", n=1)
        second.finish()
        first.finish()
        jobs = LoggedAction.of_type(logger.messages, "app:job")
        self.assertEqual([job.children for job in jobs], [
            LoggedMessage.of_type(logger.messages[i:i + 1], "app:step") for i in (3, 2)])

    def test_continuedTaskIsChild(self) -> None:
        """
        An action continuing the task elsewhere (a serialized task id) is a
        child action.
        """
        logger = self.capture()
        with start_action(action_type="app:parent") as parent:
            task_id = parent.serialize_task_id()
        with Action.continue_task(task_id=task_id):
            log_message("app:remote:work")
        [action] = LoggedAction.of_type(logger.messages, "app:parent")
        self.assertEqual(action.type_tree(),
                         {"app:parent": [{"eliot:remote_task": ["app:remote:work"]}]})

    def test_unfinished(self) -> None:
        """
        An action without an end message raises a L{ValueError} saying it
        had not finished.
        """
        logger = self.capture()
        start_action(action_type="app:running")
        error = self.assertRaises(ValueError, LoggedAction.of_type, logger.messages, "app:running")
        self.assertIn("had not finished", str(error))

    def test_badType(self) -> None:
        """
        A type that is neither a name nor a typed object raises L{TypeError}.
        """
        self.assertRaises(TypeError, LoggedAction.of_type, [], 42)
        self.assertRaises(TypeError, LoggedMessage.of_type, [], SEARCH)


class AssertionHelperTests(SynchronousTestCase, CapturingMixin):
    """
    C{assertContainsFields}, C{assertHasMessage} and C{assertHasAction}.
    """

    def test_containsFields(self) -> None:
        """
        C{assertContainsFields} passes for a subset of fields and fails
        otherwise, with the test case's C{failureException}.
        """
        message = {"a": 1, "b": 2}
        assertContainsFields(self, message, {"a": 1})
        self.assertRaises(FailTest, assertContainsFields, self, message, {"a": 2})
        self.assertRaises(FailTest, assertContainsFields, self, message, {"c": 1})

    def test_hasMessage(self) -> None:
        """
        C{assertHasMessage} returns the first message of the type, checking
        its fields, and fails when there is none.
        """
        logger = self.capture()
        CHECK(server="a").write()
        CHECK(server="b").write()
        found = assertHasMessage(self, logger, CHECK, {"server": "a"})
        self.assertEqual(found.message["server"], "a")
        self.assertRaises(FailTest, assertHasMessage, self, logger, CHECK, {"server": "b"})
        error = self.assertRaises(FailTest, assertHasMessage, self, logger, "app:none")
        self.assertIn("No message of type 'app:none'", str(error))

    def test_hasAction(self) -> None:
        """
        C{assertHasAction} returns the first action of the type, checking its
        outcome and its start and end fields.
        """
        logger = self.capture()
        _search(["a"], "k")
        action = assertHasAction(self, logger, SEARCH, True, {"key": "k"}, {"found": True})
        self.assertEqual(action.start_message["key"], "k")
        self.assertRaises(FailTest, assertHasAction, self, logger, SEARCH, False)
        self.assertRaises(FailTest, assertHasAction, self, logger, SEARCH, True, {"key": "x"})
        self.assertRaises(FailTest, assertHasAction, self, logger, SEARCH, True, None,
                          {"found": False})
        self.assertRaises(FailTest, assertHasAction, self, logger, "app:none", True)

    def test_noTestCase(self) -> None:
        """
        Given C{None} for the test case (as in pytest), the helpers raise
        L{AssertionError}.
        """
        logger = self.capture()
        _search(["a"], "k")
        assertHasAction(None, logger, SEARCH, True, {"key": "k"})
        self.assertRaises(AssertionError, assertHasAction, None, logger, SEARCH, False)
        self.assertRaises(AssertionError, assertHasMessage, None, logger, "app:none")
        self.assertRaises(AssertionError, assertContainsFields, None, {}, {"a": 1})

    def test_asCaptureAssertion(self) -> None:
        """
        The helpers work as the assertion of L{capture_logging}.
        """

        @capture_logging(assertHasAction, SEARCH, False)
        def test(case: Any, logger: MemoryLogger) -> None:
            _search([], "k")

        _, result = _run_inner(test)
        self.assertIn("Action 'app:search' succeeded", _failure_text(result))


class RenderTests(SynchronousTestCase):
    """
    L{render_messages} and the tree in failure reports.
    """

    def test_indentation(self) -> None:
        """
        Each task is drawn under its UUID; messages are sorted by level and
        indented by depth, with their fields.
        """
        uuid = "u1"
        messages: List[Dict[str, Any]] = [
            {"task_uuid": uuid, "task_level": [2, 2], "message_type": "app:in", "x": 1},
            {"task_uuid": uuid, "task_level": [1], "action_type": "app:a",
             "action_status": "started"},
            {"task_uuid": uuid, "task_level": [2, 1], "action_type": "app:b",
             "action_status": "started"},
            {"task_uuid": "u2", "task_level": [1], "message_type": "app:alone"},
        ]
        self.assertEqual(render_messages(messages).splitlines(), [
            "task u1",
            "  /1 app:a => started",
            "      /2/1 app:b => started",
            "          /2/2 app:in  x=1",
            "task u2",
            "  /1 app:alone",
        ])

    def test_limits(self) -> None:
        """
        Long values are cut, and so is a drawing past
        L{MAX_TREE_LINES} lines.
        """
        messages = [{"task_uuid": "u", "task_level": [i + 1], "message_type": "m", "v": "x" * 500}
                    for i in range(MAX_TREE_LINES + 10)]
        lines = render_messages(messages).splitlines()
        self.assertEqual(len(lines), MAX_TREE_LINES + 1)
        self.assertEqual(lines[-1], "... and 11 more lines")
        self.assertLess(max(len(line) for line in lines), 250)

    def test_loggedTreeSerializes(self) -> None:
        """
        The tree of a logger shows typed values serialized, and survives a
        serializer that fails.
        """
        logger = MemoryLogger()
        _boom(logger)
        bad = MessageType("app:typed", fields(n=int))
        bad(n=object()).write(logger)
        tree = logged_tree(logger)
        self.assertIn("exception='builtins.ValueError'", tree)
        self.assertIn("app:typed  n=<object object", tree)
        self.assertEqual(logged_tree(MemoryLogger()), "Captured log messages: none")


class ExportsTests(SynchronousTestCase):
    """
    L{txcausal.testing} exports its names.
    """

    def test_all(self) -> None:
        """
        Every name of C{__all__} resolves.
        """
        for name in txcausal.testing.__all__:
            self.assertIsNotNone(getattr(txcausal.testing, name))


INNER_TRIAL = '''
import threading
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from txcausal import start_action, write_traceback
from txcausal.testing import assertHasAction, capture_logging

def boom():
    try:
        raise ValueError("kaboom")
    except ValueError:
        write_traceback()

class InnerTests(TestCase):
    @capture_logging(assertHasAction, "inner:a", True)
    def test_deferredPasses(self, logger):
        action = start_action(action_type="inner:a")
        return deferLater(reactor, 0, action.finish)

    @capture_logging(None)
    def test_deferredTraceback(self, logger):
        def later():
            with start_action(action_type="inner:later"):
                boom()
        return deferLater(reactor, 0, later)

    @capture_logging(assertHasAction, "inner:a", False)
    async def test_asyncAssertion(self, logger):
        await deferLater(reactor, 0, lambda: None)
        with start_action(action_type="inner:a"):
            pass

    @capture_logging(None)
    async def test_asyncThreadTraceback(self, logger):
        with start_action(action_type="inner:threaded"):
            await deferToThread(boom)

    @capture_logging(None)
    async def test_asyncBodyFails(self, logger):
        await deferLater(reactor, 0, lambda: None)
        with start_action(action_type="inner:body"):
            pass
        self.assertEqual(1, 2)
'''


@lru_cache(maxsize=None)
def _inner_trial() -> Tuple[Dict[str, str], str]:
    """
    Run a real C{trial} on inner tests and on C{examples/testing_trial_example.py}
    (once per process).

    @return: Each test's outcome by name (C{"OK"}, C{"FAIL"}, ...), and the
        whole output.
    """
    directory = Path(tempfile.mkdtemp(prefix="txcausal-trial-"))
    try:
        (directory / "inner_trial.py").write_text(INNER_TRIAL)
        shutil.copy(examples_dir() / "testing_trial_example.py", directory)
        result = run_python(["-m", "twisted.trial", "inner_trial", "testing_trial_example"],
                            cwd=directory, env={"PYTHONPATH": str(directory)})
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    output = result.stdout + result.stderr
    outcomes = dict((m.group(1), m.group(2))
                    for m in re.finditer(r"^\s+(test_\w+) \.\.\.\s+\[(\w+)\]", output, re.M))
    return outcomes, output


def _report_for(output: str, test_id: str) -> str:
    """
    @return: The block of trial's summary that reports C{test_id}.
    """
    for block in output.split("=" * 79):
        if re.search(rf"^{re.escape(test_id)}$", block, re.M):
            return block
    raise AssertionError(f"No report for {test_id} in:\n{output}")


class RealTrialTests(SynchronousTestCase):
    """
    Decorated tests run by a real C{trial} (in a subprocess) pass or fail as
    they should, once their L{Deferred} or coroutine is done.
    """

    def test_outcomes(self) -> None:
        """
        Each inner test has the expected outcome.
        """
        outcomes, output = _inner_trial()
        self.assertEqual(outcomes, {
            "test_deferredPasses": "OK",
            "test_deferredTraceback": "FAIL",
            "test_asyncAssertion": "FAIL",
            "test_asyncThreadTraceback": "FAIL",
            "test_asyncBodyFails": "FAIL",
            "test_count": "OK",
            "test_empty": "OK",
            "test_unknown": "OK",
        }, output)

    def test_deferredTracebackReport(self) -> None:
        """
        A traceback logged when a test's L{Deferred} fires fails it, with the
        tree of the captured messages.
        """
        report = _report_for(_inner_trial()[1], "inner_trial.InnerTests.test_deferredTraceback")
        self.assertIn("1 unexpected traceback(s) logged", report)
        self.assertIn("  /1 inner:later => started\n      /2 eliot:traceback", report)

    def test_threadTracebackReport(self) -> None:
        """
        A traceback logged in a worker thread during an C{async def} test
        fails it.
        """
        report = _report_for(_inner_trial()[1],
                             "inner_trial.InnerTests.test_asyncThreadTraceback")
        self.assertIn("ValueError: kaboom", report)
        self.assertIn("inner:threaded => started", report)

    def test_asyncReports(self) -> None:
        """
        The failing assertion of an C{async def} test, and a failure of the
        test itself, are reported with the tree.
        """
        output = _inner_trial()[1]
        report = _report_for(output, "inner_trial.InnerTests.test_asyncAssertion")
        self.assertIn("Action 'inner:a' succeeded", report)
        report = _report_for(output, "inner_trial.InnerTests.test_asyncBodyFails")
        self.assertIn("1 != 2\n\nCaptured log messages (2):", report)
