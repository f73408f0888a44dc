# -*- test-case-name: txcausal.test.test_follow_rotated,txcausal.test.test_follow_compressed -*-
"""
Which file is at a followed name: L{NameFollower}, the part of
L{FileFollower<txcausal._tail.FileFollower>} that tells when the file at
the name was replaced or truncated, and opens the files that were at the
name in between (see L{txcausal._tail} for the rules); opening each is
L{NameOpener<txcausal._tail_current.NameOpener>}'s.
"""

from __future__ import annotations

import errno
import os
from typing import List, Optional

from ._parse_input import LineError
from ._tail_current import NameOpener
from ._tail_files import Generation, Piece
from ._tail_open import Opened, find_copy, open_numbered, open_regular
from ._tail_rotated import (
    ENDING,
    UNSETTLED,
    UNSETTLED_LOOKS,
    Missed,
    Numbered,
    about_to_go,
    identity,
    missed_files,
    numbered_files,
    older_than,
    settled_files,
)
from ._tail_spill import TRUNCATED, mark_before


class NameFollower(NameOpener):
    """
    The files opened at a followed name, and those found in between when
    it was replaced: the reading of them is left to the subclass.
    """

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
