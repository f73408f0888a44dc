"""
Tests for L{txcausal._tail_rotated}: a followed file rotated more than once
between two looks, its files in the middle found among the numbered ones.
"""

from __future__ import annotations

import errno
import gzip
import logging
import logging.handlers
import os
import shutil
from pathlib import Path
from typing import Callable, Dict, List, Union

from twisted.trial.unittest import SynchronousTestCase

from txcausal._tail import RETIRE_AFTER
from txcausal._tail_rotated import UNSETTLED_LOOKS, numbered_files
from txcausal.parse import FileFollower, LineError


def flat(batches: List[List[bytes]]) -> List[bytes]:
    return [line for batch in batches for line in batch]


class FollowerCase(SynchronousTestCase):
    """
    A L{FileFollower} of a file in a directory of its own, and ways to
    rotate it.  The follower's C{stat} is the test's: it can give a file
    the inode number of another, as a file system does with a deleted
    file's.
    """

    def setUp(self) -> None:
        directory = Path(self.mktemp())
        directory.mkdir()
        self.path = directory / "log"
        self.errors: List[LineError] = []
        #: Real inode numbers shown as others.
        self.inodes: Dict[int, int] = {}
        #: Called with a path before its status is read.
        self.before_stat: Callable[[Union[str, int]], None] = lambda path: None
        self.follower = FileFollower(str(self.path), on_error=self.errors.append,
                                     stat=self.stat, startThread=lambda f: f())
        self.addCleanup(self.follower.close)

    def stat(self, path: Union[str, int]) -> os.stat_result:
        self.before_stat(path)
        real = os.stat(path)
        inode = self.inodes.get(real.st_ino, real.st_ino)
        return os.stat_result(tuple(real)[:1] + (inode,) + tuple(real)[2:],
                              {"st_mtime_ns": real.st_mtime_ns})

    def numbered(self, n: int) -> Path:
        return Path(f"{self.path}.{n}")

    def append(self, data: bytes, path: Union[Path, None] = None) -> None:
        with open(path or self.path, "ab") as f:
            f.write(data)

    def shift(self, keep: int) -> None:
        """
        Make room for a new C{log.1}: the oldest deleted, C{log.N} renamed
        C{log.N+1}, up to C{log.keep}.
        """
        if self.numbered(keep).exists():
            self.numbered(keep).unlink()
        for n in range(keep - 1, 0, -1):
            if self.numbered(n).exists():
                self.numbered(n).replace(self.numbered(n + 1))

    def rotate(self, keep: int = 3) -> None:
        """
        Rotate as Twisted's C{LogFile} and C{RotatingFileHandler} do,
        keeping C{keep} numbered files: C{log} becomes C{log.1}.
        """
        self.shift(keep)
        self.path.replace(self.numbered(1))

    def twiceKeepingOne(self) -> List[bytes]:
        """
        Read C{log}, then rotate it twice keeping one numbered file, each
        file written to; what the next read gives.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.append(b"b\n")
        self.rotate(keep=1)
        self.append(b"c\n")
        self.rotate(keep=1)
        self.append(b"d\n")
        return flat(self.follower.read())

    def settling(self) -> List[bytes]:
        """
        Read while the numbered files are decided at a later look (see
        L{UNSETTLED_LOOKS}): nothing is read from the new files, nothing
        reported; then what the look that decides reads.
        """
        for _ in range(UNSETTLED_LOOKS):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.errors, [])
        return flat(self.follower.read())

    def reasons(self) -> List[str]:
        return [f"{os.path.basename(e.source)}: {e.reason}" for e in self.errors]

    def noSpace(self) -> Callable[[], None]:
        """
        Make temporary files fail for lack of space; what undoes it.
        """
        import tempfile

        def fail(*args: object, **kwargs: object) -> object:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return self.patch(tempfile, "TemporaryFile", fail).restore  # type: ignore[no-any-return]


class RotatedTests(FollowerCase):
    """
    Tests for L{FileFollower} on a file rotated more than once between two
    looks.
    """

    def test_renamedTwiceBetweenReads(self) -> None:
        """
        When the file is renamed away twice between two reads, as numbered
        rotation does, the file in the middle is read too, in order,
        between the two others; the numbered files there before the first
        read are not.
        """
        self.append(b"older\n", self.numbered(1))
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.append(b"b\n")
        self.rotate()
        self.append(b"c\n")
        self.rotate()
        self.append(b"d\n")
        self.assertEqual(flat(self.follower.read()), [b"b", b"c", b"d"])
        self.assertEqual((self.follower.rotations, self.errors), (2, []))

    def test_numberedAfterTheOldIgnored(self) -> None:
        """
        Only the numbered files newer than the one read before (numbered
        below it) are taken for files in the middle: a file that appeared
        past it (a copy put there, say) is not read.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.append(b"b\n")
        self.rotate()
        self.append(b"copy\n", self.numbered(3))
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"b", b"c"])

    def test_previousDeleted(self) -> None:
        """
        Rotated twice between two reads keeping one old file, the file
        read before is deleted (it is still read, being open); the one in
        the middle, at C{log.1}, is read too, and since files rotated in
        between may have been deleted as well, that is reported.
        """
        self.assertEqual(self.twiceKeepingOne(), [b"b", b"c", b"d"])
        self.assertEqual(len(self.errors), 1)
        self.assertIn("may have been missed", self.errors[0].reason)

    def test_middleTakesInodeOfFileRead(self) -> None:
        """
        A file in the middle given the inode number of a file read and
        closed before (deleted by the rotation just before the file in the
        middle was created) is read all the same.  (The two differ in
        size: written in the same clock tick, as here, they would otherwise
        look alike, where a real file read is idle a while before it is
        closed.)
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        first = os.stat(self.path).st_ino
        self.rotate(keep=1)
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        for _ in range(RETIRE_AFTER + 1):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(len(self.follower.active), 1)
        self.rotate(keep=1)  # The file read first is deleted.
        self.append(b"middle\n")
        self.inodes[os.stat(self.path).st_ino] = first
        self.rotate(keep=2)
        self.append(b"d\n")
        self.assertEqual(flat(self.follower.read()), [b"middle", b"d"])
        self.assertEqual((self.follower.rotations, self.errors), (3, []))

    def test_middleTakesInodeOfOlderFile(self) -> None:
        """
        A file in the middle given the inode number of a numbered file there
        at the first look, deleted by the rotation, is read all the same.
        """
        for name in ("old1", "old2", "old3"):
            self.append(name.encode() + b"\n")
            self.rotate()
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        oldest = os.stat(self.numbered(3)).st_ino
        self.append(b"b\n")
        self.rotate()
        self.append(b"middle\n")
        self.inodes[os.stat(self.path).st_ino] = oldest
        self.rotate()
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"b", b"middle", b"c"])
        self.assertEqual(self.errors, [])

    def test_rotatingFileHandler(self) -> None:
        """
        Python's C{RotatingFileHandler} keeping three files, its three
        backups there at the first look, rolled over twice between two
        looks: nothing is lost, whatever inodes the file system gives.
        """
        handler = logging.handlers.RotatingFileHandler(str(self.path), backupCount=3)
        self.addCleanup(handler.close)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log = logging.getLogger(f"txcausal.test.{self.id()}")
        log.addHandler(handler)
        log.propagate = False
        log.setLevel(logging.INFO)
        for name in ("old1", "old2", "old3"):
            log.info(name)
            handler.doRollover()
        log.info("a")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        log.info("b")
        handler.doRollover()
        log.info("middle")
        handler.doRollover()
        log.info("c")
        self.assertEqual(flat(self.follower.read()), [b"b", b"middle", b"c"])
        self.assertEqual(self.errors, [])

    def test_copiesNotReadAgain(self) -> None:
        """
        Copies made by C{copytruncate} rotations are not taken for files in
        the middle when the name is later replaced.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        for n in range(3):
            self.shift(keep=4)
            shutil.copy(self.path, self.numbered(1))
            os.truncate(self.path, 0)
            self.append(b"x%d\n" % n)
            self.assertEqual(flat(self.follower.read()), [b"x%d" % n])
        self.path.unlink()
        self.append(b"new\n")
        self.assertEqual(flat(self.follower.read()), [b"new"])

    def test_gapAtFirstLook(self) -> None:
        """
        A numbered file there at the first look is recognised as old even
        past a gap in the numbering (C{log.2} without C{log.1}): not read.
        """
        self.append(b"old\n", self.numbered(2))
        self.assertEqual(self.twiceKeepingOne(), [b"b", b"c", b"d"])
        self.assertEqual(len(self.errors), 1)
        self.assertIn("may have been missed", self.errors[0].reason)

    def test_unknownNotFirstReported(self) -> None:
        """
        The file read before gone, a numbered file that was not there when
        it was opened but cannot have been at the name between (a lower
        number is free) is not read: that a file may be lost is reported
        (once the numbered files stayed so for L{UNSETTLED_LOOKS} looks: a
        rotation under way leaves a number free too).
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.unlink()
        self.append(b"stray\n", self.numbered(2))
        self.append(b"b\n")
        self.assertEqual(self.settling(), [b"b"])
        self.assertEqual(len(self.errors), 1)
        self.assertIn("log.2 not read", self.errors[0].reason)

    def test_hardLinkToNewFile(self) -> None:
        """
        A numbered name that is a hard link to the new file at the name is
        not taken for a file in the middle: that file is read once.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(2))
        self.append(b"new\n")
        os.link(self.path, self.numbered(1))
        self.assertEqual(flat(self.follower.read()), [b"new"])

    def test_gapBelowPreviousReported(self) -> None:
        """
        When numbers are missing below the file read before, a file rotated
        in between is missing: that is reported (once they stayed missing
        for L{UNSETTLED_LOOKS} looks: a rotation under way leaves a number
        free too).
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(3))
        self.append(b"middle\n", self.numbered(1))
        self.append(b"b\n")
        self.assertEqual(self.settling(), [b"middle", b"b"])
        self.assertEqual(len(self.errors), 1)
        self.assertIn("(.2)", self.errors[0].reason)


class NotRegularTests(FollowerCase):
    """
    Tests for L{FileFollower} finding, among the numbered files, one that
    cannot be read as a log.
    """

    def rotatedAround(self, make: object) -> List[bytes]:
        """
        Read C{log}, rename it C{log.2}, call C{make}, write a new C{log};
        what the next read gives.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(2))
        make()  # type: ignore[operator]
        self.append(b"c\n")
        return flat(self.follower.read())

    def test_fifo(self) -> None:
        """
        A FIFO at a numbered name is not opened (opening it would wait for
        a writer): it is reported, and not counted as a rotation.
        """
        self.assertEqual(self.rotatedAround(lambda: os.mkfifo(self.numbered(1))), [b"c"])
        self.assertEqual(self.reasons(), [f"{self.path.name}.1: a file rotated away between"
                                          " two looks, not read: not a regular file"])
        self.assertEqual(self.follower.rotations, 1)

    def test_directory(self) -> None:
        """
        A directory at a numbered name is reported, not read.
        """
        self.assertEqual(self.rotatedAround(lambda: os.mkdir(self.numbered(1))), [b"c"])
        self.assertEqual(self.reasons(), [f"{self.path.name}.1: a file rotated away between"
                                          " two looks, not read: Is a directory"])
        self.assertEqual(self.follower.rotations, 1)

    def test_vanished(self) -> None:
        """
        A numbered file gone between the listing and its opening is
        reported.
        """
        looks: List[object] = []

        def make() -> None:
            self.append(b"b\n", self.numbered(1))
            self.before_stat = vanish

        def vanish(path: Union[str, int]) -> None:
            if path == str(self.numbered(1)):
                looks.append(path)
                if len(looks) == 3:  # Listed twice (alike), then about to be opened.
                    self.numbered(1).unlink()

        self.assertEqual(self.rotatedAround(make), [b"c"])
        self.assertEqual(self.reasons(), [f"{self.path.name}.1: a file rotated away between"
                                          " two looks, not read: No such file or directory"])
        self.assertEqual(self.follower.rotations, 1)

    def test_compressed(self) -> None:
        """
        A compressed file at a numbered name is read decompressed, as a
        compressed file at the name is.
        """
        self.assertEqual(self.rotatedAround(
            lambda: self.numbered(1).write_bytes(gzip.compress(b"b\n"))), [b"b", b"c"])
        self.assertEqual((self.follower.rotations, self.errors), (2, []))

    def test_fifoAtName(self) -> None:
        """
        A FIFO at the name itself is not opened either: it is said to be
        no regular file.
        """
        os.mkfifo(self.path)
        self.assertEqual(self.follower.read(), [])
        self.assertEqual(self.reasons(), ["log: not a regular file"])

    def test_fifoReplacesName(self) -> None:
        """
        A FIFO put at the name after the file there was renamed away is
        reported once and not counted as a rotation; the file renamed away
        is read on, and the regular file put at the name later is read.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(1))
        os.mkfifo(self.path)
        self.append(b"b\n", self.numbered(1))
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual((self.reasons(), self.follower.rotations),
                         (["log: not a regular file"], 0))
        self.path.unlink()
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual(self.follower.rotations, 1)

    def test_symlinkLoopReplacesName(self) -> None:
        """
        A symbolic link loop put at the name after the file there was
        renamed away is reported once, as it is at the first look; the
        file renamed away is read on, and the file put at the name later
        is read.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(1))
        os.symlink(self.path.name, self.path)
        self.append(b"b\n", self.numbered(1))
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [f"log: {os.strerror(errno.ELOOP)}"])
        self.assertEqual(self.follower.status()["error"], os.strerror(errno.ELOOP))
        self.assertIsNone(self.follower.failure)  # Not why reading stops.
        self.path.unlink()
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual((len(self.errors), self.follower.status()["error"]), (1, None))

    def test_statusErrorPasses(self) -> None:
        """
        An error reading the name's status while the file there is the one
        read (EACCES while the directory's mode is changed, ESTALE) is
        reported once, and shown in the status only until the name's
        status is read again: the file is read on.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        failing = [2]

        def fail(path: Union[str, int]) -> None:
            if path == str(self.path) and failing[0]:
                failing[0] -= 1
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

        self.before_stat = fail
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(self.follower.read(), [])
        self.assertEqual((self.follower.status()["error"], self.follower.failure),
                         (os.strerror(errno.EACCES), None))
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual((self.follower.status()["error"], self.follower.failure), (None, None))
        self.assertEqual(self.reasons(), [f"log: {os.strerror(errno.EACCES)}"])

    def test_symlinkLoopAtFirstLook(self) -> None:
        """
        A symbolic link loop at the name at the first look is reported
        once.
        """
        os.symlink(self.path.name, self.path)
        for _ in range(2):
            self.assertEqual(self.follower.read(), [])
        self.assertEqual(self.reasons(), [f"log: {os.strerror(errno.ELOOP)}"])


class NumberedFilesTests(SynchronousTestCase):
    """
    Tests for L{numbered_files}.
    """

    def test_names(self) -> None:
        """
        The files named after the followed one, a dot and a number (in
        ASCII digits, without a leading zero) are listed by number, gaps
        included; other names are not.
        """
        directory = Path(self.mktemp())
        directory.mkdir()
        for name in ("log.10", "log.2", "log.0", "log.01", "log.1.gz", "log.x", "log.\u00b2",
                     "log", "other.1", "log.3"):
            (directory / name).write_bytes(b"")
        found = numbered_files(str(directory / "log"))
        self.assertEqual([(f.number, os.path.basename(f.path)) for f in found],
                         [(2, "log.2"), (3, "log.3"), (10, "log.10")])


class ReviewedTests(FollowerCase):
    """
    Tests for L{FileFollower}: files that cannot be read, rotations during
    a look, compressed files in the middle.
    """

    def test_unreadableReportedOnce(self) -> None:
        """
        A file at the name that cannot be read is reported once, not at
        every look, and the directory is not listed again at every look
        while it is there; one put there by the next rotation is reported
        once too, and the first one, now numbered, is not reported again.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        os.mkdir(self.path)
        self.assertEqual(flat(self.follower.read()), [])
        listed: List[object] = []
        self.before_stat = lambda path: listed.append(path) if path != str(self.path) else None
        for _ in range(3):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual([p for p in listed if not isinstance(p, int)], [])
        self.rotate()
        os.mkdir(self.path)
        for _ in range(3):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), ["log: Is a directory"] * 2)

    def test_rotatedWhileOpeningName(self) -> None:
        """
        A rotation while the numbered files are listed does not lose the
        file that was at the name: it is read, then the one that replaced
        it.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.append(b"x\n")
        armed = [True]

        def rotate(path: Union[str, int]) -> None:
            if armed and isinstance(path, str) and path != str(self.path):
                armed.clear()
                self.rotate()
                self.append(b"z\n")

        self.before_stat = rotate
        self.assertEqual(flat(self.follower.read()), [b"x"])
        self.assertEqual(flat(self.follower.read()), [b"z"])
        self.assertEqual(self.errors, [])

    def middleMovedWhileOpened(self, move: Callable[[], None]) -> List[bytes]:
        """
        Read C{log}, rotate it twice (C{m} written to the file in the
        middle, C{x} to the new one); what the next read gives, C{move}
        called after the numbered files were listed and before C{log.1}
        is opened.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.append(b"m\n")
        self.rotate()
        self.append(b"x\n")
        looks: List[object] = []

        def moveOnce(path: Union[str, int]) -> None:
            if path == str(self.numbered(1)):
                looks.append(path)
                if len(looks) == 3:  # Listed twice (alike), then about to be opened.
                    move()

        self.before_stat = moveOnce
        return flat(self.follower.read())

    def test_rotatedWhileOpeningMiddle(self) -> None:
        """
        A rotation after the numbered files were listed and before a file
        in the middle is opened does not make another file be read in its
        place: the file in the middle is found at its new number.
        """
        def rotate() -> None:
            self.rotate(keep=4)
            self.append(b"z\n")

        self.assertEqual(self.middleMovedWhileOpened(rotate), [b"m", b"x"])
        self.assertEqual(flat(self.follower.read()), [b"z"])
        self.assertEqual(self.errors, [])

    def test_renumberedWhileOpeningMiddle(self) -> None:
        """
        A file in the middle renumbered after the listing, its number left
        free, is found at its new number and read.
        """
        self.assertEqual(self.middleMovedWhileOpened(lambda: self.shift(keep=4)),
                         [b"m", b"x"])
        self.assertEqual(self.errors, [])

    def test_compressedMiddleInOrder(self) -> None:
        """
        A compressed file in the middle, copied by a thread, is read before
        the newer file at the name, even when the copy is late; then it is
        retired (its copy closed).
        """
        threads: List[Callable[[], None]] = []
        self.follower._start_thread = threads.append
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(2))
        self.numbered(1).write_bytes(gzip.compress(b"middle\n"))
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [])
        for thread in threads:
            thread()
        self.assertEqual(flat(self.follower.read()), [b"middle", b"c"])
        [copy] = [g for g in self.follower.files.generations if g.spill is not None]
        for _ in range(RETIRE_AFTER + 1):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual([g.spill for g in self.follower.active], [None])
        self.assertEqual(copy.fd, -1)
        self.assertTrue(copy.spill.file.closed)  # type: ignore[union-attr]

    def test_corruptCompressedMiddleReported(self) -> None:
        """
        A compressed file in the middle that cannot be decompressed whole
        is reported when it is retired, with why.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(2))
        self.numbered(1).write_bytes(gzip.compress(b"middle\n")[:-8] + b"\xff" * 8)
        self.append(b"c\n")
        self.follower.read()
        self.assertEqual(len(self.errors), 1, self.reasons())
        self.assertIn("log: a compressed file rotated away, not read whole: error: Error -3",
                      self.reasons()[0])

    def test_nameUnreadableAfterCompressedMiddle(self) -> None:
        """
        When the name cannot be opened just after a compressed file in the
        middle was found, the name is still looked at: the file put there
        later is read.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(2))
        self.numbered(1).write_bytes(gzip.compress(b"middle\n"))
        os.mkdir(self.path)
        self.assertEqual(flat(self.follower.read()), [b"middle"])
        os.rmdir(self.path)
        self.append(b"later\n")
        self.assertEqual(flat(self.follower.read()), [b"later"])
        self.assertEqual(self.reasons(), ["log: Is a directory"])

    def test_closeNeverRaises(self) -> None:
        """
        A file whose status cannot be read when it is retired is closed
        all the same, without its fingerprint, with the follower's C{stat}:
        retiring it raises nothing.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        [generation] = self.follower.active

        def broken(path: Union[str, int]) -> None:
            raise OSError(errno.EIO, "broken")

        self.before_stat = broken
        self.follower.files.retire(generation)
        self.assertEqual((generation.fd, generation.closed_as), (-1, None))


class CopyTruncateTests(FollowerCase):
    """
    Tests for L{FileFollower} on a file copied away and emptied in place
    (C{logrotate}'s C{copytruncate}).
    """

    def test_copyTailRead(self) -> None:
        """
        The lines written between the last look and the copy are read
        from the copy, C{log.1}, told by the bytes last read being at the
        same place in it; then the emptied file is read from its start.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.append(b"before the copy\n")
        shutil.copy(self.path, self.numbered(1))
        os.truncate(self.path, 0)
        self.append(b"after\n")
        self.assertEqual(flat(self.follower.read()), [b"before the copy", b"after"])
        self.assertEqual(self.reasons(), ["log: truncated, copied to log.1 first: its end"
                                          " read, then the file again from its start; lines"
                                          " written between the copy and the truncation"
                                          ", if any, may have been lost (copytruncate)"])

    def test_sizeByInjectedStat(self) -> None:
        """
        The size of a file being read, which tells a truncation, is read
        with the follower's C{stat}.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        [generation] = self.follower.active
        looked: List[Union[str, int]] = []
        self.before_stat = looked.append
        self.assertEqual(generation.size(), 2)
        self.assertEqual(looked, [generation.fd])

    def test_noCopyReported(self) -> None:
        """
        Without a copy whose start is what was read, that lines written
        since the last look may have been missed is reported.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.append(b"lost\n")
        self.numbered(1).write_bytes(b"other\nlost\n")
        os.truncate(self.path, 0)
        self.append(b"after\n")
        self.assertEqual(flat(self.follower.read()), [b"after"])
        self.assertEqual(self.reasons(), ["log: truncated; reading it again from the start:"
                                          " lines written since the last look may have"
                                          " been missed"])


class ThirdReviewTests(FollowerCase):
    """
    Tests for L{FileFollower}: a compressed file that cannot be copied, a
    file unreadable only for a while, another file at a listed number.
    """

    def openOn(self, path: Path) -> int:
        """
        How many of this process's descriptors are open on C{path}.
        """
        if not os.path.isdir("/proc/self/fd"):
            raise self.skipTest("no /proc/self/fd to list open files")
        fds = os.listdir("/proc/self/fd")
        return sum(os.path.realpath(f"/proc/self/fd/{fd}") == os.path.realpath(path)
                   for fd in fds)

    def refuse(self) -> List[str]:
        """
        Make opening the file now at the name fail, wherever it is, as long
        as the list returned is not empty.
        """
        refused = [str(self.path)]
        inode = os.stat(self.path).st_ino
        real = os.open

        def open(path: str, flags: int, *args: int) -> int:
            if refused and os.stat(path).st_ino == inode:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
            return real(path, flags, *args)

        self.patch(os, "open", open)
        return refused

    def test_compressedMiddleNotCopied(self) -> None:
        """
        A compressed file in the middle whose copy cannot be made is
        reported, its descriptor closed; the file at the name is read.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.path.replace(self.numbered(2))
        self.numbered(1).write_bytes(gzip.compress(b"middle\n"))
        self.append(b"c\n")
        self.noSpace()
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual(self.reasons(), ["log.1: a file rotated away between two looks,"
                                          " not read: No space left on device"])
        self.assertEqual(self.openOn(self.numbered(1)), 0)

    def test_compressedAtNameNotCopied(self) -> None:
        """
        A compressed file put at the name whose copy cannot be made is
        reported once, not raised; it is read once copies can be made.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.path.write_bytes(gzip.compress(b"b\n"))
        undo = self.noSpace()
        for _ in range(3):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), ["log: No space left on device"])
        self.assertEqual(self.openOn(self.path), 0)
        undo()
        self.assertEqual(flat(self.follower.read()), [b"b"])

    def test_firstCompressedNotCopied(self) -> None:
        """
        A compressed file at the name at the first look whose copy cannot
        be made is reported once, not raised.
        """
        self.path.write_bytes(gzip.compress(b"b\n"))
        self.noSpace()
        for _ in range(2):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), ["log: No space left on device"])

    def test_unreadableAtNameReadWhenRotated(self) -> None:
        """
        A file at the name that could not be opened for a while and is
        rotated away before the next look is read as a file in the middle
        once it can be opened.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.append(b"u\n")
        refused = self.refuse()
        self.assertEqual(flat(self.follower.read()), [])
        refused.clear()
        self.rotate()
        self.append(b"v\n")
        self.assertEqual(flat(self.follower.read()), [b"u", b"v"])
        self.assertEqual(self.reasons(), ["log: Permission denied"])

    def test_stillUnreadableWhenRotatedSilent(self) -> None:
        """
        A file at the name that cannot be opened, rotated away, is tried
        again as a file in the middle: failing the same way, it is not
        reported again.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.append(b"u\n")
        self.refuse()
        self.assertEqual(flat(self.follower.read()), [])
        self.rotate()
        self.append(b"v\n")
        self.assertEqual(flat(self.follower.read()), [b"v"])
        self.assertEqual(self.reasons(), ["log: Permission denied"])

    def test_otherFileAtListedNumber(self) -> None:
        """
        A file in the middle whose number is taken, between the listing
        and its opening, by a directory is looked for at its new number.
        """
        def replace() -> None:
            self.shift(keep=4)
            os.mkdir(self.numbered(1))

        self.assertEqual(self.middleMovedWhileOpened(replace), [b"m", b"x"])
        self.assertEqual(self.errors, [])

    def middleMovedWhileOpened(self, move: Callable[[], None]) -> List[bytes]:
        return ReviewedTests.middleMovedWhileOpened(self, move)  # type: ignore[arg-type]
