# -*- test-case-name: txcausal.test.test_source -*-
"""
Where log lines come from: files (gzip detected by content), standard input
and other binary streams, read in chunks and split into lines of bounded
length.

Lines are handed on in batches (lists), one per chunk read, so that the
decoding loop above iterates over plain lists.  A line longer than the
bound is never held whole: its bytes are dropped as they arrive and a
L{TooLong} marker (which knows the line's length) takes its place in the
batch, so memory stays within the bound plus one chunk whatever the input
(C{/dev/zero}, a log without newlines).
"""

from __future__ import annotations

import gzip
import io
import os
import select
import stat
from typing import IO, Any, BinaryIO, Callable, Iterable, Iterator, List, Optional

#: The default bound on the length of a line, in bytes.
DEFAULT_MAX_LINE_BYTES = 16 << 20


class TooLong(bytes):
    """
    Stands in a batch for a line longer than the bound (tell it by its
    class): its bytes are a marker, its C{length} the line's.
    """

    length: int

    def __new__(cls, length: int) -> "TooLong":
        line = super().__new__(cls, b"\0<line too long>")
        line.length = length
        return line


#: A L{TooLong} marker (all compare equal, whatever their length).
TOO_LONG = TooLong(0)


def line_length(line: bytes) -> int:
    """
    The length of a line of a batch, in bytes (of the line read, for a
    L{TooLong} marker).
    """
    return line.length if isinstance(line, TooLong) else len(line)


#: How much is read at a time.
CHUNK_BYTES = 1 << 20

#: The UTF-8 byte-order mark some editors put at the start of a file.
BOM = b"\xef\xbb\xbf"

_GZIP_MAGIC = b"\x1f\x8b"

#: Called when reading would wait for more input.
IdleCallback = Callable[[], None]


class LineSplitter:
    """
    Split chunks of bytes into lines (without their newline), none longer
    than a bound.

    Feed it chunks as they arrive with L{feed}; the end of a line cut by
    the end of a chunk is kept until the next one, and L{finish} returns
    the last line of an input that does not end with a newline.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE_BYTES) -> None:
        """
        @param max_line: The longest line kept, in bytes (its newline not
            counted); longer ones become L{TooLong} markers.
        @raise ValueError: If it is not positive.
        """
        if max_line < 1:
            raise ValueError(f"max_line must be positive, not {max_line!r}")
        self.max_line = max_line
        self._pending: List[bytes] = []
        #: The size of the line not finished yet, held or skipped.
        self.pending_bytes = 0
        self._skipping = False

    def feed(self, chunk: bytes) -> List[bytes]:
        """
        @return: The lines that C{chunk} completes, in order.
        """
        lines: List[bytes] = []
        if self._pending or self._skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                self._hold(chunk)
                return lines
            self._hold(chunk[:newline])
            lines.append(self._take())
            chunk = chunk[newline + 1 :]
        lines.extend(chunk.split(b"\n"))
        self._hold(lines.pop())
        if len(chunk) > self.max_line:
            limit = self.max_line
            lines = [line if len(line) <= limit else TooLong(len(line)) for line in lines]
        return lines

    def pending(self) -> Optional[bytes]:
        """
        The line not finished yet, as far as it came (C{None} when it is
        already longer than the bound).
        """
        return None if self._skipping else b"".join(self._pending)

    def finish(self) -> List[bytes]:
        """
        @return: The last line, if the input did not end with a newline.
        """
        if self._pending or self._skipping:
            return [self._take()]
        return []

    def _hold(self, piece: bytes) -> None:
        self.pending_bytes += len(piece)
        if self._skipping or not piece:
            return
        if self.pending_bytes > self.max_line:
            self._pending.clear()
            self._skipping = True
        else:
            self._pending.append(piece)

    def _take(self) -> bytes:
        """
        The line held so far, and start afresh.
        """
        if self._skipping:
            self._skipping = False
            line: bytes = TooLong(self.pending_bytes)
        else:
            line = b"".join(self._pending)
        self._pending.clear()
        self.pending_bytes = 0
        return line


def open_path(path: str) -> BinaryIO:
    """
    Open a log file for reading, decompressing it if it is gzip (told by
    its content, not its name).

    @raise OSError: If it cannot be opened.
    """
    raw = open(path, "rb")
    try:
        magic = raw.read(2)
        raw.seek(0)
    except OSError:
        raw.close()
        raise
    if magic == _GZIP_MAGIC:
        return _OwnGzipFile(raw)  # type: ignore[return-value]
    return raw


class _OwnGzipFile(gzip.GzipFile):
    """
    A gzip file decompressing a file it owns: closing it closes that file
    too, as C{gzip.open} does with the file it opens by name.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._owned = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._owned.close()


