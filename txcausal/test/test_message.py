"""
Tests for L{txcausal._message}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from txcausal import MemoryLogger, Message, log_message, start_action

from ._helpers import IsolatedOutputMixin


class MessageTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    L{log_message} and L{Message}.
    """

    def test_logMessage(self) -> None:
        """
        L{log_message} writes its type and fields inside the current action.
        """
        messages = self.collect()
        with start_action(action_type="a") as action:
            log_message(message_type="m", key=123, value="hello")
        m = messages[1]
        self.assertEqual((m["message_type"], m["key"], m["value"]), ("m", 123, "hello"))
        self.assertEqual((m["task_uuid"], m["task_level"]), (action.task_uuid, [2]))

    def test_messageLog(self) -> None:
        """
        L{Message.log} writes its fields at once.
        """
        messages = self.collect()
        Message.log(key=1)
        self.assertEqual((messages[0]["key"], messages[0]["task_level"]), (1, [1]))

    def test_newAndWrite(self) -> None:
        """
        L{Message.new} builds a message written later by L{Message.write};
        writing twice gives two messages.
        """
        messages = self.collect()
        message = Message.new(key=1)
        message.write()
        message.write()
        self.assertEqual([m["key"] for m in messages], [1, 1])
        self.assertEqual(message.contents(), {"key": 1})

    def test_bindDoesNotMutate(self) -> None:
        """
        L{Message.bind} returns a new message with updated fields.
        """
        original = Message.new(key=123, value="hello")
        bound = original.bind(value="other", extra=456)
        self.assertEqual(original.contents(), {"key": 123, "value": "hello"})
        self.assertEqual(bound.contents(), {"key": 123, "value": "other", "extra": 456})

    def test_writeToLoggerAndAction(self) -> None:
        """
        L{Message.write} takes an explicit logger and action.
        """
        self.collect()
        logger = MemoryLogger()
        action = start_action(action_type="a")
        Message.new(key=1).write(logger, action)
        self.assertEqual(logger.messages[0]["task_level"], [2])
        self.assertEqual(logger.messages[0]["task_uuid"], action.task_uuid)

    def test_untypedMessagesHaveEmptyType(self) -> None:
        """
        A message written without C{message_type} (L{Message.log},
        L{Message.new} then L{Message.write}) gets an empty one, as Eliot
        writes it, so every message has a type; a given type is kept.
        """
        messages = self.collect()
        Message.log(key=123)
        Message.new(key=1).write()
        Message.new(message_type="app:m").write()
        self.assertEqual([m["message_type"] for m in messages], ["", "", "app:m"])
