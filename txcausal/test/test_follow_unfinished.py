"""
Tests for L{txcausal._tail}: a compressed file rotated away inside a gzip
stream its writer has not finished (C{app | gzip > log} and C{logrotate}
in its create mode: C{gzip} goes on writing to C{log.1}).
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import time
import zlib
from pathlib import Path
from typing import IO, Any, Callable, List, Optional, Tuple, cast

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from txcausal._tail import RETIRE_AFTER, UNFINISHED_WAIT, FileFollower
from txcausal._tail_spill import PIECE_BYTES, TRUNCATED, Spill, mark_before
from txcausal.test.test_follow_rotated import FollowerCase, flat

#: The report of a compressed file given up inside its unfinished gzip stream.
GIVEN_UP = ("log: a compressed file rotated away, not read whole: given up inside an unfinished"
            " gzip stream: what is written to it later is not read")
#: The report of a compressed file at the name whose gzip stream stopped.
CUT_AT_NAME = ("log: cut inside its gzip stream, unchanged for 1800 seconds (its writer stopped?):"
               " its last line is left out (7 bytes), unless the stream goes on")
#: The report of such a file that grew after all.
WENT_ON = ("log: its gzip stream, reported cut, went on after all: read on (its later pauses"
           " are not reported)")
#: The report of a compressed file whose copy could not be started.
NOT_STARTED = ("log: no thread could be started to copy it (RuntimeError: can't start new"
               " thread): tried again at each look")


def unfinished(data: bytes) -> Tuple[bytes, Any]:
    """
    A gzip stream holding C{data} so far, not finished: what a writer
    flushed, and what finishes it.
    """
    writer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return writer.compress(data) + writer.flush(zlib.Z_SYNC_FLUSH), writer


def killed_gzip(path: Path) -> List[bytes]:
    """
    Have the real C{gzip} command write lines to C{path} (C{app | gzip >
    log}), and kill it in the middle of its stream, once it wrote some.

    @return: The lines given to it.
    @raise SkipTest: Without the command.
    """
    gzip_command = shutil.which("gzip")
    if gzip_command is None:
        raise SkipTest("needs the gzip command")
    # Hardly compressible: gzip writes its output in blocks as it goes.
    lines = [b"%d %s" % (n, os.urandom(16).hex().encode()) for n in range(20000)]
    with open(path, "wb") as log:
        writer = subprocess.Popen([gzip_command, "-c"], stdin=subprocess.PIPE, stdout=log)
    assert writer.stdin is not None
    with writer.stdin:
        writer.stdin.write(b"\n".join(lines) + b"\n")
        writer.stdin.flush()
        for _ in range(2000):  # Until gzip wrote a block.
            if os.stat(path).st_size:
                break
            time.sleep(0.005)
        writer.kill()
        writer.wait()
    return lines


class UnfinishedStreamTests(FollowerCase):
    """
    Tests for L{FileFollower} when a compressed file is rotated away in
    the middle of its gzip stream.
    """

    def setUp(self) -> None:
        super().setUp()
        self.now = 0.0
        self.follower = FileFollower(str(self.path), on_error=self.errors.append,
                                     stat=self.stat, startThread=lambda f: f(),
                                     clock=lambda: self.now)
        self.addCleanup(self.follower.close)

    def test_idleAtNameThenRotatedReadOn(self) -> None:
        """
        A compressed file that stayed idle at the name for more than
        L{RETIRE_AFTER} looks (C{gzip} writes its output in bursts) and is
        then rotated away is still read as its writer goes on: the looks
        are counted from the rotation.
        """
        lines = [b"%d" % n for n in range(2000)]
        first, writer = unfinished(b"".join(line + b"\n" for line in lines[:1000]))
        self.path.write_bytes(first)
        self.assertEqual(flat(self.follower.read()), lines[:1000])
        for _ in range(RETIRE_AFTER + 1):
            self.assertEqual(flat(self.follower.read()), [])
        self.rotate()
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        rest = b"".join(line + b"\n" for line in lines[1000:])
        self.append(writer.compress(rest) + writer.flush(), self.numbered(1))
        self.assertEqual(flat(self.follower.read()), lines[1000:])
        self.assertEqual(self.reasons(), [])

    def test_givenUpOnceOldAndIdle(self) -> None:
        """
        Rotated away inside an unfinished gzip stream, a compressed file
        is given up only once it was idle for L{RETIRE_AFTER} looks since
        the rotation and its last change is L{UNFINISHED_WAIT} seconds
        old; that is reported once.  Its last line, cut, is not read as a
        line: it is reported.  The file that replaces it is read
        meanwhile.
        """
        data, _ = unfinished(b'{"i": 0}\n{"i": 1}\n{"i": 2')
        self.path.write_bytes(data)
        self.now = os.stat(self.path).st_mtime
        self.assertEqual(flat(self.follower.read()), [b'{"i": 0}', b'{"i": 1}'])
        self.rotate()
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        for _ in range(RETIRE_AFTER + 1):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [])
        self.now += UNFINISHED_WAIT - 1
        self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [])
        self.now += 1
        self.assertEqual(flat(self.follower.read()), [])
        cut = ("log: the last line of a decompressed copy, cut inside its gzip stream, is left out"
               " (7 bytes)")
        self.assertEqual(self.reasons(), [GIVEN_UP, cut])
        self.assertEqual(len(self.follower.active), 1)
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual(len(self.errors), 2)

    def test_cutAtName(self) -> None:
        """
        A compressed file at the name inside a gzip stream that stays
        unfinished (its writer killed) is reported cut once it was idle for
        L{RETIRE_AFTER} looks and its last change is L{UNFINISHED_WAIT}
        seconds old, as one rotated away is: its last line, cut, is
        reported once, not read, and the status says so.  It is still
        followed: if its stream goes on after all, it is read on (and that
        is said), its last line whole then.
        """
        data, writer = unfinished(b'{"i": 0}\n{"i": 1}\n{"i": 2')
        self.path.write_bytes(data)
        self.now = os.stat(self.path).st_mtime
        self.assertEqual(flat(self.follower.read()), [b'{"i": 0}', b'{"i": 1}'])
        for _ in range(RETIRE_AFTER + 1):
            self.assertEqual(flat(self.follower.read()), [])
        self.now += UNFINISHED_WAIT - 1
        self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [])
        self.now += 1
        for _ in range(3):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [CUT_AT_NAME])
        status = self.follower.status()
        self.assertEqual((status["waiting"], status["error"]), (None, CUT_AT_NAME[5:]))
        self.append(writer.compress(b'}\n{"i": 3}\n') + writer.flush())
        self.assertEqual(flat(self.follower.read()), [b'{"i": 2}', b'{"i": 3}'])
        self.assertEqual(self.reasons(), [CUT_AT_NAME, WENT_ON])
        self.assertEqual((self.follower.status()["error"], len(self.follower.active)), (None, 1))

    def test_gzipCommandKilled(self) -> None:
        """
        The user's case: the real C{gzip} command, writing to the file at
        the name (C{app | gzip > log}), killed in the middle of its stream.
        What it wrote is read; then, after the wait, it is reported cut.
        """
        lines = killed_gzip(self.path)
        got = flat(self.follower.read())
        self.assertEqual(got, lines[:len(got)])
        self.assertTrue(got)
        self.now = os.stat(self.path).st_mtime + UNFINISHED_WAIT
        for _ in range(RETIRE_AFTER + 2):
            self.assertEqual(flat(self.follower.read()), [])
        [report] = self.reasons()
        self.assertTrue(report.startswith("log: cut inside its gzip stream"), report)

    def test_cutAtNameThenRotated(self) -> None:
        """
        A compressed file reported cut at the name, then rotated away, is
        given up as any other (reported), its cut line not reported again.
        """
        data, _ = unfinished(b'{"i": 0}\n{"i": 2')
        self.path.write_bytes(data)
        self.now = os.stat(self.path).st_mtime + UNFINISHED_WAIT
        for _ in range(RETIRE_AFTER + 2):
            self.follower.read()
        self.assertEqual(self.reasons(), [CUT_AT_NAME])
        self.rotate()
        self.append(b"b\n")
        got = []
        for _ in range(RETIRE_AFTER + 2):
            got += flat(self.follower.read())
        self.assertEqual(got, [b"b"])
        self.assertEqual(self.reasons(), [CUT_AT_NAME, GIVEN_UP])
        self.assertEqual(len(self.follower.active), 1)

    def test_wholeLastLineCutAtName(self) -> None:
        """
        The last line of a compressed file reported cut is not read even
        when it is a whole JSON object (its newline was not written); if
        the stream goes on, that line is read once, no empty line after.
        """
        data, writer = unfinished(b'{"i": 0}\n{"i": 2}')
        self.path.write_bytes(data)
        self.now = os.stat(self.path).st_mtime + UNFINISHED_WAIT
        got = []
        for _ in range(RETIRE_AFTER + 2):
            got += flat(self.follower.read())
        self.assertEqual(got, [b'{"i": 0}'])
        self.assertEqual(self.reasons(), [CUT_AT_NAME.replace("7 bytes", "8 bytes")])
        self.append(writer.compress(b'\n{"i": 3}\n') + writer.flush())
        self.assertEqual(flat(self.follower.read()), [b'{"i": 2}', b'{"i": 3}'])

    def test_waitingInStatus(self) -> None:
        """
        The status of a follower whose file at the name is a gzip stream
        not finished yet says that the rest is waited for, until it comes.
        """
        data, writer = unfinished(b"a\n")
        self.path.write_bytes(data)
        self.assertEqual(flat(self.follower.read()), [b"a"])
        status = self.follower.status()
        self.assertEqual((status["waiting"], status["error"]),
                         ("waiting for the rest of its gzip stream", None))
        self.append(writer.compress(b"b\n") + writer.flush())
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertIsNone(self.follower.status()["waiting"])

    def test_newerReadWhileWaiting(self) -> None:
        """
        A compressed file rotated away just after its first reading,
        inside an unfinished gzip stream, does not hold back the file that
        replaced it: that one is read at the next look, before the first
        is given up.
        """
        lines: List[bytes] = [b"%d" % n for n in range(1000)]
        data = gzip.compress(b"".join(line + b"\n" for line in lines))
        self.path.write_bytes(data[: len(data) // 2])
        got = flat(self.follower.read())
        self.assertEqual(got, lines[:len(got)])
        self.assertTrue(got)
        self.rotate()
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(self.errors, [])
        self.now = os.stat(self.numbered(1)).st_mtime + UNFINISHED_WAIT
        for _ in range(RETIRE_AFTER + 1):
            self.follower.read()
        self.assertEqual(self.reasons()[:1], [GIVEN_UP])


class Written(io.BytesIO):
    """
    A copy's temporary file that keeps the size of each write, and calls
    C{after} after each.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sizes: List[int] = []
        self.after: Callable[[], None] = lambda: None

    def write(self, data: Any) -> int:
        self.sizes.append(len(data))
        written = super().write(data)
        self.after()
        return written


