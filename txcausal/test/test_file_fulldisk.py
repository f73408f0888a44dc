"""
Tests of L{txcausal.FileDestination} on a real full disk: a small tmpfs,
mounted for the test, filled up while messages are logged, then given room
again.  Whatever the kind of file (binary, text, Twisted's C{LogFile} and
C{DailyLogFile}), written directly or behind a
L{txcausal.logwriter.ThreadedWriter}, the file ends up holding only whole
lines, and every message logged is either in it or counted as lost.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, Callable, List, Tuple

import orjson
from twisted.python.logfile import DailyLogFile, LogFile
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from txcausal import FileDestination
from txcausal._output import Destinations

from ._helpers import child_environment
from ._writer_harness import WriterHarness, numbered_message

#: The size of the small disk: a few pages.
DISK_SIZE = 64 * 1024
#: The room given back to the log file once the disk is full: two pages.
ROOM = 2 * 4096

#: Opens the log file in a directory; returns it, and the path it writes.
Opener = Callable[[Path], Tuple[IO[Any], Path]]


def _binary(directory: Path) -> Tuple[IO[Any], Path]:
    return open(directory / "app.log", "ab"), directory / "app.log"


def _unbuffered(directory: Path) -> Tuple[IO[Any], Path]:
    return open(directory / "app.log", "ab", buffering=0), directory / "app.log"


def _text(directory: Path) -> Tuple[IO[Any], Path]:
    return open(directory / "app.log", "w"), directory / "app.log"


def _latin1(directory: Path) -> Tuple[IO[Any], Path]:
    return open(directory / "app.log", "w", encoding="latin-1"), directory / "app.log"


def _utf16(directory: Path) -> Tuple[IO[Any], Path]:
    return open(directory / "app.log", "w", encoding="utf-16"), directory / "app.log"


def _logFile(directory: Path) -> Tuple[IO[Any], Path]:
    logFile = LogFile.fromFullPath(str(directory / "app.log"),
                                   rotateLength=None)
    return logFile, directory / "app.log"


def _dailyLogFile(directory: Path) -> Tuple[IO[Any], Path]:
    logFile = DailyLogFile.fromFullPath(str(directory / "app.log"))
    return logFile, directory / "app.log"


class SmallDiskMixin:
    """
    For trial test cases: L{smallDisk} mounts a small tmpfs for the test.
    """

    def smallDisk(self) -> Path:
        """
        Mount a tmpfs of L{DISK_SIZE} bytes on a new directory, unmounted
        when the test ends.

        @raise SkipTest: Where mounting is not allowed.
        """
        directory = Path(self.mktemp())  # type: ignore[attr-defined]
        directory.mkdir(parents=True)
        if not sys.platform.startswith("linux") or os.geteuid() != 0:
            raise SkipTest("a real full disk needs a tmpfs mounted for the test: run the "
                           "suite as root on Linux (or in a container allowed to mount)")
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs",
                                str(directory)], capture_output=True, text=True)
        if mount.returncode != 0:
            raise SkipTest(f"cannot mount a tmpfs here ({mount.stderr.strip()}): a real full "
                           f"disk needs a machine or container allowed to mount one")
        self.addCleanup(subprocess.run,  # type: ignore[attr-defined]
                        ["umount", str(directory)], capture_output=True)
        return directory

    def fill(self, directory: Path) -> Callable[[], None]:
        """
        Fill the disk, then free L{ROOM} bytes of it.

        @return: A function freeing the rest.
        """
        filler = directory / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
        os.truncate(filler, filler.stat().st_size - ROOM)
        return filler.unlink


def _padded(n: int) -> Any:
    """
    A message of about 100 bytes, so that a full disk cuts one in the
    middle.
    """
    return numbered_message(n, padding="x" * (37 + n % 11))


class FullDiskTests(SmallDiskMixin, WriterHarness, SynchronousTestCase):
    """
    A L{FileDestination} on a disk that fills up, then has room again.
    """

    #: Messages logged while the disk is full, then once it has room again.
    WHILE_FULL = 200
    AFTER = 20

    def assertWholeAndCounted(self, path: Path, lost: int) -> None:
        """
        The file at C{path} holds only whole lines, in the order logged, and
        with C{lost} the messages lost, accounts for every message logged
        (a L{ThreadedWriter} also writes its reports of losses there).
        """
        messages = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        numbers = [message["n"] for message in messages if "n" in message]
        self.assertEqual(numbers, sorted(set(numbers)))
        self.assertEqual(len(numbers) + lost, self.WHILE_FULL + self.AFTER,
                         f"{len(numbers)} written, {lost} counted as lost")
        # Some were lost, and those logged after the disk had room are all in.
        self.assertGreater(lost, 0)
        self.assertEqual(numbers[-self.AFTER:],
                         list(range(self.WHILE_FULL, self.WHILE_FULL + self.AFTER)))

    def logDirectly(self, opener: Opener) -> None:
        """
        Log to a file destination that is the only destination (its losses
        are counted in the registry's C{dropped}) while the disk fills up,
        then after it has room again.
        """
        _, path, dropped = self.sendWhileFull(opener)
        self.assertWholeAndCounted(path, dropped)

    def sendWhileFull(self, opener: Opener) -> Tuple[IO[Any], Path, int]:
        """
        Send messages to a file destination that is the only destination
        while the disk fills up, then after it has room again.

        @return: The file, its path, and the registry's count of dropped
            messages.
        """
        self.patch(sys, "stderr", io.StringIO())
        file, path = opener(self.smallDisk())
        self.addCleanup(file.close)
        destinations = Destinations()
        destinations.add(FileDestination(file))
        freeRest = self.fill(path.parent)
        for n in range(self.WHILE_FULL):
            destinations.send(_padded(n))
        freeRest()
        for n in range(self.WHILE_FULL, self.WHILE_FULL + self.AFTER):
            destinations.send(_padded(n))
        return file, path, destinations.dropped

    def logThreaded(self, opener: Opener) -> None:
        """
        Log through a L{ThreadedWriter} (a batch every ten messages) while
        the disk fills up, then after it has room again, and stop it.
        """
        self.capture()
        file, path = opener(self.smallDisk())
        self.addCleanup(file.close)
        writer, _, performAll = self.started(FileDestination(file))
        freeRest = self.fill(path.parent)
        for n in range(self.WHILE_FULL + self.AFTER):
            if n == self.WHILE_FULL:
                freeRest()
            writer(_padded(n))
            if n % 10 == 9:
                performAll()
        stopped = writer.stopService()
        performAll()
        self.successResultOf(stopped)
        self.assertWholeAndCounted(path, writer.dropped)

    def test_binaryFile(self) -> None:
        """
        A binary file, written directly.
        """
        self.logDirectly(_binary)

    def test_binaryFileThreaded(self) -> None:
        """
        A binary file behind a L{ThreadedWriter}.
        """
        self.logThreaded(_binary)

    def test_unbufferedFile(self) -> None:
        """
        An unbuffered binary file, written directly.
        """
        self.logDirectly(_unbuffered)

    def test_textFile(self) -> None:
        """
        A text file, written directly: the losses are counted exactly (the
        file's own buffer used to keep part of what was reported lost, and
        write it later).
        """
        self.logDirectly(_text)

    def test_textFileThreaded(self) -> None:
        """
        A text file behind a L{ThreadedWriter}: the losses are counted
        exactly.
        """
        self.logThreaded(_text)

    def test_latin1File(self) -> None:
        """
        A text file in Latin-1, written directly: the losses are counted
        exactly (the file's own buffer used to keep part of what was
        reported lost, and write it later).
        """
        self.logDirectly(_latin1)

    def test_latin1FileThreaded(self) -> None:
        """
        A text file in Latin-1 behind a L{ThreadedWriter}: the losses are
        counted exactly.
        """
        self.logThreaded(_latin1)

    def test_utf16FileUpperBound(self) -> None:
        """
        A text file in UTF-16 on a regular file goes through its text
        layer, whose buffer keeps what the disk did not take and writes it
        later: the count of lost messages is an upper bound, never less
        than what is missing from the file.
        """
        file, path, dropped = self.sendWhileFull(_utf16)
        file.flush()
        numbers = set()
        for line in path.read_bytes().decode("utf-16", "replace").splitlines():
            try:
                numbers.add(orjson.loads(line)["n"])
            except orjson.JSONDecodeError:
                pass
        self.assertGreater(dropped, 0)
        self.assertGreaterEqual(len(numbers) + dropped, self.WHILE_FULL + self.AFTER)

    def test_logFile(self) -> None:
        """
        Twisted's C{LogFile}: the line a full disk cuts is finished once it
        has room, not glued to the next, and the losses are counted.
        """
        self.logDirectly(_logFile)

    def test_logFileThreaded(self) -> None:
        """
        Twisted's C{LogFile} behind a L{ThreadedWriter}, as C{twistd
        --logger} and C{--causal-log} write.
        """
        self.logThreaded(_logFile)

    def test_dailyLogFile(self) -> None:
        """
        Twisted's C{DailyLogFile}, written directly.
        """
        self.logDirectly(_dailyLogFile)

    def test_dailyLogFileThreaded(self) -> None:
        """
        Twisted's C{DailyLogFile} behind a L{ThreadedWriter}.
        """
        self.logThreaded(_dailyLogFile)

    def test_dailyLogFileRotatedAfterCut(self) -> None:
        """
        A C{DailyLogFile} whose day ends while the disk is full finishes the
        line the disk cut in that day's file, then rotates: no file starts
        or ends with part of a line.
        """
        def midnight(logFile: Any) -> None:
            logFile.lastDate = (2000, 1, 1)

        self.assertRotatedAfterCut(_dailyLogFile, midnight, "app.log.2000_1_1")

    def test_logFileRotatedAfterCut(self) -> None:
        """
        A C{LogFile} due to rotate by size when the disk cut a line finishes
        that line first.
        """
        def due(logFile: Any) -> None:
            logFile.rotateLength = 1

        self.assertRotatedAfterCut(_logFile, due, "app.log.1")

    def assertRotatedAfterCut(self, opener: Opener, makeDue: Callable[[Any], None],
                              rotatedName: str) -> None:
        """
        Log to a log file while the disk fills up, make its rotation due
        (with C{makeDue}), give the disk room, and log once more: the file
        rotated away as C{rotatedName} ends with the line cut, whole, and
        the new file holds the last message.
        """
        self.patch(sys, "stderr", io.StringIO())
        disk = self.smallDisk()
        logFile, path = opener(disk)
        self.addCleanup(logFile.close)
        destinations = Destinations()
        destinations.add(FileDestination(logFile))
        freeRest = self.fill(disk)
        for n in range(self.WHILE_FULL):
            destinations.send(_padded(n))
        makeDue(logFile)
        freeRest()
        destinations.send(_padded(self.WHILE_FULL))
        for line in (disk / rotatedName).read_bytes().splitlines():
            orjson.loads(line)
        self.assertEqual([orjson.loads(line)["n"] for line in path.read_bytes().splitlines()],
                         [self.WHILE_FULL])


#: A script logging to the file named by its first argument, on a full
#: disk; with a second argument, a file it removes at exit (after txcausal
#: was imported: before txcausal's own exit handlers run), giving the disk
#: room.  It prints whether a line was left cut short.
_EXIT_SCRIPT = """
import atexit, os, sys
from txcausal import log_message, to_file
destination = to_file(open(sys.argv[1], "ab"))
if len(sys.argv) > 2:
    atexit.register(os.unlink, sys.argv[2])
