# -*- test-case-name: txcausal.test.test_webview,txcausal.test.test_webview_ring -*-
"""
The list of tasks the web view shows: one small L{TaskSummary} per task,
updated message by message, and the queries of the task list (filters,
newest first, a page at a time).

A summary keeps where the task's messages are (C{refs}: positions in files,
or the messages themselves for an in-memory ring), never the tree: a task is
loaded when it is viewed.
"""

from __future__ import annotations

import threading
from heapq import merge
from itertools import islice
from sys import intern
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set, Tuple

from attrs import define, field, frozen

from ._parse_tree import action_duration, is_failure
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    MESSAGE_TYPE_FIELD,
    TASK_LEVEL_FIELD,
    TIMESTAMP_FIELD,
)

Message = Dict[str, Any]

#: How many changed task UUIDs a feed remembers between two drains; past
#: it, the change is reported as "many".
MAX_CHANGES = 500
#: A query orders its tasks this many at a time, then merges the runs: one
#: sort of a million holds the interpreter (and so the reactor's thread)
#: for a good part of a second, one of this many for a millisecond or so.
SORT_RUN = 10_000


class QueryStopped(Exception):
    """
    A query was told to stop (its server is stopping) before it was done.

    A source's C{load} or C{search} (see
    L{ITaskSource<txcausal.webview.ITaskSource>}) told to stop fails with
    it: the view answers such a request as stopped (503), and does not log
    it as a failure.
    """


def _never() -> bool:
    return False


@define(slots=True, eq=False)
class TaskSummary:
    """
    What the task list shows of one task, and where its messages are.

    @ivar uuid: The task UUID.
    @ivar refs: Where the messages are: a source's own references.
    @ivar messages: How many messages were seen.
    @ivar dropped: How many messages were not kept (past a per-task cap).
    @ivar first: The earliest timestamp, if any.
    @ivar last: The latest timestamp, if any.
    @ivar root_type: The action (or, for a lone message, message) type at
        level C{[1]}.
    @ivar status: The root action's status: C{"started"}, C{"succeeded"},
        C{"failed"}; C{None} for a lone message or an unseen root.
    @ivar duration: The root action's duration, once it finished.
    @ivar failed: Whether a message tells of a failure
        (L{is_failure<txcausal._parse_tree.is_failure>}).
    @ivar sources: A bit per source (file) that holds part of the task.
    """

    uuid: str
    refs: Any
    messages: int = 0
    dropped: int = 0
    first: Optional[float] = None
    last: Optional[float] = None
    root_type: Optional[str] = None
    status: Optional[str] = None
    duration: Optional[float] = None
    failed: bool = False
    sources: int = 0
    _root_started: Optional[float] = None

    def note(self, message: Message, source: int) -> None:
        """
        Take one message of the task into account (not its reference).
        """
        self.messages += 1
        self.sources |= 1 << source
        when = message.get(TIMESTAMP_FIELD)
        if when.__class__ is float or when.__class__ is int:
            if self.first is None or when < self.first:
                self.first = when
            if self.last is None or when > self.last:
                self.last = when
        if is_failure(message):
            self.failed = True
        status = message.get(ACTION_STATUS_FIELD)
        if message.get(TASK_LEVEL_FIELD) is not None and len(message[TASK_LEVEL_FIELD]) == 1:
            self._note_root(message, status)

    def _note_root(self, message: Message, status: Any) -> None:
        kind = message.get(ACTION_TYPE_FIELD)
        if kind.__class__ is str and status.__class__ is str:
            # Interned: the tasks of a type share its name (memory).
            self.root_type = intern(kind)
            when = message.get(TIMESTAMP_FIELD)
            if status == "started":
                if when.__class__ is float or when.__class__ is int:
                    self._root_started = float(when)
                self.status = self.status or intern(status)
            else:
                self.status = intern(status)
                started = {TIMESTAMP_FIELD: self._root_started}
                self.duration = action_duration(started, message)
        elif self.root_type is None and message[TASK_LEVEL_FIELD] == [1]:
            kind = message.get(MESSAGE_TYPE_FIELD)
            self.root_type = intern(kind) if kind.__class__ is str else None

    @property
    def start(self) -> Optional[float]:
        """
        When the task started: its root's start, else its first timestamp.
        """
        if self._root_started is not None:
            return self._root_started
        return self.first

    def process_count(self) -> int:
        """
        The number of sources (one per process) holding part of the task.
        """
        return bin(self.sources).count("1")

    def to_json(self) -> Dict[str, Any]:
        """
        The row of the task list, as a JSON-compatible dictionary.
        """
        duration = self.duration
        # A root that is a lone message (a type, no status) did not run.
        lone = self.status is None and self.root_type is not None
        if duration is None and not lone and self.first is not None and self.last is not None:
            duration = self.last - self.first
        return {
            "uuid": self.uuid,
            "type": self.root_type,
            "status": self.status,
            "failed": self.failed,
            "start": self.start,
            "duration": duration,
            "finished": lone or self.duration is not None,
            "processes": self.process_count(),
            "messages": self.messages,
            "dropped": self.dropped,
        }


