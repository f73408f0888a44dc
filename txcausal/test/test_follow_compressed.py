"""
Tests for L{txcausal._tail}: a gzip-compressed file at the followed name
itself, read through a decompressed copy, and what replaces it.
"""

from __future__ import annotations

import errno
import gzip
import os
import shutil
import subprocess
import tempfile
import time
from typing import Callable, List, Tuple, Union

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from txcausal._tail import RETIRE_AFTER, FileFollower
from txcausal._tail_files import OpenFiles
from txcausal._tail_spill import Spill, mark_before
from txcausal.test.test_follow_rotated import FollowerCase, flat

#: The open descriptors of this process.
FDS = "/proc/self/fd"
#: The report of the compressed file at the name truncated in place.
TRUNCATED = ("log: compressed, truncated; reading it again from the start: what was added to it"
             " after it was decompressed, before the truncation, may have been missed")
#: The same, truncated before its decompressed copy was done.
CUT = ("log: compressed, truncated while it was being decompressed; reading it again from the"
       " start: what it held past what was decompressed was not read")


def still_open(inode: int) -> bool:
    """
    Whether a descriptor of this process is open on the file C{inode}
    (its real number).
    """
    for fd in os.listdir(FDS):
        try:
            if os.stat(int(fd)).st_ino == inode:
                return True
        except OSError:
            pass
    return False


class CompressedAtNameTests(FollowerCase):
    """
    Tests for L{FileFollower} when the name holds a compressed file.
    """

    def setUp(self) -> None:
        if not os.path.isdir(FDS):
            raise SkipTest(f"needs {FDS} (Linux) to tell which files are open")
        super().setUp()

    def test_replacedByPlainFile(self) -> None:
        """
        A compressed file at the name, once read, is checked for
        replacement like any other: the plain file put at the name after
        it is read.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual((self.follower.rotations, self.reasons()), (1, []))

    def test_replacedByCompressedFile(self) -> None:
        """
        A compressed file at the name replaced by another compressed file:
        the new one is read too.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.path.write_bytes(gzip.compress(b"b\n"))
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(self.reasons(), [])

    def test_rotatedTwiceAfterCompressed(self) -> None:
        """
        A compressed file at the name rotated twice between two looks: the
        file in the middle is found by the compressed one's place among
        the numbered files and read, then the one at the name; nothing is
        reported as lost.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.append(b"m\n")
        self.rotate()
        self.append(b"n\n")
        self.assertEqual(flat(self.follower.read()), [b"m", b"n"])
        self.assertEqual((self.follower.rotations, self.reasons()), (2, []))

    def test_compressedCopyRetiredWhenReplaced(self) -> None:
        """
        The copy of a compressed file at the name is retired (closed) once
        another file is at the name and it was read whole.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])
        [copy] = self.follower.active
        self.rotate()
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(copy.fd, -1)
        self.assertEqual(len(self.follower.active), 1)

    def test_memberAppendedRead(self) -> None:
        """
        A gzip member appended to the compressed file at the name after it
        was read is read at the next look; rotated away, the file is not
        read again (its first lines would come twice); the name is still
        followed; nothing is reported.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.append(gzip.compress(b"b\n"))
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(flat(self.follower.read()), [])
        self.rotate()
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual(self.reasons(), [])

    def test_readAsItGrows(self) -> None:
        """
        A compressed file at the name still being written (C{app | gzip >
        log}) is read as it grows, each look reading what its gzip stream
        gives, with no status kept for each look and nothing reported; a
        line cut by the stream's pieces comes whole.
        """
        data = gzip.compress(b"".join(b"%d\n" % n for n in range(5000)))
        got: List[bytes] = []
        for start in range(0, len(data), 997):
            self.append(data[start:start + 997])
            got += flat(self.follower.read())
        self.assertEqual(got, [b"%d" % n for n in range(5000)])
        self.assertLessEqual(len(self.follower._copied), 1)
        self.assertEqual(self.reasons(), [])

    def test_grewThenRotatedNotReadTwice(self) -> None:
        """
        The compressed file at the name grows and is rotated between two
        looks: what was added is read from its copy, before the new file;
        it is found among the numbered files all the same, so its lines
        are not read again and no file is reported missed.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.append(gzip.compress(b"b\n"))
        self.rotate()
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"b", b"c"])
        self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [])

    def test_newFileWithTheSameInodeRead(self) -> None:
        """
        The compressed file at the name is deleted and a plain file created
        at the name, given the same inode number (as ext4 does with a
        freed one): the new file is read, nothing is reported.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])
        old = os.stat(self.path).st_ino
        self.path.unlink()
        self.append(b"b\n")
        if not still_open(old):  # Freed: the file system may reuse it.
            self.inodes[os.stat(self.path).st_ino] = old
        got = flat(self.follower.read())
        self.append(b"c\n")
        self.assertEqual(got + flat(self.follower.read()), [b"b", b"c"])
        self.assertEqual(self.reasons(), [])

    def test_heldOpenWhileAtName(self) -> None:
        """
        The compressed file at the name stays open (so that its inode
        number is not given to another file) until the name is replaced;
        then it is closed.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.follower.read()
        inode = os.stat(self.path).st_ino
        self.assertTrue(still_open(inode))
        self.rotate()
        self.append(b"b\n")
        self.follower.read()
        self.assertFalse(still_open(inode))



    def test_retiredCopyKeptWithoutItsFile(self) -> None:
        """
        The copy of a compressed file rotated away, retired but kept open
        for reading back (as the web view does), no longer keeps the
        compressed file open: it is read whole.
        """
        follower = FileFollower(str(self.path), files=OpenFiles(keep=3), stat=self.stat,
                                startThread=lambda f: f())
        self.addCleanup(follower.close)
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(follower.read()), [b"a"])
        inode = os.stat(self.path).st_ino
        self.rotate()
        self.append(b"b\n")
        self.assertEqual(flat(follower.read()), [b"b"])
        self.assertEqual(len(follower.active), 1)
        self.assertFalse(still_open(inode))


