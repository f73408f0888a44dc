# -*- test-case-name: txcausal.test.test_ledger -*-
"""
Deciding whether a message belongs to the story of a key: the messages of
the task with that UUID, and those whose fields mention the key (a request
id, a user id, a cache key), as Dask's C{story(key)} answers "what happened
to this key".
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, Pattern, Sequence, Tuple

from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DURATION_FIELD,
    MESSAGE_TYPE_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
)

_STRUCTURAL = frozenset(
    [
        TASK_UUID_FIELD,
        TASK_LEVEL_FIELD,
        TIMESTAMP_FIELD,
        ACTION_STATUS_FIELD,
        ACTION_TYPE_FIELD,
        MESSAGE_TYPE_FIELD,
        DURATION_FIELD,
    ]
)


class KeyMatcher:
    """
    Match messages against keys.

    A field value mentions a key when it is equal to it (numbers compared
    by their text: key C{"42"} matches C{42}), when a dictionary inside it
    has the key as a field name, or when a string contains the key as a
    whole word (C{"/users/42/cart"} mentions C{"42"}, C{"1420"} does not).
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys: Tuple[str, ...] = tuple(str(key) for key in keys)
        self._key_set = frozenset(self.keys)
        self._words: Sequence[Tuple[str, Pattern[str]]] = [
            (key, re.compile(r"(?<![\w-])" + re.escape(key) + r"(?![\w-])")) for key in self.keys
        ]

    def matches(self, message: Dict[str, Any]) -> bool:
        """
        Whether C{message} is in the story of one of the keys.
        """
        if message.get(TASK_UUID_FIELD) in self._key_set:
            return True
        for name, value in message.items():
            if name not in _STRUCTURAL and self.mentions(value):
                return True
        return False

    def mentions(self, value: Any) -> bool:
        """
        Whether a value (a field, or an event that is not a dictionary)
        mentions one of the keys, however deeply nested.
        """
        keys, pending = self._key_set, [value]
        while pending:
            value = pending.pop()
            cls = value.__class__
            if cls is str:
                if value in keys or any(
                    key in value and word.search(value) is not None for key, word in self._words
                ):
                    return True
            elif cls is int or cls is float:
                if _number_text(value) in keys:
                    return True
            elif cls is dict:
                if any(name in keys for name in value):
                    return True
                pending.extend(value.values())
            elif cls is list or cls is tuple:
                pending.extend(value)
        return False


def _number_text(number: Any) -> str:
    try:
        return str(number)
    except ValueError:  # An integer too long to print.
        return ""


def by_time(message: Dict[str, Any]) -> Tuple[int, float]:
    """
    A sort key putting messages in time order, those without a timestamp
    last.
    """
    when = message.get(TIMESTAMP_FIELD)
    if isinstance(when, (int, float)):
        return (0, float(when))
    return (1, 0.0)
