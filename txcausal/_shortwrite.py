# -*- test-case-name: txcausal.test.test_file_shortwrite -*-
"""
A write a file took only part of: L{ShortWrite}, what a
L{txcausal._file.FileDestination} raises when a full disk cuts a write
short, and L{PipeClosed}, what it raises when the reader of a pipe has gone;
the helpers that write as much as a file takes, and word the reports.
"""

from __future__ import annotations

from typing import Optional, Tuple

from ._json import safe_str
from ._rawfile import Raw, wait_writable
from ._wire import exception_name


class ShortWrite(OSError):
    """
    A file took only part of a write: the disk is full, or the file raised
    after taking some of the lines.

    @ivar lost: How many lines of the write were neither written nor kept
        to be written next (each line is one message as written: a message
        that could not be encoded is written as two).
    @ivar first: The start of the first line lost or, when none is, of the
        line cut short (of its rest, for L{FileDestination.write_cut_line});
        at most L{SHOWN} bytes.
    """

    def __init__(self, reason: str, lost: int = 0, first: bytes = b"") -> None:
        super().__init__(reason)
        self.lost = lost
        self.first = first


class PipeClosed(ShortWrite):
    """
    The reader of the pipe (or socket) a L{FileDestination} writes to has
    gone, as when a command's output is piped into C{head}: a normal end
    for a command-line program.  The destination writes nothing more; each
    later write raises a L{PipeClosed} whose C{again} is set, which the
    destination registry counts as lost without reporting it again.

    @ivar again: Whether the pipe had closed before this write.
    """

    def __init__(self, reason: str, lost: int, first: bytes, again: bool) -> None:
        super().__init__(reason, lost, first)
        self.again = again


#: How much of a line a L{ShortWrite} shows.
SHOWN = 1000


def line_at(data: bytes, start: int) -> bytes:
    """
    @return: The start of the line of C{data} beginning at C{start}.
    """
    return data[start:start + SHOWN].split(b"\n", 1)[0]


def lines_text(count: int) -> str:
    """
    @return: C{"1 line"}, C{"2 lines"}...
    """
    return f"{count:,} line" if count == 1 else f"{count:,} lines"


def cause(error: Optional[OSError]) -> str:
    """
    @return: What the file raised, for a L{ShortWrite}'s reason.
    """
    return "" if error is None else f" ({exception_name(error)}: {safe_str(error, 200)})"


def write_from(raw: Raw, data: bytes, done: int) -> Tuple[int, Optional[OSError]]:
    """
    Write C{data} to C{raw} from offset C{done} until the file takes it all,
    takes nothing, or raises C{OSError}.

    @return: How much of C{data} is written, and what the file raised.
    """
    view = memoryview(data)
    while done < len(data):
        try:
            written = raw.write(view[done:])
        except OSError as e:
            return done, e
        if written is None:
            # A non-blocking file, full.
            wait_writable(raw)
            continue
        if not written:
            return done, None
        done += written
    return done, None

