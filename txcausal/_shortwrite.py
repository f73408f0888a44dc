# -*- test-case-name: txcausal.test.test_file_shortwrite,txcausal.test.test_reentry_parked -*-
"""
A write a file took only part of: L{ShortWrite}, what a
L{txcausal._file.FileDestination} raises when a full disk cuts a write
short, and L{PipeClosed}, what it raises when the reader of a pipe has gone;
the helpers that write as much as a file takes, and word the reports.
"""

from __future__ import annotations

import os
import threading
from types import CodeType
from typing import Deque, FrozenSet, NoReturn, Optional, Tuple

from ._json import safe_str
from ._rawfile import Raw, ThroughBuffer, wait_writable
from ._reentry import drain, holders, parked, reentered
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


class CutLines:
    """
    The base of L{txcausal._file.FileDestination}: what it does when a
    direct write is cut short (the rest of the line cut is kept, and
    written first next time), and when the reader of a pipe has gone.
    """

    __slots__ = ("_raw", "_direct", "_pending", "_pendingLock", "_pendingPid", "_closed",
                 "_parked", "_parkedPid")

    def __init__(self) -> None:
        #: What lines are written to directly, if anything.
        self._direct: Optional[Raw] = None
        #: The same, when no lock is needed: the hot path's.
        self._raw: Optional[Raw] = None
        #: The rest of the line a failed direct write cut short.
        self._pending = b""
        self._pendingLock = threading.Lock()
        #: The process that cut that line: a forked child leaves it to it.
        self._pendingPid = 0
        #: Why nothing more is written, once the reader of a pipe has gone.
        self._closed = ""
        #: Lines logged on a thread while it wrote to the file (see L{_parks}).
        self._parked: Deque[bytes] = parked()
        #: The process that parked them: a forked child leaves them to it.
        self._parkedPid = 0

    def write_encoded(self, data: bytes) -> None:
        """See L{txcausal._file.FileDestination.write_encoded}."""
        raise NotImplementedError()

    def _write_parked(self, data: bytes) -> None:
        """
        Write a parked line: L{txcausal._file.FileDestination.write_encoded},
        never a subclass's override, which ran on the line already.
        """
        raise NotImplementedError()

    def _finish_parked(self, error: Optional[BaseException], final: bool = False) -> None:
        """
        After a write, by the thread that made it: write the lines parked
        meanwhile (see L{_parks}) if it succeeded, or keep them if it failed.
        Each write that can park lines ends with this, whether it returns or
        raises.

        @param error: What the write raised, or C{None} if it succeeded.
        @param final: Whether no write is to come (L{write_cut_line}): the
            lines that cannot be written then are lost, counted in the
            L{ShortWrite} raised, not kept.
        """
        if not self._parked:
            return
        if error is None:
            self._drain_parked(final)
        else:
            self._keep_parked(error, final)

    def _drain_parked(self, final: bool = False) -> None:
        """
        After a write that succeeded, by the thread that made it: write the
        lines parked meanwhile (see L{_parks}), in order.  If one of these
        writes fails, the lines after it are kept (see L{_keep_parked}).
        """
        if self._parkedPid != os.getpid():
            # A forked child: the parent writes them.
            self._parked.clear()
            return
        try:
            drain(self._parked, self._write_parked)
        except BaseException as e:
            self._keep_parked(e, final)
            raise

    def _keep_parked(self, error: BaseException, final: bool = False) -> None:
        """
        After a write that failed (a full disk), by the thread that made it:
        keep the lines parked meanwhile (see L{_parks}) whole, after the rest
        of a line cut short, to be written first by the next write (see
        L{_write_pending}).  Written through the file object, they stay
        parked, for the next write to write after its own.  Once the reader
        of a pipe has gone, or if C{final} and C{error} is a L{ShortWrite}
        (no write is to come), they are lost, with what is kept: counted in
        C{error}.
        """
        parked = self._parked
        if self._parkedPid != os.getpid():
            parked.clear()
            return
        if self._closed or (final and isinstance(error, ShortWrite)):
            lost = 0
            while parked:
                lost += parked.popleft().count(b"\n")
            if not self._closed:
                with self._pendingLock:
                    lost += self._pending.count(b"\n")
                    self._pending = b""
            if isinstance(error, ShortWrite):
                error.lost += lost
            return
        if self._direct is None:
            return
        with self._pendingLock:
            while parked:
                self._pending += parked.popleft()
            self._pendingPid = os.getpid()

    def _parks(self, data: bytes, codes: FrozenSet[CodeType],
               lock: Optional[threading.Lock] = None) -> bool:
        """
        Whether C{data} is logged by a thread writing to the file already,
        holding C{_pendingLock} or C{lock}, which waiting for them would
        deadlock: from a signal handler, or a finalizer run by the garbage
        collector (see L{txcausal._reentry}).  Then it is parked, for
        L{write_encoded} to write once the write under way is done (or
        another thread's that holds them).  The lock, when free, costs no more
        than this test.

        @param codes: The functions that hold them, which the caller's caller
            may run.
        """
        pendingLock = self._pendingLock
        if not (pendingLock.locked() or (lock is not None and lock.locked())):
            return False
        if not reentered(self, codes, 3):
            return False
        pid = os.getpid()
        if self._parkedPid != pid:
            # A forked child: what the parent parked is the parent's.
            self._parked.clear()
            self._parkedPid = pid
        self._parked.append(data)
        if not (pendingLock.locked() or (lock is not None and lock.locked())):
            # Not this thread's: released meanwhile.
            self._drain_parked()
        return True

    def _close(self, error: BrokenPipeError, lost: int, first: bytes) -> PipeClosed:
        """
        The reader of the pipe has gone: write nothing more.

        @return: The L{PipeClosed} to raise, counting C{lost} lines lost.
        """
        self._closed = (f"the reader of the pipe has gone{cause(error)}: "
                        f"nothing more is written to it")
        if isinstance(self._direct, ThroughBuffer):
            self._direct.drop_unwritten()
        self._raw = self._direct = None
        self._pending = b""
        return PipeClosed(f"{self._closed}; {lines_text(lost)} lost", lost, first, False)

    def _write_rest(self, raw: Raw, data: bytes, written: int) -> None:
        """
        The slow path of direct writes: finish a write of C{data} the file
        took only C{written} bytes of.

        While it writes the rest, C{_pending} is not empty, so that a line
        logged meanwhile does not take the hot path into the middle of this
        one: by this thread, it is parked (see L{_parks}) and written after
        this one, or kept after its rest if that cannot be written; another
        thread waits for the lock.  (Nothing can make the head written
        already whole again: only lines logged before this one was cut may
        be written between them.)

        @raise ShortWrite: If the file took only part (see L{_cut}).
        @raise OSError: If the file raised before taking any of C{data}.
        """
        try:
            with self._pendingLock:
                kept = self._pending
                self._pending = data[written:]
                try:
                    done, error = write_from(raw, data, written)
                except BaseException:
                    self._pending = kept
                    raise
                if done < len(data):
                    self._cut(data, done, error, kept)
                self._pending = kept
        except BaseException as e:
            self._finish_parked(e)
            raise
        self._finish_parked(None)

    def _write_cut_rest(self, raw: Raw, data: bytes) -> None:
        """
        Write the rest of the line cut short earlier, before C{data}.

        @raise ShortWrite: If the file does not take it all: what it did not
            take is kept, and C{data}, not written, is lost.
        @raise PipeClosed: If the reader of the pipe has gone.
        """
        try:
            with self._pendingLock:
                self._forget_parents_rest()
                self._write_pending(raw, data)
        except BaseException as e:
            # Not drained on success: the caller's write comes next.
            self._finish_parked(e)
            raise

    def _forget_parents_rest(self) -> None:
        """
        In a forked child, drop the rest of a line the parent cut: the
        parent writes it, and two copies would garble the file.
        """
        if self._pending and self._pendingPid != os.getpid():
            self._pending = b""

    def _write_pending(self, raw: Raw, data: bytes) -> None:
        """
        Write the rest of the line cut short earlier, if any.

        @raise ShortWrite: If the file does not take it all: what it did not
            take is kept, and C{data}, not written, is lost.
        """
        pending = self._pending
        # Kept until written: a line logged meanwhile by this thread is
        # parked, not written in the middle of it.
        done, error = write_from(raw, pending, 0)
        self._pending = pending[done:]
        if isinstance(error, BrokenPipeError):
            raise self._close(error, data.count(b"\n") + 1,
                              pending[done:][:SHOWN]) from error
        if self._pending:
            lost = data.count(b"\n")
            raise ShortWrite(
                f"the file took {done:,} of the {len(pending):,} bytes left of a line cut "
                f"short earlier{cause(error)}; that rest is kept and written next; "
                f"{lines_text(lost)} not written and lost", lost, line_at(data, 0)) from error

    def _cut(self, data: bytes, done: int, error: Optional[OSError], kept: bytes) -> NoReturn:
        """
        The file took only C{done} bytes of C{data}: keep the rest of the
        line it cut, to write it first next time.

        @param kept: What C{_pending} held before the write, which it holds
            again, with that rest after it.

        @raise ShortWrite: Counting the lines of C{data} neither written
            nor kept.
        @raise PipeClosed: If the reader of the pipe has gone: the line cut
            is lost too.
        @raise OSError: C{error}, if the file raised before taking any.
        """
        start = data.rfind(b"\n", 0, done) + 1
        if isinstance(error, BrokenPipeError):
            self._pending = kept
            raise self._close(error, data.count(b"\n", start),
                              line_at(data, start)) from error
        if error is not None and done == 0:
            self._pending = kept
            raise error
        end = done
        if done and data[done - 1] != 0x0A:
            # Past the cut line's newline (the end, if it has none).
            end = data.find(b"\n", done) + 1 or len(data)
            # Only a thread whose short write raced this one's can have
            # left a rest too: one line a thread at most.  One assignment:
            # never empty meanwhile.
            self._pendingPid = os.getpid()
            self._pending = kept + data[done:end]
        else:
            self._pending = kept
        lost = data.count(b"\n", end)
        keptText = ("; the rest of the line cut short is kept and written next"
                if end > done else "")
        first = line_at(data, end if lost else start)
        raise ShortWrite(f"the file took {done:,} of {len(data):,} bytes{cause(error)}"
                         f"{keptText}; {lines_text(lost)} lost", lost, first) from error

    def write_cut_line(self) -> None:
        """
        Try once more to write the rest of a line a full disk cut short, if
        any is kept (and the lines kept after it): what
        L{txcausal.logwriter.ThreadedWriter} does when it stops.  Whatever
        happens (short of an exception such as C{KeyboardInterrupt}),
        nothing is kept afterwards.  Lines logged meanwhile by this thread (a
        signal handler), or kept after a write that failed, are written after
        it.

        @raise ShortWrite: If the file still does not take it all: the
            lines not written whole are lost (counted in C{lost}, with those
            logged meanwhile), and the file ends with part of one.
        """
        try:
            with self._pendingLock:
                self._forget_parents_rest()
                pending = self._pending
                raw = self._direct
                if pending and raw is not None:
                    # _pending is emptied once written: a line logged
                    # meanwhile by this thread is parked, not written in the
                    # middle of it.
                    try:
                        done, error = write_from(raw, pending, 0)
                    finally:
                        self._pending = b""
                    if done < len(pending):
                        lost = pending.count(b"\n", done) or 1
                        raise ShortWrite(
                            f"the file took {done:,} of the {len(pending):,} bytes left of a "
                            f"line cut short earlier{cause(error)}, when no more were to be "
                            f"written; {lines_text(lost)} lost", lost, pending[:SHOWN]) from error
                self._pending = b""
        except BaseException as e:
            # Nothing more is to be written: what is parked is lost, counted.
            self._finish_parked(e, final=True)
            raise
        # Always: lines parked while the lock was held, or kept after a
        # write that failed, which no later write will write.
        self._finish_parked(None, final=True)


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


#: The methods that hold C{_pendingLock} (see L{CutLines._parks}).
PENDING_HOLDERS = holders(CutLines._write_rest, CutLines._write_cut_rest, CutLines.write_cut_line,
                          CutLines._keep_parked)
