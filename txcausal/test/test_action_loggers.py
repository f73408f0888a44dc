"""
Where an action's messages go (the logger it was created with), and the
fields of an action's messages that txcausal writes itself.
"""

from __future__ import annotations

from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from txcausal import (
    ILogger,
    Logger,
    MemoryLogger,
    Message,
    log_call,
    log_message,
    start_action,
    start_task,
)
from txcausal._output import swap_logger

from ._helpers import IsolatedOutputMixin


@implementer(ILogger)
class FalseLogger(List[Dict[str, Any]]):
    """
    A logger that tests false, as an empty list does.
    """

    def write(self, dictionary: Dict[str, Any], serializer: object = None) -> None:
        self.append(dictionary)


class LoggerRoutingTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    An action's messages go to the logger it was created with.
    """

    def test_boundAtCreation(self) -> None:
        """
        An action started before the default logger is swapped keeps
        writing to the logger that was the default when it started; one
        started after writes to the new one.
        """
        real = self.collect()
        before = start_action(action_type="app:before")
        captured = MemoryLogger()
        previous = swap_logger(captured)
        try:
            with before.context():
                log_message(message_type="app:inside")
            before.finish()
            with start_action(action_type="app:during"):
                pass
        finally:
            swap_logger(previous)
        self.assertEqual([m.get("action_type", m.get("message_type")) for m in real],
                         ["app:before", "app:inside", "app:before"])
        self.assertEqual([m["action_type"] for m in captured.messages], ["app:during"] * 2)

    def test_finishAfterSwapBack(self) -> None:
        """
        An action started while a test captured messages finishes into the
        test's logger even after the real one is back.
        """
        real = self.collect()
        captured = MemoryLogger()
        previous = swap_logger(captured)
        action = start_action(action_type="app:slow")
        swap_logger(previous)
        action.finish()
        self.assertEqual(real, [])
        self.assertEqual([m["action_status"] for m in captured.messages], ["started", "succeeded"])

    def test_childUsesDefault(self) -> None:
        """
        As in Eliot, a child action started without a logger writes to the
        default logger, not to its parent's; a message inside the parent
        goes to the parent's.
        """
        real = self.collect()
        mine = MemoryLogger()
        with start_action(mine, action_type="app:parent"):
            log_message(message_type="app:message")
            with start_action(action_type="app:child"):
                pass
        self.assertEqual([m.get("action_type", m.get("message_type")) for m in mine.messages],
                         ["app:parent", "app:message", "app:parent"])
        self.assertEqual([m["task_level"] for m in real], [[3, 1], [3, 2]])

    def test_falseLoggerIsUsed(self) -> None:
        """
        A logger that tests false (an empty list subclass) is used, not
        replaced by the default one.
        """
        real = self.collect()
        logger = FalseLogger()
        with start_task(logger, action_type="app:a") as action:
            action.log("app:m")
        Message.new(key=1).write(logger)
        self.assertEqual(real, [])
        self.assertEqual(len(logger), 4)

    def test_loggerWithoutArguments(self) -> None:
        """
        C{Logger()} writes to the process-wide destinations, as Eliot's
        does; the manual's examples make one per class.
        """
        real = self.collect()
        logger = Logger()
        Message.new(key=123).write(logger)
        with start_action(logger, action_type="app:a"):
            pass
        self.assertEqual([m.get("key") for m in real], [123, None, None])

    def test_actionLog(self) -> None:
        """
        L{Action.log} logs a message inside the action, current or not.
        """
        real = self.collect()
        action = start_task(action_type="app:a")
        action.log("app:m", n=1)
        action.finish()
        self.assertEqual((real[1]["message_type"], real[1]["n"], real[1]["task_level"]),
                         ("app:m", 1, [2]))


class ReservedFieldTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    A user's field named like one txcausal writes is kept under another
    name, never silently dropped.
    """

    def test_successFields(self) -> None:
        """
        Success fields named C{action_status} and C{action_type} are kept
        as C{user_action_status} and C{user_action_type}.
        """
        messages = self.collect()
        with start_action(action_type="app:a") as action:
            action.add_success_fields(action_status="paid", action_type="card", n=1)
        end = messages[-1]
        self.assertEqual((end["action_status"], end["action_type"]), ("succeeded", "app:a"))
        self.assertEqual((end["user_action_status"], end["user_action_type"], end["n"]),
                         ("paid", "card", 1))

    def test_startAndFinishFields(self) -> None:
        """
        So are start fields and the fields given to C{finish}.
        """
        messages = self.collect()
        action = start_action(action_type="app:a", action_status="x")
        action.finish(ValueError("no"), action_type="y")
        self.assertEqual((messages[0]["action_status"], messages[0]["user_action_status"]),
                         ("started", "x"))
        self.assertEqual((messages[1]["action_type"], messages[1]["user_action_type"]),
                         ("app:a", "y"))

    def test_positionFields(self) -> None:
        """
        Start, success and finish fields named C{task_uuid}, C{task_level}
        or C{timestamp} are kept as C{user_task_uuid}, C{user_task_level}
        and C{user_timestamp}; the message's own position and time are
        txcausal's.
        """
        messages = self.collect()
        with start_action(action_type="app:a", task_uuid="order-17", timestamp=98.0) as action:
            action.add_success_fields(task_level="deep")
        action = start_action(action_type="app:b")
        action.finish(ValueError("no"), timestamp="late")
        start, success, _, failure = messages
        self.assertEqual((start["user_task_uuid"], start["user_timestamp"]), ("order-17", 98.0))
        self.assertEqual(success["user_task_level"], "deep")
        self.assertEqual(failure["user_timestamp"], "late")
        for message in messages:
            self.assertIsInstance(message["timestamp"], float)
            self.assertNotEqual(message["task_uuid"], "order-17")
            self.assertIsInstance(message["task_level"], list)

    def test_logCallArguments(self) -> None:
        """
        C{log_call} keeps a function's arguments named C{task_uuid},
        C{task_level} or C{timestamp} in the same way.
        """
        messages = self.collect()

        @log_call
        def record(task_uuid: str, timestamp: float, task_level: int = 3) -> str:
            return "ok"

        record("order-17", 1234.0)
        self.assertEqual(
            (messages[0]["user_task_uuid"], messages[0]["user_timestamp"],
             messages[0]["user_task_level"]), ("order-17", 1234.0, 3))
        self.assertNotEqual(messages[0]["task_uuid"], "order-17")

    def test_messagePositionReplaced(self) -> None:
        """
        A plain message's own C{task_uuid}, C{task_level} and C{timestamp}
        are replaced by txcausal's, as Eliot replaces them (documented: no
        check costs every message).
        """
        messages = self.collect()
        with start_action(action_type="app:a") as action:
            log_message("app:m", task_uuid="order-18", timestamp=99.0)
            action.log("app:n", task_level="deep")
        for message in messages[1:3]:
            self.assertEqual(message["task_uuid"], action.task_uuid)
            self.assertIsInstance(message["timestamp"], float)
            self.assertNotIn("user_timestamp", message)
        self.assertEqual(messages[2]["task_level"], [3])

    def test_durationFieldKept(self) -> None:
        """
        A success field named C{duration} is written as given, in place of
        the duration txcausal measures (an Eliot program's own field).
        """
        messages = self.collect()
        with start_action(action_type="app:a") as action:
            action.add_success_fields(duration="3 weeks")
        self.assertEqual(messages[-1]["duration"], "3 weeks")


class LoggerSubclassTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    The path that hands a message straight to the only destination is
    taken for a plain L{Logger} only: a subclass's C{write} runs.
    """

    def test_subclassWriteRuns(self) -> None:
        """
        An action given a L{Logger} subclass that overrides C{write} has its
        start, its message and its finish go through that C{write}, even
        with one destination registered.
        """
        seen: List[str] = []

        class Tagging(Logger):
            def write(self, dictionary: Dict[str, Any], serializer: Any = None) -> None:
                seen.append(dictionary.get("message_type") or dictionary["action_status"])
                dictionary["tagged"] = True
                super().write(dictionary, serializer)

        messages = self.collect()
        with start_action(Tagging(), action_type="app:work"):
            log_message(message_type="app:step")
        self.assertEqual(seen, ["started", "app:step", "succeeded"])
        self.assertEqual([m.get("tagged") for m in messages], [True, True, True])
