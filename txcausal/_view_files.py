# -*- test-case-name: txcausal.test.test_webview_files -*-
"""
Log files as a source of tasks for the web view: indexed by position, so
the server's memory holds summaries and offsets, not messages; followed as
they grow and are rotated.

The files are followed by name by L{FollowedFiles<txcausal._view_follow.FollowedFiles>};
a position is the number of the file opened (a generation) and an offset
in it.
"""

from __future__ import annotations

from array import array
from collections import deque
from typing import IO, Any, Callable, Deque, Dict, FrozenSet, List, Optional, Sequence

from twisted.internet.defer import Deferred
from zope.interface import implementer

from ._view_follow import FollowedFiles, Generation, StartThread, daemon_thread
from ._view_index import TaskIndex
from ._view_lines import Message, complete_lines, decode_line, may_match, scan_lines
from ._view_source import ITaskSource, LoadedTask, Search, only_task
from ._wire import TASK_UUID_FIELD

#: How many tasks are indexed at most by default.
DEFAULT_MAX_TASKS = 2_000_000
#: Positions are C{generation << _SHIFT | offset}.
_SHIFT = 40
_OFFSET_MASK = (1 << _SHIFT) - 1

RunInThread = Callable[[Callable[[], Any]], "Deferred[Any]"]


