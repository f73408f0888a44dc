# -*- test-case-name: txcausal.test.test_follow_rotated,txcausal.test.test_follow_compressed -*-
"""
Which file is at a followed name: L{NameFollower}, the part of
L{FileFollower<txcausal._tail.FileFollower>} that opens the file at the
name, tells when it was replaced or truncated, and opens the files that
were at the name in between (see L{txcausal._tail} for the rules).
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import IO, Callable, Dict, List, Optional, Set, cast

from ._parse_input import ErrorCallback, LineError, _ignore_error
from ._source import DEFAULT_MAX_LINE_BYTES
from ._tail_files import (
    Generation,
    OpenFiles,
    Piece,
    StartThread,
    daemon_thread,
)
from ._tail_open import Opened, compressed_at, find_copy, open_numbered, open_regular
from ._tail_rotated import (
    ENDING,
    UNSETTLED,
    UNSETTLED_LOOKS,
    Fingerprint,
    Identity,
    Missed,
    Numbered,
    Place,
    Stat,
    about_to_go,
    fingerprint,
    identity,
    missed_files,
    numbered_files,
    older_than,
    settled_files,
)
from ._tail_spill import TRUNCATED, mark_before


class NameFollower:
    """
    The files opened at a followed name, and those found in between when
    it was replaced: the reading of them is left to the subclass.
    """

    def __init__(
        self,
        path: str,
        max_line: int = DEFAULT_MAX_LINE_BYTES,
        *,
        source: int = 0,
        files: Optional[OpenFiles] = None,
        on_error: ErrorCallback = _ignore_error,
        stdin: Optional[IO[bytes]] = None,
        startThread: StartThread = daemon_thread,
        stat: Stat = os.stat,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """
        @param path: The file to follow (it need not exist yet); C{"-"} for
            standard input.
        @param max_line: See L{txcausal._source.LineSplitter}.
        @param source: The number given to the file's generations.
        @param files: Where the files opened are kept (shared by the
            followers of several names); by default, the follower's own,
            which closes a file once it is retired.
        @param on_error: Told about problems: a file that cannot be
            opened (once for each file), that was truncated, or that may
            have been missed.
        @param stdin: What C{"-"} reads; C{sys.stdin}'s bytes by default.
        @param startThread: Starts the threads that copy compressed files
            and standard input.
        @param stat: Reads the status of a file, by path or descriptor.
        @param clock: The time now, in seconds since the epoch (as a
            file's times are).
        """
        self.path = path
        self.name = "<stdin>" if path == "-" else path
        self.files = files if files is not None else OpenFiles()
        self.active: List[Generation] = []
        self.rotations = 0
        self.error: Optional[str] = None
        self.failure: Optional[OSError] = None
        self.read_bytes = 0
        self._max_line = max_line
        self._source = source
        self._report = on_error
        self._stdin = stdin
        self._start_thread = startThread
        self._stat = stat
        self._clock = clock
        #: The numbered files there when the file at the name was opened.
        self._known: Set[Fingerprint] = set()
        #: The file opened at the name last (C{None}: none yet).
        self._current: Optional[Generation] = None
        #: The status of the file at the name when it was opened (C{None}:
        #: none yet, or standard input): tells it replaced, and where it went.
        self._at_name: Optional[os.stat_result] = None
        #: The compressed files copied (their status at opening, and, for
        #: one at the name, when it was replaced).
        self._copied: Set[Fingerprint] = set()
        #: A descriptor of the compressed file at the name (its copy closes
        #: its own), kept while it is there so that its inode number, not
        #: given to another file meanwhile, tells it.
        self._held: Optional[int] = None
        #: The files seen that could not be opened, and why (already
        #: reported): not listed again at every look, nor reported again
        #: for the same reason once rotated away.
        self._unreadable: Dict[Identity, str] = {}
        #: Looks in a row left undecided, the file read before's place at the last (about_to_go).
        self._unsettled, self._place = 0, cast(Optional[Place], None)


    def _open_first(self) -> bool:
        """
        Open the file at the name (C{"-"}: standard input), noting the
        numbered files there now: older than it.
        """
        if self.path == "-":
            self._current = self._spill(self._stdin or sys.stdin.buffer)
            return True
        try:
            stat = self._stat(self.path)
            opened = open_regular(self.path, self._stat, stat)
        except OSError as e:
            self._fail(e)
            return False
        return self._take_name(opened)

    def _take_name(self, opened: Opened, numbered: Optional[List[Numbered]] = None,
                   at: Optional[Identity] = None) -> bool:
        """
        Read the file C{opened} at the name from now on; the C{numbered}
        files there (listed now if not given) are older than it.  If it
        cannot be started (see L{_start}), the failure is noted as for the
        file C{at} the name, and nothing is listed.

        @return: Whether it is read.
        """
        if not self._read_name(opened, at):
            return False
        listed = numbered if numbered is not None else settled_files(self.path, self._stat).files
        self._known = {fingerprint(f.stat) for f in listed}
        self._unsettled, self._place = 0, None
        return True

    def _read_name(self, opened: Opened, at: Optional[Identity] = None) -> bool:
        """
        Read the file C{opened} at the name from now on (see L{_take_name}),
        keeping it open if it is compressed.

        @return: Whether it is read.
        """
        try:
            held = os.dup(opened.fd) if opened.compressed else None
        except OSError as e:
            os.close(opened.fd)
            self._fail(e, at)
            return False
        try:
            current = self._start(opened)
        except OSError as e:
            if held is not None:
                os.close(held)
            self._fail(e, at)
            return False
        previous, self._current = self._current, current
        if previous is not None and previous.spill is not None and not previous.spill.done:
            previous.idle = 0  # Waiting for the rest of its stream from now on.
        self._fail(None)
        self._hold(held)
        self._at_name = opened.stat
        return True

    def _hold(self, fd: Optional[int]) -> None:
        """
        Keep C{fd}, the compressed file now at the name (or C{None}), open;
        close the one kept before, noting its fingerprint as copied.
        """
        old, self._held = self._held, fd
        if old is None:
            return
        try:
            self._copied.add(fingerprint(self._stat(old)))
        except OSError:
            pass
        os.close(old)

    def _start(self, opened: Opened) -> Generation:
        """
        Start reading the file C{opened}: by position, or through a
        decompressed copy if it is compressed.

        @raise OSError: If the copy cannot be made (C{opened} is closed).
        """
        if opened.compressed:
            mark = (opened.stat.st_size, mark_before(opened.fd, opened.stat.st_size))
            generation = self.files.add_compressed(self._source, self.name, opened.fd,
                                                   self._max_line, self._stat, mark)
            self._copied.add(fingerprint(opened.stat))
        else:
            generation = self.files.add(self._source, self.name, opened.fd,
                                        identity(opened.stat), self._max_line, self._stat)
        generation.undecided = opened.compressed is None
        self.active.append(generation)
        return generation

    def _decide(self, generation: Generation) -> Generation:
        """
        Tell whether C{generation}, opened before it had its first bytes,
        is compressed, if it has them now: not, it is read on; compressed,
        it is read through a decompressed copy instead, in its place (and
        kept open, at the name).

        @return: What to read in its place: itself (still undecided, if
            its first bytes are not there yet), or its copy.
        """
        try:
            compressed = compressed_at(generation.fd)
            if not compressed:
                generation.undecided = compressed is None
                return generation
            status = self._stat(generation.fd)  # Before the dup: it would leak.
            opened = Opened(os.dup(generation.fd), status, True)
        except OSError as e:
            self._fail(e)
            return generation
        place, at_name = self.active.index(generation), generation is self._current
        if at_name:
            if not self._read_name(opened):
                return generation
        else:
            try:
                self._start(opened)
            except OSError as e:
                self._fail(e)
                return generation
        copy = self.active.pop()
        self.active[place] = copy
        generation.close()  # Nothing was read from it: no message to show.
        return copy

    def _spill(self, stream: IO[bytes]) -> Generation:
        generation = self.files.add_copy(self._source, self.name, stream, self._max_line,
                                         self._stat, self._start_thread)
        self.active.append(generation)
        return generation

    def _fail(self, error: Optional[OSError], at: Optional[Identity] = None) -> None:
        """
        Note why the file cannot be read (C{None}: it can), telling once
        (once for each file C{at} the name, if known).
        """
        self.failure = error
        text = None if error is None else (error.strerror or str(error))
        told = at in self._unreadable if at is not None else text == self.error
        if text is not None and not told:
            self._report(LineError(self.name, 0, text))
        if at is not None and text is not None:
            self._unreadable[at] = text
        self.error = text

    def _warn(self, error: OSError) -> None:
        """Tell once that the name's status cannot be read (the file is read on)."""
        text = error.strerror or str(error)
        if text != self.error:
            self._report(LineError(self.name, 0, text))
        self.error = text

    def _check_name(self, pieces: List[Piece]) -> None:
        """
        Open the file now at the name if it is another one (see
        L{_check_same} if it is the same).  One seen before that could not
        be read is tried again without listing the numbered files again,
        unless they were left undecided since.
        """
        current, before = self._current, self._at_name
        assert current is not None and before is not None
        try:
            stat = self._stat(self.path)
        except OSError as e:  # Renamed away, not replaced yet (else why): read on.
            if e.errno != errno.ENOENT:
                self._warn(e)
            return
        if self.failure is None:
            self.error = None  # A status error at the name passed.
        if identity(stat) == identity(before):
            return self._check_same(current, pieces)
        at_name = identity(stat)
        # Not while undecided: the files between are placed at a look that decides.
        looked = at_name in self._unreadable and not self._unsettled
        try:
            opened: Optional[Opened] = open_regular(self.path, self._stat, stat)
        except OSError as e:
            opened = None
            if e.errno != errno.ENOENT:
                self._fail(e, at_name)
            if looked:
                return
        if opened is not None:
            if looked and identity(opened.stat) == at_name:
                self.rotations += self._take_name(opened, None, at_name)
                return
            at_name = identity(opened.stat)  # What was opened, not what was seen.
        listing = settled_files(self.path, self._stat, previous=identity(before))
        still_open, closed = self.files.read_before(self._source)
        missed = missed_files(listing.files, identity(before), at_name, still_open,
                              closed | self._copied, self._known)
        ending, self._place = about_to_go(listing.files, identity(before), self._place)
        waiting = (missed.moving or not listing.settled) and not ending
        if waiting and self._unsettled < UNSETTLED_LOOKS:
            self._unsettled += 1  # Being renamed: decided at the next look.
            if opened is not None:
                os.close(opened.fd)
            return
        if not listing.settled:
            self._report(LineError(self.name, 0, ENDING if ending else UNSETTLED))
        self._unsettled, self._place, numbered = 0, None, older_than(listing.files, at_name)
        present = {identity(f.stat) for f in listing.files} | {at_name}
        # Forget those gone: their inodes may be reused.
        self._unreadable = {k: v for k, v in self._unreadable.items() if k in present}
        self._open_missed(missed)
        if opened is not None and self._take_name(opened, numbered, at_name):
            self.rotations += 1

    def _check_same(self, current: Generation, pieces: List[Piece]) -> None:
        """
        The file at the name is still C{current}'s.  Truncated,
        it is opened again (what was pending in it ends: an idle piece is
        added to C{pieces}); compressed, its bytes are compared at every
        look, whatever its fingerprint says (a rewriting of the same size
        within one tick of the file system's clock keeps it).
        """
        if current.identity is None:
            if self._rewritten(current):
                self._truncated_compressed(current)
            return
        try:
            truncated = current.truncated()
        except OSError:
            return
        if truncated:
            self._truncated(current, pieces)

    def _truncated(self, current: Generation, pieces: List[Piece]) -> None:
        """
        The file at the name, C{current}, was truncated: read on in its
        copy if one is found (see L{find_copy}), then the file again from
        its start.
        """
        self.rotations += 1
        found = find_copy(current, numbered_files(self.path, self._stat), self._known,
                          self._stat)
        if found is not None:
            copy, opened = found
            current.moved(opened.fd, identity(opened.stat))
            reason = (f"truncated, copied to {os.path.basename(copy.path)} first: its end"
                      " read, then the file again from its start; lines written between the"
                      " copy and the truncation, if any, may have been lost (copytruncate)")
        else:
            reason = ("truncated; reading it again from the start: lines written since the"
                      " last look may have been missed")
            self.active.remove(current)
            pieces.append(Piece(current, current.line_end, [], idle=True))
            current.close()
        self._report(LineError(self.name, 0, reason))
        self._current = None
        self._open_first()

    def _rewritten(self, current: Generation) -> bool:
        """
        Whether the compressed file at the name, read through the copy
        C{current}, was truncated in place: it is shorter than where its
        mark is, or its bytes before are not the same (see
        L{Spill.mark<txcausal._tail_spill.Spill>}).
        """
        assert current.spill is not None
        end, mark = current.spill.mark  # Before the size: the copy goes on.
        if self._held is None:
            return False
        try:
            size = self._stat(self._held).st_size
        except OSError:
            return False
        return size < end or mark_before(self._held, end) != mark

    def _truncated_compressed(self, current: Generation) -> None:
        """
        The compressed file at the name, read through the copy C{current},
        was truncated in place: it is read again from its start, through a
        new copy.  The old copy stops (it holds only the old content: see
        L{Spill.resume<txcausal._tail_spill.Spill.resume>}), is read to its
        end and retired, as a file rotated away is; what was not copied is
        reported.
        """
        spill = current.spill
        assert spill is not None
        self.rotations += 1
        self._hold(None)
        waiting = spill.waiting  # Inside a stream, at the end of the file: all was copied.
        done = spill.stop()
        error, spill.reported = spill.error, True  # Its error is this report's.
        if error is None and (done or waiting):
            reason = ("compressed, truncated; reading it again from the start: what was added to"
                      " it after it was decompressed, before the truncation, may have been missed")
        elif error is None or error == TRUNCATED:
            reason = ("compressed, truncated while it was being decompressed; reading it again"
                      " from the start: what it held past what was decompressed was not read")
        else:
            reason = (f"compressed, truncated after its decompression failed ({error}); reading"
                      " it again from the start")
        self._report(LineError(self.name, 0, reason))
        self._current = None
        self._open_first()

    def _open_missed(self, missed: Missed) -> None:
        """
        The name was replaced: open, oldest first, the files that were at
        the name in between (see L{missed_files}); report those that cannot
        be read, and a file that may have been lost.
        """
        if missed.lost is not None:
            self._report(LineError(self.name, 0, missed.lost))
        for middle in missed.files:
            try:
                self._start(open_numbered(middle, self.path, self._stat))
            except OSError as e:
                self._fail_middle(middle, e)
            else:
                self.rotations += 1

    def _fail_middle(self, middle: Numbered, error: OSError) -> None:
        """
        Report that the numbered file C{middle} cannot be read, unless it
        was reported already for the same reason (when it was at the name).
        """
        reason, at = error.strerror or str(error), identity(middle.stat)
        if self._unreadable.get(at) != reason:
            self._unreadable[at] = reason
            self._report(LineError(middle.path, 0, "a file rotated away between two looks,"
                                   f" not read: {reason}"))
