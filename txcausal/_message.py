# -*- test-case-name: txcausal.test.test_message -*-
"""
Standalone messages: L{log_message} and L{Message}.
"""

from __future__ import annotations

from time import time
from typing import TYPE_CHECKING, Any, Dict, Optional

from . import _output
from ._context import _get_action
from ._output import Logger
from ._uuid import new_task_uuid
from ._wire import MESSAGE_TYPE_FIELD, TASK_LEVEL_FIELD, TASK_UUID_FIELD, TIMESTAMP_FIELD

if TYPE_CHECKING:
    from ._action import Action
    from ._interfaces import ILogger
    from ._types import _MessageSerializer


def log_message(message_type: str, **fields: Any) -> None:
    """
    Log a message inside the current action (or as a task of its own when no
    action is current).

    @param message_type: What kind of message this is, e.g.
        C{"myapp:cache:miss"}.
    @param fields: The message's fields; values must be JSON-compatible or
        encodable by the destinations' encoders.
    """
    fields[MESSAGE_TYPE_FIELD] = message_type
    _stamp_and_write(fields, _get_action(), None, None)


def _stamp_and_write(
    fields: Dict[str, Any],
    action: Optional["Action"],
    logger: Optional["ILogger"],
    serializer: Optional["_MessageSerializer"],
) -> None:
    """
    Add the task position and timestamp to C{fields} and write it.

    @param fields: A dictionary this function may mutate and hand on.
    @param action: The action the message is in, or C{None} for a new task.
    @param logger: Where to write; C{None} for the action's logger or (for
        a new task) the default one.
    @param serializer: The serializer of a typed message, if any.
    """
    if action is None:
        fields[TASK_UUID_FIELD] = new_task_uuid()
        fields[TASK_LEVEL_FIELD] = [1]
    else:
        fields[TASK_UUID_FIELD] = action._task_uuid
        # Action._next_level, inlined: this runs for every message.
        action._counter = counter = action._counter + 1
        fields[TASK_LEVEL_FIELD] = [*action._level, counter]
        if logger is None:
            logger = action._logger
    fields[TIMESTAMP_FIELD] = time()
    if logger is None:
        logger = _output._DEFAULT_LOGGER
    if serializer is not None or type(logger) is not Logger:
        logger.write(fields, serializer)
        return
    # Logger.write, and Destinations.send's path to its only destination,
    # inlined: this runs for every message.
    destinations = logger._destinations
    single = destinations._single
    if single is None:
        destinations.send(fields)
        return
    try:
        single(fields)
    except BaseException as e:
        destinations._single_failed(fields, single, e)


class Message:
    """
    A message that can be built up, then written.

    Prefer L{log_message} for one-off messages; a L{Message} is handy to bind
    common fields once and write variants later.
    """

    __slots__ = ("_contents", "_serializer")

    def __init__(
        self, contents: Dict[str, Any], serializer: Optional["_MessageSerializer"] = None
    ) -> None:
        """
        @param contents: The message's fields.
        @param serializer: The serializer of its L{txcausal.MessageType}, if
            any.
        """
        self._contents = contents
        self._serializer = serializer

    @classmethod
    def new(cls, _serializer: Optional["_MessageSerializer"] = None, **fields: Any) -> "Message":
        """
        Create a message with the given fields.
        """
        return cls(fields, _serializer)

    @classmethod
    def log(cls, **fields: Any) -> None:
        """
        Create a message with the given fields and write it at once: the
        same as C{Message.new(**fields).write()}.
        """
        fields.setdefault(MESSAGE_TYPE_FIELD, "")
        _stamp_and_write(fields, _get_action(), None, None)

    def bind(self, **fields: Any) -> "Message":
        """
        @return: A new message with this one's fields updated by C{fields};
            this message is unchanged.
        """
        contents = self._contents.copy()
        contents.update(fields)
        return Message(contents, self._serializer)

    def contents(self) -> Dict[str, Any]:
        """
        @return: A copy of the message's fields.
        """
        return self._contents.copy()

    def write(self, logger: Optional["ILogger"] = None, action: Optional["Action"] = None) -> None:
        """
        Write the message inside C{action} (default: the current action).
        A message without C{message_type} is written with an empty one, as
        Eliot writes it, so that every message has a type.

        @param logger: Where to write it; default: the action's logger, or
            the global one.
        @param action: The action to log it in.
        """
        if action is None:
            action = _get_action()
        fields = self._contents.copy()
        fields.setdefault(MESSAGE_TYPE_FIELD, "")
        _stamp_and_write(fields, action, logger, self._serializer)

    def __repr__(self) -> str:
        return f"<Message {self._contents!r}>"
