"""
Tests for L{txcausal.testing.LoggedAction}, L{LoggedMessage} and the
assertion helpers (L{txcausal._loggedaction}).
"""

from __future__ import annotations

from typing import Any, Dict, List

from twisted.trial.unittest import FailTest, SynchronousTestCase

from txcausal import (
    Action,
    ActionType,
    MessageType,
    fields,
    log_message,
    start_action,
    start_task,
)
from txcausal.testing import (
    LoggedAction,
    LoggedMessage,
    MemoryLogger,
    assertContainsFields,
    assertHasAction,
    assertHasMessage,
    capture_logging,
    check_for_errors,
)

from ._helpers import CapturingMixin
from ._testing_helpers import failure_text as _failure_text
from ._testing_helpers import run_inner as _run_inner


class _CountingMessage(Dict[str, Any]):
    """
    A message that counts how often its fields are read.
    """

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        _CountingMessage.reads += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        _CountingMessage.reads += 1
        return super().__getitem__(key)


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

    def test_fromMessagesEmptyLevel(self) -> None:
        """
        L{LoggedAction.from_messages} takes an empty level, as Eliot's
        C{fromMessages} does, for the task's top action.
        """
        from eliot.testing import LoggedAction as EliotLoggedAction

        logger = self.capture()
        _search(["a"], "k")
        uuid = logger.messages[0]["task_uuid"]
        ours = LoggedAction.from_messages(uuid, [], logger.messages)
        theirs = EliotLoggedAction.fromMessages(uuid, [], logger.messages)
        self.assertEqual((ours.start_message, ours.end_message),
                         (theirs.startMessage, theirs.endMessage))
        self.assertEqual(len(ours.children), len(theirs.children))
        self.assertEqual(ours, LoggedAction.from_messages(uuid, [1], logger.messages))

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

    def test_linear(self) -> None:
        """
        Finding every action of a big log reads each message a bounded
        number of times, however many actions there are.
        """
        messages: List[Dict[str, Any]] = []
        for n in range(1, 301):
            for level, status in (([n, 1], "started"), ([n, 2], "succeeded")):
                messages.append(_CountingMessage(task_uuid="u", task_level=level,
                                                 action_type="app:step", action_status=status))
        messages.insert(0, _CountingMessage(task_uuid="u", task_level=[301, 1],
                                            action_type="app:job", action_status="started"))
        _CountingMessage.reads = 0
        self.assertEqual(len(LoggedAction.of_type(messages, "app:step")), 300)
        self.assertLess(_CountingMessage.reads, 20 * len(messages))

    def test_nestedSameType(self) -> None:
        """
        An action nested in one of the same type is found, and is the same
        as the child of the outer one.
        """
        logger = self.capture()
        with start_action(action_type="app:r", depth=0):
            with start_action(action_type="app:r", depth=1):
                log_message("app:leaf")
        outer, inner = LoggedAction.of_type(logger.messages, "app:r")
        self.assertEqual(outer.children, [inner])
        self.assertEqual(inner.type_tree(), {"app:r": ["app:leaf"]})

    def test_remoteTaskLevels(self) -> None:
        """
        A finish message listing the levels handed to other processes (its
        C{remote_task_levels}) is an ordinary end message: the action is
        found, with the messages logged here as its children, and it is
        valid, also for a typed action.
        """
        logger = self.capture()
        with SEARCH(key="k") as action:
            action.serialize_task_id()
            CHECK(server="a").write()
            action.add_success_fields(found=True)
        [found] = LoggedAction.of_type(logger.messages, SEARCH)
        self.assertEqual(found.end_message.get("remote_task_levels"), ["/2"])
        self.assertEqual(found.type_tree(), {"app:search": ["app:check"]})
        check_for_errors(logger)

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