class BoundedStepTests(SynchronousTestCase):
    """
    Tests for L{Spill.resume}: what one chunk of a compressed file gives
    is decompressed and written in pieces of bounded size.
    """

    def setUp(self) -> None:
        self.path = self.mktemp()
        self.whole = b"a\n" * (2 * PIECE_BYTES)  # A chunk of it gives much more.
        with open(self.path, "wb") as f:
            f.write(gzip.compress(self.whole))
        fd = os.open(self.path, os.O_RDONLY)
        size = os.fstat(fd).st_size
        self.out = Written()
        self.spill = Spill(cast(IO[bytes], self.out), fd=fd, mark=(size, mark_before(fd, size)))
        self.addCleanup(self.spill.close)

    def test_piecesBounded(self) -> None:
        """
        The output of one chunk is written in pieces of at most
        L{PIECE_BYTES}: the copy's memory is bounded, and so is the time
        L{Spill.stop} waits for it.
        """
        self.spill.resume()
        self.assertEqual((self.out.getvalue(), self.spill.done), (self.whole, True))
        self.assertLessEqual(max(self.out.sizes), PIECE_BYTES)

    def test_truncatedBetweenPieces(self) -> None:
        """
        The file truncated while one chunk is decompressed is noticed
        before the next piece is written: the copy stops there, its
        position not past that chunk.
        """
        self.out.after = lambda: os.truncate(self.path, 0)
        self.spill.resume()
        self.assertEqual((self.spill.error, self.spill.position), (TRUNCATED, 0))
        self.assertEqual(len(self.out.sizes), 1)


