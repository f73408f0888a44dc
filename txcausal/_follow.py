# -*- test-case-name: txcausal.test.test_follow -*-
"""
Following a log file as it grows, as C{tail -F} does, and joining its
messages into tasks as they arrive.

Both are polled: L{FileFollower.read} and L{TaskFollower.poll} return what
is there now without waiting, so a command can call them in a loop with a
sleep and a Twisted program from a C{LoopingCall}.

Rotation by rename (the file is renamed and a new one created at the path,
as C{logrotate} and L{twisted.python.logfile} do) is followed: the old file
is read to its end, then the new one from its start.  A file truncated in
place (C{copytruncate}) is read again from its start: it is told by its size,
now smaller than where the reading got to, or, when it was written past that
point before the next look, by the last bytes read, no longer there.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from typing import BinaryIO, Callable, List, Optional

from attrs import frozen

from ._parse import DEFAULT_MAX_OPEN, Parser, Task
from ._parse_input import ErrorCallback, MessageReader, _ignore_error
from ._stream_state import StreamState
from ._source import CHUNK_BYTES, DEFAULT_MAX_LINE_BYTES, LineSplitter
from ._wire import TASK_UUID_FIELD

#: Seconds without a new message after which an open task is shown.
DEFAULT_IDLE_SECONDS = 5.0

#: How many of the last bytes read are looked for again, at each read, to
#: tell a file rewritten from its start from one that only grew.
_MARK_BYTES = 64


class FileFollower:
    """
    Read a file's lines as they are written, following rotation.

    Only complete lines are returned: the end of a line still being
    written waits for the next call, except when the file was rotated away.
    The call that finishes a rotated file returns its last lines only; the
    new file is read from the next call on, so that each call's lines come
    from one file (L{rotations} tells when it changed).
    """

    def __init__(
        self,
        path: str,
        max_line: int = DEFAULT_MAX_LINE_BYTES,
        opener: Callable[[str], BinaryIO] = lambda path: open(path, "rb"),
    ) -> None:
        """
        @param path: The file to follow; it need not exist yet.
        @param max_line: See L{txcausal._source.LineSplitter}.
        @param opener: Opens a path for reading bytes.
        """
        self.path = path
        self._max_line = max_line
        self._opener = opener
        self._file: Optional[BinaryIO] = None
        self._splitter = LineSplitter(max_line)
        # The last bytes read (at most _MARK_BYTES), ending where reading got to.
        self._mark = b""
        #: How many times the file was replaced or truncated.
        self.rotations = 0

    def read(self) -> List[List[bytes]]:
        """
        The batches of lines written since the last call.

        @raise OSError: If the file exists but cannot be read.
        """
        if self._file is None and not self._open():
            return []
        assert self._file is not None
        if self._truncated(self._file):
            self._file.seek(0)
            self._restart()
        batches = self._drain(self._file)
        if self._replaced(self._file):
            batches += self._drain(self._file)
            batches.append(self._splitter.finish())
            self._file.close()
            self._file = None
            self._restart()
            self._open()
        return [batch for batch in batches if batch]

    def _restart(self) -> None:
        """
        Start reading another file, or the same one again.
        """
        self._splitter = LineSplitter(self._max_line)
        self._mark = b""
        self.rotations += 1

    def close(self) -> None:
        """
        Stop following: close the file.
        """
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self) -> bool:
        try:
            self._file = self._opener(self.path)
        except FileNotFoundError:
            return False
        return True

    def _drain(self, file: BinaryIO) -> List[List[bytes]]:
        read = getattr(file, "read1", file.read)
        batches: List[List[bytes]] = []
        while True:
            chunk = read(CHUNK_BYTES)
            if not chunk:
                return batches
            batches.append(self._splitter.feed(chunk))
            mark = self._mark + chunk if len(chunk) < _MARK_BYTES else chunk
            self._mark = mark[-_MARK_BYTES:]

    def _truncated(self, file: BinaryIO) -> bool:
        """
        Whether C{file} was truncated since the last read: it is now
        shorter than where the reading got to, or the bytes last read are
        no longer where they were.
        """
        position, mark = file.tell(), self._mark
        fd = file.fileno()
        if os.fstat(fd).st_size < position:
            return True
        return bool(mark) and os.pread(fd, len(mark), position - len(mark)) != mark

    def _replaced(self, file: BinaryIO) -> bool:
        """
        Whether the path now names another file than C{file}.
        """
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(file.fileno())
        return (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino)


@frozen
class Update:
    """
    A task to show, from L{TaskFollower.poll}.

    @ivar task: The task as it stands.
    @ivar still_open: C{False} when the task finished (its part in this
        log is complete, see L{Parser.eager}) or was given up past
        C{max_open}; C{True} for a task still open that received nothing
        for the idle time: it is shown again when it finishes.
    """

    task: Task
    still_open: bool


class TaskFollower:
    """
    Follow a log file and join its messages into tasks: each task as soon
    as its part in this log is complete, and each task left open with no
    new message for C{idle} seconds, as it stands.

    Memory is bounded as L{Parser}'s is, by C{max_open}.
    """

    def __init__(
        self,
        path: str,
        idle: float = DEFAULT_IDLE_SECONDS,
        max_open: int = DEFAULT_MAX_OPEN,
        on_error: ErrorCallback = _ignore_error,
        clock: Callable[[], float] = time.monotonic,
        max_line: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        """
        @param path: The file to follow.
        @param idle: Seconds after which a quiet open task is shown.
        @param max_open: The cap on open tasks (see L{Parser}).
        @param on_error: Told about each line skipped.
        @param clock: Returns the current time, in seconds.
        @param max_line: The longest line read, in bytes.
        """
        self._file = FileFollower(path, max_line)
        self._reader = MessageReader(on_error, max_line=max_line)
        self._parser = Parser(max_open, eager=True)
        self._state = StreamState(path)
        self._idle = idle
        self._clock = clock
        self._rotations = 0
        # Open tasks not shown since their last message, quietest first.
        self._quiet: OrderedDict[str, float] = OrderedDict()

    def poll(self) -> List[Update]:
        """
        Read what was written since the last call.

        @return: The tasks that finished, then those that went quiet.
        """
        batches = self._file.read()
        messages = list(self._reader.decode(batches, self._state))
        if not batches or self._file.rotations != self._rotations:
            messages.extend(self._reader.finish(self._state))
        if self._file.rotations != self._rotations:
            self._rotations = self._file.rotations
            self._state = StreamState(self._file.path)
        now = self._clock()
        updates = [Update(task, False) for task in self._add(messages, now)]
        return updates + self._quiet_tasks(now)

    def close(self) -> List[Update]:
        """
        Stop following.

        @return: The tasks still open.
        """
        self._file.close()
        return [Update(task, True) for task in self._parser.flush()]

    def _add(self, messages: List[dict], now: float) -> List[Task]:  # type: ignore[type-arg]
        done, quiet, add = [], self._quiet, self._parser.add
        for message in messages:
            uuid = message[TASK_UUID_FIELD]
            task = add(message)
            quiet[uuid] = now
            quiet.move_to_end(uuid)
            if task is not None:
                quiet.pop(task.uuid, None)
                done.append(task)
        return done

    def _quiet_tasks(self, now: float) -> List[Update]:
        updates = []
        quiet = self._quiet
        while quiet:
            uuid, last = next(iter(quiet.items()))
            if now - last < self._idle:
                break
            del quiet[uuid]
            task = self._parser.peek(uuid)
            if task is not None:
                updates.append(Update(task, True))
        return updates
