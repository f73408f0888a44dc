# -*- test-case-name: txcausal.test.test_file,txcausal.test.test_file_shortwrite -*-
"""
L{FileDestination}: one JSON object per line, written to a file as it is
logged (one system call per line on a regular file), and L{ShortWrite}, what
it raises when a full disk cuts a write short.
"""

from __future__ import annotations

import io
import os
import stat
import threading
from typing import IO, Any, Dict, NoReturn, Optional, Tuple

from orjson import dumps as _dumps
from zope.interface import implementer

from ._interfaces import IDestination
from ._json import FAST_OPTIONS, EncoderHook, encoder_for, safe_str
from ._wire import exception_name


def _is_text(file: Any) -> bool:
    """
    Guess whether C{file} wants C{str} (C{True}) or C{bytes}.
    """
    if isinstance(file, io.TextIOBase):
        return True
    if isinstance(file, (io.RawIOBase, io.BufferedIOBase)):
        return False
    mode = getattr(file, "mode", None)
    if isinstance(mode, str):
        return "b" not in mode
    return hasattr(file, "encoding")


def _raw_file(file: Any) -> Optional[io.FileIO]:
    """
    @return: The unbuffered file under C{file} when lines may be written to
        it directly: a buffered binary file opened on a regular file, other
        than the standard streams (whose other writers rely on the buffer's
        order).  C{None} otherwise.
    """
    if type(file) is not io.BufferedWriter or file.closed:
        return None
    raw = file.raw
    if not isinstance(raw, io.FileIO) or raw.fileno() <= 2:
        return None
    try:
        if not stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
            return None
        # What the program wrote before goes first.
        file.flush()
    except (OSError, ValueError):
        return None
    return raw


class ShortWrite(OSError):
    """
    A file took only part of a write: the disk is full, or the file raised
    after taking some of the lines.

    @ivar lost: How many lines of the write were neither written nor kept
        to be written next (each line is one message as written: a message
        that could not be encoded is written as two).
    @ivar first: The start of the first line lost or, when none is, of the
        line cut short (of its rest, for L{FileDestination.write_cut_line});
        at most L{_SHOWN} bytes.
    """

    def __init__(self, reason: str, lost: int = 0, first: bytes = b"") -> None:
        super().__init__(reason)
        self.lost = lost
        self.first = first


#: How much of a line a L{ShortWrite} shows.
_SHOWN = 1000


def _line_at(data: bytes, start: int) -> bytes:
    """
    @return: The start of the line of C{data} beginning at C{start}.
    """
    return data[start:start + _SHOWN].split(b"\n", 1)[0]


def _lines(count: int) -> str:
    """
    @return: C{"1 line"}, C{"2 lines"}...
    """
    return f"{count:,} line" if count == 1 else f"{count:,} lines"


def _cause(error: Optional[OSError]) -> str:
    """
    @return: What the file raised, for a L{ShortWrite}'s reason.
    """
    return "" if error is None else f" ({exception_name(error)}: {safe_str(error, 200)})"


