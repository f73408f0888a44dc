# -*- test-case-name: txcausal.test.test_file_streams,txcausal.test.test_file_fulldisk -*-
"""
What lies under the file given to a L{txcausal.FileDestination}: whether it
takes text or bytes, and the unbuffered file that its encoded lines can be
written to directly, with one system call a line and an exact count of what
the file took: a binary file or a text file (in UTF-8, or in an encoding
that writes ASCII as ASCII) opened on an operating system file, or Twisted's
C{LogFile} and C{DailyLogFile}.
"""

from __future__ import annotations

import codecs
import gc
import io
import os
import re
import select
import stat
import sys
import weakref
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Union, cast

if TYPE_CHECKING:
    from ._logfile import LogFileWriter


def is_text(file: Any) -> bool:
    """
    Guess whether C{file} wants C{str} (C{True}) or C{bytes}: from its
    class, its C{mode} or C{encoding} or, for an object with none of those,
    whether writing no bytes to it raises C{TypeError}.
    """
    if isinstance(file, io.TextIOBase):
        return True
    if isinstance(file, (io.RawIOBase, io.BufferedIOBase)) or _is_log_file(file):
        return False
    mode = getattr(file, "mode", None)
    if isinstance(mode, str):
        return "b" not in mode
    if hasattr(file, "encoding"):
        return True
    try:
        file.write(b"")
    except TypeError:
        return True
    except Exception:
        pass
    return False


#: What a line is written to directly: an unbuffered file, a
#: L{ThroughBuffer}, or a L{txcausal._logfile.LogFileWriter}.
Raw = Union[io.FileIO, "ThroughBuffer", "LogFileWriter"]


class Direct(NamedTuple):
    """
    How a file is written to directly.

    @ivar raw: Takes bytes, and returns how many it took (C{None} for none,
        from a non-blocking file that is full; see L{wait_writable}).
    @ivar flush: What to call before each write, so that what the program
        wrote through the file object goes first (a text file's C{flush}),
        or C{None}.
    @ivar atomic: Whether one write never interleaves with another thread's
        (a regular file), so that no lock is needed around it.
    @ivar recode: What turns a UTF-8 line into the bytes a text file in
        another encoding writes for it (see L{_recoder}), or C{None}.
    """

    raw: Raw
    flush: Optional[Callable[[], object]]
    atomic: bool
    recode: Optional[Callable[[bytes], bytes]] = None


def direct(file: Any) -> Optional[Direct]:
    """
    @return: How to write to C{file} directly, or C{None} when lines must
        go through the file object.
    """
    kind = type(file)
    if kind is io.BufferedWriter:
        return _binary(file)
    if kind is io.TextIOWrapper:
        return _text(file)
    if kind is io.FileIO:
        return _unbuffered(file)
    return _log_file(file)


def _regular(raw: io.FileIO) -> bool:
    """
    @return: Whether C{raw} is open on a regular file.
    """
    return stat.S_ISREG(os.fstat(raw.fileno()).st_mode)


def _binary(file: io.BufferedWriter) -> Optional[Direct]:
    """
    A buffered binary file opened on a regular file is written to directly,
    other than the standard streams (whose text layer, written to by other
    code, would fall behind).  What the program wrote before goes first.
    Those, and a binary file on a pipe, a terminal or a socket, are written
    through their buffer (see L{ThroughBuffer}).
    """
    raw = file.raw
    try:
        if file.closed or type(raw) is not io.FileIO:
            return None
        if raw.fileno() <= 2 or not _regular(raw):
            return Direct(ThroughBuffer(file), None, False)
        file.flush()
    except (OSError, ValueError):
        return None
    return Direct(raw, None, True)


def _unbuffered(file: io.FileIO) -> Optional[Direct]:
    """
    An unbuffered binary file (C{open(path, "ab", buffering=0)}) is written
    to as it is, counting what it takes.
    """
    try:
        return None if file.closed else Direct(file, None, _regular(file))
    except (OSError, ValueError):
        return None


def _text(file: io.TextIOWrapper) -> Optional[Direct]:
    """
    A text file which writes C{"\\n"} as it is, on a binary file, buffered
    or not, opened on an operating system file (a regular file, a pipe, a
    terminal), gets the bytes of the encoded lines directly, after its own
    C{flush}: the same bytes, in the same order, as through its text layer.
    Its encoding is UTF-8, or one that L{_recoder} recodes the lines to; on
    a pipe or a terminal, any encoding (see L{_own_encoder}).  On a regular
    file they are written under the buffer; elsewhere through it (see
    L{ThroughBuffer}).
    """
    try:
        buffer = file.buffer
        # Standard output has no buffer of its own with python -u.
        raw = buffer.raw if type(buffer) is io.BufferedWriter else buffer
        if file.closed or type(raw) is not io.FileIO or not _keeps_newlines(file):
            return None
        recode = None
        regular = _regular(raw)
        if codecs.lookup(file.encoding).name != "utf-8":
            recode = _recoder(file.encoding, file.errors or "strict")
            if recode is None and not regular:
                recode = _own_encoder(file)
            if recode is None:
                return None
        if regular:
            return Direct(raw, file.flush, True, recode)
        if raw is buffer:
            return Direct(raw, file.flush, False, recode)
        return Direct(ThroughBuffer(cast(io.BufferedWriter, buffer)), file.flush, False,
                      recode)
    except (OSError, ValueError, LookupError, AttributeError):
        return None


