# -*- test-case-name: txcausal.test.test_follow,txcausal.test.test_follow_rotated -*-
"""
The files a L{FileFollower<txcausal._tail.FileFollower>} opens: each one a
L{Generation} read by position (from any thread), the lines read as
L{Piece}s, and the L{OpenFiles} that number them and keep the retired ones
open, up to a bound, so that their messages can still be read back.
Compressed files and standard input are copied by a thread (L{Spill}) to
an unnamed temporary file, read like any other.  How they are opened is
L{txcausal._tail_open}'s.
"""

from __future__ import annotations

import errno
import os
import threading
from collections import deque
from typing import (
    IO,
    Callable,
    Deque,
    Iterator,
    List,
    Optional,
    Set,
    Tuple,
)

from attrs import define, field, frozen
from orjson import JSONDecodeError, loads

from ._json_decode import decode_refused
from ._parse_input import ErrorCallback, LineError, _ignore_error
from ._source import CHUNK_BYTES, LineSplitter
from ._stream_state import StreamState
from ._tail_rotated import Fingerprint, Identity, Stat, fingerprint
from ._tail_spill import MARK_BYTES, Spill
from ._twisted_records import Repeats

StartThread = Callable[[Callable[[], None]], None]


def _nothing() -> None:
    pass


def daemon_thread(target: Callable[[], None]) -> None:
    """
    Start C{target} in a daemon thread.
    """
    threading.Thread(target=target, name="txcausal-spill", daemon=True).start()


@define(eq=False)
class Generation:
    """
    One file opened at a followed name (or a temporary copy): read by
    position from any thread, closed (its descriptor C{-1}) when no longer
    kept.

    @ivar number: Its number among the files of its L{OpenFiles}.
    @ivar source: The number of the name it was opened at.
    @ivar offset: How many bytes were read.
    @ivar state: Where the decoding of its lines got to.
    @ivar idle: How many looks in a row found nothing new.
    @ivar closed_as: The file's fingerprint when it was closed (its inode
        number may then be given to another file).
    @ivar undecided: Whether it is still to be told compressed or not (it
        had too few bytes for that when opened): nothing is read of it
        meanwhile.
    @ivar newline_owed: Whether its last line was taken without its
        newline (see L{take_last}).
    @ivar stat: Reads the status of its descriptor.
    @ivar on_close: Called once it is closed (if it was open).
    """

    number: int
    source: int
    name: str
    fd: int
    identity: Optional[Identity]
    splitter: LineSplitter
    state: StreamState
    spill: Optional[Spill] = None
    offset: int = 0
    idle: int = 0
    mark: bytes = b""
    closed_as: Optional[Fingerprint] = None
    undecided: bool = False
    newline_owed: bool = False
    stat: Stat = os.stat
    on_close: Callable[[], None] = _nothing
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

    def feed(self, data: bytes) -> Tuple[int, List[bytes]]:
        """
        The bytes that follow what was read: the lines they complete, and
        the offset of the first.  A newline that comes first after a last
        line taken without it (L{take_last}) is that line's: it ends no
        line.
        """
        self.offset += len(data)
        mark = self.mark + data if len(data) < MARK_BYTES else data
        self.mark = mark[-MARK_BYTES:]
        if self.newline_owed:
            self.newline_owed = False
            if data[:1] == b"\n":
                data = data[1:]
        return self.offset - len(data) - self.splitter.pending_bytes, self.splitter.feed(data)

    def take_last(self) -> List[bytes]:
        """
        The line not finished yet, taken as the last one, without its
        newline: if that comes after all, it is not read as a blank line.
        """
        last = self.splitter.finish()
        self.newline_owed = bool(last)
        return last

    @property
    def line_end(self) -> int:
        """
        Where the complete lines read end: the start of the line not
        finished yet.
        """
        return self.offset - self.splitter.pending_bytes

    def batches(self, start: int, end: int) -> Iterator[List[bytes]]:
        """
        The lines between offsets C{start} and C{end}, the start of a line
        and the end of one, read again, in batches.

        @raise OSError: If the file is closed or cannot be read.
        """
        splitter = LineSplitter(self.splitter.max_line)
        while start < end:
            data = self.read(min(CHUNK_BYTES, end - start), start)
            if not data:
                break
            start += len(data)
            yield splitter.feed(data)
        yield splitter.finish()

    def size(self) -> int:
        """
        The file's size now.
        """
        return self.stat(self.fd).st_size

    def truncated(self) -> bool:
        """
        Whether the file was truncated since the last read: it is shorter
        than what was read, or the bytes last read are no longer there.
        """
        mark = self.mark
        if self.size() < self.offset:
            return True
        return bool(mark) and self.read(len(mark), self.offset - len(mark)) != mark

    def moved(self, fd: int, identity: Identity) -> None:
        """
        Read on from C{fd}, the file C{identity}: a copy of this one (what
        was read is there at the same places), which was then emptied.
        """
        with self._lock:
            old, self.fd, self.identity = self.fd, fd, identity
        if old >= 0:
            os.close(old)

    def close(self) -> None:
        """
        Close the file (and a copy's temporary file): what it holds can no
        longer be read.  Never raises: a file whose status cannot be read
        is closed without its fingerprint.
        """
        with self._lock:
            was_open = self.fd >= 0
            if was_open:
                if self.identity is not None:  # Not a temporary copy.
                    try:
                        self.closed_as = fingerprint(self.stat(self.fd))
                    except OSError:
                        pass
                os.close(self.fd)
                self.fd, self.state.before = -1, None
        if self.spill is not None:
            self.spill.close()
        if was_open:
            self.on_close()


