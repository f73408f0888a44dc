"""
Tests for L{txcausal._action}: the messages actions and tasks write, and
the current action across threads and asyncio tasks.  Task levels and the
task ids that carry them to other processes are tested in
L{txcausal.test.test_tasklevel}.
"""

from __future__ import annotations

import asyncio
import threading

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import (
    IAction,
    current_action,
    log_message,
    preserve_context,
    start_action,
    start_task,
)

from ._helpers import IsolatedOutputMixin


class ActionMessagesTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    The messages an action writes, and where in the task they go.
    """

    def test_manualExampleLevels(self) -> None:
        """
        A task with a message, a child action and a failure gets the levels
        and statuses of the manual's "From Actions to Messages" example.
        """
        messages = self.collect()
        with self.assertRaises(RuntimeError):
            with start_task(action_type="parent"):
                log_message(message_type="info", x=1)
                with start_action(action_type="child"):
                    log_message(message_type="info", x=2)
                raise RuntimeError("ono")
        summary = [
            (m["task_level"], m.get("action_type", m.get("message_type")), m.get("action_status"))
            for m in messages
        ]
        self.assertEqual(summary, [
            ([1], "parent", "started"),
            ([2], "info", None),
            ([3, 1], "child", "started"),
            ([3, 2], "info", None),
            ([3, 3], "child", "succeeded"),
            ([4], "parent", "failed"),
        ])
        self.assertEqual(len({m["task_uuid"] for m in messages}), 1)
        self.assertEqual(messages[-1]["exception"], "builtins.RuntimeError")
        self.assertEqual(messages[-1]["reason"], "ono")

    def test_everyMessageHasTimestamp(self) -> None:
        """
        Every message carries a float C{timestamp}.
        """
        messages = self.collect()
        with start_action(action_type="a"):
            log_message(message_type="m")
        self.assertEqual([type(m["timestamp"]) for m in messages], [float] * 3)

    def test_finishHasDuration(self) -> None:
        """
        Success and failure messages carry a non-negative C{duration}; the
        start message does not.
        """
        messages = self.collect()
        with start_action(action_type="ok"):
            pass
        action = start_action(action_type="bad")
        action.finish(ValueError("x"))
        self.assertNotIn("duration", messages[0])
        for finish in (messages[1], messages[3]):
            self.assertIsInstance(finish["duration"], float)
            self.assertGreaterEqual(finish["duration"], 0.0)

    def test_startFields(self) -> None:
        """
        Keyword arguments to L{start_action} go in the start message only.
        """
        messages = self.collect()
        with start_action(action_type="a", key=123):
            pass
        self.assertEqual(messages[0]["key"], 123)
        self.assertNotIn("key", messages[1])

    def test_addSuccessFields(self) -> None:
        """
        L{Action.add_success_fields} adds fields to the success message.
        """
        messages = self.collect()
        with start_action(action_type="a") as action:
            action.add_success_fields(result=1)
            action.add_success_fields(other=2)
        self.assertEqual((messages[1]["result"], messages[1]["other"]), (1, 2))

    def test_finishTwice(self) -> None:
        """
        Finishing an action a second time writes nothing.
        """
        messages = self.collect()
        action = start_action(action_type="a")
        action.finish()
        action.finish(ValueError())
        self.assertEqual([m["action_status"] for m in messages], ["started", "succeeded"])
        self.assertTrue(action.finished)

    def test_finishFields(self) -> None:
        """
        Fields given to L{Action.finish} are added to the finish message,
        failed or not, without replacing the fields txcausal writes.
        """
        messages = self.collect()
        start_action(action_type="a").finish(ValueError("x"), status=500,
                                             action_status="lie")
        start_action(action_type="b").finish(status=200)
        self.assertEqual((messages[1]["status"], messages[1]["action_status"]), (500, "failed"))
        self.assertEqual((messages[3]["status"], messages[3]["action_status"]),
                         (200, "succeeded"))

    def test_contextDoesNotFinish(self) -> None:
        """
        L{Action.context} makes the action current and gives it to C{as},
        without finishing it; the previous action is current again after.
        """
        messages = self.collect()
        action = start_action(action_type="a")
        with action.context() as same:
            self.assertIs(same, action)
            self.assertIs(current_action(), action)
            log_message(message_type="inside")
        self.assertIsNone(current_action())
        self.assertEqual(len(messages), 2)
        self.assertFalse(action.finished)

    def test_run(self) -> None:
        """
        L{Action.run} calls the function inside the action and returns its
        result, leaving the action unfinished.
        """
        self.collect()
        action = start_action(action_type="a")
        self.assertEqual(action.run(lambda x, y: (current_action(), x + y), 1, y=2), (action, 3))
        self.assertIsNone(current_action())
        self.assertFalse(action.finished)

    def test_startTaskIgnoresContext(self) -> None:
        """
        L{start_task} starts a new task even inside an action.
        """
        messages = self.collect()
        with start_action(action_type="outer") as outer:
            with start_task(action_type="inner") as inner:
                self.assertNotEqual(inner.task_uuid, outer.task_uuid)
        self.assertEqual(messages[1]["task_level"], [1])

    def test_messageOutsideActionIsTask(self) -> None:
        """
        A message logged outside any action is a task of its own at level 1.
        """
        messages = self.collect()
        log_message(message_type="m")
        log_message(message_type="m")
        self.assertEqual([m["task_level"] for m in messages], [[1], [1]])
        self.assertNotEqual(messages[0]["task_uuid"], messages[1]["task_uuid"])

    def test_reentered(self) -> None:
        """
        Entering an action again inside itself restores the outer context
        correctly on each exit.
        """
        self.collect()
        action = start_action(action_type="a")
        with action:
            with action:
                self.assertIs(current_action(), action)
            self.assertIs(current_action(), action)
        self.assertIsNone(current_action())

    def test_actionTypeAsLogger(self) -> None:
        """
        Passing the action type positionally (where the logger goes) is a
        clear L{TypeError}.
        """
        self.collect()
        error = self.assertRaises(TypeError, start_action, "app:x")
        self.assertIn("action_type='app:x'", str(error))

    def test_provider(self) -> None:
        """
        L{Action} provides L{IAction}.
        """
        self.collect()
        self.assertTrue(verifyObject(IAction, start_action(action_type="a")))


class ContextTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    The current action follows threads and asyncio tasks.
    """

    def test_threadsDoNotShare(self) -> None:
        """
        A new thread does not see the action of the thread that started it.
        """
        self.collect()
        seen = []
        with start_action(action_type="a"):
            thread = threading.Thread(target=lambda: seen.append(current_action()))
            thread.start()
            thread.join()
        self.assertEqual(seen, [None])

    def test_preserveContext(self) -> None:
        """
        L{preserve_context} runs the function in another thread inside a
        continuation of the current action.
        """
        messages = self.collect()
        with start_action(action_type="a") as action:
            wrapped = preserve_context(lambda x: log_message(message_type="in_thread", x=x))
        thread = threading.Thread(target=wrapped, args=(5,))
        thread.start()
        thread.join()
        in_thread = [m for m in messages if m.get("message_type") == "in_thread"][0]
        self.assertEqual(in_thread["task_uuid"], action.task_uuid)
        self.assertEqual(in_thread["task_level"], [2, 2])
        self.assertRaises(RuntimeError, wrapped, 6)

    def test_preserveContextWithoutAction(self) -> None:
        """
        Outside any action L{preserve_context} returns the function as is.
        """
        f = lambda: None  # noqa: E731
        self.assertIs(preserve_context(f), f)

    def test_asyncioTasks(self) -> None:
        """
        Interleaved asyncio tasks each keep their own action across awaits.
        """
        self.collect()
        seen = {}

        async def work(name: str) -> None:
            with start_action(action_type=name) as action:
                await asyncio.sleep(0)
                seen[name] = current_action() is action

        async def both() -> None:
            await asyncio.gather(work("one"), work("two"))

        asyncio.run(both())
        self.assertEqual(seen, {"one": True, "two": True})