@frozen
class Query:
    """
    What the task list asks for.

    @ivar failed: Only tasks in which something failed.
    @ivar action_type: Only tasks whose root type starts with this.
    @ivar since: Only tasks that started at or after this time.
    @ivar until: Only tasks that started at or before this time.
    @ivar only: Only these task UUIDs (the result of a search), if given.
    @ivar offset: How many matching tasks to skip, newest first.
    @ivar limit: How many to return.
    """

    failed: bool = False
    action_type: str = ""
    since: Optional[float] = None
    until: Optional[float] = None
    only: Optional[FrozenSet[str]] = None
    offset: int = 0
    limit: int = 100

    def accepts(self, summary: TaskSummary) -> bool:
        """
        Whether C{summary} passes every filter.
        """
        if self.failed and not summary.failed:
            return False
        if self.only is not None and summary.uuid not in self.only:
            return False
        if self.action_type and not (summary.root_type or "").startswith(self.action_type):
            return False
        if self.since is not None or self.until is not None:
            start = summary.start
            if start is None:
                return False
            if self.since is not None and start < self.since:
                return False
            if self.until is not None and start > self.until:
                return False
        return True


_NO_START = float("-inf")


def _root_types(tasks: List[TaskSummary], limit: int) -> List[str]:
    """
    The distinct root types of C{tasks}, sorted, at most C{limit}.
    """
    return sorted({s.root_type for s in tasks if s.root_type is not None})[:limit]


def _start(summary: TaskSummary) -> float:
    start = summary.start
    return start if start is not None else _NO_START


@define(eq=False)
class ChangeFeed:
    """
    Which tasks of a L{TaskIndex} changed since the feed was last drained.
    Each reader of the changes (each resource's event stream) has its own
    feed, so that none takes the changes from another.
    """

    _index: TaskIndex
    _changed: Set[str] = field(factory=set)
    _many: bool = False

    def note(self, uuid: str) -> None:
        """
        Task C{uuid} changed.  Called with the index's lock held.
        """
        if not self._many:
            self._changed.add(uuid)
            if len(self._changed) > MAX_CHANGES:
                self._many = True
                self._changed.clear()

    def drain(self) -> Tuple[int, Optional[List[str]]]:
        """
        Forget and return what changed since the last call.

        @return: The index's version, and the UUIDs of the tasks that
            changed (C{None} when too many did to list them).
        """
        with self._index.locked:
            changed = None if self._many else sorted(self._changed)
            self._changed.clear()
            self._many = False
            return self._index.version, changed