class GrowingCopyTests(SynchronousTestCase):
    """
    Tests for L{Spill.resume}: the copy of a compressed file fed in
    pieces, as a writer gives them.
    """

    def setUp(self) -> None:
        self.path = self.mktemp()
        self.out = tempfile.TemporaryFile()
        self.addCleanup(self.out.close)
        open(self.path, "wb").close()
        self.spill = Spill(self.out, fd=os.open(self.path, os.O_RDONLY))
        self.addCleanup(self.spill.close)

    def feed(self, data: bytes) -> Tuple[bytes, bool, bool]:
        """
        Append C{data} to the file and copy on: all that the copy holds,
        whether it is done and whether it waits for the rest of a stream.
        """
        with open(self.path, "ab") as f:
            f.write(data)
        self.spill.resume()
        self.out.seek(0)
        return self.out.read(), self.spill.done, self.spill.waiting

    def test_partialStream(self) -> None:
        """
        A gzip stream given in pieces is decompressed as far as each piece
        allows, the copy waiting for the rest, until its end: done.
        """
        whole = b"".join(b"%d\n" % n for n in range(20000))
        data = gzip.compress(whole)
        copied, done, waiting = self.feed(data[: len(data) // 2])
        self.assertTrue(copied and whole.startswith(copied))
        self.assertEqual((done, waiting), (False, True))
        # All but the end of its trailer: all its data, but not its end.
        self.assertEqual(self.feed(data[len(data) // 2:-4]), (whole, False, True))
        self.assertEqual(self.feed(data[-4:]), (whole, True, False))
        self.assertEqual(self.spill.error, None)

    def test_membersAndPadding(self) -> None:
        """
        Gzip members appended one after another, zeros between them (as
        C{gzip} allows), are decompressed in turn; garbage after one is
        an error, and the copy is done.
        """
        self.assertEqual(self.feed(gzip.compress(b"a\n")), (b"a\n", True, False))
        self.assertEqual(self.feed(b"\0" * 5 + gzip.compress(b"b\n") + gzip.compress(b"c\n")),
                         (b"a\nb\nc\n", True, False))
        self.assertEqual(self.feed(b"not gzip")[1:], (True, False))
        self.assertIn("incorrect header check", str(self.spill.error))


class CompressedNotCopiedTests(FollowerCase):
    """
    Tests for L{FileFollower} when a compressed file at the name cannot be
    copied: the numbered files are not listed again while it stays there.
    """

    def notCopied(self) -> Callable[[], None]:
        """
        Read C{log}, rotate it, put a compressed file at the name and look
        while its copy cannot be made; what lets copies be made again.
        """
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.path.write_bytes(gzip.compress(b"b\n"))
        undo = self.noSpace()
        self.assertEqual(flat(self.follower.read()), [])
        return undo

    def listings(self) -> List[str]:
        """
        Record the numbered files whose status is read (a listing reads
        each one's); the list of their paths.
        """
        listed: List[str] = []

        def note(path: Union[str, int]) -> None:
            if isinstance(path, str) and path != str(self.path):
                listed.append(os.path.basename(path))

        self.before_stat = note
        return listed

    def notListedUntilCopied(self, undo: Callable[[], None]) -> None:
        """
        Look three times while the compressed file at the name cannot be
        copied: no numbered file is listed; then C{undo} what prevents the
        copy: it is read.  Nothing but the copy's failure is reported, once.
        """
        listed = self.listings()
        for _ in range(3):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(listed, [])
        undo()
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(self.reasons(), ["log: No space left on device"])

    def test_atNameNotListedAgain(self) -> None:
        """
        A compressed file put at the name whose copy cannot be made: the
        numbered files are listed at the first look only, while it stays
        there; once it can be copied, it is read.
        """
        undo = self.notCopied()
        self.notListedUntilCopied(undo)

    def test_listedAgainWhenReplaced(self) -> None:
        """
        When another file replaces the compressed file that could not be
        copied, the numbered files are listed again, and the new file is
        read.
        """
        self.notCopied()()
        listed = self.listings()
        self.path.unlink()
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertIn("log.1", listed)

    def test_firstLookNotListedAgain(self) -> None:
        """
        A compressed file at the name at the first look whose copy cannot
        be made: the numbered files are not listed at every look.
        """
        self.append(b"older\n", self.numbered(1))
        self.path.write_bytes(gzip.compress(b"b\n"))
        undo = self.noSpace()
        self.notListedUntilCopied(undo)


class UndecidedTests(FollowerCase):
    """
    Tests for L{FileFollower} when a file is opened before it has its
    first bytes: its kind (compressed or not) is decided by them, once
    they are there, and it is read accordingly.
    """

    def test_emptyThenCompressedRead(self) -> None:
        """
        A file at the name empty when first opened, then given gzip data
        (C{app | gzip > log} started after the follower), is read
        decompressed; nothing is reported.
        """
        self.path.touch()
        self.assertEqual(flat(self.follower.read()), [])
        self.append(gzip.compress(b"a\nb\n"))
        self.assertEqual(flat(self.follower.read()), [b"a", b"b"])
        self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [])

    def test_firstByteOfMagicWaits(self) -> None:
        """
        A file holding only the first byte of gzip's magic number is not
        read: its kind is decided at the next byte.
        """
        data = gzip.compress(b"a\n")
        self.append(data[:1])
        self.assertEqual(flat(self.follower.read()), [])
        self.append(data[1:])
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.assertEqual(self.reasons(), [])

    def test_statusFailingLeaksNothing(self) -> None:
        """
        A file found compressed once it has its first bytes, whose status
        then cannot be read, is tried again at the next look, without a
        descriptor left open by each look that failed; the failure is
        reported once.
        """
        if not os.path.isdir(FDS):
            raise SkipTest(f"needs {FDS} (Linux) to count the open files")
        self.path.touch()
        self.follower.read()
        self.append(gzip.compress(b"a\n"))

        def fail(path: Union[str, int]) -> None:
            if isinstance(path, int):
                raise OSError(errno.EIO, os.strerror(errno.EIO))

        self.before_stat = fail
        before = len(os.listdir(FDS))
        for _ in range(3):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(len(os.listdir(FDS)), before)
        self.before_stat = lambda path: None
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.assertEqual(self.reasons(), [f"log: {os.strerror(errno.EIO)}"])

    def test_emptyThenPlainRead(self) -> None:
        """
        A file empty when first opened, then given plain lines, is read by
        position as any other.
        """
        self.path.touch()
        self.assertEqual(flat(self.follower.read()), [])
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(self.reasons(), [])

    def test_emptyRotatedAwayThenCompressed(self) -> None:
        """
        An empty file rotated away, then given gzip data by its writer, is
        read decompressed, before the file at the name.
        """
        self.path.touch()
        self.assertEqual(flat(self.follower.read()), [])
        self.rotate()
        self.append(b"b\n")
        self.append(gzip.compress(b"a\n"), self.numbered(1))
        self.assertEqual(flat(self.follower.read()), [b"a", b"b"])
        self.assertEqual(self.reasons(), [])

    def test_decidedThenRotated(self) -> None:
        """
        A file found compressed once it had its first bytes is then
        watched as any compressed file at the name: the file that replaces
        it is read, and nothing is reported.
        """
        self.path.touch()
        self.follower.read()
        self.append(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.rotate()
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual((self.follower.rotations, self.reasons()), (1, []))

    def test_emptyRotatedAwayRetired(self) -> None:
        """
        An empty file rotated away that stays empty is retired, as any
        file rotated away that no longer grows.
        """
        self.path.touch()
        self.follower.read()
        self.rotate()
        self.append(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        [empty, _] = self.follower.active
        for _ in range(RETIRE_AFTER):
            self.follower.read()
        self.assertEqual((len(self.follower.active), empty.fd), (1, -1))

    def test_gzipCommandStartedAfter(self) -> None:
        """
        The user's case, with the real C{gzip} command writing to the file
        at the name after the follower opened it empty.
        """
        gzip_command = shutil.which("gzip")
        if gzip_command is None:
            raise SkipTest("needs the gzip command")
        self.path.touch()
        self.assertEqual(flat(self.follower.read()), [])
        with open(self.path, "ab") as log:
            subprocess.run([gzip_command, "-c"], input=b"a\nb\n", stdout=log, check=True)
        self.assertEqual(flat(self.follower.read()), [b"a", b"b"])
        self.assertEqual(self.reasons(), [])


    def test_gzipCommandStillWriting(self) -> None:
        """
        The user's case with the real C{gzip} command still running: it
        is started after the follower opened the name empty and given
        lines in two stages.  The lines of the first stage are read, as
        far as C{gzip} wrote them, while it still runs; all of them, once,
        when it ends; nothing is reported.
        """
        gzip_command = shutil.which("gzip")
        if gzip_command is None:
            raise SkipTest("needs the gzip command")
        self.path.touch()
        self.assertEqual(flat(self.follower.read()), [])
        # Hardly compressible: gzip writes its output in blocks as it goes.
        lines = [b"%d %s" % (n, os.urandom(16).hex().encode()) for n in range(40000)]
        with open(self.path, "ab") as log:
            writer = subprocess.Popen([gzip_command, "-c"], stdin=subprocess.PIPE, stdout=log)
        self.addCleanup(writer.wait)
        assert writer.stdin is not None
        with writer.stdin:
            writer.stdin.write(b"\n".join(lines[:20000]) + b"\n")
            writer.stdin.flush()
            got: List[bytes] = []
            for _ in range(2000):  # Until gzip wrote a block: it is still running.
                got += flat(self.follower.read())
                if got:
                    break
                time.sleep(0.005)
            self.assertEqual(got, lines[:len(got)])
            self.assertIsNone(writer.poll())
            writer.stdin.write(b"\n".join(lines[20000:]) + b"\n")
        self.assertEqual(writer.wait(), 0)
        self.assertEqual(got + flat(self.follower.read()), lines)
        self.assertEqual((self.reasons(), self.follower.status()["error"]), ([], None))


class RewrittenInPlaceTests(FollowerCase):
    """
    Tests for L{FileFollower} when the compressed file at the name is
    truncated and written again, keeping its inode.
    """

    def setUp(self) -> None:
        super().setUp()
        self.path.write_bytes(gzip.compress(b"a\n"))
        self.assertEqual(flat(self.follower.read()), [b"a"])

    def test_rewrittenRead(self) -> None:
        """
        Rewritten with another gzip stream, the file is read again from
        its start; the truncation is reported once.
        """
        self.path.write_bytes(gzip.compress(b"b\nc\n" * 50))
        self.assertEqual(flat(self.follower.read()), [b"b", b"c"] * 50)
        self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [TRUNCATED])
        self.assertEqual(self.follower.rotations, 1)

    def test_rewrittenShorterRead(self) -> None:
        """
        Rewritten with a shorter gzip stream, the file is read again from
        its start too.
        """
        self.path.write_bytes(gzip.compress(b"a\n" * 1000))
        self.assertEqual(flat(self.follower.read()), [b"a"] * 1000)
        self.path.write_bytes(gzip.compress(b"b\n"))
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(self.reasons(), [TRUNCATED, TRUNCATED])

    def test_emptiedThenWritten(self) -> None:
        """
        Emptied at a look and written later (C{app | gzip > log} started
        again), the file is read again from its start once it has data;
        the truncation is reported once.
        """
        self.path.write_bytes(b"")
        for _ in range(3):
            self.assertEqual(flat(self.follower.read()), [])
        self.append(gzip.compress(b"b\n"))
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(self.reasons(), [TRUNCATED])

    def test_rewrittenSameSizeAndTimeRead(self) -> None:
        """
        Rewritten with a gzip stream of the same size, its modification
        time kept (as a coarse file system clock, C{cp -p} or C{rsync -t}
        give), the file is read again from its start; the truncation is
        reported once.
        """
        before = os.stat(self.path)
        self.path.write_bytes(gzip.compress(b"b\n"))
        os.utime(self.path, ns=(before.st_atime_ns, before.st_mtime_ns))
        self.assertEqual(os.stat(self.path).st_size, before.st_size)
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(self.reasons(), [TRUNCATED])

    def test_rewrittenPlainRead(self) -> None:
        """
        Rewritten with plain lines, the file is read by position from its
        start.
        """
        self.path.write_bytes(b"b\n")
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual(self.reasons(), [TRUNCATED])

    def test_rewrittenThenRotated(self) -> None:
        """
        Read again after its rewriting, then rotated away: not read a third
        time, and the file that replaces it is read; the change is not
        reported.
        """
        self.path.write_bytes(gzip.compress(b"b\n"))
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.rotate()
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual(self.reasons(), [TRUNCATED])

    def test_copyHoldsOnlyTheOldContent(self) -> None:
        """
        A copy whose file was rewritten in place before it read it writes
        nothing of the new content to its temporary file (a look reading
        it meanwhile would get the new lines, which come again from the
        file read again from its start): it stops at the first chunk it
        read, truncated.
        """
        self.path.write_bytes(gzip.compress(b"a\n"))
        fd = os.open(self.path, os.O_RDONLY)
        size = os.fstat(fd).st_size
        mark = (size, mark_before(fd, size))
        self.path.write_bytes(gzip.compress(b"b\n"))
        with tempfile.TemporaryFile() as copied:
            spill = Spill(copied, mark=mark, fd=fd)
            self.addCleanup(spill.close)
            spill.resume()
            copied.seek(0)
            self.assertEqual((copied.read(), spill.error),
                             (b"", "truncated while it was decompressed"))

    def test_truncatedAfterFailure(self) -> None:
        """
        A compressed file at the name whose decompression failed (it is
        damaged), then rewritten, is read again from its start; the
        report says that its decompression had failed, not that it was
        truncated while it was decompressed.
        """
        self.path.write_bytes(gzip.compress(b"b\n")[:-8] + b"\xff" * 8)
        self.follower.read()
        self.path.write_bytes(gzip.compress(b"c\n" * 50))
        self.assertEqual(flat(self.follower.read()), [b"c"] * 50)
        error = "error: Error -3 while decompressing data: incorrect data check"
        self.assertEqual(self.reasons(), [
            TRUNCATED, f"log: not read whole, its decompression failed: {error}",
            f"log: compressed, truncated after its decompression failed ({error}); reading it"
            " again from the start"])

    def rewrittenBeforeCopied(self, late: bool) -> FileFollower:
        """
        A follower whose copies are made when the test says: the file at
        the name, compressed, is opened, then rewritten before its copy is
        made; the copies are made, the old one before the next look if
        C{late} is false.  The follower, looked at once more after.
        """
        starts: List[Callable[[], None]] = []
        follower = FileFollower(str(self.path), on_error=self.errors.append, stat=self.stat,
                                startThread=starts.append)
        self.addCleanup(follower.close)
        self.path.write_bytes(gzip.compress(b"x\n"))
        self.assertEqual(flat(follower.read()), [])
        self.path.write_bytes(gzip.compress(b"b\n"))
        if not late:
            starts.pop(0)()
        self.assertEqual(flat(follower.read()), [])
        for start in starts:
            start()
        return follower

    def test_truncatedWhileDecompressed(self) -> None:
        """
        Truncated and written again before its copy was done, the file is
        read again from its start; its old copy is dropped (what its thread
        copies after the truncation may be the new content, which would
        come twice), and the report says that the rest of the old content
        was not read, once.
        """
        follower = self.rewrittenBeforeCopied(late=True)
        self.assertEqual(flat(follower.read()), [b"b"])
        self.assertEqual(flat(follower.read()), [])
        self.assertEqual(self.reasons(), [CUT])
        self.assertEqual(len(follower.active), 1)

    def test_copiedAfterTruncation(self) -> None:
        """
        Truncated and written again before its copy was made, the copy then
        done (of the new content) before the next look: the copy tells
        that its file was truncated meanwhile, and it is dropped as one not
        done; the new content comes once.
        """
        follower = self.rewrittenBeforeCopied(late=False)
        self.assertEqual(flat(follower.read()), [b"b"])
        self.assertEqual(flat(follower.read()), [])
        self.assertEqual(self.reasons(), [CUT])