def wrap_stream(stream: BinaryIO) -> BinaryIO:
    """
    The stream itself, or a decompressing view of it if it starts as gzip
    does (checked without consuming it, when it can peek or seek).  A pipe
    may give the first byte of gzip's magic number alone: then the next
    one is waited for (or the end), and the stream read through a view
    that gives those bytes back first.
    """
    peek = getattr(stream, "peek", None)
    if peek is not None and peek(2)[:2] == _GZIP_MAGIC[:1]:
        head = stream.read(2)  # Waits for the second byte, or the end.
        stream = io.BufferedReader(_Prefixed(head, stream))
    if starts_gzip(stream):
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


class _Prefixed(io.RawIOBase):
    """
    The bytes C{head}, read from C{stream} to look at them, then the rest
    of C{stream} (left open: it is the caller's).
    """

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size], self._head = self._head[:size], self._head[size:]
            return size
        read = getattr(self._stream, "read1", self._stream.read)
        data = read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def starts_gzip(stream: Any) -> bool:
    """
    Whether C{stream} starts as gzip does (checked without consuming it,
    when it can peek or seek).
    """
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bool(peek(2)[:2] == _GZIP_MAGIC)
    seekable = getattr(stream, "seekable", None)
    if seekable is not None and seekable():
        where = stream.tell()
        magic = stream.read(2)
        stream.seek(where)
        return bool(magic == _GZIP_MAGIC)
    return False


def _live_descriptor(stream: Any) -> Optional[int]:
    """
    The file descriptor under C{stream} when it is a pipe, a terminal or a
    socket (input that may pause), else C{None}.
    """
    raw = getattr(stream, "fileobj", None) or stream
    try:
        fd = int(raw.fileno())
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError, TypeError):
        return None
    return None if stat.S_ISREG(mode) else fd


def _would_wait(fd: int) -> bool:
    try:
        ready, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return False
    return not ready


def line_batches(
    stream: IO[bytes],
    max_line: int = DEFAULT_MAX_LINE_BYTES,
    on_idle: Optional[IdleCallback] = None,
) -> Iterator[List[bytes]]:
    """
    Read C{stream} to its end in chunks, as batches of lines.

    @param max_line: See L{LineSplitter}.
    @param on_idle: Called before reading blocks: when the stream is a
        pipe, terminal or socket with nothing to read yet (e.g. to flush
        output while C{tail -f} is quiet).
    """
    read = getattr(stream, "read1", None) or stream.read
    splitter = LineSplitter(max_line)
    fd = _live_descriptor(stream) if on_idle is not None else None
    while True:
        if fd is not None and on_idle is not None and _would_wait(fd):
            on_idle()
        chunk = read(CHUNK_BYTES)
        if not chunk:
            break
        yield splitter.feed(chunk)
    last = splitter.finish()
    if last:
        yield last


def batches_of(lines: Iterable[bytes], size: int = 4096) -> Iterator[List[bytes]]:
    """
    Batches of lines already split (e.g. a list of lines given instead of
    a file): lists of up to C{size}, each line's newline removed.
    """
    batch: List[bytes] = []
    for line in lines:
        batch.append(line.rstrip(b"\n"))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
