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
    they are placed, they are listed until two listings agree (else they
    are placed at a later look), and each one opened is checked against
    the listing, so that a rotation during a look loses nothing.  Only regular files
    are opened; a file that cannot be read is reported once, and the
    numbered files are not listed again while it stays at the name.
  - A file truncated in place (C{copytruncate}) is read again from its
    start: it is told by its size, now below where the reading got to, or,
    when it was written past that point before the next look, by the last
    bytes read no longer being there.  Its copy, the newest numbered file,
    if it holds those bytes at the same place, is read to its end first
    (lines written between the copy and the truncation are in neither
    file: lost, as with any C{copytruncate}, and the report says that
    some may have been);
    without one, that lines may have been missed is reported.
  - A file that does not exist yet is looked for at each look.
  - A last line without its newline is read once the file stops growing
    (a look finds it idle) if it is a whole JSON object (in a decompressed
    copy, only at the copy's end: the thread may be writing it); a line a
    writer is still writing is waited for.  A newline that comes after a
    line so read is that line's, not a blank line.
  - Compressed files and standard input are copied, decompressed, by a
    thread, to an unnamed temporary file, which is read like any other;
    the files newer than a compressed one wait until its copy is done.  A
    compressed file is copied as it grows, by position (see
    L{txcausal._tail_spill}); rotated away inside a gzip stream whose end
    does not come for L{RETIRE_AFTER} looks after the rotation, nor for
    L{UNFINISHED_WAIT} seconds after its last change, it is given up
    (reported, as is its last line, cut, which is not read).  One at
    the name is kept open while it is there (its inode number then tells
    it) and checked for replacement too; waiting as long (L{RETIRE_AFTER}
    looks and L{UNFINISHED_WAIT} seconds), it is reported cut likewise,
    but still followed: if it grows after all, it is read on (said, the
    first time: a slow writer's later pauses are only in the status), or,
    if what came starts a new gzip stream (C{app | gzip >> log} restarted
    after a kill), the old stream ends there, cut, and the new one is
    read from its start (said).
    Damage in it is reported once; truncated in place, it is read again
    from its start (reported).  A file is told compressed by its first
    two bytes: one opened before it has them is not read until then (one
    rotated away is read as plain when retired).
  - Retired files stay open, up to a bound (L{OpenFiles}), so that their
    messages can still be read back by position; past it the oldest is
    closed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ._parse_input import LineError
from ._source import CHUNK_BYTES
from ._tail_files import Generation, Piece, generation_size, whole_json
from ._tail_name import NameFollower
from ._tail_spill import Spill

#: A file renamed away is read on until it has been idle for this many looks.
RETIRE_AFTER = 10

#: A compressed file rotated away inside an unfinished gzip stream is given
#: up once its last change is this many seconds old, as well as idle for
#: L{RETIRE_AFTER} looks since it left the name: its writer (C{gzip}) may
#: still be filling its next burst, 256 KiB of compressed output, which
#: takes minutes at 100 lines a second.  Waiting costs a descriptor and
#: holds back no newer file.
UNFINISHED_WAIT = 1800.0

#: Why such a file was given up.
GIVEN_UP = ("given up inside an unfinished gzip stream: what is written to it later is not"
            " read")

#: Said when the compressed file at the name, reported cut, grows after all
#: (the first time: a slow writer's later pauses are only in the status).
WENT_ON = ("its gzip stream, reported cut, went on after all: read on (its later pauses are"
           " not reported)")

#: Said when a new gzip stream is appended after the one reported cut.
APPENDED = "a new gzip stream was appended after the cut one: read from its start"

#: Said when one is appended after a stream not finished, not reported yet.
APPENDED_UNFINISHED = "a new gzip stream was appended after an unfinished one, cut"


class FileFollower(NameFollower):
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
            if generation.undecided:
                generation = self._decide(generation)
                # Idle for as long as retires a file rotated away (this look
                # the last): its input ended, its one byte (gzip's first) plain.
                ended = generation is not self._current and generation.idle + 1 >= RETIRE_AFTER
                if generation.undecided and not ended:  # Nothing to read yet.
                    generation.idle += 1
                    self._at_end(generation, None, pieces)
                    continue
                generation.undecided = False
            self._copy_on(generation)
            spill = generation.spill
            # Not one waiting for the rest of its stream: as a file rotated
            # away that grows, it is read along with the newer files.
            copying = spill is not None and not spill.done and not spill.waiting
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
        self._hold(None)
        self.active = []
        self._current = None

    def status(self) -> Dict[str, Any]:
        """
        What was read of the file, its size now, why it cannot be read,
        and whether the rest of its gzip stream is waited for.
        """
        current = self._current or (self.active[-1] if self.active else None)
        spill = current.spill if current is not None else None
        return {
            "name": self.name,
            "read": sum(g.offset for g in self.files.generations if g.source == self._source),
            "size": generation_size(current),
            "error": self.error or (spill.error or spill.cut if spill is not None else None),
            "waiting": "waiting for the rest of its gzip stream"
                       if spill is not None and spill.waiting and spill.cut is None else None,
        }

    def _copy_on(self, generation: Generation) -> None:
        """
        If C{generation} is the copy of a compressed file that grew, copy
        on in a thread (if none can be started, that is reported, once
        until one is, and tried again at the next look); if the file is
        rotated away, inside a gzip stream whose end did not come for
        L{RETIRE_AFTER} looks since it left the name, nor for
        L{UNFINISHED_WAIT} seconds, give it up.
        """
        spill = generation.spill
        if spill is None or spill.fd < 0 or spill.running or spill.error is not None:
            return
        try:
            status = self._stat(spill.fd)
        except OSError:
            return
        if status.st_size > spill.position:
            if spill.waiting and not self._went_on(generation, spill):
                return
            told = spill.not_started is not None
            if not spill.start(self._start_thread, spill.resume) and not told:
                self._report(LineError(self.name, 0, f"{spill.not_started}: tried again at each"
                                       " look"))
        elif spill.waiting and (generation.idle >= RETIRE_AFTER
                                and self._clock() - status.st_mtime >= UNFINISHED_WAIT):
            if generation is not self._current:
                spill.give_up(GIVEN_UP)
            elif spill.cut is None:
                self._cut_at_name(generation)

    def _went_on(self, generation: Generation, spill: Spill) -> bool:
        """
        The compressed file of the copy C{generation}, made by C{spill},
        waiting inside a gzip stream, grew: with the rest of that stream
        (said if it was reported cut, the first time), or a new stream
        after it, cut (said; its last line left out).

        @return: Whether to copy on now: not while too few bytes came to
            tell which, nor before the copy is read to its end.
        """
        appended = spill.appended()
        if appended is None or appended and generation.offset < (generation_size(generation)
                                                                   or 0):
            return False
        if appended:
            size = generation.splitter.pending_bytes
            generation.splitter.finish()  # Not read: not from the stream that follows.
            line = f"its last line is left out ({size} bytes)" if size else "no line is left out"
            reported = spill.cut is not None and spill.cuts == 1  # Its cut line too.
            self._report(LineError(self.name, 0, APPENDED if reported else
                                   f"{APPENDED_UNFINISHED}: {line}"))
            spill.restart()
        elif spill.cut is not None:
            spill.cut = None
            if spill.cuts == 1:
                self._report(LineError(self.name, 0, WENT_ON))
        return True

    def _cut_at_name(self, generation: Generation) -> None:
        """
        The copy C{generation} of the compressed file at the name waited
        for the rest of its gzip stream as long as one rotated away would:
        report it cut, and its last line (not read, unless the stream goes
        on: it is still followed).
        """
        spill, size = generation.spill, generation.splitter.pending_bytes
        assert spill is not None
        line = (f"its last line is left out ({size} bytes), unless the stream goes on" if size
                else "no line is left out")
        spill.cut = (f"cut inside its gzip stream, unchanged for {UNFINISHED_WAIT:.0f} seconds"
                     f" (its writer stopped?): {line}")
        spill.cuts += 1
        if spill.cuts == 1:  # A slow writer's later pauses: only in the status.
            self._report(LineError(self.name, 0, spill.cut))

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
            start, lines = generation.feed(data)
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
        the line is a whole JSON object (not in a copy, until it is done);
        if it did not grow since the last look, add an idle piece.

        @param copied: For a copy, whether it was done before this reading.
        """
        splitter, at_name = generation.splitter, generation is self._current
        done = copied if copied is not None else (
            not at_name and generation.idle >= RETIRE_AFTER)
        spill = generation.spill
        if done and spill is not None:
            self._copy_failed(spill, at_name)
        # A last line waits for its newline: in a copy, or the copy's end
        # (the thread may be writing it); in a file, if a whole JSON object,
        # until a look finds the file idle (its writer may be between the
        # line and its newline, written apart; a newline that still comes
        # is the line's, see Generation.take_last).
        whole = spill is None and generation.idle > 0 and whole_json(splitter.pending())
        if done and not whole and spill is not None and spill.inside:
            self._cut(generation, spill)
        elif done or whole:
            start = generation.line_end
            last = generation.take_last()
            if last:
                pieces.append(Piece(generation, start, last))
        if generation.idle:
            pieces.append(Piece(generation, generation.line_end, [], idle=True))
        if done and not at_name:
            if spill is not None:
                spill.stop()  # Its file is read whole: not kept open.
            self.active.remove(generation)
            self.files.retire(generation)

    def _copy_failed(self, spill: Spill, at_name: bool) -> None:
        """
        Report why the copy C{spill}, done, failed (if it did), once.
        """
        if spill.error is not None and not spill.reported:
            spill.reported = True
            where = "a compressed file rotated away, not read whole" if not at_name else (
                "not read whole" if self.path == "-" else
                "not read whole, its decompression failed")
            self._report(LineError(self.name, 0, f"{where}: {spill.error}"))

    def _cut(self, generation: Generation, spill: Spill) -> None:
        """
        The copy C{generation}, made by C{spill}, is done inside a gzip
        stream: its last line, not whole, is cut; it is reported (unless it
        was when the file was at the name), not read as a line.
        """
        size = generation.splitter.pending_bytes
        if generation.splitter.finish() and spill.cut is None:
            self._report(LineError(self.name, 0, "the last line of a decompressed copy, cut"
                                   f" inside its gzip stream, is left out ({size} bytes)"))
