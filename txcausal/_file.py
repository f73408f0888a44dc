# -*- test-case-name: txcausal.test.test_file,txcausal.test.test_file_shortwrite -*-
"""
L{FileDestination}: one JSON object per line, written to a file as it is
logged (one system call per line on a regular file); what it raises when a
write is cut short is in L{txcausal._shortwrite}.
"""

from __future__ import annotations

import io
import threading
from typing import IO, Any, Callable, Dict, Optional, Tuple

from orjson import dumps as _dumps
from zope.interface import implementer

from ._interfaces import IDestination
from ._json import FAST_OPTIONS, NULL, JSONLineEncoder, encoder_for
from ._jsondefault import EncoderClass, JSONDefault, checked_default
from ._rawfile import (
    Direct,
    Raw,
    ascii_json,
    direct,
    flush_waiting,
    is_text,
    watch_encoder,
)
from ._reentry import holders
from ._shortwrite import PENDING_HOLDERS, CutLines, PipeClosed, line_at


@implementer(IDestination)
class FileDestination(CutLines):
    """
    Writes each message as one line of JSON to a file, text or binary; each
    line reaches the operating system before the call returns.

    These files are written to directly, bypassing their buffer, with one
    system call per line:

      - a binary file opened on a regular file (C{open(path, "ab")}, or
        unbuffered), after what the program wrote through the file object
        before, which is flushed first (anything it writes there later it
        should flush too);
      - a UTF-8 text file opened on a regular file, a pipe or a terminal
        (C{open(path, "w")}, C{sys.stdout}, C{sys.stderr}), after flushing
        what the program wrote to it, so that lines and the program's own
        output (C{print}) keep their order; on a pipe or a terminal, the
        bytes go through the binary file's buffer (and are flushed), whose
        lock another thread's C{print} takes too;
      - the same, in an encoding that writes ASCII as ASCII (Latin-1,
        cp1252...), each line encoded as its text layer would encode it
        (in an escaped ASCII form where the encoding cannot hold a
        character); on a pipe or a terminal, in any encoding (UTF-16...),
        by the file's own encoder;
      - Twisted's C{LogFile} and C{DailyLogFile}, rotated as their own
        C{write} would.

    A binary file on a pipe, a terminal or a socket, or standard output's
    (C{sys.stdout.buffer}), gets each line through its buffer, flushed at
    once.  Other files (regular files in other encodings, such as UTF-16,
    which get each line as text, in an escaped ASCII form where the
    encoding cannot hold a character; C{StringIO}) are written to and then
    flushed.  Which way is decided
    when the destination is made, and again after the program reconfigures
    a text file (C{reconfigure} with another encoding, C{errors} or
    C{newline}).  Remove the destination before closing its file.

    A file written directly or through its buffer that is non-blocking (as
    Twisted's C{StandardIO} makes standard output) is waited on while it is
    full, as a blocking file would be.

    If a file written directly stops taking data halfway through a line (a
    full disk), the call raises C{ShortWrite}, an C{OSError}, which reports
    the failure; the rest of that one line is kept and written first the
    next time, so that a later line is not glued to half a line (when one
    thread writes at a time, as behind a
    L{txcausal.logwriter.ThreadedWriter}: a direct write to a regular file
    takes no lock).  The lines of the write that the file took nothing of
    are lost, and counted in that error's C{lost}.  While that rest cannot be
    written, later writes are not attempted: they raise C{ShortWrite} too,
    losing their lines, and what is kept grows only by the whole lines logged
    meanwhile by a signal handler or a finalizer on the writing thread
    (kept after it).  A C{ThreadedWriter} tries the rest once more when it
    stops; a forked child leaves the rest to its parent.  Other files raise what they raise,
    and keep nothing.

    When the reader of a pipe goes away, the call raises an C{OSError} once,
    and the destination writes nothing more.
    """

    __slots__ = ("_file", "_text", "_encoder", "_default", "_lock", "_flush", "_fileFlush",
                 "_watch", "_reconfigured", "_recode")

    def __init__(self, file: IO[Any], encoder: EncoderClass = None,
                 json_default: JSONDefault = None) -> None:
        """
        @param file: An open file, text or binary.
        @param encoder: Deprecated, as in Eliot 1.18: a L{json.JSONEncoder}
            subclass; pass C{json_default} instead.
        @param json_default: A function for types JSON does not know (see
            L{txcausal.json.json_default}).
        @raise TypeError: If both are given, or either is not what it
            should be.
        @raise ValueError: If the file is closed, or its C{writable()} says
            it is not open for writing.
        """
        _check_writable(file)
        super().__init__()
        self._file = file
        self._text = is_text(file)
        self._encoder = encoder_for(checked_default(json_default, encoder))
        self._default = self._encoder.default
        how = direct(file)
        self._use(how)
        #: What to call after writing through the file object.
        self._fileFlush = getattr(file, "flush", _nothing)
        self._lock: Optional[threading.Lock] = (
            None if isinstance(file, io.BufferedWriter) and how is None else threading.Lock()
        )
        #: Whether the text file was reconfigured since it was last decided
        #: how to write to it.
        self._reconfigured = False
        self._watch = watch_encoder(file, self._on_reconfigure)

    def _use(self, how: Optional[Direct]) -> None:
        """
        Write lines as C{how} says: directly, or through the file object
        when it is C{None}.  What the hot path reads first is set last.
        """
        #: What to call before a direct write (a text file's flush).
        self._flush = None if how is None else how.flush
        #: What turns a line into the bytes written directly, if anything.
        self._recode = None if how is None else how.recode
        #: What lines are written to directly, if anything.
        self._direct = None if how is None else how.raw
        #: The same, when no lock is needed nor recoding: the hot path's.
        self._raw = (how.raw if how is not None and how.atomic and how.recode is None
                     else None)

    def _on_reconfigure(self) -> None:
        """
        The program is reconfiguring the text file: stop writing to it
        directly (even from another thread) until the next write decides
        anew, once the file is reconfigured.
        """
        self._raw = None
        self._reconfigured = True

    def _follow_reconfigure(self, data: bytes) -> None:
        """
        Decide anew how to write to the text file the program reconfigured,
        after writing the rest of a line cut short, if any, as it was begun.
        While another thread is still reconfiguring it (it has no encoder
        yet), lines go through the file object, and it is decided again
        next time.

        @raise ShortWrite: If that rest still cannot be written; C{data},
            not written, is lost, and it is decided on the next write.
        """
        raw = self._direct
        if self._pending and raw is not None:
            self._write_cut_rest(raw, data)
        self._reconfigured = False
        # Watched first: a reconfiguring that begins meanwhile is seen.
        self._watch = watch_encoder(self._file, self._on_reconfigure)
        self._use(None if self._watch is None else direct(self._file))
        if self._watch is None or self._reconfigured:
            self._on_reconfigure()

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
            data = _dumps(message, default=self._default, option=FAST_OPTIONS)
        except TypeError:
            # Non-string keys, integers past 64 bits, unencodable values:
            # the full encoder copes, or reports.
            return self._encoder.encode(message)
        if data.partition(NULL)[1]:
            # Perhaps a float that is not finite, which orjson writes so.
            return self._encoder.recheck(message, data)
        return data

    def _jsonLines(self) -> Optional[Tuple[JSONLineEncoder, Callable[[bytes], None]]]:
        """
        For the registry (see L{txcausal._route}): the encoder of this
        destination and the function writing lines encoded with it, which
        together do what calling it does; C{None} when a subclass changed
        how it encodes or writes.
        """
        cls = type(self)
        if (cls.__call__ is FileDestination.__call__ and cls.encode is FileDestination.encode
                and cls.write_encoded is FileDestination.write_encoded):
            return self._encoder, self.write_encoded
        return None

    def write_encoded(self, data: bytes) -> None:
        """
        Write already encoded lines (see L{encode}), e.g. a batch of them
        from L{txcausal.logwriter.ThreadedWriter}, as one write.

        @raise ShortWrite: If the file took only part of them (see the
            class docstring).
        @raise PipeClosed: If the reader of the pipe has gone.
        """
        raw = self._raw
        if raw is not None and not self._pending:
            # The hot path, as in __call__ (the registry hands a line encoded
            # once for several destinations here): a regular file, written to
            # with one system call, no lock; a closed pipe has no _raw.
            flush = self._flush
            if flush is not None:
                flush()
            written = raw.write(data)
            if written != len(data):
                self._write_rest(raw, data, written or 0)
            return
        if self._closed:
            raise PipeClosed(self._closed, data.count(b"\n"), line_at(data, 0), True)
        if self._parks(data, _HOLDERS, self._lock):
            return
        if self._reconfigured:
            self._follow_reconfigure(data)
        raw = self._direct
        try:
            if raw is None:
                self._write_file(data)
            elif raw is self._raw:
                # One system call; on a regular file a write is never
                # interleaved with another thread's.
                self._write_direct(raw, data)
            else:
                with self._lock:  # type: ignore[union-attr]
                    self._write_direct(raw, data)
        except BrokenPipeError as e:
            error = self._close(e, data.count(b"\n"), line_at(data, 0))
            self._finish_parked(error)
            raise error from e
        except BaseException as e:
            # Logged by this thread as it wrote (see L{_parks}).
            self._finish_parked(e)
            raise
        self._finish_parked(None)

    #: The base class's write, for the lines parked (see L{_parks}).
    _write_parked = write_encoded

    def _write_direct(self, raw: Raw, data: bytes) -> None:
        """
        Write C{data} to C{raw}, recoded if it should be: after the rest of a
        line cut short, if any, then what the program wrote through the file
        object.
        """
        if self._pending:
            self._write_cut_rest(raw, data)
        recode = self._recode
        if recode is not None:
            data = recode(data)
        flush = self._flush
        if flush is not None:
            try:
                flush()
            except BlockingIOError:
                flush_waiting(flush, raw)
        written = raw.write(data)
        if written != len(data):
            self._write_rest(raw, data, written or 0)

    def _write_file(self, data: bytes) -> None:
        """
        Write C{data} through the file object, and flush it.
        """
        lock = self._lock
        if lock is None:
            # A buffered binary file locks itself, and each write is a whole
            # number of lines, so lines never interleave.
            self._file.write(data)
            self._file.flush()
            return
        with lock:
            if self._text:
                self._write_text(data.decode("utf-8", "surrogateescape"))
            else:
                self._file.write(data)
            self._fileFlush()

    def _write_text(self, text: str) -> None:
        """
        Write C{text} through the text file object.
        """
        try:
            self._file.write(text)
        except UnicodeEncodeError:
            # The file's encoding cannot hold some character: the same JSON,
            # escaped, where a text file's text layer took nothing.
            if not isinstance(self._file, io.TextIOWrapper):
                raise
            self._file.write(ascii_json(text))

    def __call__(self, message: Dict[str, Any]) -> None:
        # The hot path: encode and write_encoded's lock-free direct write,
        # inlined.
        try:
            data = _dumps(message, default=self._default, option=FAST_OPTIONS)
        except TypeError:
            data = self._encoder.encode(message)
        else:
            if data.partition(NULL)[1]:
                data = self._encoder.recheck(message, data)
        raw = self._raw
        if raw is not None and not self._pending:
            flush = self._flush
            if flush is not None:
                flush()
            written = raw.write(data)
            if written != len(data):
                self._write_rest(raw, data, written or 0)
        else:
            self.write_encoded(data)

    def __repr__(self) -> str:
        return f"<FileDestination {getattr(self._file, 'name', self._file)!r}>"


