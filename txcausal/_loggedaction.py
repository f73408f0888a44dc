# -*- test-case-name: txcausal.test.test_loggedaction -*-
"""
Reading captured messages back as actions and messages, for assertions in
tests: L{LoggedAction}, L{LoggedMessage} and the C{assert*} helpers built on
them.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union
from unittest import TestCase

from attrs import frozen

from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    STARTED_STATUS,
    SUCCEEDED_STATUS,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
)

Message = Dict[str, Any]
_FINISHED = (SUCCEEDED_STATUS, FAILED_STATUS)


def _type_name(kind: Any, attribute: str) -> str:
    """
    @param kind: A type name, or a L{txcausal.MessageType} or
        L{txcausal.ActionType} (anything with the C{attribute}).
    @return: The type name.
    @raise TypeError: For anything else.
    """
    if isinstance(kind, str):
        return kind
    name = getattr(kind, attribute, None)
    if not isinstance(name, str):
        raise TypeError(f"Expected a str or an object with a {attribute!r}, not {kind!r}")
    return name


def _level(message: Message) -> Optional[Tuple[int, ...]]:
    """
    @return: The message's task level as a tuple, or C{None} if it has no
        usable one.
    """
    level = message.get(TASK_LEVEL_FIELD)
    if isinstance(level, (list, tuple)) and level and all(isinstance(n, int) for n in level):
        return tuple(level)
    return None


def _is_action_message(message: Message, status: Union[str, Tuple[str, ...]]) -> bool:
    """
    @return: Whether C{message} is the start (C{status="started"}) or finish
        message of an action.
    """
    if ACTION_TYPE_FIELD not in message:
        return False
    found = message.get(ACTION_STATUS_FIELD)
    return found == status if isinstance(status, str) else found in status


@frozen
class LoggedMessage:
    """
    A message that was logged outside any action or inside one.

    @ivar message: The message dictionary, as logged.
    """

    message: Message

    @classmethod
    def of_type(cls, messages: Sequence[Message], message_type: Any) -> List["LoggedMessage"]:
        """
        Find the messages of one type.

        @param messages: Message dictionaries, e.g. C{logger.messages}.
        @param message_type: A L{txcausal.MessageType}, or its name.
        @return: The matching messages, in the order logged.
        """
        name = _type_name(message_type, "message_type")
        return [cls(m) for m in messages if m.get(MESSAGE_TYPE_FIELD) == name]


@frozen
class LoggedAction:
    """
    An action that was logged, started and finished, with what was logged
    inside it.

    @ivar start_message: Its C{started} message.
    @ivar end_message: Its C{succeeded} or C{failed} message.
    @ivar children: The L{LoggedMessage}s and L{LoggedAction}s directly
        inside it, in task-level order.
    """

    start_message: Message
    end_message: Message
    children: List[Union["LoggedAction", LoggedMessage]]

    @classmethod
    def from_messages(
        cls, task_uuid: str, task_level: Sequence[int], messages: Sequence[Message]
    ) -> "LoggedAction":
        """
        Build the action whose start message is at C{task_level} in the task
        C{task_uuid}.

        @param task_level: The level of the start message, e.g. C{[2, 1]};
            as Eliot takes it, an empty one names the task's top action,
            started at C{[1]}.
        @raise ValueError: If its start or end message is missing (an action
            still running has no end message yet).
        """
        return _Index(messages).build(task_uuid, tuple(task_level) or (1,))

    @classmethod
    def of_type(cls, messages: Sequence[Message], action_type: Any) -> List["LoggedAction"]:
        """
        Find the actions of one type.

        @param messages: Message dictionaries, e.g. C{logger.messages}.
        @param action_type: A L{txcausal.ActionType}, or its name.
        @return: The matching actions, in the order they started.
        @raise ValueError: If one of them has not finished.
        """
        name = _type_name(action_type, "action_type")
        index = _Index(messages)
        return [index.build(uuid, level) for uuid, level, message in index.starts
                if message.get(ACTION_TYPE_FIELD) == name]

    def descendants(self) -> Iterator[Union["LoggedAction", LoggedMessage]]:
        """
        @return: Every message and action inside this one, depth first.
        """
        for child in self.children:
            yield child
            if isinstance(child, LoggedAction):
                yield from child.descendants()

    @property
    def succeeded(self) -> bool:
        """
        Whether the action succeeded.
        """
        return bool(self.end_message.get(ACTION_STATUS_FIELD) == SUCCEEDED_STATUS)

    def type_tree(self) -> Dict[str, List[Any]]:
        """
        @return: The types inside this action, nested:
            C{{"app:outer": ["app:msg", {"app:inner": []}]}}.
        """
        children: List[Any] = [
            child.type_tree() if isinstance(child, LoggedAction)
            else child.message.get(MESSAGE_TYPE_FIELD)
            for child in self.children
        ]
        return {self.start_message[ACTION_TYPE_FIELD]: children}


#: Where messages sit: the task UUID and the level without its last index.
_Slot = Tuple[Any, Tuple[int, ...]]
#: An entry of a slot: the last index, the position in the log, the item.
_Entry = Tuple[int, int, Any]


class _Index:
    """
    Captured messages grouped by where they sit, so that building any action
    looks only at its own messages: building every action of a log is linear
    in its size (plus sorting each action's children).

    @ivar starts: Every start message, as C{(task_uuid, level, message)}, in
        the order logged.
    """

    def __init__(self, messages: Sequence[Message]) -> None:
        self._slots: Dict[_Slot, List[_Entry]] = {}
        self._child_starts: Dict[_Slot, List[_Entry]] = {}
        self._built: Dict[_Slot, LoggedAction] = {}
        self.starts: List[Tuple[Any, Tuple[int, ...], Message]] = []
        for position, message in enumerate(messages):
            level = _level(message)
            if level is None:
                continue
            uuid = message.get(TASK_UUID_FIELD)
            self._slots.setdefault((uuid, level[:-1]), []).append((level[-1], position, message))
            if _is_action_message(message, STARTED_STATUS):
                self.starts.append((uuid, level, message))
                if level[-1] == 1 and len(level) > 1:
                    entry = (level[-2], position, level)
                    self._child_starts.setdefault((uuid, level[:-2]), []).append(entry)

    def build(self, task_uuid: Any, level: Tuple[int, ...]) -> LoggedAction:
        """
        Build (once) the action whose start message is at C{level}.

        @raise ValueError: If its start or end message is missing.
        """
        built = self._built.get((task_uuid, level))
        if built is None:
            built = self._built[(task_uuid, level)] = self._build(task_uuid, level)
        return built

    def _build(self, task_uuid: Any, level: Tuple[int, ...]) -> LoggedAction:
        prefix = level[:-1]
        start: Optional[Message] = None
        end: Optional[Message] = None
        children: List[_Entry] = []
        for index, position, message in self._slots.get((task_uuid, prefix), ()):
            if index == level[-1] and _is_action_message(message, STARTED_STATUS):
                start = message
            elif _is_action_message(message, _FINISHED):
                end = message
            else:
                children.append((index, position, LoggedMessage(message)))
        for index, position, child in self._child_starts.get((task_uuid, prefix), ()):
            children.append((index, position, self.build(task_uuid, child)))
        where = f"{task_uuid}@/{'/'.join(map(str, level))}"
        if start is None:
            raise ValueError(f"No start message at {where}")
        if end is None:
            raise ValueError(
                f"Action {start.get(ACTION_TYPE_FIELD)!r} at {where} has no end message: "
                "it had not finished when the messages were read"
            )
        children.sort(key=lambda entry: entry[:2])
        return LoggedAction(start, end, [child for _, _, child in children])


def _asserter(testcase: Any) -> Any:
    """
    @return: C{testcase}, or, for C{None} or an instance of a plain pytest
        test class (neither has C{unittest}'s assertions), a plain
        C{unittest.TestCase} whose C{assert*} methods raise C{AssertionError}.
    """
    if hasattr(testcase, "assertEqual") and hasattr(testcase, "assertTrue"):
        return testcase
    plain = TestCase()
    plain.maxDiff = None
    return plain


def assertContainsFields(test: Any, message: Message, fields: Dict[str, Any]) -> None:
    """
    Assert that C{message} has all of C{fields}, with these values (other
    fields are allowed).

    @param test: The running test case (its C{assertEqual} reports), or
        C{None} in a pytest test.
    @raise AssertionError: If it has not (the test case's
        C{failureException}).
    """
    subset = {key: message[key] for key in fields if key in message}
    _asserter(test).assertEqual(subset, fields)


def assertHasMessage(testCase: Any, logger: Any, messageType: Any,
                     fields: Optional[Dict[str, Any]] = None) -> LoggedMessage:
    """
    Assert that C{logger} has a message of C{messageType} and that the first
    one has C{fields}.  Usable as the assertion of
    L{txcausal.testing.capture_logging}.  (The parameters are spelled as
    Eliot's, in the camelCase of C{unittest}'s assertions.)

    @param testCase: The running test case, or C{None} in a pytest test.
    @param logger: A L{txcausal.MemoryLogger}.
    @param messageType: A L{txcausal.MessageType}, or its name.
    @return: The first message of that type.
    """
    testcase = _asserter(testCase)
    name = _type_name(messageType, "message_type")
    found = LoggedMessage.of_type(logger.messages, name)
    testcase.assertTrue(found, f"No message of type {name!r} was logged")
    if fields:
        assertContainsFields(testcase, found[0].message, fields)
    return found[0]


def assertHasAction(testCase: Any, logger: Any, actionType: Any, succeeded: bool,
                    startFields: Optional[Dict[str, Any]] = None,
                    endFields: Optional[Dict[str, Any]] = None) -> LoggedAction:
    """
    Assert that C{logger} has an action of C{actionType}, and that the first
    one succeeded (or failed) and has these start and end fields.  Usable as
    the assertion of L{txcausal.testing.capture_logging}.  (The parameters
    are spelled as Eliot's, in the camelCase of C{unittest}'s assertions.)

    @param testCase: The running test case, or C{None} in a pytest test.
    @param logger: A L{txcausal.MemoryLogger}.
    @param actionType: A L{txcausal.ActionType}, or its name.
    @param succeeded: Whether the action is expected to have succeeded.
    @return: The first action of that type.
    """
    testcase = _asserter(testCase)
    name = _type_name(actionType, "action_type")
    found = LoggedAction.of_type(logger.messages, name)
    testcase.assertTrue(found, f"No action of type {name!r} was logged")
    action = found[0]
    testcase.assertEqual(
        action.succeeded, succeeded,
        f"Action {name!r} {'succeeded' if action.succeeded else 'failed'}: {action.end_message!r}",
    )
    if startFields:
        assertContainsFields(testcase, action.start_message, startFields)
    if endFields:
        assertContainsFields(testcase, action.end_message, endFields)
    return action
