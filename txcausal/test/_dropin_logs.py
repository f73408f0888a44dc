"""
What the drop-in harness (L{txcausal.test.test_dropin}) does to a log
besides comparing it: take txcausal's tracing of Dask tasks out of it, as
Eliot 1.18 does not log it on current Dask; and read back what a program
wrote to journald.
"""

from __future__ import annotations

import ctypes
from typing import Any, Dict, Iterator, List, Set, Tuple

import orjson
from twisted.trial.unittest import SkipTest

from .._wire import is_attempt
from . import _journald

Level = Tuple[int, ...]

#: The fields of a journal entry that the harness compares, beside the
#: message in C{MESSAGE}.
JOURNAL_FIELDS = ("ELIOT_TASK", "ELIOT_TYPE", "PRIORITY", "SYSLOG_IDENTIFIER")


def _placed(message: Any) -> bool:
    return (isinstance(message, dict) and isinstance(message.get("task_uuid"), str)
            and isinstance(message.get("task_level"), list))


class _Task:
    """
    The levels of one task's messages, as a tree, and the Dask tasks traced
    in it.
    """

    def __init__(self, messages: List[Dict[str, Any]]) -> None:
        levels = {tuple(m["task_level"]): m for m in messages}
        self.children: Dict[Level, Set[int]] = {}
        for level in levels:
            for depth in range(len(level)):
                self.children.setdefault(level[:depth], set()).add(level[depth])
        #: The levels of the traced tasks' actions.
        self.traced: Set[Level] = set()
        #: Their start, C{dask:task} and finish messages.
        self.removed: Set[Level] = set()
        for level, message in levels.items():
            start = levels.get(level[:-1] + (1,), {})
            if (message.get("message_type") == "dask:task" and level[-1] == 2
                    and start.get("action_type") == "eliot:remote_task"):
                self._trace(level[:-1], levels)

    def _trace(self, action: Level, levels: Dict[Level, Dict[str, Any]]) -> None:
        self.traced.add(action)
        if is_attempt(levels[action + (1,)], action):
            # An attempt, below the task's position, which has no action.
            self.traced.add(action[:-1])
        last = action + (max(self.children[action]),)
        self.removed |= {action + (1,), action + (2,)}
        if levels.get(last, {}).get("action_type") == "eliot:remote_task":
            self.removed.add(last)

    def slots(self, level: Level) -> Iterator[Level]:
        """
        @return: The levels of what is under C{level}, in order, a traced
            task's in its place, without its own messages.
        """
        for index in sorted(self.children.get(level, ())):
            child = level + (index,)
            if child in self.removed:
                continue
            if child in self.traced:
                yield from self.slots(child)
            else:
                yield child

    def renumbered(self, old: Level = (), new: Level = ()) -> Dict[Level, Level]:
        """
        @return: The new level of each level under C{old}, now C{new}.
        """
        mapping = {}
        for index, child in enumerate(self.slots(old), 1):
            mapping[child] = new + (index,)
            mapping.update(self.renumbered(child, new + (index,)))
        return mapping


def without_dask_tracing(messages: List[Any]) -> List[Any]:
    """
    Take txcausal's tracing of Dask tasks out of a log: each
    C{eliot:remote_task} action whose first message is C{dask:task} (and,
    for an attempt, the task's position above it) gives way to what the
    task logged inside it, one level up, and the levels after it are
    renumbered, as Eliot 1.18 logs (its tracing does nothing
    on current Dask).

    @return: The messages, in their order.
    """
    by_task: Dict[str, List[Dict[str, Any]]] = {}
    for message in filter(_placed, messages):
        by_task.setdefault(message["task_uuid"], []).append(message)
    tasks = {uuid: _Task(found) for uuid, found in by_task.items()}
    mappings = {uuid: task.renumbered() for uuid, task in tasks.items() if task.traced}
    result = []
    for message in messages:
        if not (_placed(message) and message["task_uuid"] in mappings):
            result.append(message)
            continue
        level = tuple(message["task_level"])
        if level not in tasks[message["task_uuid"]].removed:
            result.append({**message, "task_level": list(mappings[message["task_uuid"]][level])})
    return result


def journal_entries(logged: List[Any]) -> List[Dict[str, Any]]:
    """
    @return: What journald stored for the tasks of the messages C{logged},
        oldest first: each entry's message (C{MESSAGE}) with the fields
        L{JOURNAL_FIELDS} beside its own.
    """
    tasks = dict.fromkeys(m["task_uuid"] for m in logged if _placed(m))
    if not tasks:
        return []
    return [{**orjson.loads(entry["MESSAGE"]),
             **{name: entry.get(name) for name in JOURNAL_FIELDS}}
            for entry in _journald.entries(*tasks)]


def journald_ready() -> None:
    """
    Make sure journald runs (see L{_journald.Journald.start}) and Eliot's
    C{JournaldDestination} can load C{libsystemd}.

    @raise SkipTest: If not, saying why.
    """
    _journald.JOURNALD.start()
    try:
        ctypes.CDLL("libsystemd.so.0")
    except OSError:
        raise SkipTest("libsystemd.so.0 is not installed (Debian: apt-get install libsystemd0): "
                       "Eliot's JournaldDestination needs it") from None
