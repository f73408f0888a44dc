# -*- test-case-name: txcausal.test.test_follow -*-
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
    reported (see L{txcausal._tail_rotated}).  Only regular files are
    opened; a numbered file that cannot be read is reported.
  - A file truncated in place (C{copytruncate}) is read again from its
    start: it is told by its size, now below where the reading got to, or,
    when it was written past that point before the next look, by the last
    bytes read no longer being there.
  - A file that does not exist yet is looked for at each look.
  - A last line without its newline is read once the file stops growing if
    it is a whole JSON object; a line a writer is still writing is waited
    for.
  - Compressed files and standard input are copied, decompressed, by a
    thread, to an unnamed temporary file, which is read like any other.
  - Retired files stay open, up to a bound (L{OpenFiles}), so that their
    messages can still be read back by position; past it the oldest is
    closed.
"""

from __future__ import annotations

import errno
import os
from stat import S_ISDIR, S_ISREG
from typing import IO, Any, Dict, List, Optional, Set

from orjson import JSONDecodeError, loads

from ._parse_input import ErrorCallback, LineError, _ignore_error
from ._source import _GZIP_MAGIC, CHUNK_BYTES, DEFAULT_MAX_LINE_BYTES
from ._tail_files import (
    Generation,
    OpenFiles,
    Piece,
    Spill,
    StartThread,
    daemon_thread,
    generation_size,
)
from ._tail_rotated import (
    Fingerprint,
    Identity,
    Stat,
    fingerprint,
    identity,
    missed_files,
    numbered_files,
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
        @param on_error: Told, once each, about problems: a file that
            cannot be opened, or was truncated.
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

    def poll(self, budget: Optional[int] = None) -> List[Piece]:
        """
        Read what was written since the last look: the lines of each file
        being read, in order, and a L{Piece} marked C{idle} for each file
        that did not grow.

        @param budget: Read about this many bytes at most (the rest waits
            for the next look); everything if C{None}.
        """
        pieces: List[Piece] = []
        if not self.active:
            if not self._open_name():
                return pieces
        elif self.active[-1].spill is None:
            self._check_name(pieces)
        for generation in list(self.active):
            if budget is not None and budget <= 0:
                break
            read = self._read(generation, budget, pieces)
            if budget is not None:
                budget -= read
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
        for generation in self.files.generations:
            if generation.source == self._source:
                generation.close()
                if generation.spill is not None:
                    generation.spill.file.close()
        self.active = []

    def status(self) -> Dict[str, Any]:
        """
        What was read of the file, its size now, and why it cannot be read.
        """
        current = self.active[-1] if self.active else None
        spill = current.spill if current is not None else None
        return {
            "name": self.name,
            "read": sum(g.offset for g in self.files.generations if g.source == self._source),
            "size": generation_size(current),
            "error": self.error or (spill.error if spill is not None else None),
        }

    def _read(self, generation: Generation, budget: Optional[int], pieces: List[Piece]) -> int:
        total, ended = 0, False
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
            self._at_end(generation, pieces)
        return total

    def _at_end(self, generation: Generation, pieces: List[Piece]) -> None:
        """
        Reading C{generation} got to its end: take its last line if it is
        done with (then retire it) or the line is a whole JSON object; if
        it did not grow since the last look, add an idle piece.
        """
        spill, splitter = generation.spill, generation.splitter
        done = spill.done if spill is not None else (
            generation is not self.active[-1] and generation.idle >= RETIRE_AFTER)
        if done or _whole_json(splitter.pending()):
            start = generation.line_end
            last = splitter.finish()
            if last:
                pieces.append(Piece(generation, start, last))
        if generation.idle:
            pieces.append(Piece(generation, generation.line_end, [], idle=True))
        if done and spill is None:
            self.active.remove(generation)
            self.files.retire(generation)

    def _open_name(self) -> bool:
        """
        Open the file at the name (C{"-"}: standard input), noting the
        numbered files there now: older than it.
        """
        if self.path == "-":
            self._spill(self._stdin_stream())
            return True
        try:
            self._open_file(self.path)
        except OSError as e:
            self._fail(e)
            return False
        self._fail(None)
        self._known = {fingerprint(f.stat) for f in numbered_files(self.path, self._stat)}
        return True

    def _open_file(self, path: str) -> None:
        """
        Start reading the regular file at C{path}: by position, or through
        a decompressed copy if it is compressed.

        @raise OSError: If it cannot be opened, or is not a regular file
            (a FIFO, which opening would wait on, or a directory).
        """
        _regular(self._stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
        try:
            stat = _regular(self._stat(fd))  # Replaced meanwhile?
            compressed = os.pread(fd, 2, 0) == _GZIP_MAGIC
        except BaseException:
            os.close(fd)
            raise
        if compressed:
            self._spill(os.fdopen(fd, "rb"))
        else:
            self.active.append(self.files.add(self._source, self.name, fd, identity(stat),
                                              self._max_line))

    def _stdin_stream(self) -> IO[bytes]:
        if self._stdin is not None:
            return self._stdin
        import sys

        return sys.stdin.buffer

    def _spill(self, stream: IO[bytes]) -> None:
        import tempfile  # Only for compressed files and standard input.

        spill = Spill(tempfile.TemporaryFile(prefix="txcausal-"))
        fd = os.dup(spill.file.fileno())
        self.active.append(self.files.add(self._source, self.name, fd, None, self._max_line,
                                          spill))
        self._start_thread(lambda: spill.copy(stream, close=self.path != "-"))

    def _fail(self, error: Optional[OSError]) -> None:
        """
        Note why the file cannot be read (C{None}: it can), telling once.
        """
        self.failure = error
        text = None if error is None else (error.strerror or str(error))
        if text is not None and text != self.error:
            self._report(LineError(self.name, 0, text))
        self.error = text

    def _check_name(self, pieces: List[Piece]) -> None:
        """
        Open the file now at the name if it is another one; if it is the
        same and was truncated, open it again (what was pending in it ends
        there: an idle piece is added to C{pieces}).
        """
        current = self.active[-1]
        try:
            stat = self._stat(self.path)
            truncated = identity(stat) == current.identity and current.truncated()
        except OSError:
            return  # Renamed away, not replaced yet: read on.
        if identity(stat) != current.identity:
            self._open_missed(identity(stat))
            if self._open_name():
                self.rotations += 1
        elif truncated:
            self.rotations += 1
            self._report(LineError(self.name, 0, "truncated; reading it again from the start"))
            self.active.remove(current)
            pieces.append(Piece(current, current.line_end, [], idle=True))
            current.close()
            self._open_name()

    def _open_missed(self, at_name: Identity) -> None:
        """
        The name was replaced by the file C{at_name}: open, oldest first,
        the numbered files that were at the name in between (see
        L{missed_files}); report those that cannot be read, and a file
        that may have been lost.
        """
        mine = [g for g in self.files.generations if g.source == self._source]
        still_open = {g.identity for g in mine if g.fd >= 0 and g.identity is not None}
        closed = {g.closed_as for g in mine if g.closed_as is not None}
        missed = missed_files(numbered_files(self.path, self._stat),
                              self.active[-1].identity or (-1, -1), at_name, still_open,
                              closed, self._known)
        if missed.lost is not None:
            self._report(LineError(self.name, 0, missed.lost))
        for numbered in missed.files:
            try:
                self._open_file(numbered.path)
            except OSError as e:
                reason = e.strerror or str(e)
                self._report(LineError(numbered.path, 0, "a file rotated away between two"
                                       f" looks, not read: {reason}"))
            else:
                self.rotations += 1


def _regular(stat: os.stat_result) -> os.stat_result:
    """
    C{stat}, if it is a regular file's.

    @raise OSError: If it is not.
    """
    if S_ISDIR(stat.st_mode):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not S_ISREG(stat.st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    return stat


def _whole_json(line: Optional[bytes]) -> bool:
    """
    Whether C{line} is a whole JSON object (a message its writer finished,
    but for the newline).
    """
    if not line or line[:1] != b"{":
        return False
    try:
        loads(line)
    except JSONDecodeError:
        return False
    return True
