# -*- test-case-name: txcausal.test.test_follow_rotated,txcausal.test.test_follow_compressed -*-
"""
The file current at a followed name: L{NameOpener}, the base of
L{NameFollower<txcausal._tail_name.NameFollower>}, opens it (through a
decompressed copy if it is compressed, a copy of standard input for
C{"-"}), keeps the status it had then, and tells once why a file cannot
be read.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Callable, Dict, List, Optional, Set, cast

from ._parse_input import ErrorCallback, LineError, _ignore_error
from ._source import DEFAULT_MAX_LINE_BYTES
from ._tail_files import (
    Generation,
    OpenFiles,
    StartThread,
    daemon_thread,
)
from ._tail_open import Opened, compressed_at, open_regular
from ._tail_rotated import (
    Fingerprint,
    Identity,
    Numbered,
    Place,
    Stat,
    fingerprint,
    identity,
    settled_files,
)
from ._tail_spill import mark_before


class NameOpener:
    """
    The files opened at a followed name: the first, and the next when
    L{NameFollower<txcausal._tail_name.NameFollower>} finds it replaced or
    truncated; the reading of them is left to the subclass.
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
