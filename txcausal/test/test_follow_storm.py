"""
Tests for L{txcausal._tail_rotated}'s listing of the numbered files while
a rotation renames them: each file is read once, or a loss reported.
"""

from __future__ import annotations

import collections
import errno
import json
import logging
import logging.handlers
import os
import threading
import time
from typing import Any, Callable, Iterator, List, Sequence, Union

from twisted.python.logfile import LogFile
from twisted.trial.unittest import SynchronousTestCase

from txcausal._tail_rotated import ENDING, UNSETTLED, UNSETTLED_LOOKS, settled_files
from txcausal.parse import FileFollower
from txcausal.test.test_follow_rotated import FollowerCase, flat


class RenamedWhileListedTests(FollowerCase):
    """
    A rotation (Twisted's C{LogFile}, Python's C{RotatingFileHandler}:
    the highest number renamed first, then the name to C{.1}) that runs
    while the follower lists the numbered files.
    """

    def listInOrder(self, numbers: Sequence[str]) -> None:
        """
        Make the directory list the numbered names in the order of
        C{numbers} (the order of a real directory is arbitrary).
        """
        real = os.scandir

        def scandir(directory: str) -> Iterator[Any]:
            entries = list(real(directory))
            suffix: Callable[[Any], str] = lambda entry: entry.name.rsplit(".", 1)[-1]
            return iter(sorted(entries, key=lambda e: numbers.index(suffix(e))
                               if suffix(e) in numbers else -1))

        self.patch(os, "scandir", scandir)

    def rotateWhileListed(self, times: int = 1, keep: int = 40) -> List[int]:
        """
        Rotate (C{log.N} to C{log.N+1}, C{log} to C{log.1}, a line written
        to the new C{log}) while the numbered files are listed, just before
        the second one's status is read: at each listing, C{times} times
        in all.

        @return: How many rotations were made (grows as they are).
        """
        made: List[int] = [0]
        seen: List[str] = []
        scandir = os.scandir

        def listing(directory: str) -> Iterator[Any]:
            seen.clear()
            return scandir(directory)

        self.patch(os, "scandir", listing)

        def rotate(path: Union[str, int]) -> None:
            if not isinstance(path, str) or path == str(self.path):
                return
            seen.append(path)
            if len(seen) == 2 and made[0] < times:
                made[0] += 1
                self.rotate(keep=keep)
                self.append(b"r%d\n" % made[0])

        self.before_stat = rotate
        return made

    def rotatedTwice(self, middle: bytes = b"b\n", atName: bytes = b"c\n") -> None:
        """
        Read C{a} in C{log}, then rotate it twice: C{middle} written to the
        file in the middle, C{atName} to the one at the name.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate(keep=40)
        self.append(middle)
        self.rotate(keep=40)
        self.append(atName)

    def readAll(self, looks: int = 5) -> List[bytes]:
        return [line for _ in range(looks) for line in flat(self.follower.read())]

    def renamedWhileListed(self, order: Sequence[str]) -> None:
        """
        The file read before (C{a}) rotated twice (C{b}, then C{c} at the
        name) and, at the next look, once more while the numbered files
        are listed in C{order}: each line is read once, in order, and
        nothing is reported.
        """
        self.listInOrder(order)
        self.rotatedTwice()
        self.rotateWhileListed()
        self.assertEqual(self.readAll(), [b"b", b"c", b"r1"])
        self.assertEqual(self.reasons(), [])

    def test_lowerListedFirst(self) -> None:
        """
        Listed C{.1} first: the file in the middle, seen at C{.1} then at
        C{.2}, is not read twice.
        """
        self.renamedWhileListed(["1", "2", "3"])

    def test_higherListedFirst(self) -> None:
        """
        Listed C{.2} first: the listing shows the file read before at
        C{.2} and the file at the name at C{.1}, as if nothing were in
        between; the file in the middle is not lost all the same.
        """
        self.renamedWhileListed(["2", "1", "3"])

    def test_decidedAtNextLook(self) -> None:
        """
        When every listing of a look is made during a rotation, the files
        in the middle are decided at the next look, when the listing
        holds still: nothing is lost, read twice or reported.
        """
        self.rotatedTwice()
        made = self.rotateWhileListed(times=10)
        self.assertEqual(flat(self.follower.read()), [])  # Nothing decided.
        self.assertGreater(made[0], 1)
        self.before_stat = lambda path: None
        self.assertEqual(self.readAll(),
                         [b"b", b"c"] + [b"r%d" % n for n in range(1, made[0] + 1)])
        self.assertEqual(self.reasons(), [])

    def test_unsettledNotDecidedAtOnce(self) -> None:
        """
        A look whose every listing is made during a rotation, listed from
        C{.3} down, decides nothing: taken as last listed, the files would
        be read out of order (the one read at the name last before those
        rotated after it) with no report.
        """
        self.listInOrder(["3", "2", "1", "4", "5"])
        self.rotatedTwice()
        made = self.rotateWhileListed(times=3)
        self.assertEqual(flat(self.follower.read()), [])
        self.before_stat = lambda path: None
        self.assertEqual(self.readAll(),
                         [b"b", b"c"] + [b"r%d" % n for n in range(1, made[0] + 1)])
        self.assertEqual(self.reasons(), [])

    def test_decidedBeforeDeleted(self) -> None:
        """
        When the numbered files never hold still and the writer deletes
        its oldest, the files after the one read before are decided
        before it would be deleted (taken as last listed, that they may
        have been missed or read out of order is reported): not left
        until they are deleted too.
        """
        for n in range(1, 21):
            self.append(b"o\n", self.numbered(n))
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate(keep=25)
        self.append(b"b\n")
        made = self.rotateWhileListed(times=60, keep=25)
        lines = self.readAll(UNSETTLED_LOOKS + 10)
        self.assertEqual(made[0], 60)
        self.before_stat = lambda path: None
        lines += self.readAll()
        self.assertEqual(len(lines), len(set(lines)))
        # Files renamed past the listing may be missed, not those read first.
        self.assertEqual(lines[:3], [b"b", b"r1", b"r2"])
        self.assertIn(ENDING, [e.reason for e in self.errors])

    def test_newerThanNameNotFirst(self) -> None:
        """
        Rotated twice more after the file at the name was opened, before
        the numbered files are listed: the file newer than the one opened,
        listed below it, is read after it, at the next look, not before.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate(keep=40)
        self.append(b"b\n")
        done: List[bool] = []

        def rotate(path: Union[str, int]) -> None:
            if isinstance(path, str) and path != str(self.path) and not done:
                done.append(True)
                for line in (b"c\n", b"d\n"):
                    self.rotate(keep=40)
                    self.append(line)

        self.before_stat = rotate
        self.assertEqual(self.readAll(), [b"b", b"c", b"d"])
        self.assertEqual(self.reasons(), [])

    def test_olderRenamedWhileListed(self) -> None:
        """
        Files older than the one read before renamed during every listing
        (the start of each rotation of a writer keeping many) do not keep
        the files after it from being placed: those are read at once.
        """
        self.listInOrder(["1", "2"])  # Others first: each seen before it moves.
        self.rotatedTwice()
        old = [9]
        self.append(b"z\n", self.numbered(old[0]))

        def renumber(path: Union[str, int]) -> None:
            if path == str(self.numbered(2)):
                self.numbered(old[0]).replace(self.numbered(old[0] + 1))
                old[0] += 1

        self.before_stat = renumber
        self.assertEqual(flat(self.follower.read()), [b"b", b"c"])
        self.assertGreater(old[0], 10)
        self.assertEqual(self.reasons(), [])

    def test_unreadableAtNameWhileUndecided(self) -> None:
        """
        A file at the name that cannot be opened at a look which leaves the
        numbered files undecided (a rotation half done) is not taken, once
        it can be, without listing them again: the file in the middle,
        moved to its number meanwhile, is read.
        """
        self.append(b"p\n")
        self.assertEqual(flat(self.follower.read()), [b"p"])
        self.rotate(keep=40)
        self.append(b"m\n")
        self.numbered(1).replace(self.numbered(2))
        moving = self.path.with_name("log.tmp")
        self.path.replace(moving)
        self.append(b"n\n")
        denied = [os.stat(self.path).st_ino]

        def deny(path: Union[str, int]) -> None:
            if isinstance(path, int) and os.fstat(path).st_ino in denied:
                denied.clear()
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

        self.before_stat = deny
        self.assertEqual(flat(self.follower.read()), [])  # .1 free: undecided.
        moving.replace(self.numbered(1))
        self.assertEqual(self.readAll(), [b"m", b"n"])
        self.assertEqual(self.reasons(), [f"log: {os.strerror(errno.EACCES)}"])

    def test_neverStillReported(self) -> None:
        """
        When the numbered files are renamed during every listing for
        L{UNSETTLED_LOOKS} looks, they are taken as last listed (each file
        once: a file in the middle may be lost) and that files may have
        been missed is reported.
        """
        self.rotatedTwice()
        made = self.rotateWhileListed(times=1000)
        lines = self.readAll(UNSETTLED_LOOKS)
        self.assertEqual((lines, self.errors), ([], []))  # Not decided yet.
        lines += self.readAll(1)
        self.assertEqual(self.errors[0].reason, UNSETTLED)
        self.before_stat = lambda path: None
        lines += self.readAll()
        counts = collections.Counter(lines)
        self.assertEqual(len(lines), len(counts))
        self.assertIn(b"r%d" % made[0], lines)  # The file at the name last.


    def test_renamedAgainWhileFound(self) -> None:
        """
        A file in the middle renamed after the listing, then renamed again
        while it is looked for at its new number, is found all the same
        (the numbered files are listed again): not lost.
        """
        self.listInOrder(["3", "1", "2"])
        self.rotatedTwice(b"m\n", b"x\n")
        stats: List[str] = []

        def rotate(path: Union[str, int]) -> None:
            if isinstance(path, str) and path != str(self.path):
                stats.append(path)
                # Before log.1 is opened (listed twice: 4 stats), then while
                # it is looked for (log.3 and log.1 listed, log.2 not yet).
                if len(stats) in (5, 8):
                    self.rotate(keep=40)
                    self.append(b"z%d\n" % len(stats))

        self.before_stat = rotate
        self.assertEqual(self.readAll(), [b"m", b"x", b"z5", b"z8"])
        self.assertEqual(self.reasons(), [])

    def test_gapWhileRotating(self) -> None:
        """
        A rotation paused half way (C{log.2} renamed C{log.3}, C{log.1}
        not renamed yet) leaves a number free below the file read before:
        that is decided at the next look, not reported as a loss.
        """
        self.rotatedTwice()
        self.numbered(2).replace(self.numbered(3))
        self.assertEqual(flat(self.follower.read()), [])
        self.numbered(1).replace(self.numbered(2))
        self.path.replace(self.numbered(1))
        self.append(b"d\n")
        self.assertEqual(self.readAll(), [b"b", b"c", b"d"])
        self.assertEqual(self.reasons(), [])