#: Every ASCII character, to see whether an encoding writes them as ASCII.
_ASCII = "".join(map(chr, range(128)))


def _recoder(encoding: str, errors: str) -> Optional[Callable[[bytes], bytes]]:
    """
    For an encoding that writes each ASCII character as its ASCII byte, and
    so each line as one, ending in one newline byte that no other
    character's bytes hold (Latin-1, cp1252, Shift JIS...): what turns a
    line in UTF-8 into the bytes a text file in that encoding and C{errors}
    writes for it, escaped as L{ascii_json} does where the encoding cannot
    hold a character.

    @return: C{None} for other encodings (UTF-16, UTF-32, UTF-7, EBCDIC...),
        whose lines go through the text layer on a regular file (where a
        line cut short could not be found in their bytes), and through
        L{_own_encoder} elsewhere.
    """
    try:
        if _ASCII.encode(encoding) != _ASCII.encode("ascii"):
            return None
        # The errors handler must exist.
        codecs.lookup_error(errors)
    except (UnicodeError, LookupError):
        return None

    return lambda data: _encoded(data, lambda text: text.encode(encoding, errors))


class ThroughBuffer:
    """
    A buffered binary file open on a pipe (or a terminal, or a socket, or
    one of the standard streams), or the one under such a text file,
    written to as an unbuffered file is: each write
    goes through the buffer, and is flushed.  The buffer's lock, which its
    other writers take too (the text layer above it: another thread's
    C{print}), is held for the whole write, so that a line larger than the
    pipe takes at once is never interleaved with theirs.
    """

    __slots__ = ("_buffer",)

    def __init__(self, buffer: io.BufferedWriter) -> None:
        self._buffer = buffer

    def fileno(self) -> int:
        """
        @return: The file descriptor written to.
        """
        return self._buffer.fileno()

    def write(self, data: Union[bytes, memoryview]) -> Optional[int]:
        """
        Write C{data} through the buffer, and flush it (waiting, if the pipe
        is non-blocking and full, until it has room).

        @return: How much of C{data} the buffer took, as an unbuffered
            file's C{write} returns it: C{None} for none, from a non-blocking
            pipe that is full.
        """
        buffer = self._buffer
        try:
            buffer.write(data)
        except BlockingIOError as e:
            return e.characters_written or None
        try:
            buffer.flush()
        except BlockingIOError:
            flush_waiting(buffer.flush, self)
        return len(data)

    def drop_unwritten(self) -> None:
        """
        The reader of the pipe has gone: drop what the buffer still holds,
        which could never be written, so that a later flush (Python flushes
        standard output at exit, and would exit with status 120) does not
        fail.  It is flushed into the null device, which stands in for the
        pipe for that moment.  If that cannot be done, nothing is.
        """
        try:
            fd = self.fileno()
            inheritable = os.get_inheritable(fd)
            pipe = os.dup(fd)
        except (OSError, ValueError):
            return
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, fd, inheritable)
                try:
                    self._buffer.flush()
                finally:
                    os.dup2(pipe, fd, inheritable)
            finally:
                os.close(null)
        except (OSError, ValueError):
            pass
        finally:
            os.close(pipe)

    def __repr__(self) -> str:
        return f"<ThroughBuffer {self._buffer!r}>"


def wait_writable(file: Any) -> None:
    """
    Wait until C{file}, non-blocking and full, has room for more bytes, as
    a write to a blocking file does.

    @param file: An unbuffered file or a L{ThroughBuffer}.
    """
    fd = file.fileno()
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        poller.poll()
    else:
        select.select([], [fd], [])


def flush_waiting(flush: Callable[[], object], file: Any) -> None:
    """
    Call C{flush}, waiting while C{file}, non-blocking, is full.

    @param file: The unbuffered file or L{ThroughBuffer} that C{flush}
        writes to.
    """
    while True:
        try:
            flush()
            return
        except BlockingIOError:
            wait_writable(file)


