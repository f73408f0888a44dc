# -*- test-case-name: txcausal.test.test_follow_compressed,txcausal.test.test_follow -*-
"""
The decompressed copies a L{FileFollower<txcausal._tail.FileFollower>}
reads compressed files and standard input through: L{Spill}, made by a
thread into an unnamed temporary file.

A compressed file is read by position, decompressed as it comes: one
still being written (C{app | gzip > log}) is copied on as it grows, at
each look where it grew, until the end of its gzip stream (and the
members that follow, appended later); a file truncated or rewritten in
place meanwhile is told by L{mark_before}, and its copy stops there.
"""

from __future__ import annotations

import os
import threading
import zlib
from typing import IO, Any, BinaryIO, Callable, Iterator, Optional, Tuple, cast

from attrs import define, field

from ._source import wrap_stream

#: How many of the last bytes read are looked for again, at each look, to
#: tell a file rewritten from its start from one that only grew.
MARK_BYTES = 64

#: How many bytes of a compressed file are decompressed at a time.
_CHUNK = 1 << 16

#: At most how many decompressed bytes are written at a time (the lock held).
PIECE_BYTES = 1 << 20

#: The error of a copy whose file was truncated while it was copied.
TRUNCATED = "truncated while it was decompressed"

#: How a gzip stream starts: its magic number and method (deflate).
GZIP_START = b"\x1f\x8b\x08"


def _decompressor() -> Any:
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip's header and trailer


