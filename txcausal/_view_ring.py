# -*- test-case-name: txcausal.test.test_webview_ring -*-
"""
L{TaskRing}: a destination keeping a running process's most recent tasks
in memory, for the web view to show as they happen.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import cooperate
from zope.interface import implementer

from ._interfaces import IDestination
from ._view_index import TaskIndex, _never
from ._view_source import Cooperate, ITaskSource, LoadedTask, Predicate, Search, only_task
from ._wire import TASK_UUID_FIELD

Message = Dict[str, Any]
#: How many messages a search looks at in one step: about a millisecond's
#: work for messages of a dozen fields.
SEARCH_STEP = 100


@implementer(IDestination, ITaskSource)
class TaskRing:
    """
    A destination that keeps the messages of the most recent tasks.

    Bounded twice: at most C{max_tasks} tasks (the task first seen longest
    ago is forgotten first) and at most C{max_messages} messages per task
    (later ones are counted, not kept, and the count is shown with the
    task).  Like L{Ledger<txcausal.Ledger>}, it copies each message it
    receives; unlike it, it keeps whole tasks rather than the most recent
    entries of each topic, so the tasks it shows are not torn.

    Thread-safe: messages may be logged from any thread.
    """

    def __init__(self, max_tasks: int = 1000, max_messages: int = 10_000,
                 cooperate: Optional[Cooperate] = None) -> None:
        """
        @param max_tasks: How many tasks to keep.
        @param max_messages: How many messages to keep per task.
        @param cooperate: Runs the steps of a search (L{SEARCH_STEP}
            messages each) in the reactor thread, a few at a time between
            its other work; by default, that of the search (a
            L{TaskViewResource<txcausal.webview.TaskViewResource>} gives
            its reactor's: in-line for one without threads, such as a
            C{Clock} in tests), else Twisted's global cooperator
            (C{twisted.internet.task.cooperate}), with the global reactor.
        @raise ValueError: If either bound is not positive.
        """
        if max_tasks < 1 or max_messages < 1:
            raise ValueError(
                f"max_tasks and max_messages must be positive, not {max_tasks!r}, {max_messages!r}"
            )
        self._max_messages = max_messages
        self._cooperate = cooperate
        self.index = TaskIndex(max_tasks)

    def __call__(self, message: Message) -> None:
        """
        Receive a logged message (the L{IDestination} contract).
        """
        copy = dict(message)
        index = self.index
        with index.locked:
            summary = index.summary_for(copy[TASK_UUID_FIELD])
            if len(summary.refs) < self._max_messages:
                summary.refs.append(copy)
            else:
                summary.dropped += 1
            summary.note(copy, 0)

    def load(self, uuid: str, stop: Callable[[], bool] = _never
             ) -> "Deferred[Optional[LoadedTask]]":
        """
        The kept messages of task C{uuid}, as a tree, at once: nothing is
        read, so C{stop} is not needed.
        """
        messages = self.index.refs_of(uuid, list)
        summary = self.index.get(uuid)
        if messages is None or summary is None:
            return succeed(None)
        task = only_task(uuid, messages)
        sources = {id(message): 0 for message in messages}
        return succeed(LoadedTask(task, sources, ["this process"], 0, summary.dropped))

    def search(self, search: Search) -> "Deferred[FrozenSet[str]]":
        """
        Continue C{search} over the messages kept since its last run: in
        the reactor thread (its predicate may read the application's
        objects), a step of L{SEARCH_STEP} messages at a time, so that a
        search of thousands of messages does not hold the reactor.
        """
        pending: List[Tuple[str, List[Message]]] = []
        seen: Dict[Any, int] = {}
        with self.index.locked:
            for summary in self.index.summaries():
                done = search.progress.get(summary.uuid, 0)
                if len(summary.refs) > done:
                    pending.append((summary.uuid, summary.refs[done:]))
                seen[summary.uuid] = len(summary.refs)
        search.progress = seen
        found = search.found
        found.intersection_update(seen)  # Forget the forgotten tasks.
        if not pending:
            return succeed(frozenset(found))
        run = self._cooperate or search.cooperate or cooperate
        steps = run(_steps(search.predicate, pending, found))
        return steps.whenDone().addCallback(lambda _: frozenset(found))

    def status(self) -> Dict[str, Any]:
        """
        How many tasks are kept and were forgotten.
        """
        return {
            "files": [],
            "tasks": len(self.index),
            "evicted": self.index.evicted,
            "errors": 0,
            "recent_errors": [],
        }


def _steps(predicate: Predicate, pending: List[Tuple[str, List[Message]]],
           found: Set[str]) -> Iterator[None]:
    """
    Add to C{found} the tasks of C{pending} of which a message matches,
    yielding after each L{SEARCH_STEP} messages looked at.
    """
    for uuid, messages in pending:
        for start in range(0, len(messages), SEARCH_STEP):
            if uuid in found:
                break
            if any(map(predicate, messages[start:start + SEARCH_STEP])):
                found.add(uuid)
            yield None


__all__: List[str] = ["TaskRing"]