@implementer(IDestination)
class FileDestination:
    """
    Writes each message as one line of JSON to a file, text or binary; each
    line reaches the operating system before the call returns.

    A binary file opened on a regular file (C{open(path, "ab")}) is written
    to directly with one system call per line, bypassing its buffer: what
    the program wrote through the file object before is flushed first, and
    anything it writes there later should be flushed by the program too.
    Other files are written to and then flushed.  Remove the destination
    before closing its file.

    If a file written directly stops taking data halfway through a line (a
    full disk), the call raises L{ShortWrite} (an L{OSError}), which reports
    the failure; the rest of that one line is kept and written first the
    next time, so that a later line is not glued to half a line (when one
    thread writes at a time, as behind a
    L{txcausal.logwriter.ThreadedWriter}: the direct write takes no lock).
    The lines of the write that the file took nothing of are lost, and
    counted in L{ShortWrite.lost}.  While that rest cannot be written, later
    writes are not attempted: they raise L{ShortWrite} too, losing their
    lines, and what is kept never grows.  A C{ThreadedWriter} tries the rest
    once more when it stops (L{write_cut_line}); a forked child leaves the
    rest to its parent.  Other files raise what they raise, and keep
    nothing.
    """

    __slots__ = ("_file", "_text", "_encoder", "_default", "_lock", "_raw", "_pending",
                 "_pendingLock", "_pendingPid")

    def __init__(self, file: IO[Any], encoder: EncoderHook = None) -> None:
        """
        @param file: An open file, text or binary.
        @param encoder: A hook for types JSON does not know; see
            L{txcausal._json.EncoderHook}.
        """
        self._file = file
        self._text = _is_text(file)
        self._encoder = encoder_for(encoder)
        self._default = self._encoder.default
        self._raw = _raw_file(file)
        self._lock: Optional[threading.Lock] = (
            None if isinstance(file, io.BufferedWriter) else threading.Lock()
        )
        #: The rest of the line a failed direct write cut short.
        self._pending = b""
        self._pendingLock = threading.Lock()
        #: The process that cut that line: a forked child leaves it to it.
        self._pendingPid = 0

    @property
    def file(self) -> IO[Any]:
        """
        The file written to (to write to another file, make another
        destination).
        """
        return self._file

    def encode(self, message: Dict[str, Any]) -> bytes:
        """
        Encode a message as this destination writes it.

        @return: One JSON line, or the two lines reporting a message that
            cannot be encoded; never raises.
        """
        try:
            return _dumps(message, default=self._default, option=FAST_OPTIONS)
        except TypeError:
            # Non-string keys, integers past 64 bits, unencodable values:
            # the full encoder copes, or reports.
            return self._encoder.encode(message)

    def write_encoded(self, data: bytes) -> None:
        """
        Write already encoded lines (see L{encode}), e.g. a batch of them
        from L{txcausal.logwriter.ThreadedWriter}, as one write.

        @raise ShortWrite: If the file took only part of them (see the
            class docstring).
        """
        raw = self._raw
        if raw is not None:
            # One system call; on a regular file a write is never
            # interleaved with another thread's.
            if self._pending:
                self._write_rest(data, None)
                return
            written = raw.write(data)
            if written != len(data):
                self._write_rest(data, written)
            return
        lock = self._lock
        if lock is None:
            # A buffered binary file locks itself, and each write is a whole
            # number of lines, so lines never interleave.
            self._file.write(data)
            self._file.flush()
            return
        text: Any = data.decode("utf-8", "surrogateescape") if self._text else data
        with lock:
            self._file.write(text)
            self._file.flush()

    def _write_rest(self, data: bytes, written: Optional[int]) -> None:
        """
        The slow path of direct writes: finish a write of C{data} the file
        took only C{written} bytes of; or, when C{written} is C{None}, write
        the rest of the line cut short earlier, then C{data}.

        @raise ShortWrite: If the file took only part (see L{_cut}), or
            nothing of C{data} because the cut line could not be finished.
        @raise OSError: If the file raised before taking any of C{data}.
        """
        with self._pendingLock:
            if written is None:
                self._forget_parents_rest()
                self._write_pending(data)
            done, error = self._write_from(data, written or 0)
            if done < len(data):
                self._cut(data, done, error)

    def _forget_parents_rest(self) -> None:
        """
        In a forked child, drop the rest of a line the parent cut: the
        parent writes it, and two copies would garble the file.
        """
        if self._pending and self._pendingPid != os.getpid():
            self._pending = b""

    def _write_from(self, data: bytes, done: int) -> Tuple[int, Optional[OSError]]:
        """
        Write C{data} from offset C{done} until the file takes it all, takes
        nothing, or raises L{OSError}.

        @return: How much of C{data} is written, and what the file raised.
        """
        raw = self._raw
        assert raw is not None
        view = memoryview(data)
        while done < len(data):
            try:
                written = raw.write(view[done:])
            except OSError as e:
                return done, e
            if not written:
                return done, None
            done += written
        return done, None

    def _write_pending(self, data: bytes) -> None:
        """
        Write the rest of the line cut short earlier, if any.

        @raise ShortWrite: If the file does not take it all: what it did not
            take is kept, and C{data}, not written, is lost.
        """
        pending = self._pending
        done, error = self._write_from(pending, 0)
        self._pending = pending[done:]
        if self._pending:
            lost = data.count(b"\n")
            raise ShortWrite(
                f"the file took {done:,} of the {len(pending):,} bytes left of a line cut "
                f"short earlier{_cause(error)}; that rest is kept and written next; "
                f"{_lines(lost)} not written and lost", lost, _line_at(data, 0)) from error

    def _cut(self, data: bytes, done: int, error: Optional[OSError]) -> NoReturn:
        """
        The file took only C{done} bytes of C{data}: keep the rest of the
        line it cut, to write it first next time.

        @raise ShortWrite: Counting the lines of C{data} neither written
            nor kept.
        @raise OSError: C{error}, if the file raised before taking any.
        """
        if error is not None and done == 0:
            raise error
        end = done
        if done and data[done - 1] != 0x0A:
            # Past the cut line's newline (the end, if it has none).
            end = data.find(b"\n", done) + 1 or len(data)
            # Only a thread whose short write raced this one's can have
            # left a rest too: one line a thread at most.
            self._pending += data[done:end]
            self._pendingPid = os.getpid()
        lost = data.count(b"\n", end)
        kept = ("; the rest of the line cut short is kept and written next"
                if end > done else "")
        first = _line_at(data, end if lost else data.rfind(b"\n", 0, done) + 1)
        raise ShortWrite(f"the file took {done:,} of {len(data):,} bytes{_cause(error)}"
                         f"{kept}; {_lines(lost)} lost", lost, first) from error

    def write_cut_line(self) -> None:
        """
        Try once more to write the rest of a line a full disk cut short, if
        any is kept: what L{txcausal.logwriter.ThreadedWriter} does when it
        stops.  Whatever happens, nothing is kept afterwards.

        @raise ShortWrite: If the file still does not take it all: that
            line is lost (C{lost} is 1), and the file ends with part of it.
        """
        with self._pendingLock:
            self._forget_parents_rest()
            pending, self._pending = self._pending, b""
            if not pending:
                return
            done, error = self._write_from(pending, 0)
            if done < len(pending):
                raise ShortWrite(
                    f"the file took {done:,} of the {len(pending):,} bytes left of a line "
                    f"cut short earlier{_cause(error)}, when no more were to be written; "
                    f"{_lines(1)} lost", 1, pending[:_SHOWN]) from error

    def __call__(self, message: Dict[str, Any]) -> None:
        # The hot path: encode and write_encoded's direct write, inlined.
        try:
            data = _dumps(message, default=self._default, option=FAST_OPTIONS)
        except TypeError:
            data = self._encoder.encode(message)
        raw = self._raw
        if raw is not None and not self._pending:
            written = raw.write(data)
            if written != len(data):
                self._write_rest(data, written)
        else:
            self.write_encoded(data)

    def __repr__(self) -> str:
        return f"<FileDestination {getattr(self._file, 'name', self._file)!r}>"