@define(eq=False)
class Spill:
    """
    A thread's copy of a stream, or of a compressed file, into a temporary
    file.

    @ivar done: The copy got to the end: of the stream; of the file's last
        gzip stream (what is appended to the file later is copied at the
        next L{resume}); or it failed (its C{error}).
    @ivar mark: For a file, an offset and the bytes before it (see
        L{mark_before}): where the copy got to, or the file's size when
        it was opened if that is further.  No longer there, the file was
        truncated: the copy stops, with an error.
    @ivar fd: The compressed file copied, read by position (C{-1}: none,
        or closed).
    @ivar position: How many of its bytes were decompressed.
    @ivar waiting: The copy is at the end of the file, inside a gzip
        stream: the rest is still to be written.
    @ivar running: A thread is copying (set by the one that starts it).
    @ivar not_started: Why a thread to copy on could not be started, at
        the last L{start} (C{None}: it was).
    @ivar cut: Why the file, at the name, is cut (L{waiting} too long);
        C{None} if it is not, or grew since.
    @ivar cuts: How many times it was cut (only the first is reported).
    """

    file: IO[bytes]
    done: bool = False
    error: Optional[str] = None
    reported: bool = False  # Its error, through the follower's on_error.
    mark: Tuple[int, bytes] = (0, b"")
    fd: int = -1
    position: int = 0
    waiting: bool = False
    running: bool = False
    not_started: Optional[str] = None
    cut: Optional[str] = None
    cuts: int = 0
    _between: bool = True  # At the start of a gzip member (or padding).
    _inflate: Any = field(factory=_decompressor)
    _tail: bytes = b""  # The last bytes copied.
    _lock: threading.Lock = field(factory=threading.Lock, init=False)
    # Set by stop() before it waits for the lock, which the copying thread,
    # taking it back between pieces, could otherwise keep for many.
    _stopping: bool = field(default=False, init=False)

    def start(self, startThread: Callable[[Callable[[], None]], None],
              target: Callable[[], None]) -> bool:
        """
        Copy on: call C{target} (L{copy} or L{resume}) in a thread started
        with C{startThread}.  If none can be started (too many threads),
        nothing is raised: why is noted in L{not_started}; the copy of a
        stream is then done, with that error; a file's is not done (it grew,
        or this was asked for nothing), to be started again later.

        @return: Whether a thread was started.
        """
        done, self.running, self.done = self.done, True, False
        try:
            startThread(target)
        except Exception as e:
            # A file's copy that was done (at the end of a gzip member) is
            # not any more: what the file now holds past it is still to read.
            self.running, self.done = False, done and self.fd < 0
            self.not_started = f"no thread could be started to copy it ({type(e).__name__}: {e})"
            if self.fd < 0:  # A stream, not read by position: not started again.
                self.give_up(self.not_started)
            return False
        self.not_started = None
        return True

    def copy(self, stream: IO[bytes]) -> None:
        """
        Copy C{stream} (standard input, left open), decompressed if it is
        compressed, as it comes.
        """
        try:
            # Here, not in the caller's loop: telling whether a pipe holds
            # gzip waits for its first bytes.
            source = wrap_stream(cast(BinaryIO, stream))
            # read1 returns what is there: a pipe that stays open is copied
            # as it comes, not once a buffer is full.
            read = getattr(source, "read1", source.read)
            for chunk in iter(lambda: read(1 << 16), b""):
                self.file.write(chunk)
                self.file.flush()
        except Exception as e:  # Reported in the status, never raised.
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.running, self.done = False, True

    def resume(self) -> None:
        """
        Copy what the compressed file holds past L{position}, decompressed;
        then note whether more is to come (L{waiting}) or the copy is
        L{done}.  Stops at a truncation, and once closed.
        """
        try:
            while self._step():
                pass
        except Exception as e:  # Reported in the status, never raised.
            self.error, self.done = f"{type(e).__name__}: {e}", True
        finally:
            self.running = False

    def _step(self) -> bool:
        """
        Copy the next chunk of the file, a piece of its output at a time:
        a truncation, or L{stop}, is noticed before each piece is written.

        @return: Whether there may be more.
        """
        if self._stopping:
            return False
        with self._lock:  # Not closed, its descriptor reused, meanwhile.
            if self.fd < 0:
                return False
            data = os.pread(self.fd, _CHUNK, self.position)
            if not data:
                if self._intact():
                    self.waiting, self.done = not self._between, self._between
                return False
        pieces = self._inflated(data)
        while not self._stopping:
            with self._lock:
                piece = next(pieces, None)
                if piece is None:
                    self._advance(data)
                    return True
                # After the read, before the write: what is written was
                # read before any truncation (a look may read it at once).
                if not self._intact():
                    return False
                self.file.write(piece)
                self.file.flush()
        return False

    def _intact(self) -> bool:
        """
        Whether the copy may go on: it is not stopped, and the file was not
        truncated (its L{mark} is still there); if it was, the copy is
        done, with an error.
        """
        end, mark = self.mark
        if self.fd < 0:
            return False
        if mark and mark_before(self.fd, end) != mark:
            self.error, self.done = TRUNCATED, True
            return False
        return True

    def _inflated(self, data: bytes) -> Iterator[bytes]:
        """
        What the bytes C{data}, the next of the file, decompress to, in
        pieces of at most L{PIECE_BYTES}: gzip members one after another,
        zeros between them skipped, as C{gzip} does.
        """
        full = False  # The last piece was full: more may be held back.
        while data or full:
            if self._between:
                data = data.lstrip(b"\0")
                if not data:
                    return
            piece = self._inflate.decompress(data, PIECE_BYTES)
            full = len(piece) == PIECE_BYTES
            if self._inflate.eof:
                data, self._between, full = self._inflate.unused_data, True, False
                self._inflate = _decompressor()
            else:
                data, self._between = self._inflate.unconsumed_tail, False
            yield piece

    def _advance(self, data: bytes) -> None:
        """
        The bytes C{data} of the file were copied: move the mark past them
        if they go beyond it.
        """
        self.position += len(data)
        self._tail = (self._tail + data)[-MARK_BYTES:]
        if self.position > self.mark[0]:
            self.mark = (self.position, self._tail)

    def appended(self) -> Optional[bool]:
        """
        Whether the file, past L{position}, where the copy is L{waiting}
        inside a gzip stream, holds a new gzip stream (C{None}: too few
        bytes yet to tell).
        """
        with self._lock:
            start = os.pread(self.fd, len(GZIP_START), self.position) if self.fd >= 0 else b""
        if start == GZIP_START:
            return True
        return None if GZIP_START.startswith(start) else False

    def restart(self) -> None:
        """
        End the gzip stream the copy is inside, cut (nothing more is fed
        to its decompressor), to decompress a new one from L{position}.
        """
        with self._lock:
            self._inflate, self._between = _decompressor(), True
            self.waiting, self.cut = False, None

    @property
    def inside(self) -> bool:
        """
        Whether the copy got to the middle of a gzip stream (not to its
        end, nor to the end of a member).
        """
        return not self._between

    def give_up(self, reason: str) -> None:
        """
        Stop waiting for the rest of the file's gzip stream: the copy is
        done, with C{reason} as its error.
        """
        with self._lock:
            self.error, self.done, self.waiting = reason, True, False

    def stop(self) -> bool:
        """
        Copy no more of the file (a thread copying stops at its next
        chunk): the copy is done with what it holds.

        @return: Whether it was done already.
        """
        self._stopping = True
        with self._lock:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
            done, self.done, self.waiting = self.done, True, False
            return done

    def close(self) -> None:
        """
        Close the temporary file and the file copied (a thread copying
        stops at its next chunk).
        """
        self.stop()
        self.file.close()


def mark_before(fd: int, end: int) -> bytes:
    """
    The last bytes of the file C{fd} before offset C{end} (none if it
    cannot be read): as many as L{MARK_BYTES}.
    """
    start = max(0, end - MARK_BYTES)
    try:
        return os.pread(fd, end - start, start)
    except OSError:
        return b""
