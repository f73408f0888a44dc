# -*- test-case-name: txcausal.test.test_webview_files -*-
"""
Log files as a source of tasks for the web view: indexed by position, so
the server's memory holds summaries and offsets, not messages; followed as
they grow and are rotated.

Each file is read by a L{_Follower}.  Every file it opens (the first, and
each one that replaces it at the same path) is a L{_Generation}: its
descriptor stays open, so positions in a file renamed away still read back.
Compressed files and standard input are first copied, by a thread, to an
unnamed temporary file, which is then read like any other.
"""

from __future__ import annotations

import os
import tempfile
import threading
from array import array
from collections import deque
from typing import (
    IO,
    Any,
    BinaryIO,
    Callable,
    Deque,
    Dict,
    FrozenSet,
    List,
    Optional,
    Sequence,
    cast,
)

from attrs import define, field
from twisted.internet.defer import Deferred
from zope.interface import implementer

from ._source import wrap_stream
from ._view_index import TaskIndex
from ._view_lines import Message, complete_lines, decode_line, may_match, scan_lines
from ._view_source import ITaskSource, LoadedTask, Search, only_task
from ._wire import TASK_UUID_FIELD

#: How many tasks are indexed at most by default.
DEFAULT_MAX_TASKS = 2_000_000
#: Positions are C{generation << _SHIFT | offset}.
_SHIFT = 40
_OFFSET_MASK = (1 << _SHIFT) - 1
_GZIP_MAGIC = b"\x1f\x8b"
#: A rotated-away file is read until it has been idle for this many polls.
_RETIRE_AFTER = 10

RunInThread = Callable[[Callable[[], Any]], "Deferred[Any]"]
StartThread = Callable[[Callable[[], None]], None]


def _daemon_thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="txcausal-web-spill", daemon=True).start()


@define(eq=False)
class _Generation:
    """
    One open file: a file first opened at a path, a file that later
    replaced it, or a temporary copy.
    """

    number: int
    source: int
    name: str
    fd: int
    identity: Optional[tuple[int, int]]
    offset: int = 0
    lines: int = 0
    idle: int = 0

    def size(self) -> int:
        return os.fstat(self.fd).st_size


@define(eq=False)
class _Spill:
    """
    A thread's copy of a stream into a temporary file.
    """

    file: IO[bytes]
    done: bool = False
    error: Optional[str] = None

    def copy(self, stream: IO[bytes]) -> None:
        """
        Copy C{stream}, decompressed if it is compressed, as it comes.
        """
        try:
            # Here, not in the reactor: telling whether a pipe holds gzip
            # waits for its first bytes.
            stream = wrap_stream(cast(BinaryIO, stream))
            # read1 returns what is there: a pipe that stays open is copied
            # as it comes, not once a buffer is full.
            read = getattr(stream, "read1", stream.read)
            for chunk in iter(lambda: read(1 << 16), b""):
                self.file.write(chunk)
                self.file.flush()
        except Exception as e:  # Reported in the status, never raised.
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.done = True


