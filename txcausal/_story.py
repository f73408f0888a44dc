# -*- test-case-name: txcausal.test.test_story -*-
"""
The story of a key (a request id, a user id, a cache key), as Dask's
C{story(key)} answers "what happened to this key": what mentions the key,
and everything logged inside an action that mentions it.

L{KeyMatcher} decides what mentions a key; L{story_entries} finds the story
among flat messages and events, for the L{txcausal.Ledger}.  The story in
task trees read from logs is in L{txcausal._task_story}.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Pattern, Sequence, Set, Tuple

from ._wire import ACTION_STATUS_FIELD, STRUCTURAL_FIELDS, TASK_UUID_FIELD


class KeyMatcher:
    """
    Match messages against keys.

    A field value mentions a key when it is equal to it (numbers compared
    by their text: key C{"42"} matches C{42}), when a dictionary inside it
    has the key as a field name, or when a string contains the key as a
    whole word (C{"/users/42/cart"} mentions C{"42"}, C{"1420"} does not).
    """

    def __init__(self, keys: Iterable[str]) -> None:
        """
        @param keys: The keys; their text (C{str}) is looked for.
        @raise ValueError: If a key is empty: every string contains it, so
            it would match every task.
        """
        self.keys: Tuple[str, ...] = tuple(str(key) for key in keys)
        if "" in self.keys:
            raise ValueError("an empty key would match every task: give a key that is not empty")
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
            if name not in STRUCTURAL_FIELDS and self.mentions(value):
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


Entry = Tuple[float, Any, Optional[str], Optional[Tuple[int, ...]]]


def story_entries(matcher: KeyMatcher, entries: Sequence[Entry]) -> List[Tuple[float, Any]]:
    """
    The story of C{matcher}'s keys among flat entries (as a
    L{txcausal.Ledger} keeps them), in time order.

    @param entries: C{(time, message or event, task UUID, action level)},
        where the action level is that of the action the entry was logged
        in (for a message, its C{task_level} without the last index), or
        C{None} outside any.
    @return: C{(time, message or event)} of the entries of a task named by
        a key, those that mention a key, and those inside an action that
        mentions one.
    """
    actions: Set[Tuple[Optional[str], Tuple[int, ...]]] = set()
    chosen = [False] * len(entries)
    for number, (_, msg, task, action) in enumerate(entries):
        if task is not None and task in matcher.keys:
            chosen[number] = True
        elif isinstance(msg, dict) and matcher.matches(msg):
            chosen[number] = True
            if msg.get(ACTION_STATUS_FIELD) is not None and action is not None:
                actions.add((task, action))
        elif not isinstance(msg, dict) and matcher.mentions(msg):
            chosen[number] = True
    if actions:
        for number, (_, _, task, action) in enumerate(entries):
            if not chosen[number] and action is not None:
                chosen[number] = any((task, action[:n]) in actions for n in range(len(action) + 1))
    story = [(when, msg) for (when, msg, _, _), keep in zip(entries, chosen, strict=True) if keep]
    story.sort(key=lambda event: event[0])
    return story
