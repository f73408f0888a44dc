# -*- test-case-name: txcausal.test.test_webview_files,txcausal.test.test_webview_follow,txcausal.test.test_webview_text_end -*-  # noqa: E501
"""
Log files as a source of tasks for the web view: indexed by position, so
the server's memory holds summaries and places, not messages; followed as
they grow and are rotated.

Each file is followed by name by a L{FileFollower<txcausal._tail.FileFollower>},
the one follower of C{tree --follow}; its lines are decoded by the readers'
L{MessageReader<txcausal._parse_input.MessageReader>}, which gives each
message its place (the bytes of its line, or of the lines of a text event).
A position is the number of the file opened (a generation) and an offset
in it.  Searches read the files again (L{txcausal._view_files_search}).
"""

from __future__ import annotations

from array import array
from collections import deque
from itertools import chain
from typing import (
    IO,
    Any,
    Callable,
    Deque,
    Dict,
    FrozenSet,
    List,
    Optional,
    Sequence,
    Set,
)

from twisted.internet.defer import Deferred
from zope.interface import implementer

from . import _twisted_records
from ._parse_input import LineError, MessageReader
from ._source import DEFAULT_MAX_LINE_BYTES
from ._tail import FileFollower
from ._tail_files import Generation, OpenFiles, Piece, StartThread, daemon_thread
from ._twisted_records import REPEAT_FIELD
from ._view_files_search import Look, search_files
from ._view_index import QueryStopped, TaskIndex, _never
from ._view_source import ITaskSource, LoadedTask, RunInThread, Search, off_reactor, only_task
from ._wire import TASK_UUID_FIELD

Message = Dict[str, Any]

#: How many tasks are indexed at most by default.
DEFAULT_MAX_TASKS = 2_000_000
#: How many files rotated away are kept open, for their tasks to be shown;
#: past it the oldest is closed (its descriptor and, once deleted, its disk
#: space given back).
MAX_RETIRED = 100
#: Positions are C{generation << _SHIFT | offset}; lengths are
#: C{repeat << _SHIFT | length}, C{repeat} the L{REPEAT_FIELD} of a Twisted
#: record, to read it back with its task UUID: at most
#: L{MAX_REPEAT<txcausal._twisted_records.MAX_REPEAT>}, which sets its bits.
_SHIFT = 64 - _twisted_records.MAX_REPEAT.bit_length()
_OFFSET_MASK = (1 << _SHIFT) - 1