def _nothing() -> None:
    """
    The flush of a file object that has none.
    """


class UnwritableFile(ValueError, RuntimeError):
    """
    The file given to L{FileDestination} is not open for writing.  Both a
    C{ValueError} and the C{RuntimeError} Eliot raises for such a file, so
    a program written for Eliot that catches it goes on working.
    """


def _check_writable(file: Any) -> None:
    """
    Refuse a file that every write would fail on, as Eliot does: one that
    is closed, or whose C{writable()} says no.  A file object without
    C{writable} (Twisted's C{LogFile}) is taken as it is.

    @raise TypeError: If C{file} is not a file: C{None} (what C{sys.stdout}
        is when standard output is closed), or has no C{write}.
    @raise ValueError: If C{file} is closed (as Eliot's C{ValueError}).
    @raise UnwritableFile: If C{file} is not open for writing.
    """
    if file is None:
        raise TypeError("FileDestination needs a file, not None: standard output (or the file "
                        "given) is closed")
    if not callable(getattr(file, "write", None)):
        raise TypeError(f"FileDestination needs a file with a write method, not {file!r}")
    if getattr(file, "closed", False) is True:
        raise _closed(file)
    writable = getattr(file, "writable", None)
    if writable is None:
        return
    try:
        ok = writable()
    except ValueError:
        raise _closed(file) from None
    if not ok:
        raise UnwritableFile(f"FileDestination needs a file open for writing: {file!r} is "
                             "not open for writing")


def _closed(file: Any) -> ValueError:
    """
    @return: The error for a closed C{file}.
    """
    return ValueError(f"FileDestination needs an open file: {file!r} is closed")


#: The methods that hold a L{FileDestination}'s locks (see
#: L{CutLines._parks}).
_HOLDERS = PENDING_HOLDERS | holders(FileDestination.write_encoded, FileDestination._write_file)
