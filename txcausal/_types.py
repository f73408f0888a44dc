# -*- test-case-name: txcausal.test.test_types -*-
"""
Typed messages and actions: L{Field}s serialize rich values when a message
is written and validate messages in tests; L{MessageType} and L{ActionType}
give messages and actions a documented shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence

from ._context import _get_action
from ._message import Message, _stamp_and_write
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    ALWAYS_VALID_FIELDS,
    DURATION_FIELD,
    EXCEPTION_FIELD,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    REASON_FIELD,
    RESERVED_FIELDS,
    STARTED_STATUS,
    SUCCEEDED_STATUS,
)

if TYPE_CHECKING:
    from ._action import Action
    from ._interfaces import ILogger


class ValidationError(Exception):
    """
    A message does not match its type: a field is missing, unexpected, or
    has a bad value.
    """


def _identity(value: Any) -> Any:
    return value


class Field:
    """
    One field of a typed message: its key, how to serialize its value, and
    how to check it.

    @ivar key: The field's name.
    @ivar description: What it means, for readers of the code and logs.
    """

    __slots__ = ("key", "description", "_serializer", "_extra_validator")

    def __init__(
        self,
        key: str,
        serializer: Callable[[Any], Any],
        description: str = "",
        extra_validator: Optional[Callable[[Any], None]] = None,
    ) -> None:
        """
        @param serializer: Turns a value into a JSON-compatible one.
        @param extra_validator: Raises L{ValidationError} for a bad value.
        """
        self.key = key
        self.description = description
        self._serializer = serializer
        self._extra_validator = extra_validator

    def serialize(self, value: Any) -> Any:
        """
        @return: The JSON-compatible form of C{value}.
        """
        return self._serializer(value)

    def validate(self, value: Any) -> None:
        """
        @raise ValidationError: If C{value} cannot be serialized or fails
            the extra validator.
        """
        try:
            self.serialize(value)
        except Exception as e:
            raise ValidationError(f"Field {self.key!r} cannot serialize {value!r}: {e}") from e
        if self._extra_validator is not None:
            self._extra_validator(value)

    @classmethod
    def for_value(cls, key: str, value: Any, description: str = "") -> "Field":
        """
        A field that may only have one value.
        """

        def check(given: Any) -> None:
            if given != value:
                raise ValidationError(f"Field {key!r} must be {value!r}, not {given!r}")

        return cls(key, lambda _: value, description, check)

    @classmethod
    def for_types(
        cls,
        key: str,
        classes: Iterable[Optional[type]],
        description: str = "",
        extra_validator: Optional[Callable[[Any], None]] = None,
    ) -> "Field":
        """
        A field whose value must be an instance of one of C{classes}
        (C{None} standing for C{type(None)}).
        """
        types = tuple(type(None) if c is None else c for c in classes)
        for t in types:
            if t not in _ALLOWED_TYPES:
                raise TypeError(f"{t!r} is not a JSON type; use Field() with a serializer")

        def check(value: Any) -> None:
            if not isinstance(value, types):
                raise ValidationError(
                    f"Field {key!r} must be one of {[t.__name__ for t in types]}, "
                    f"not {type(value).__name__}"
                )
            if extra_validator is not None:
                extra_validator(value)

        return cls(key, _identity, description, check)


_ALLOWED_TYPES = (str, bytes, int, float, bool, list, dict, type(None))


def fields(*fields: Field, **types: type) -> List[Field]:
    """
    Build a list of fields from L{Field}s and C{key=type} pairs.
    """
    result = list(fields)
    result.extend(Field.for_types(key, [t]) for key, t in types.items())
    return result


class _MessageSerializer:
    """
    Serializes and validates the messages of one type.
    """

    __slots__ = ("fields", "allow_additional_fields")

    def __init__(self, fields: Sequence[Field], allow_additional_fields: bool = False) -> None:
        keys = [f.key for f in fields]
        for key in keys:
            if key in RESERVED_FIELDS:
                raise ValueError(f"{key!r} is a reserved field name")
        if len(set(keys)) != len(keys):
            raise ValueError(f"Duplicate field names in {keys!r}")
        self.fields = {f.key: f for f in fields}
        self.allow_additional_fields = allow_additional_fields

    def serialize(self, message: Dict[str, Any]) -> None:
        """
        Serialize, in place, the values of the fields this type knows.
        """
        for key, field in self.fields.items():
            if key in message:
                message[key] = field.serialize(message[key])

    def validate(self, message: Dict[str, Any]) -> None:
        """
        @raise ValidationError: If C{message} does not match this type.
        """
        for key, field in self.fields.items():
            if key not in message:
                raise ValidationError(f"Field {key!r} is missing from {message!r}")
            field.validate(message[key])
        if self.allow_additional_fields:
            return
        for key in message:
            if key not in self.fields and key not in ALWAYS_VALID_FIELDS:
                raise ValidationError(f"Unexpected field {key!r} in {message!r}")


class MessageType:
    """
    A kind of message with known fields.  Calling it gives a L{Message};
    L{MessageType.log} writes one at once.
    """

    def __init__(self, message_type: str, fields: Sequence[Field], description: str = "") -> None:
        self.message_type = message_type
        self.description = description
        self.fields = list(fields)
        self._serializer = _MessageSerializer(
            [Field.for_value(MESSAGE_TYPE_FIELD, message_type, "The message type.")] + self.fields
        )

    def __call__(self, **fields: Any) -> Message:
        fields[MESSAGE_TYPE_FIELD] = self.message_type
        return Message(fields, self._serializer)

    def log(self, **fields: Any) -> None:
        """
        Write a message of this type inside the current action.
        """
        fields[MESSAGE_TYPE_FIELD] = self.message_type
        _stamp_and_write(fields, _get_action(), None, self._serializer)


class _ActionSerializers:
    """
    The serializers of an action's start, success and failure messages.
    """

    __slots__ = ("start", "success", "failure")

    def __init__(self, start: _MessageSerializer, success: _MessageSerializer,
                 failure: _MessageSerializer) -> None:
        self.start = start
        self.success = success
        self.failure = failure


_DURATION = Field.for_types(DURATION_FIELD, [float], "Seconds the action took.")


def _action_serializers(
    action_type: str, start_fields: Sequence[Field], success_fields: Sequence[Field]
) -> _ActionSerializers:
    def status(value: str) -> List[Field]:
        return [
            Field.for_value(ACTION_TYPE_FIELD, action_type, "The action type."),
            Field.for_value(ACTION_STATUS_FIELD, value, "The action status."),
        ]

    failure = status(FAILED_STATUS) + [
        _DURATION,
        Field.for_types(EXCEPTION_FIELD, [str], "The exception's qualified class name."),
        Field.for_types(REASON_FIELD, [str], "The exception, as text."),
    ]
    return _ActionSerializers(
        _MessageSerializer(status(STARTED_STATUS) + list(start_fields)),
        _MessageSerializer(status(SUCCEEDED_STATUS) + [_DURATION] + list(success_fields)),
        # Exception extractors may add any fields to a failure.
        _MessageSerializer(failure, allow_additional_fields=True),
    )


class ActionType:
    """
    A kind of action with known start and success fields.  Calling it starts
    an action like L{txcausal.start_action}; L{ActionType.as_task} starts a
    task.
    """

    def __init__(self, action_type: str, start_fields: Sequence[Field],
                 success_fields: Sequence[Field], description: str = "") -> None:
        self.action_type = action_type
        self.description = description
        self._serializers = _action_serializers(action_type, start_fields, success_fields)

    def __call__(self, logger: Optional["ILogger"] = None, **fields: Any) -> "Action":
        from ._action import _begin

        return _begin(_get_action(), logger, self.action_type, fields, self._serializers)

    def as_task(self, logger: Optional["ILogger"] = None, **fields: Any) -> "Action":
        """
        Start a new task of this type, whatever the current action.
        """
        from ._action import _begin

        return _begin(None, logger, self.action_type, fields, self._serializers)