@define(eq=False)
class _Follower:
    """
    One of the files to read, through its rotations.
    """

    source: int
    path: str
    spill: Optional[_Spill] = None
    active: List[_Generation] = field(factory=list)
    error: Optional[str] = None


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
        startThread: StartThread = _daemon_thread,
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
        self._start_thread = startThread
        self._stdin = stdin
        self.index = TaskIndex(max_tasks, _new_refs)
        self._generations: List[_Generation] = []
        self._names = [_display_name(path) for path in paths]
        self._followers = [_Follower(number, path) for number, path in enumerate(paths)]
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
        for follower in self._followers:
            for generation in self._generations_of(follower):
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

    def _read(self, generation: _Generation, budget: int) -> int:
        lines, after, skipped = complete_lines(generation.fd, generation.offset, budget, True)
        if skipped:
            self._error(f"{generation.name}: skipped a line longer than the limit")
        consumed = after - generation.offset
        generation.offset = after
        if lines:
            self._index(generation, lines)
        generation.lines += skipped
        return consumed

    def _index(self, generation: _Generation, lines: List[tuple[int, bytes]]) -> None:
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

    def _generations_of(self, follower: _Follower) -> List[_Generation]:
        """
        The files of C{follower} to read now: open the first, notice a
        rotation, retire rotated files that stopped growing.
        """
        if not follower.active and follower.error is None:
            self._open(follower)
        elif follower.spill is None and follower.active:
            self._check_rotation(follower)
        for generation in follower.active[:-1]:
            generation.idle += 1
        follower.active[:-1] = [g for g in follower.active[:-1] if g.idle < _RETIRE_AFTER]
        return list(follower.active)

    def _open(self, follower: _Follower) -> None:
        path, name = follower.path, self._names[follower.source]
        try:
            if path == "-":
                self._spill(follower, self._stdin_stream())
                return
            stream = open(path, "rb")
        except OSError as e:
            follower.error = e.strerror or str(e)
            self._error(f"{name}: {follower.error}")
            return
        if stream.read(2) == _GZIP_MAGIC:
            stream.seek(0)
            self._spill(follower, stream)
            return
        stat = os.fstat(stream.fileno())
        fd = os.dup(stream.fileno())
        stream.close()
        self._add_generation(follower, fd, (stat.st_dev, stat.st_ino))

    def _stdin_stream(self) -> IO[bytes]:
        if self._stdin is not None:
            return self._stdin
        import sys

        return sys.stdin.buffer

    def _spill(self, follower: _Follower, stream: IO[bytes]) -> None:
        spill = follower.spill = _Spill(tempfile.TemporaryFile(prefix="txcausal-web-"))
        self._add_generation(follower, os.dup(spill.file.fileno()), None)
        self._start_thread(lambda: spill.copy(stream))

    def _add_generation(
        self, follower: _Follower, fd: int, identity: Optional[tuple[int, int]]
    ) -> None:
        number = len(self._generations)
        name = self._names[follower.source]
        generation = _Generation(number, follower.source, name, fd, identity)
        self._generations.append(generation)
        follower.active.append(generation)

    def _check_rotation(self, follower: _Follower) -> None:
        current = follower.active[-1]
        try:
            stat = os.stat(follower.path)
        except OSError:
            return  # Renamed away, not yet replaced: read on.
        if (stat.st_dev, stat.st_ino) != current.identity:
            self._open(follower)
        elif stat.st_size < current.offset:
            # Truncated in place: what was indexed no longer reads back.
            follower.active.clear()
            self._error(f"{current.name}: truncated; reading it again from the start")
            self._open(follower)

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
        for generation in self._generations:
            try:
                os.close(generation.fd)
            except OSError:
                pass
        for follower in self._followers:
            if follower.spill is not None:
                follower.spill.file.close()

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
        generations = list(self._generations)
        return self._run(lambda: self._load(uuid, refs, generations))

    def _load(self, uuid: str, refs: Any, generations: List[_Generation]) -> LoadedTask:
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
        return LoadedTask(only_task(uuid, messages), sources, list(self._names), unavailable)

    def _read_back(
        self, generation: _Generation, offset: int, length: int, uuid: str
    ) -> List[Message]:
        try:
            line = os.pread(generation.fd, length, offset)
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
        ends = [(g, g.offset) for g in self._generations]
        return self._run(lambda: self._search(search, ends))

    def _search(self, search: Search, ends: List[tuple[_Generation, int]]) -> FrozenSet[str]:
        needle, predicate, found = search.needle, search.predicate, search.found

        def wanted(line: bytes) -> bool:
            return needle is None or may_match(line, needle)

        for generation, end in ends:
            start = search.progress.get(generation.number, 0)
            for _, line in scan_lines(generation.fd, end, wanted, start):
                for message in decode_line(line, generation.name)[0]:
                    if predicate(message):
                        found.add(message[TASK_UUID_FIELD])
            search.progress[generation.number] = end
        with self.index.locked:
            forgotten = [uuid for uuid in found if not self.index.knows(uuid)]
        found.difference_update(forgotten)
        return frozenset(found)

    def status(self) -> Dict[str, Any]:
        """
        What is read of each file, and what was skipped.
        """
        files = []
        for follower in self._followers:
            read = sum(g.offset for g in self._generations if g.source == follower.source)
            active = follower.active[-1] if follower.active else None
            files.append(
                {
                    "name": self._names[follower.source],
                    "read": read,
                    "size": _size(active),
                    "error": follower.error or (follower.spill and follower.spill.error),
                }
            )
        return {
            "files": files,
            "tasks": len(self.index),
            "evicted": self.index.evicted,
            "errors": self.errors,
            "recent_errors": list(self.recent_errors),
        }


def _size(generation: Optional[_Generation]) -> Optional[int]:
    if generation is None:
        return None
    try:
        return generation.size()
    except OSError:
        return None


def _new_refs() -> "array[int]":
    return array("Q")


def _copy_refs(refs: "array[int]") -> "array[int]":
    return array("Q", refs)


def _display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path
