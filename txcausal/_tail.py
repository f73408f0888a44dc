# -*- test-case-name: txcausal.test.test_follow_rotated,txcausal.test.test_follow -*-
"""
Following a log file by name, as C{tail -F} does, for C{tree --follow} and
the web view alike: L{FileFollower}.

Each file opened at the name (the first one, each one that replaces it, the
same one opened again after a truncation) is a L{Generation}, read by
position.  What is read comes as L{Piece}s: the lines of one generation,
with the offset of their first line, so that the place of each message
in its file is known (see L{txcausal._stream_state}).

  - A file renamed away and replaced (C{logrotate}, L{twisted.python.logfile})
    is read on while it grows, until it has been idle for L{RETIRE_AFTER}
    looks: what its writer wrote there before opening the new file is not
    lost.  Then its last line is read, newline or not, and it is retired.
  - A file replaced more than once between two looks: the files in the
    middle, never seen at the name, are found among the numbered names
    that C{logrotate}, Twisted's C{LogFile} and Python's
    C{RotatingFileHandler} give them (C{NAME.1} the newest) and read in
    order; when that cannot be decided, a file that may have been lost is
    reported (see L{txcausal._tail_rotated}).  The name is opened before
    they are placed, and each one opened is checked against the listing,
    so that a rotation during a look loses nothing.  Only regular files
    are opened; a file that cannot be read is reported once, and the
    numbered files are not listed again while it stays at the name.
  - A file truncated in place (C{copytruncate}) is read again from its
    start: it is told by its size, now below where the reading got to, or,
    when it was written past that point before the next look, by the last
    bytes read no longer being there.  Its copy, the newest numbered file,
    if it holds those bytes at the same place, is read to its end first
    (lines written between the copy and the truncation are in neither
    file: lost, as with any C{copytruncate}, and the report says so);
    without one, that lines may have been missed is reported.
  - A file that does not exist yet is looked for at each look.
  - A last line without its newline is read once the file stops growing if
    it is a whole JSON object; a line a writer is still writing is waited
    for.
  - Compressed files and standard input are copied, decompressed, by a
    thread, to an unnamed temporary file, which is read like any other;
    the files newer than a compressed one wait until its copy is done.  One
    at the name is checked for replacement too; a change in it is reported.
  - Retired files stay open, up to a bound (L{OpenFiles}), so that their
    messages can still be read back by position; past it the oldest is
    closed.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import IO, Any, Dict, List, Optional, Set

from ._parse_input import ErrorCallback, LineError, _ignore_error
from ._source import CHUNK_BYTES, DEFAULT_MAX_LINE_BYTES
from ._tail_files import (
    Generation,
    Opened,
    OpenFiles,
    Piece,
    StartThread,
    daemon_thread,
    find_copy,
    generation_size,
    open_numbered,
    open_regular,
    whole_json,
)
from ._tail_rotated import (
    Fingerprint,
    Identity,
    Numbered,
    Stat,
    fingerprint,
    identity,
    missed_files,
    numbered_files,
    previous_among,
)

#: A file renamed away is read on until it has been idle for this many looks.
RETIRE_AFTER = 10


class FileFollower:
    """
    Follow a file by name, through rotation and truncation (see the
    module's description), returning what was written since the last look.

    @ivar name: The name shown for the file (C{"<stdin>"} for C{"-"}).
    @ivar active: The files read at each look, the one at the name last.
    @ivar rotations: How many times the file was replaced or truncated: each
        file opened after the first (at the name, or in the middle).
    @ivar error: Why the file cannot be opened, while it cannot.
    @ivar failure: The error, as raised.
    @ivar read_bytes: How many bytes were read in all.
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
        #: The numbered files there when the file at the name was opened.
        self._known: Set[Fingerprint] = set()
        #: The file opened at the name last (C{None}: none yet).
        self._current: Optional[Generation] = None
        #: The status of the file at the name when it was opened (C{None}:
        #: none yet, or standard input): tells it replaced, and where it went.
        self._at_name: Optional[os.stat_result] = None
        #: The compressed files copied.
        self._copied: Set[Fingerprint] = set()
        #: The files seen that could not be opened, and why (already
        #: reported): not listed again at every look, nor reported again
        #: for the same reason once rotated away.
        self._unreadable: Dict[Identity, str] = {}

    def poll(self, budget: Optional[int] = None) -> List[Piece]:
        """
        Read what was written since the last look: the lines of each file
        being read, in order, and a L{Piece} marked C{idle} for each file
        that did not grow.  A file in the middle being decompressed holds
        back the newer files until its copy is done.

        @param budget: Read about this many bytes at most (the rest waits
            for the next look); everything if C{None}.
        """
        pieces: List[Piece] = []
        if self._current is None:
            self._open_first()  # Files renamed away are read on meanwhile.
        elif self._at_name is not None:  # Not standard input.
            self._check_name(pieces)
        for generation in list(self.active):
            if budget is not None and budget <= 0:
                break
            copying = generation.spill is not None and not generation.spill.done
            read = self._read(generation, budget, pieces)
            if budget is not None:
                budget -= read
            if copying and generation is not self._current:
                break  # Its lines come before the newer files'.
        return pieces

    def read(self) -> List[List[bytes]]:
        """
        The batches of lines written since the last look, of every file
        read (see L{poll}).
        """
        return [piece.lines for piece in self.poll() if piece.lines]

    def close(self) -> None:
        """
        Stop following: close the files this follower opened.
        """
        self.files.close(self._source)
        self.active = []
        self._current = None

    def status(self) -> Dict[str, Any]:
        """
        What was read of the file, its size now, and why it cannot be read.
        """
        current = self._current or (self.active[-1] if self.active else None)
        spill = current.spill if current is not None else None
        return {
            "name": self.name,
            "read": sum(g.offset for g in self.files.generations if g.source == self._source),
            "size": generation_size(current),
            "error": self.error or (spill.error if spill is not None else None),
        }

    def _read(self, generation: Generation, budget: Optional[int], pieces: List[Piece]) -> int:
        total, ended = 0, False
        # Read before the reading: a copy done then is read to its end here.
        copied = generation.spill.done if generation.spill is not None else None
        while budget is None or total < budget:
            size = CHUNK_BYTES if budget is None else min(CHUNK_BYTES, budget - total)
            try:
                data = generation.read(size, generation.offset)
            except OSError as e:
                self._fail(e)
                break
            if not data:
                ended = True
                break
            start = generation.line_end
            lines = generation.feed(data)
            total += len(data)
            if lines:
                pieces.append(Piece(generation, start, lines))
        self.read_bytes += total
        generation.idle = 0 if total else generation.idle + 1
        if ended:
            self._at_end(generation, copied, pieces)
        return total

    def _at_end(self, generation: Generation, copied: Optional[bool],
                pieces: List[Piece]) -> None:
        """
        Reading C{generation} got to its end: take its last line if it is
        done with (then retire it, unless it is the file at the name) or
        the line is a whole JSON object; if it did not grow since the last
        look, add an idle piece.

        @param copied: For a copy, whether it was done before this reading.
        """
        splitter, at_name = generation.splitter, generation is self._current
        done = copied if copied is not None else (
            not at_name and generation.idle >= RETIRE_AFTER)
        if done or whole_json(splitter.pending()):
            start = generation.line_end
            last = splitter.finish()
            if last:
                pieces.append(Piece(generation, start, last))
        if generation.idle:
            pieces.append(Piece(generation, generation.line_end, [], idle=True))
        if done and not at_name:
            if generation.spill is not None and generation.spill.error is not None:
                self._report(LineError(self.name, 0, "a compressed file rotated away, not"
                                       f" read whole: {generation.spill.error}"))
            self.active.remove(generation)
            self.files.retire(generation)

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
        try:
            self._current = self._start(opened)
        except OSError as e:
            self._fail(e, at)
            return False
        self._fail(None)
        self._at_name = opened.stat
        if numbered is None:
            numbered = numbered_files(self.path, self._stat)
        self._known = {fingerprint(f.stat) for f in numbered}
        return True

    def _start(self, opened: Opened) -> Generation:
        """
        Start reading the file C{opened}: by position, or through a
        decompressed copy if it is compressed.

        @raise OSError: If the copy cannot be made (C{opened} is closed).
        """
        if opened.compressed:
            generation = self._spill(os.fdopen(opened.fd, "rb"))
            self._copied.add(fingerprint(opened.stat))
            return generation
        generation = self.files.add(self._source, self.name, opened.fd,
                                    identity(opened.stat), self._max_line, self._stat)
        self.active.append(generation)
        return generation

    def _spill(self, stream: IO[bytes]) -> Generation:
        generation = self.files.add_copy(self._source, self.name, stream, self.path != "-",
                                         self._max_line, self._stat, self._start_thread)
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

    def _check_name(self, pieces: List[Piece]) -> None:
        """
        Open the file now at the name if it is another one (see
        L{_check_same} if it is the same).  One seen before that could not
        be read is tried again without listing the numbered files again.
        """
        current, before = self._current, self._at_name
        assert current is not None and before is not None
        try:
            stat = self._stat(self.path)
        except OSError:
            return  # Renamed away, not replaced yet: read on.
        if identity(stat) == identity(before):
            return self._check_same(current, stat, pieces)
        at_name = identity(stat)
        looked = at_name in self._unreadable
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
        numbered = numbered_files(self.path, self._stat)
        present = {identity(f.stat) for f in numbered} | {at_name}
        # Forget those gone: their inodes may be reused.
        self._unreadable = {k: v for k, v in self._unreadable.items() if k in present}
        previous = previous_among(numbered, before, current.identity is None)
        self._open_missed(numbered, previous, at_name)
        if opened is not None and self._take_name(opened, numbered, at_name):
            self.rotations += 1

    def _check_same(self, current: Generation, stat: os.stat_result,
                    pieces: List[Piece]) -> None:
        """
        The file at the name is still C{current}'s, now C{stat}.  Truncated,
        it is opened again (what was pending in it ends: an idle piece is
        added to C{pieces}).  Compressed and changed, what was added cannot
        be told from what was read: reported; its new fingerprint noted.
        """
        if current.identity is None:
            if fingerprint(stat) not in self._copied:
                self._at_name = stat
                self._copied.add(fingerprint(stat))
                self._report(LineError(self.name, 0, "the compressed file at the name changed"
                                       " after it was decompressed: what was added is not read"))
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
                      " copy and the truncation were lost (copytruncate)")
        else:
            reason = ("truncated; reading it again from the start: lines written since the"
                      " last look may have been missed")
            self.active.remove(current)
            pieces.append(Piece(current, current.line_end, [], idle=True))
            current.close()
        self._report(LineError(self.name, 0, reason))
        self._current = None
        self._open_first()

    def _open_missed(self, numbered: List[Numbered], previous: Optional[Identity],
                     at_name: Identity) -> None:
        """
        The name was replaced by the file C{at_name}: open, oldest first,
        the C{numbered} files that were at the name in between (see
        L{missed_files}); report those that cannot be read, and a file
        that may have been lost.
        """
        still_open, closed = self.files.read_before(self._source)
        missed = missed_files(numbered, previous, at_name, still_open, closed | self._copied,
                              self._known)
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