for n in range(200):
    log_message("app", n=n, padding="x" * (37 + n % 11))
print(bool(destination._pending))
"""


class ExitTests(SmallDiskMixin, SynchronousTestCase):
    """
    A L{FileDestination} called on the thread that logs, which a full disk
    left with part of a line when the process exits: the rest of that line
    is written at exit if the disk has room, counted as lost and reported
    if not.
    """

    def runToExit(self, free: bool) -> Tuple[bytes, List[Any]]:
        """
        Run L{_EXIT_SCRIPT} on a full disk, giving it room at exit if
        C{free}.

        @return: The log file's content, and the reports on standard error.
        """
        disk = self.smallDisk()
        self.fill(disk)
        log = disk / "app.log"
        args = [sys.executable, "-c", _EXIT_SCRIPT, str(log)]
        if free:
            args.append(str(disk / "filler"))
        env = child_environment()
        done = subprocess.run(args, capture_output=True, env=env, timeout=60)
        self.assertEqual((done.returncode, done.stdout), (0, b"True\n"), done.stderr[-2000:])
        return log.read_bytes(), [orjson.loads(line) for line in done.stderr.splitlines()]

    def test_finishedAtExit(self) -> None:
        """
        When the disk has room at exit, the rest of the line cut short is
        written: the file ends with a whole line.
        """
        content, reports = self.runToExit(free=True)
        self.assertTrue(content.endswith(b"\n"), content[-200:])
        for line in content.splitlines():
            orjson.loads(line)
        self.assertNotIn("when no more were to be written",
                         [report.get("reason", "") for report in reports][-1])

    def test_lostAtExitReported(self) -> None:
        """
        When the disk is still full at exit, the line cut short is counted
        and reported, on standard error (there is no other destination):
        the last report says so, and shows the rest of that line.
        """
        content, reports = self.runToExit(free=False)
        self.assertFalse(content.endswith(b"\n"))
        last = reports[-1]
        self.assertEqual((last["message_type"], last["exception"]),
                         ("eliot:destination_failure", "txcausal._shortwrite.ShortWrite"))
        self.assertIn("when no more were to be written; 1 line lost", last["reason"])
        # It shows the rest of the line, which the file did not take.
        cut = orjson.loads(content.rsplit(b"\n", 1)[1] + last["message"].encode())
        self.assertEqual(cut["message_type"], "app")