@define
class TaskIndex:
    """
    The summaries of a source's tasks, in the order first seen (the order
    of the dictionary that holds them, by insertion), at most C{max_tasks}
    of them (the oldest forgotten first), and a L{ChangeFeed} of the tasks
    that changed for each reader that asked for one.

    Thread-safe: a ring fills it from the threads that log.

    @ivar evicted: How many tasks were forgotten to stay within
        C{max_tasks}.
    @ivar version: Counts the changes.
    @ivar epoch: Counts the changes to what the tasks are read back from
        that no summary shows (a file closed: truncated, or rotated away
        past those kept open), made by the source: a task's page built
        before one is not given to a request made after (see
        L{indexed_state<txcausal._view_builds.indexed_state>}).
    """

    max_tasks: int
    new_refs: Callable[[], Any] = list
    evicted: int = 0
    version: int = 0
    epoch: int = 0
    _tasks: Dict[str, TaskSummary] = field(factory=dict)
    _feeds: List[ChangeFeed] = field(factory=list)
    _lock: threading.Lock = field(factory=threading.Lock)

    def summary_for(self, uuid: str) -> TaskSummary:
        """
        The summary of task C{uuid}, created if new, marked as changed.
        Call with the lock held (see L{locked}).
        """
        summary = self._tasks.get(uuid)
        if summary is None:
            summary = self._tasks[uuid] = TaskSummary(uuid, self.new_refs())
            if len(self._tasks) > self.max_tasks:
                del self._tasks[next(iter(self._tasks))]
                self.evicted += 1
        self.version += 1
        for feed in self._feeds:
            feed.note(uuid)
        return summary

    @property
    def locked(self) -> threading.Lock:
        """
        The lock to hold while calling L{summary_for} and updating the
        summary it returns.
        """
        return self._lock

    def get(self, uuid: str) -> Optional[TaskSummary]:
        """
        The summary of task C{uuid}, if known.
        """
        with self._lock:
            return self._tasks.get(uuid)

    def knows(self, uuid: str) -> bool:
        """
        Whether task C{uuid} is indexed.  Call with the lock held.
        """
        return uuid in self._tasks

    def refs_of(self, uuid: str, copy: Callable[[Any], Any]) -> Optional[Any]:
        """
        A copy (made with C{copy}, under the lock) of the references of
        task C{uuid}, or C{None} if unknown.
        """
        with self._lock:
            summary = self._tasks.get(uuid)
            return None if summary is None else copy(summary.refs)

    def summaries(self) -> List[TaskSummary]:
        """
        Every summary, oldest first.  Call with the lock held.
        """
        return list(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)

    def query(self, query: Query) -> Tuple[int, List[Dict[str, Any]]]:
        """
        The tasks that pass the filters, newest first (see L{listing}).

        @return: How many pass, and the rows of the requested page.
        """
        return self._page(self._copy(), query)

    def listing(self, query: Query, limit: int = 200, stop: Callable[[], bool] = _never
                ) -> Tuple[int, List[Dict[str, Any]], List[str]]:
        """
        What the task list shows: the tasks that pass the filters, newest
        first, and the distinct root types (at most C{limit}), from one
        copy of the list of tasks.

        Its work grows with the number of tasks: call it off the reactor
        thread (a L{TaskViewResource<txcausal.webview.TaskViewResource>}
        runs it on its worker).  The lock is held to copy the list (a
        reference per task) and to write the rows of the page; the tasks
        are ordered L{SORT_RUN} at a time and the runs merged, as far as
        the page, so that no sort holds the interpreter long.

        The summaries are read without the lock while messages are added:
        a task that changed meanwhile may be filtered or placed by what it
        was a moment before, and one forgotten meanwhile may still be
        shown.  That change is announced to the page, which asks again.

        @param stop: Tells whether to stop (the server is stopping); looked
            at before each run of tasks filtered and ordered.
        @return: How many pass, the rows of the requested page, the types.
        @raise QueryStopped: When C{stop} said so.
        """
        tasks = self._copy()
        total, rows = self._page(tasks, query, stop)
        if stop():
            raise QueryStopped()
        return total, rows, _root_types(tasks, limit)

    def _copy(self) -> List[TaskSummary]:
        with self._lock:
            return list(self._tasks.values())

    def _page(self, tasks: List[TaskSummary], query: Query,
              stop: Callable[[], bool] = _never) -> Tuple[int, List[Dict[str, Any]]]:
        # Newest seen first, a run at a time: the sorts and the merge are
        # stable, so of tasks that started at the same time the one seen
        # last comes first.  The keys are the summaries' own numbers: no
        # new object per task, as a million would set off the garbage
        # collector's walk over every object, which holds the interpreter.
        runs, total = [], 0
        for end in range(len(tasks), 0, -SORT_RUN):
            if stop():
                raise QueryStopped()
            run = [s for s in reversed(tasks[max(0, end - SORT_RUN):end]) if query.accepts(s)]
            total += len(run)
            runs.append(sorted(run, key=_start, reverse=True))
        ordered = merge(*runs, key=_start, reverse=True)
        page = list(islice(ordered, query.offset, query.offset + query.limit))
        with self._lock:
            return total, [summary.to_json() for summary in page]

    def changes(self) -> ChangeFeed:
        """
        A new feed of the tasks that change from now on, for one reader.
        (It is kept as long as the index: ask once per reader.)
        """
        with self._lock:
            feed = ChangeFeed(self)
            self._feeds.append(feed)
            return feed