class ThreadNotStartedTests(FollowerCase):
    """
    Tests for L{FileFollower} when a thread to copy a file cannot be
    started (too many threads): never raised, reported once; a compressed
    file's copy is started again at the next look.
    """

    def setUp(self) -> None:
        super().setUp()
        self.fails = False

    def startThread(self, target: Callable[[], None]) -> None:
        if self.fails:
            raise RuntimeError("can't start new thread")
        target()

    def following(self, path: str = "", stdin: Optional[IO[bytes]] = None) -> FileFollower:
        follower = FileFollower(path or str(self.path), on_error=self.errors.append,
                                stat=self.stat, startThread=self.startThread, stdin=stdin)
        self.addCleanup(follower.close)
        return follower

    def test_resumeNotStarted(self) -> None:
        """
        A compressed file that grew, when no thread can be started to copy
        on: reported once, and the copy goes on once one can be started.
        """
        follower = self.following()
        data, writer = unfinished(b"a\n")
        self.path.write_bytes(data)
        self.assertEqual(flat(follower.read()), [b"a"])
        self.fails = True
        self.append(writer.compress(b"b\n") + writer.flush())
        for _ in range(3):
            self.assertEqual(flat(follower.read()), [])
        self.assertEqual(self.reasons(), [NOT_STARTED])
        self.fails = False
        self.assertEqual(flat(follower.read()), [b"b"])
        self.assertEqual(self.reasons(), [NOT_STARTED])

    def test_memberEndNotStarted(self) -> None:
        """
        A compressed file rotated away whose copy had reached the end of a
        gzip member, when no thread can be started as a member is appended
        to it: not taken as done (and retired); the member is read once a
        thread can be started.
        """
        follower = self.following()
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(follower.read()), [b"a"])
        self.rotate()
        self.append(gzip.compress(b"b\n"), self.numbered(1))
        self.append(b"c\n")
        self.fails = True
        got = flat(follower.read())
        self.fails = False
        for _ in range(RETIRE_AFTER + 2):
            got += flat(follower.read())
        self.assertEqual(sorted(got), [b"b", b"c"], self.reasons())

    def test_firstCopyNotStarted(self) -> None:
        """
        A compressed file at the name whose copy cannot be started is
        reported once, nothing raised; it is read once a thread can be
        started.
        """
        self.fails = True
        follower = self.following()
        self.path.write_bytes(gzip.compress(b"a\n"))
        for _ in range(3):
            self.assertEqual(flat(follower.read()), [])
        self.assertEqual(self.reasons(), [NOT_STARTED])
        self.fails = False
        self.assertEqual(flat(follower.read()), [b"a"])
        self.assertEqual(self.reasons(), [NOT_STARTED])

    def test_standardInputNotStarted(self) -> None:
        """
        Standard input, when no thread can be started to copy it: reported
        once, nothing raised (it cannot be copied later: it is given up).
        """
        self.fails = True
        follower = self.following("-", io.BytesIO(b"a\n"))
        for _ in range(3):
            self.assertEqual(flat(follower.read()), [])
        self.assertEqual([str(e) for e in self.errors],
                         ["<stdin>: not read whole: no thread could be started to copy it"
                          " (RuntimeError: can't start new thread)"])