@frozen
class Piece:
    """
    Lines read from one file.

    @ivar offset: Where the first line starts in the file.
    @ivar idle: The file stopped growing (or is done with): what is still
        pending there (a text event whose continuation lines might have
        followed) ends here.
    """

    generation: Generation
    offset: int
    lines: List[bytes]
    idle: bool = False


class OpenFiles:
    """
    The files opened by some followers, by number, and those of them
    retired but kept open: at most C{keep} (the oldest closed first).
    """

    def __init__(self, keep: int = 0, on_error: ErrorCallback = _ignore_error,
                 on_close: Callable[[], None] = _nothing) -> None:
        """
        @param keep: How many retired files to keep open.
        @param on_error: Told when a retired file is closed past C{keep}.
        @param on_close: Called each time one of the files is closed (what
            it holds can no longer be read back).
        """
        self._on_close = on_close
        self.generations: List[Generation] = []
        #: The Twisted records of all the names, counted as one stream, in
        #: the order they are read (see L{Repeats}): each record's number,
        #: and so its task UUID, is unique among all the files.
        self.repeats = Repeats()
        self._keep = keep
        self._error = on_error
        self._retired: Deque[Generation] = deque()

    def add(self, source: int, name: str, fd: int, identity: Optional[Identity],
            max_line: int, stat: Stat = os.stat, spill: Optional[Spill] = None
            ) -> Generation:
        """
        A newly opened file, its status read with C{stat}.
        """
        state = StreamState(name, repeats=self.repeats)
        generation = Generation(len(self.generations), source, name, fd, identity,
                                LineSplitter(max_line), state, spill, stat=stat,
                                on_close=self._on_close)
        self.generations.append(generation)
        return generation

    def add_copy(self, source: int, name: str, stream: IO[bytes], max_line: int,
                 stat: Stat, startThread: StartThread) -> Generation:
        """
        A decompressed copy of C{stream} (standard input, see L{Spill}),
        made by a thread started with C{startThread}, to read as it comes.

        @raise OSError: If the temporary file cannot be made.
        """
        file, fd = _temporary()
        spill = Spill(file)
        generation = self.add(source, name, fd, None, max_line, stat, spill)
        spill.start(startThread, lambda: spill.copy(stream))
        return generation

    def add_compressed(self, source: int, name: str, compressed: int, max_line: int,
                       stat: Stat, mark: Tuple[int, bytes]) -> Generation:
        """
        A decompressed copy of the file C{compressed} (a descriptor, closed
        with the copy, or now if it cannot be made), to be made by threads
        as it grows (see L{Spill.start} and L{Spill.resume}).

        @param mark: See L{Spill.mark}.
        @raise OSError: If the temporary file cannot be made.
        """
        try:
            file, fd = _temporary()
        except OSError:
            os.close(compressed)
            raise
        spill = Spill(file, mark=mark, fd=compressed)
        return self.add(source, name, fd, None, max_line, stat, spill)

    def read_before(self, source: int) -> Tuple[Set[Identity], Set[Fingerprint]]:
        """
        The files of the name numbered C{source}: those still open (by
        identity) and those closed (by fingerprint).
        """
        mine = [g for g in self.generations if g.source == source]
        return ({g.identity for g in mine if g.fd >= 0 and g.identity is not None},
                {g.closed_as for g in mine if g.closed_as is not None})

    def retire(self, generation: Generation) -> None:
        """
        C{generation} is read no more: keep it open for reading back,
        closing the oldest past the bound.
        """
        if not self._keep:
            generation.close()
            return
        self._retired.append(generation)
        while len(self._retired) > self._keep:
            old = self._retired.popleft()
            old.close()
            reason = (f"a file rotated away was closed (at most {self._keep} are kept open):"
                      " its messages are no longer shown")
            self._error(LineError(old.name, 0, reason))

    def close(self, source: Optional[int] = None) -> None:
        """
        Close every file (only those of the name numbered C{source}, if given).
        """
        for generation in self.generations:
            if source is None or generation.source == source:
                generation.close()


def _temporary() -> Tuple[IO[bytes], int]:
    """
    A new unnamed temporary file, and a descriptor of its own to read it.

    @raise OSError: If it cannot be made.
    """
    import tempfile  # Only for compressed files and standard input.

    file = tempfile.TemporaryFile(prefix="txcausal-")
    try:
        return file, os.dup(file.fileno())
    except OSError:
        file.close()
        raise


def generation_size(generation: Optional[Generation]) -> Optional[int]:
    if generation is None:
        return None
    try:
        return generation.size()
    except OSError:
        return None


def whole_json(line: Optional[bytes]) -> bool:
    """
    Whether C{line} is a whole JSON object (a message its writer finished,
    but for the newline), as the readers read it: what orjson refuses and
    Python's C{json} writes (C{NaN}, the infinities, lone surrogate
    escapes) included (see L{decode_json}).
    """
    if not line or line[:1] != b"{":
        return False
    try:
        loads(line)
    except JSONDecodeError as e:
        try:  # Rare: read as the readers read what orjson refuses.
            decode_refused(line, e)
        except JSONDecodeError:
            return False
    return True