class SettledFilesTests(SynchronousTestCase):
    """
    Tests for L{settled_files}.
    """

    def test_hardLinkOnce(self) -> None:
        """
        A file at two numbers in a listing that holds still (hard links)
        is listed once, at the lower number.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        log = os.path.join(directory, "log")
        for n in (1, 3):
            with open(f"{log}.{n}", "wb") as f:
                f.write(b"%d\n" % n)
        os.link(f"{log}.1", f"{log}.2")
        found = settled_files(log)
        self.assertEqual([(f.number, f.path) for f in found.files], [(1, f"{log}.1"),
                                                                     (3, f"{log}.3")])
        self.assertTrue(found.settled)


class StormTests(SynchronousTestCase):
    """
    A real writer thread rotating a file as fast as it writes, as Twisted's
    C{LogFile} (keeping every file: each rotation renames them all) and
    Python's C{RotatingFileHandler} do, while a follower reads it: every
    line is read once, or its loss is reported.
    """

    LINES = 2000

    def follow(self, open: Callable[[str], Any], write: Callable[[Any, str], None],
               close: Callable[[Any], None]) -> None:
        """
        Open a writer (C{open(directory)}), write a first line with it and
        read it, then C{write(writer, line)} the others in a thread,
        reading all the while; then check what was read.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        writer = open(directory)
        self.addCleanup(close, writer)
        errors: List[Any] = []
        follower = FileFollower(os.path.join(directory, "log"), on_error=errors.append)
        self.addCleanup(follower.close)
        line: Callable[[int], str] = lambda n: json.dumps({"n": n, "pad": "x" * 60})
        write(writer, line(0))
        seen = [json.loads(line)["n"] for line in flat(follower.read())]
        self.assertEqual(seen, [0])  # Opened before the others are written.
        failed: List[BaseException] = []

        def run() -> None:
            try:
                for n in range(1, self.LINES):
                    write(writer, line(n))
            except BaseException as e:  # pragma: no cover (told below)
                failed.append(e)

        thread = threading.Thread(target=run)
        thread.start()
        while thread.is_alive():
            seen += [json.loads(line)["n"] for line in flat(follower.read())]
            time.sleep(0.0005)
        thread.join()
        for _ in range(15):  # Until the files rotated away are retired.
            seen += [json.loads(line)["n"] for line in flat(follower.read())]
        self.assertEqual(failed, [])
        counts = collections.Counter(seen)
        self.assertEqual(sorted(n for n, k in counts.items() if k > 1), [])
        lost = sorted(set(range(self.LINES)) - set(counts))
        if lost:
            self.assertTrue(any("missed" in str(e) or "lost" in str(e) for e in errors),
                            f"{len(lost)} lines lost unreported: {errors}")
        self.assertGreater(follower.rotations, 10)

    def test_logFile(self) -> None:
        def write(log: LogFile, line: str) -> None:
            log.write(line + "\n")
            log.flush()

        self.follow(lambda directory: LogFile("log", directory, rotateLength=2048,
                                              maxRotatedFiles=None),
                    write, LogFile.close)

    def test_rotatingFileHandler(self) -> None:
        def open(directory: str) -> logging.Logger:
            handler = logging.handlers.RotatingFileHandler(
                os.path.join(directory, "log"), maxBytes=2048, backupCount=200)
            handler.setFormatter(logging.Formatter("%(message)s"))
            log = logging.getLogger(f"txcausal.test.storm.{id(handler)}")
            log.addHandler(handler)
            log.propagate = False
            log.setLevel(logging.INFO)
            return log

        def close(log: logging.Logger) -> None:
            for handler in list(log.handlers):
                log.removeHandler(handler)
                handler.close()

        self.follow(open, logging.Logger.info, close)