def watch_encoder(file: Any, reconfigured: Callable[[], object]) -> Optional[weakref.ref[Any]]:
    """
    Have C{reconfigured} called when a text file's encoder is replaced, as
    its C{reconfigure} does for any change of encoding, C{errors} or
    C{newline}: the file then writes other bytes than it did.  (The file
    keeps its encoder private, but holds a reference to it, which the
    garbage collector can list; nothing else holds one.)  It is called
    while the file is still being reconfigured: what the file now writes is
    known only once that call returns.

    @return: What to keep for as long as C{reconfigured} should be called,
        or C{None} for a file that is not a C{io.TextIOWrapper} (whose
        subclasses are written through their own C{write}).
    """
    if type(file) is not io.TextIOWrapper:
        return None
    encoder = _encoder_of(file)
    return None if encoder is None else weakref.ref(encoder, lambda _: reconfigured())


#: What C{newline} a text file may have been opened with to write C{"\n"}
#: as something else.
_TRANSLATED = ("\r", "\r\n")


def _own_encoder(file: io.TextIOWrapper) -> Optional[Callable[[bytes], bytes]]:
    """
    For a text file on a pipe or a terminal in an encoding that does not
    write ASCII as ASCII (UTF-16...): what encodes a line in UTF-8 with the
    file's own encoder, which keeps its state (a byte order mark, written
    once), as its text layer would, escaped as L{ascii_json} does where the
    encoding cannot hold a character.  Written so rather than through the
    text layer, which loses what a non-blocking pipe does not take.

    @return: C{None} if the file's encoder is not found.
    """
    encoder = _encoder_of(file)
    if encoder is None:
        return None
    # Not kept alive: its end tells that the file was reconfigured (see
    # watch_encoder), and the next write decides anew how to write.
    current = weakref.ref(encoder)

    def recode(data: bytes) -> bytes:
        # Reconfigured meanwhile, by another thread: its new encoder.
        encoder = current() or _encoder_of(file)
        if encoder is None:
            return ascii_json(data.decode("utf-8", "surrogateescape")).encode(file.encoding)
        return _encoded(data, encoder.encode)

    return recode


def _encoded(data: bytes, encode: Callable[[str], bytes]) -> bytes:
    """
    @return: The line C{data}, in UTF-8, encoded with C{encode}; escaped as
        L{ascii_json} does if C{encode} cannot hold one of its characters.
    """
    text = data.decode("utf-8", "surrogateescape")
    try:
        return encode(text)
    except UnicodeEncodeError:
        return encode(ascii_json(text))


def _encoder_of(file: io.TextIOWrapper) -> Optional[codecs.IncrementalEncoder]:
    """
    @return: The incremental encoder of C{file}, which the file keeps
        private but holds a reference to, which the garbage collector can
        list; C{None} if there is none.
    """
    for referent in gc.get_referents(file):
        if isinstance(referent, codecs.IncrementalEncoder):
            return referent
    return None


def _keeps_newlines(file: io.TextIOWrapper) -> bool:
    """
    @return: Whether C{file} writes C{"\\n"} as it is.  A text file opened
        with C{newline="\\r\\n"} or C{"\\r"} writes that instead; it keeps the
        setting private, but holds a reference to it, which the garbage
        collector can list.  (Anything else holding such a string, such as
        text not yet flushed, only costs the direct writes.)
    """
    if os.linesep != "\n":
        return False
    return not any(type(referent) is str and referent in _TRANSLATED
                   for referent in gc.get_referents(file))


def _is_log_file(file: Any) -> bool:
    """
    @return: Whether C{file} is one of Twisted's log files (which take
        bytes, and may rotate when written to).
    """
    logfile = sys.modules.get("twisted.python.logfile")
    return logfile is not None and isinstance(file, logfile.BaseLogFile)


def _log_file(file: Any) -> Optional[Direct]:
    """
    Twisted's C{LogFile} or C{DailyLogFile}, or a subclass that keeps their
    C{write}, is written to with L{txcausal._logfile.LogFileWriter}.
    """
    if not _is_log_file(file):
        return None
    # Imported only now: importing txcausal does not import Twisted.
    from ._logfile import writer_for

    writer = writer_for(file)
    return None if writer is None else Direct(writer, None, True)


_NON_ASCII = re.compile("[^\x00-\x7f]")


def _escape(match: "re.Match[str]") -> str:
    code = ord(match.group())
    if code > 0xFFFF:
        code -= 0x10000
        return "\\u%04x\\u%04x" % (0xD800 | code >> 10, 0xDC00 | code & 0x3FF)
    return "\\u%04x" % code


def ascii_json(text: str) -> str:
    """
    @return: The JSON C{text} with every character past ASCII written as a
        C{\\u} escape: the same values, for a text file whose encoding
        cannot hold some of its characters.
    """
    return _NON_ASCII.sub(_escape, text)