@implementer(ITaskSource)
class LogFiles:
    """
    Tasks read from log files, followed as they grow and are rotated.

    Memory holds a summary per task and two integers per message, and, to
    tell repeated Twisted records apart (by how many copies of a record's
    bytes came before), about 100 bytes
    for each of the last 4,096 or so records read (a 16-byte key and its
    count; more while many lines share one second, as the counts of a
    second are kept until it ends), once for the index and once for each
    search kept; and, for each file kept open, a copy of all those counts
    as its first line was read (at most about half a megabyte a file, its
    keys mostly shared with the index's: with L{MAX_RETIRED} files
    rotated away kept open, some 50 MB at worst).  The files are one
    stream of records, numbered in the order they are read, so that a
    record's number (and task UUID) is unique among them all.  Call
    L{startFollowing} to read the files a chunk at a time in the reactor, or
    L{readAvailable} to read what is there now.

    @ivar max_line: Lines longer than this many bytes are skipped (and
        reported).
    @ivar errors: How many lines were skipped.
    @ivar recent_errors: Why the latest lines were skipped.
    @ivar file_problems: How many reports the following of the files made:
        a file that cannot be read, was truncated, or may have been missed.
    @ivar recent_file_problems: The latest of those reports.
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
        max_line: int = DEFAULT_MAX_LINE_BYTES,
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
        @param runInThread: Runs loads and searches off the reactor thread:
            in the reactor's thread pool by default, or in-line if it has
            none.
        @param startThread: Starts the threads that copy compressed files
            and standard input.
        @param max_line: Lines longer than this many bytes are skipped.
        """
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self._reactor = reactor
        self._interval = interval
        self._budget = budget
        self._run = runInThread or off_reactor(reactor)
        self.max_line = max_line
        self.index = TaskIndex(max_tasks, _new_refs)
        self.errors = 0
        self.recent_errors: Deque[str] = deque(maxlen=20)
        self.file_problems = 0
        self.recent_file_problems: Deque[str] = deque(maxlen=20)
        self._reader = MessageReader(self._error, max_line=max_line)
        self._files = OpenFiles(MAX_RETIRED, self._file_problem, self._file_closed)
        self._followers = [
            FileFollower(path, max_line, source=number, files=self._files,
                         on_error=self._file_problem, stdin=stdin, startThread=startThread)
            for number, path in enumerate(paths)
        ]
        self._call: Any = None
        self._stopped = True
        self._told_saturated = False
        #: The followers whose files were read to their end once.
        self._caught_up: Set[int] = set()

    def _error(self, error: LineError) -> None:
        self.errors += 1
        self.recent_errors.append(str(error))

    def _file_problem(self, error: LineError) -> None:
        self.file_problems += 1
        self.recent_file_problems.append(str(error))

    def _file_closed(self) -> None:
        # What it held is no longer read back: a page built before is not
        # given to a request after (see TaskIndex.epoch).
        self.index.epoch += 1

    # Reading

    def readAvailable(self, budget: Optional[int] = None) -> bool:
        """
        Read and index about C{budget} bytes of what the files gained.

        @param budget: Bytes to read at most (roughly); unlimited if
            C{None}.
        @return: Whether more is waiting.
        """
        remaining = budget
        for number, follower in enumerate(self._followers):
            while True:  # A step at a time: what is read is indexed, not held.
                step = self._budget if remaining is None else min(self._budget, remaining)
                before = follower.read_bytes
                for piece in follower.poll(step):
                    self._index(piece)
                read = follower.read_bytes - before
                if remaining is not None:
                    remaining -= read
                    if remaining <= 0:
                        return True
                if read < step:
                    break
            if number not in self._caught_up:  # Read to its end once.
                self._caught_up.add(number)
                if number + 1 < len(self._followers):
                    self._number_text_events(follower)
        return False

    def _number_text_events(self, follower: FileFollower) -> None:
        """
        Number the text event pending at the end of each file of
        C{follower}, read to its end for the first time, before the next
        path is read: the files are one stream, as C{tree a.log b.log}
        reads them, so its copies of a record are numbered before the next
        file's (else it would be numbered as it ends, at the next look
        finding the file idle, after them).  It ends as in the last file,
        with the continuation lines written before that look.
        """
        for generation in follower.active:
            generation.state.number()

    def _index(self, piece: Piece) -> None:
        generation = piece.generation
        base, source, index = generation.number << _SHIFT, generation.source, self.index
        state = generation.state
        if not state.lineno and piece.lines:  # For a search that cannot read the files before.
            state.before = state.repeats.copy()
        placed = self._reader.decode_at(piece.offset, piece.lines, state)
        if piece.idle:
            placed = chain(placed, self._reader.finish_at(state))
        with index.locked:
            for (offset, length), message in placed:
                summary = index.summary_for(message[TASK_UUID_FIELD])
                refs, ref = summary.refs, base | offset
                if not refs or refs[-2] != ref:
                    repeat = message.get(REPEAT_FIELD)
                    if repeat.__class__ is int and 0 < repeat <= _twisted_records.MAX_REPEAT:
                        length |= repeat << _SHIFT
                        if repeat == _twisted_records.MAX_REPEAT:
                            self._saturated(generation.name)
                    refs.append(ref)
                    refs.append(length)
                summary.note(message, source)

    def _saturated(self, name: str) -> None:
        """
        A Twisted record (without a time) was repeated too often to number
        its copies: say so, once.
        """
        if not self._told_saturated:
            self._told_saturated = True
            self._file_problem(LineError(name, 0, (
                f"a Twisted record without a time repeated more than"
                f" {_twisted_records.MAX_REPEAT} times: its later copies are one task")))

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
        more = False
        try:
            more = self.readAvailable(self._budget)
        except Exception as e:  # Shown, and the next look made: never stop silently.
            self._file_problem(LineError("txcausal web", 0,
                                         f"a look at the files failed, tried again: {e!r}"))
        self._call = self._reactor.callLater(0 if more else self._interval, self._tick)

    def close(self) -> None:
        """
        Stop reading and close every file.
        """
        self.stopFollowing()
        for follower in self._followers:
            follower.close()  # With what it keeps open at its name.
        self._files.close()

    # Viewing

    def load(self, uuid: str, stop: Callable[[], bool] = _never,
             build: Optional[Callable[[LoadedTask], Any]] = None) -> "Deferred[Any]":
        """
        Read task C{uuid} back from the files, in a thread.  It stops
        before its next message once C{stop} says so (its C{Deferred}
        then fails with L{QueryStopped<txcausal.webview.QueryStopped>}).

        @param build: Called with the task in the same thread, its result
            the C{Deferred}'s instead (see L{ITaskSource.load}).
        @return: A C{Deferred} firing with the L{LoadedTask} (or what
            C{build} made of it), or C{None} for a task not known.
        """
        refs = self.index.refs_of(uuid, _copy_refs)
        summary = self.index.get(uuid)
        if refs is None or summary is None:
            from twisted.internet.defer import succeed

            return succeed(None)
        generations = list(self._files.generations)
        if build is None:
            return self._run(lambda: self._load(uuid, refs, generations, stop))
        return self._run(lambda: build(self._load(uuid, refs, generations, stop)))

    def _load(self, uuid: str, refs: Any, generations: List[Generation],
              stop: Callable[[], bool]) -> LoadedTask:
        messages: List[Message] = []
        sources: Dict[int, int] = {}
        unavailable = 0
        reader = MessageReader(max_line=self.max_line)
        for i in range(0, len(refs), 2):
            if stop():
                raise QueryStopped()
            generation = generations[refs[i] >> _SHIFT]
            length, repeat = refs[i + 1] & _OFFSET_MASK, refs[i + 1] >> _SHIFT
            try:
                data = generation.read(length, refs[i] & _OFFSET_MASK)
            except OSError:
                data = b""
            found = [m for m in reader.decode_span(data, generation.name, repeat)
                     if m[TASK_UUID_FIELD] == uuid]
            if not found:
                unavailable += 1
            for message in found:
                sources[id(message)] = generation.source
                messages.append(message)
        if stop():  # Before joining them: as long as reading them, for a big task.
            raise QueryStopped()
        names = [follower.name for follower in self._followers]
        return LoadedTask(only_task(uuid, messages), sources, names, unavailable)

    def search(self, search: Search) -> "Deferred[FrozenSet[str]]":
        """
        Continue C{search}, in a thread, over what was indexed of the files
        since its last run: the files are read again, from where it
        stopped, rather than their messages kept.  It stops before its
        next batch of lines once C{search.stop} says so (its C{Deferred}
        then fails with L{QueryStopped<txcausal.webview.QueryStopped>}).
        """
        looks = [Look(g) for g in self._files.generations]
        # Text events numbered but not ended yet (see _number_text_events):
        # searched, and not taken for forgotten before they are indexed.
        numbered = {look.early for look in looks if look.early is not None}
        return self._run(lambda: search_files(search, looks, numbered, self.index,
                                              self.max_line))

    def status(self) -> Dict[str, Any]:
        """
        What is read of each file, what was skipped, and what the following
        of the files reported.
        """
        return {
            "files": [follower.status() for follower in self._followers],
            "tasks": len(self.index),
            "evicted": self.index.evicted,
            "errors": self.errors,
            "recent_errors": list(self.recent_errors),
            "file_problems": self.file_problems,
            "recent_file_problems": list(self.recent_file_problems),
        }


def _new_refs() -> "array[int]":
    return array("Q")


def _copy_refs(refs: "array[int]") -> "array[int]":
    return array("Q", refs)
