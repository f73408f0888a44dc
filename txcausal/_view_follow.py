# -*- test-case-name: txcausal.test.test_webview_files -*-
"""
Following log files by name, as C{tail -F} does, for the web view: through
growth, rotation (renamed away and replaced) and truncation.

Each path is followed by a L{Follower}.  Every file it opens (the first,
and each one that replaces it at the same path) is a L{Generation}: its
descriptor stays open, so positions in a file renamed away still read
back.  Compressed files and standard input are first copied, by a thread,
to an unnamed temporary file, which is then read like any other.
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from collections import deque
from typing import (
    IO,
    Any,
    BinaryIO,
    Callable,
    Deque,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    cast,
)

from attrs import define, field

from ._source import wrap_stream

_GZIP_MAGIC = b"\x1f\x8b"
#: A rotated-away file is read until it has been idle for this many polls.
_RETIRE_AFTER = 10
#: How many files rotated away are kept open, for their tasks to be shown;
#: past it the oldest is closed (its descriptor and, once deleted, its disk
#: space given back).
MAX_RETIRED = 100

StartThread = Callable[[Callable[[], None]], None]


def daemon_thread(target: Callable[[], None]) -> None:
    """
    Start C{target} in a daemon thread.
    """
    threading.Thread(target=target, name="txcausal-web-spill", daemon=True).start()


@define(eq=False)
class Generation:
    """
    One open file: a file first opened at a path, a file that later
    replaced it, or a temporary copy.  Read from any thread; closed (its
    descriptor C{-1}) when too old to keep open.
    """

    number: int
    source: int
    name: str
    fd: int
    identity: Optional[tuple[int, int]]
    offset: int = 0
    lines: int = 0
    idle: int = 0
    _lock: threading.Lock = field(factory=threading.Lock, init=False)

    def read(self, length: int, offset: int) -> bytes:
        """
        Up to C{length} bytes from C{offset}.

        @raise OSError: If the file is closed or cannot be read.
        """
        with self._lock:  # Not closed, its descriptor reused, meanwhile.
            if self.fd < 0:
                raise OSError(errno.EBADF, "closed")
            return os.pread(self.fd, length, offset)

    def size(self) -> int:
        """
        The file's size now.
        """
        return os.fstat(self.fd).st_size

    def close(self) -> None:
        """
        Close the file: what it holds can no longer be read.
        """
        with self._lock:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


@define(eq=False)
class Spill:
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
class Follower:
    """
    One of the files to read, through its rotations.
    """

    source: int
    path: str
    spill: Optional[Spill] = None
    active: List[Generation] = field(factory=list)
    error: Optional[str] = None


class FollowedFiles:
    """
    The files of some paths, followed by name: which open files hold their
    lines, as they grow, are rotated and are truncated.

    @ivar names: The name shown for each path.
    @ivar generations: Every file opened, by number.
    @ivar followers: One per path.
    """

    def __init__(
        self,
        paths: Sequence[str],
        on_error: Callable[[str], None],
        stdin: Optional[IO[bytes]] = None,
        startThread: StartThread = daemon_thread,
    ) -> None:
        """
        @param paths: The files; C{"-"} for standard input.
        @param on_error: Called with the text of each problem met.
        @param stdin: What C{"-"} reads; C{sys.stdin}'s bytes by default.
        @param startThread: Starts the threads that copy compressed files
            and standard input.
        """
        self._error = on_error
        self._stdin = stdin
        self._start_thread = startThread
        self.names = ["<stdin>" if path == "-" else path for path in paths]
        self.generations: List[Generation] = []
        self._retired: Deque[Generation] = deque()
        self.followers = [Follower(number, path) for number, path in enumerate(paths)]

    def to_read(self) -> Iterator[Generation]:
        """
        The files to read now, path by path (opened as they come).
        """
        for follower in self.followers:
            yield from self._generations_of(follower)

    def _generations_of(self, follower: Follower) -> List[Generation]:
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
            if generation.idle >= _RETIRE_AFTER:
                follower.active.remove(generation)
                self._retire(generation)
        return list(follower.active)

    def _retire(self, generation: Generation) -> None:
        """
        C{generation} is read no more: keep it open for its tasks to be
        shown, closing the oldest past L{MAX_RETIRED}.
        """
        self._retired.append(generation)
        while len(self._retired) > MAX_RETIRED:
            old = self._retired.popleft()
            old.close()
            self._error(
                f"{old.name}: a file rotated away was closed (at most {MAX_RETIRED} are kept "
                "open): its messages are no longer shown"
            )

    def _open(self, follower: Follower) -> None:
        path, name = follower.path, self.names[follower.source]
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

    def _spill(self, follower: Follower, stream: IO[bytes]) -> None:
        spill = follower.spill = Spill(tempfile.TemporaryFile(prefix="txcausal-web-"))
        self._add_generation(follower, os.dup(spill.file.fileno()), None)
        self._start_thread(lambda: spill.copy(stream))

    def _add_generation(
        self, follower: Follower, fd: int, identity: Optional[tuple[int, int]]
    ) -> None:
        number = len(self.generations)
        name = self.names[follower.source]
        generation = Generation(number, follower.source, name, fd, identity)
        self.generations.append(generation)
        follower.active.append(generation)

    def _check_rotation(self, follower: Follower) -> None:
        current = follower.active[-1]
        try:
            stat = os.stat(follower.path)
        except OSError:
            return  # Renamed away, not yet replaced: read on.
        if (stat.st_dev, stat.st_ino) != current.identity:
            self._open(follower)
        elif stat.st_size < current.offset:
            # Truncated in place: what was indexed no longer reads back.
            for generation in follower.active:
                self._retire(generation)
            follower.active.clear()
            self._error(f"{current.name}: truncated; reading it again from the start")
            self._open(follower)

    def close(self) -> None:
        """
        Close every file.
        """
        for generation in self.generations:
            generation.close()
        for follower in self.followers:
            if follower.spill is not None:
                follower.spill.file.close()

    def status(self) -> List[Dict[str, Any]]:
        """
        What is read of each path, its size, and why it cannot be read.
        """
        files = []
        for follower in self.followers:
            read = sum(g.offset for g in self.generations if g.source == follower.source)
            active = follower.active[-1] if follower.active else None
            files.append(
                {
                    "name": self.names[follower.source],
                    "read": read,
                    "size": _size(active),
                    "error": follower.error or (follower.spill and follower.spill.error),
                }
            )
        return files


def _size(generation: Optional[Generation]) -> Optional[int]:
    if generation is None:
        return None
    try:
        return generation.size()
    except OSError:
        return None