@implementer(ITaskSource)
class LogFiles:
    """
    Tasks read from log files, followed as they grow and are rotated.

    Memory holds a summary per task and two integers per message.  Call
    L{startFollowing} to read the files a chunk at a time in the reactor, or
    L{readAvailable} to read what is there now.
    """

    def __init__(
        self,
        paths: Sequence[str],
        reactor: Any = None,
        max_tasks: int = DEFAULT_MAX_TASKS,
        interval: float = 0.5,
        budget: int = 1 << 20,
        stdin: Optional[IO[bytes]] = None,
        runInThread: Optional[RunInThread] = None,
        startThread: StartThread = daemon_thread,
    ) -> None:
        """
        @param paths: The files; C{"-"} for standard input.  Compressed
            files are detected by content.
        @param reactor: Schedules the reading; the global reactor by default.
        @param max_tasks: At most this many tasks are indexed, the oldest
            forgotten first.
        @param interval: Seconds between two looks at files that did not
            grow.
        @param budget: Bytes read in one go before letting the reactor run.
        @param stdin: What C{"-"} reads; C{sys.stdin}'s bytes by default.
        @param runInThread: Runs loads and searches off the reactor thread;
            the reactor's thread pool by default.
        @param startThread: Starts the threads that copy compressed files
            and standard input.
        """
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self._reactor = reactor
        self._interval = interval
        self._budget = budget
        self._run = runInThread or self._deferToThread
        self.index = TaskIndex(max_tasks, _new_refs)
        self._files = FollowedFiles(paths, self._error, stdin, startThread)
        self.errors = 0
        self.recent_errors: Deque[str] = deque(maxlen=20)
        self._call: Any = None
        self._stopped = True

    def _deferToThread(self, f: Callable[[], Any]) -> "Deferred[Any]":
        from twisted.internet.threads import deferToThreadPool

        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f)

    def _error(self, text: str) -> None:
        self.errors += 1
        self.recent_errors.append(text)

    # Reading

    def readAvailable(self, budget: Optional[int] = None) -> bool:
        """
        Read and index about C{budget} bytes of what the files gained.

        @param budget: Bytes to read at most (roughly); unlimited if
            C{None}.
        @return: Whether more is waiting.
        """
        remaining = budget
        for generation in self._files.to_read():
            while remaining is None or remaining > 0:
                step = self._budget if remaining is None else min(self._budget, remaining)
                read = self._read(generation, step)
                if not read:
                    break
                generation.idle = 0
                if remaining is not None:
                    remaining -= read
            if remaining is not None and remaining <= 0:
                return True
        return False

    def _read(self, generation: Generation, budget: int) -> int:
        lines, after, skipped = complete_lines(generation.read, generation.offset, budget, True)
        if skipped:
            self._error(f"{generation.name}: skipped a line longer than the limit")
        consumed = after - generation.offset
        generation.offset = after
        if lines:
            self._index(generation, lines)
        generation.lines += skipped
        return consumed

    def _index(self, generation: Generation, lines: List[tuple[int, bytes]]) -> None:
        base = generation.number << _SHIFT
        source, name, index = generation.source, generation.name, self.index
        lineno = generation.lines
        with index.locked:
            for offset, line in lines:
                lineno += 1
                if not line or line.isspace():
                    continue
                messages, reason = decode_line(line, name)
                if reason is not None:
                    self._error(f"{name}:{lineno}: {reason}")
                ref = base | offset
                for message in messages:
                    summary = index.summary_for(message[TASK_UUID_FIELD])
                    refs = summary.refs
                    if not refs or refs[-2] != ref:
                        refs.append(ref)
                        refs.append(len(line))
                    summary.note(message, source)
        generation.lines = lineno

    # Following

    def startFollowing(self) -> None:
        """
        Read the files in the reactor, a chunk at a time, and keep looking
        for more every C{interval} seconds.
        """
        self._stopped = False
        self._tick()

    def stopFollowing(self) -> None:
        """
        Stop reading.
        """
        self._stopped = True
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _tick(self) -> None:
        if self._stopped:
            return
        more = self.readAvailable(self._budget)
        self._call = self._reactor.callLater(0 if more else self._interval, self._tick)

    def close(self) -> None:
        """
        Stop reading and close every file.
        """
        self.stopFollowing()
        self._files.close()

    # Viewing

    def load(self, uuid: str) -> "Deferred[Optional[LoadedTask]]":
        """
        Read task C{uuid} back from the files, in a thread.
        """
        refs = self.index.refs_of(uuid, _copy_refs)
        summary = self.index.get(uuid)
        if refs is None or summary is None:
            from twisted.internet.defer import succeed

            return succeed(None)
        generations = list(self._files.generations)
        return self._run(lambda: self._load(uuid, refs, generations))

    def _load(self, uuid: str, refs: Any, generations: List[Generation]) -> LoadedTask:
        messages: List[Message] = []
        sources: Dict[int, int] = {}
        unavailable = 0
        for i in range(0, len(refs), 2):
            generation = generations[refs[i] >> _SHIFT]
            found = self._read_back(generation, refs[i] & _OFFSET_MASK, refs[i + 1], uuid)
            if not found:
                unavailable += 1
            for message in found:
                sources[id(message)] = generation.source
                messages.append(message)
        names = list(self._files.names)
        return LoadedTask(only_task(uuid, messages), sources, names, unavailable)

    def _read_back(
        self, generation: Generation, offset: int, length: int, uuid: str
    ) -> List[Message]:
        try:
            line = generation.read(length, offset)
        except OSError:
            return []
        found, _ = decode_line(line, generation.name)
        return [m for m in found if m[TASK_UUID_FIELD] == uuid]

    def search(self, search: Search) -> "Deferred[FrozenSet[str]]":
        """
        Continue C{search}, in a thread, over what was indexed of the files
        since its last run: the files are read again, from where it
        stopped, rather than their messages kept.
        """
        ends = [(g, g.offset) for g in self._files.generations]
        return self._run(lambda: self._search(search, ends))

    def _search(self, search: Search, ends: List[tuple[Generation, int]]) -> FrozenSet[str]:
        needle, predicate, found = search.needle, search.predicate, search.found

        def wanted(line: bytes) -> bool:
            return needle is None or may_match(line, needle)

        for generation, end in ends:
            start = search.progress.get(generation.number, 0)
            try:
                for _, line in scan_lines(generation.read, end, wanted, start):
                    for message in decode_line(line, generation.name)[0]:
                        if predicate(message):
                            found.add(message[TASK_UUID_FIELD])
            except OSError:
                pass  # Closed: its messages are no longer shown.
            search.progress[generation.number] = end
        with self.index.locked:
            forgotten = [uuid for uuid in found if not self.index.knows(uuid)]
        found.difference_update(forgotten)
        return frozenset(found)

    def status(self) -> Dict[str, Any]:
        """
        What is read of each file, and what was skipped.
        """
        return {
            "files": self._files.status(),
            "tasks": len(self.index),
            "evicted": self.index.evicted,
            "errors": self.errors,
            "recent_errors": list(self.recent_errors),
        }


def _new_refs() -> "array[int]":
    return array("Q")


def _copy_refs(refs: "array[int]") -> "array[int]":
    return array("Q", refs)
