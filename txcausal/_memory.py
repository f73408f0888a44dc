# -*- test-case-name: txcausal.test.test_memory -*-
"""
L{MemoryLogger}: keeps messages in memory, for tests.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Tuple, Type, Union

from zope.interface import implementer

from ._errors import TRACEBACK_MESSAGE
from ._interfaces import ILogger
from ._json import encoder_for, safe_repr
from ._jsondefault import EncoderClass, JSONDefault, checked_default
from ._reentry import Parked, holders, holding, in_order, parked
from ._tasklevel import valid_level
from ._types import ValidationError
from ._wire import TASK_LEVEL_FIELD, TASK_UUID_FIELD, TIMESTAMP_FIELD


@implementer(ILogger)
class MemoryLogger:
    """
    A logger that keeps what it is given, unserialized, for inspection.
    Thread-safe.

    @ivar messages: The message dictionaries, in the order written.
    @ivar serializers: The serializer given with each message (or C{None}).
    @ivar tracebackMessages: The C{eliot:traceback} messages not yet
        flushed (Eliot's name).
    """

    def __init__(self, encoder: EncoderClass = None,
                 json_default: JSONDefault = None) -> None:
        """
        @param encoder: Deprecated, as in Eliot 1.18: a L{json.JSONEncoder}
            subclass; pass C{json_default} instead.
        @param json_default: A function for types JSON does not know, which
            L{validate} encodes messages with, as given to
            L{txcausal.to_file}.
        @raise TypeError: If both are given, or either is not what it
            should be.
        """
        self._encoder = encoder_for(checked_default(json_default, encoder))
        self._lock = threading.Lock()
        #: What was written on a thread where it held the lock (see
        #: L{txcausal._reentry}).
        self._parked: Parked[Tuple[Dict[str, Any], Optional[Any]]] = parked()
        self.messages: List[Dict[str, Any]] = []
        self.serializers: List[Optional[Any]] = []
        self.tracebackMessages: List[Dict[str, Any]] = []

    def write(self, dictionary: Dict[str, Any], serializer: Optional[Any] = None) -> None:
        """
        Keep a message.
        """
        pair = (dictionary, serializer)
        # Written on this thread where it holds the lock (a finalizer, a
        # signal handler): parked, and kept once the lock is released.
        in_order(self._lock, self, _HOLDERS, self._parked, pair, self._keep)

    def _keep(self, pair: Tuple[Dict[str, Any], Optional[Any]]) -> None:
        """
        Keep a message (for L{write}, or parked by it: see
        L{txcausal._reentry}).
        """
        dictionary, serializer = pair
        with self._lock:
            self.messages.append(dictionary)
            self.serializers.append(serializer)
            if serializer is TRACEBACK_MESSAGE._serializer:
                self.tracebackMessages.append(dictionary)

    def reset(self) -> None:
        """
        Forget every message and traceback.
        """
        with holding(self._lock, self._parked, self._keep):
            self.messages = []
            self.serializers = []
            self.tracebackMessages = []

    def flush_tracebacks(
        self, exception_type: Union[Type[BaseException], Tuple[Type[BaseException], ...]]
    ) -> List[Dict[str, Any]]:
        """
        Take out the tracebacks of exceptions of C{exception_type} (or of its
        subclasses), so they no longer count as unexpected.

        @param exception_type: An exception class, or a tuple of them.
        @return: The traceback messages taken out, in the order logged.
        @raise TypeError: If C{exception_type} is not an exception class.
        """
        _check_exception_type(exception_type)
        with holding(self._lock, self._parked, self._keep):
            flushed: List[Dict[str, Any]] = []
            kept: List[Dict[str, Any]] = []
            for message in self.tracebackMessages:
                matches = isinstance(message.get("reason"), exception_type)
                (flushed if matches else kept).append(message)
            self.tracebackMessages = kept
        return flushed

    def _pairs(self) -> List[Tuple[Dict[str, Any], Optional[Any]]]:
        """
        @return: A consistent snapshot of the messages with their
            serializers.
        """
        with holding(self._lock, self._parked, self._keep):
            pairs = list(zip(self.messages, self.serializers, strict=True))
        return pairs

    def __repr__(self) -> str:
        return (
            f"<MemoryLogger {len(self.messages)} messages, "
            f"{len(self.tracebackMessages)} unflushed tracebacks>"
        )

    def serialize(self) -> List[Dict[str, Any]]:
        """
        @return: The messages as destinations receive them: serialized
            copies.
        """
        result = []
        for message, serializer in self._pairs():
            message = dict(message)
            if serializer is not None:
                serializer.serialize(message)
            result.append(message)
        return result

    def validate(self) -> None:
        """
        Check every message: it has a task position (a C{task_uuid} string,
        a C{task_level} that is a non-empty list of positive integers, at
        most 100 deep, as the log readers take them) and a number for its C{timestamp}, matches
        its type's fields when typed, and can be encoded as JSON.

        @raise ValidationError: For a message that does not match.
        @raise TypeError: For one with values that cannot be encoded (a
            value with a documented representation, such as NaN or a key
            that is not a string, is accepted).
        """
        for message, serializer in self._pairs():
            _check_position(message)
            if serializer is not None:
                serializer.validate(message)
                message = dict(message)
                serializer.serialize(message)
            try:
                self._encoder.dumps(message)
            except TypeError as e:
                raise TypeError(f"{e}, in message {safe_repr(message, 1000)}") from e


def _check_position(message: Dict[str, Any]) -> None:
    """
    @raise ValidationError: If C{message} has no task position or timestamp,
        or an odd one (see L{MemoryLogger.validate}).
    """
    for key in (TASK_UUID_FIELD, TASK_LEVEL_FIELD, TIMESTAMP_FIELD):
        if key not in message:
            raise ValidationError(f"Message is missing {key!r}: {message!r}")
    timestamp = message[TIMESTAMP_FIELD]
    for key, valid, wanted in (
            (TASK_UUID_FIELD, message[TASK_UUID_FIELD].__class__ is str, "a string"),
            (TASK_LEVEL_FIELD, valid_level(message[TASK_LEVEL_FIELD]),
             "a non-empty list of positive integers"),
            (TIMESTAMP_FIELD, timestamp.__class__ in (int, float), "a number")):
        if not valid:
            raise ValidationError(f"Message's {key!r} is not {wanted}: {message!r}")


def _check_exception_type(exception_type: Any) -> None:
    """
    @raise TypeError: If C{exception_type} is neither an exception class nor
        a tuple of them.
    """
    classes = exception_type if isinstance(exception_type, tuple) else (exception_type,)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise TypeError(
                f"flush_tracebacks() takes an exception class, not {cls!r}"
            )


#: The methods that hold a L{MemoryLogger}'s lock (see L{txcausal._reentry}).
_HOLDERS = holders(MemoryLogger._keep, MemoryLogger.reset, MemoryLogger.flush_tracebacks,
                   MemoryLogger._pairs)
