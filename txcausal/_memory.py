# -*- test-case-name: txcausal.test.test_memory -*-
"""
L{MemoryLogger}: keeps messages in memory, for tests.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Type

from zope.interface import implementer

from ._errors import TRACEBACK_MESSAGE
from ._interfaces import ILogger
from ._json import DEFAULT_ENCODER, EncoderHook, encoder_for
from ._message import TASK_LEVEL_FIELD, TASK_UUID_FIELD, TIMESTAMP_FIELD
from ._types import ValidationError


@implementer(ILogger)
class MemoryLogger:
    """
    A logger that keeps what it is given, unserialized, for inspection.
    Thread-safe.

    @ivar messages: The message dictionaries, in the order written.
    @ivar serializers: The serializer given with each message (or C{None}).
    @ivar tracebacks: The C{eliot:traceback} messages not yet flushed.
    """

    def __init__(self, encoder: EncoderHook = None) -> None:
        """
        @param encoder: The encoder hook that L{validate} checks messages
            against, as given to L{txcausal.to_file}.
        """
        self._encoder = encoder_for(encoder) if encoder is not None else DEFAULT_ENCODER
        self._lock = threading.Lock()
        self.messages: List[Dict[str, Any]] = []
        self.serializers: List[Optional[Any]] = []
        self.tracebacks: List[Dict[str, Any]] = []

    def write(self, dictionary: Dict[str, Any], serializer: Optional[Any] = None) -> None:
        """
        Keep a message.
        """
        with self._lock:
            self.messages.append(dictionary)
            self.serializers.append(serializer)
            if serializer is TRACEBACK_MESSAGE._serializer:
                self.tracebacks.append(dictionary)

    def reset(self) -> None:
        """
        Forget every message and traceback.
        """
        with self._lock:
            self.messages = []
            self.serializers = []
            self.tracebacks = []

    def flush_tracebacks(self, exception_type: Type[BaseException]) -> List[Dict[str, Any]]:
        """
        Take out the tracebacks of exceptions of C{exception_type}, so they
        no longer count as unexpected.

        @return: The traceback messages taken out.
        """
        with self._lock:
            flushed = [m for m in self.tracebacks if isinstance(m["reason"], exception_type)]
            self.tracebacks = [m for m in self.tracebacks if m not in flushed]
        return flushed

    def serialize(self) -> List[Dict[str, Any]]:
        """
        @return: The messages as destinations receive them: serialized
            copies.
        """
        with self._lock:
            pairs = list(zip(self.messages, self.serializers))
        result = []
        for message, serializer in pairs:
            message = dict(message)
            if serializer is not None:
                serializer.serialize(message)
            result.append(message)
        return result

    def validate(self) -> None:
        """
        Check every message: it has a task position and timestamp, matches
        its type's fields when typed, and can be encoded as JSON.

        @raise ValidationError: For a message that does not match.
        @raise TypeError: For one that cannot be encoded.
        """
        with self._lock:
            pairs = list(zip(self.messages, self.serializers))
        for message, serializer in pairs:
            for key in (TASK_UUID_FIELD, TASK_LEVEL_FIELD, TIMESTAMP_FIELD):
                if key not in message:
                    raise ValidationError(f"Message is missing {key!r}: {message!r}")
            if serializer is not None:
                serializer.validate(message)
                message = dict(message)
                serializer.serialize(message)
            self._encoder.dumps(message)
