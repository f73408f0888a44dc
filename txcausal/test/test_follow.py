"""
Tests for L{txcausal._follow}: following a growing, rotated log file and
joining its messages into tasks as they arrive.
"""

from __future__ import annotations

import errno
import gc
import gzip
import os
import time
import warnings
from pathlib import Path
from typing import List

from twisted.internet.task import Clock, LoopingCall
from twisted.trial.unittest import SynchronousTestCase

from txcausal._tail import RETIRE_AFTER
from txcausal.parse import FileFollower, LineError, TaskFollower
from txcausal.test._reading import end, lines, msg, start


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def flat(batches: List[List[bytes]]) -> List[bytes]:
    return [line for batch in batches for line in batch]


class FileFollowerTests(SynchronousTestCase):
    """
    Tests for L{FileFollower}.
    """

    def setUp(self) -> None:
        self.path = Path(self.mktemp())
        self.follower = FileFollower(str(self.path))
        self.addCleanup(self.follower.close)

    def append(self, data: bytes, path: Path = None) -> None:  # type: ignore[assignment]
        with open(path or self.path, "ab") as f:
            f.write(data)

    def test_growing(self) -> None:
        """
        Each read returns the complete lines written since the last; a
        line still being written waits.  A file that does not exist yet is
        waited for.
        """
        self.assertEqual(self.follower.read(), [])
        self.append(b"a\nb")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.assertEqual(self.follower.read(), [])
        self.append(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"bc"])

    def test_newlineWrittenApart(self) -> None:
        """
        A whole JSON line written without its newline, which comes in a
        second write, is read once, with its newline: not at the look that
        found it (its writer may be between the two writes), nor as a blank
        line after it when its newline comes later than a look that found
        the file idle and took it.
        """
        clock = Clock()
        got: List[bytes] = []
        poller = LoopingCall(lambda: got.extend(flat(self.follower.read())))
        poller.clock = clock
        poller.start(0.5)
        self.addCleanup(poller.stop)
        with open(self.path, "ab", buffering=0) as writer:
            writer.write(b'{"a": 1}')
            clock.advance(0.5)
            self.assertEqual(got, [])
            writer.write(b'\n{"b": 2}')
            clock.advance(0.5)
            self.assertEqual(got, [b'{"a": 1}'])
            clock.advance(0.5)  # The file stopped growing: its last line is taken.
            self.assertEqual(got, [b'{"a": 1}', b'{"b": 2}'])
            writer.write(b'\n{"c": 3}\n')
            clock.advance(0.5)
        self.assertEqual(got, [b'{"a": 1}', b'{"b": 2}', b'{"c": 3}'])

    def test_lastLineAsPythonWrites(self) -> None:
        """
        A last line without its newline that holds what Python's C{json}
        writes and the readers read (C{NaN}, the infinities, a lone
        surrogate escape) is read once the file stops growing, as any
        whole JSON object is; one cut short is still waited for.
        """
        cases = [(b'{"a": NaN}', True), (b'{"a": -Infinity}', True),
                 (b'{"a": "\\udcff"}', True), (b'{"a": Infinity, "b": "cut', False)]
        for line, whole in cases:
            path = Path(self.mktemp())
            path.write_bytes(line)
            follower = FileFollower(str(path))
            self.addCleanup(follower.close)
            self.assertEqual(flat(follower.read()), [])  # Its newline may be on its way.
            self.assertEqual(flat(follower.read()), [line] if whole else [], line)

    def test_renamed(self) -> None:
        """
        When the file is renamed and a new one created, both are read: the
        old one while it grows, then, once it stopped for a while, its last
        line (newline or not), and it is closed.
        """
        old = Path(str(self.path) + ".1")
        self.append(b"a\n")
        self.assertEqual(flat(self.follower.read()), [b"a"])
        self.append(b"b\nc")
        os.rename(self.path, old)
        self.assertEqual(flat(self.follower.read()), [b"b"])
        self.append(b"more\n", old)
        self.append(b"d\n")
        self.assertEqual(flat(self.follower.read()), [b"cmore", b"d"])
        self.append(b"e", old)
        self.assertEqual(flat(self.follower.read()), [])
        for _ in range(RETIRE_AFTER - 1):
            self.assertEqual(flat(self.follower.read()), [])
        self.assertEqual(flat(self.follower.read()), [b"e"])
        self.assertEqual(len(self.follower.active), 1)
        self.assertEqual(self.follower.rotations, 1)

    def test_places(self) -> None:
        """
        Each piece read says which file it comes from and where its first
        line starts.
        """
        self.append(b"ab\ncd\nef")
        (piece,) = self.follower.poll()
        self.assertEqual((piece.offset, piece.lines), (0, [b"ab", b"cd"]))
        self.append(b"g\nh\n")
        (piece,) = self.follower.poll()
        self.assertEqual((piece.offset, piece.lines), (6, [b"efg", b"h"]))
        self.assertEqual(piece.generation.read(3, piece.offset), b"efg")

    def test_truncated(self) -> None:
        """
        A file truncated in place is read again from its start.
        """
        self.append(b"a\nb\n")
        self.assertEqual(flat(self.follower.read()), [b"a", b"b"])
        with open(self.path, "wb") as f:
            f.write(b"c\n")
        self.assertEqual(flat(self.follower.read()), [b"c"])
        self.assertEqual(self.follower.rotations, 1)

    def test_truncatedAndRewritten(self) -> None:
        """
        A file truncated in place (C{logrotate}'s C{copytruncate}) and
        written past where the reading had got to before the next look is
        still read again from its start, not from the middle of its new
        content.
        """
        self.append(b"first\n")
        self.assertEqual(flat(self.follower.read()), [b"first"])
        with open(self.path, "r+b") as f:
            f.truncate(0)
        self.append(b"second, longer\n")
        self.assertEqual(flat(self.follower.read()), [b"second, longer"])
        self.append(b"third\n")
        self.assertEqual(flat(self.follower.read()), [b"third"])
        self.assertEqual(self.follower.rotations, 1)


class TaskFollowerTests(SynchronousTestCase):
    """
    Tests for L{TaskFollower}.
    """

    def setUp(self) -> None:
        self.path = self.mktemp()
        self.clock = FakeClock()
        self.errors: List[LineError] = []
        self.follower = TaskFollower(self.path, idle=5.0, clock=self.clock,
                                     on_error=self.errors.append, startThread=lambda f: f())
        self.addCleanup(self.follower.close)

    def append(self, *messages: object) -> None:
        with open(self.path, "ab") as f:
            f.write(lines(*messages))

    def poll(self) -> List[object]:
        return [(u.task.uuid, u.still_open, u.task.complete) for u in self.follower.poll()]

    def test_finishedAtOnce(self) -> None:
        """
        A task is shown as soon as its last message is written.
        """
        self.append(start("A", [1], 1.0, "a"))
        self.assertEqual(self.poll(), [])
        self.append(end("A", [2], 2.0, "a"))
        self.assertEqual(self.poll(), [("A", False, True)])

    def test_quietShownThenFinished(self) -> None:
        """
        A task still open after the idle time without a new message is
        shown as it stands, once; when it finishes, it is shown again.
        """
        self.append(start("A", [1], 1.0, "a"), start("B", [1], 1.0, "b"))
        self.assertEqual(self.poll(), [])
        self.clock.now = 3.0
        self.append(msg("B", [2], 1.5, message_type="m"))
        self.assertEqual(self.poll(), [])
        self.clock.now = 5.0
        self.assertEqual(self.poll(), [("A", True, False)])
        self.assertEqual(self.poll(), [])
        self.clock.now = 8.0
        self.assertEqual(self.poll(), [("B", True, False)])
        self.append(end("A", [2], 9.0, "a"))
        self.assertEqual(self.poll(), [("A", False, True)])

    def test_errorsAndRotation(self) -> None:
        """
        Bad lines are reported with their file and line number, counted
        afresh in a new file after rotation.
        """
        with open(self.path, "ab") as f:
            f.write(b"junk\n")
        self.poll()
        with open(self.path, "ab") as f:
            f.write(b"old junk\n")
        os.rename(self.path, self.path + ".1")
        with open(self.path, "ab") as f:
            f.write(b"more junk\n")
        self.poll()
        self.poll()
        self.assertEqual([(e.source, e.lineno) for e in self.errors],
                         [(self.path, 1), (self.path, 2), (self.path, 1)])

    def test_repeatsAcrossRotation(self) -> None:
        """
        A file and the file replacing it are one stream for telling repeats
        apart: a burst of identical lines cut by a rotation (two lines, then
        one in the new file) is three tasks.
        """
        line = b"2024-05-01 10:00:00+0000 [-] polling again\n"
        with open(self.path, "ab") as f:
            f.write(line * 2)
        shown = self.poll()
        os.rename(self.path, self.path + ".1")
        with open(self.path, "ab") as f:
            f.write(line)
        for _ in range(3):
            shown += self.poll()
        self.assertEqual(len(set(shown)), 3, shown)

    def test_renamedStillWritten(self) -> None:
        """
        A file renamed away is read on, while it grows, after its
        replacement appeared: what the writer wrote there before it reopened
        the path is not lost.
        """
        self.append(start("A", [1], 1.0, "a"))
        self.assertEqual(self.poll(), [])
        os.rename(self.path, self.path + ".1")
        with open(self.path, "ab") as f:
            f.write(lines(start("B", [1], 2.0, "b"), end("B", [2], 3.0, "b")))
        self.assertEqual(self.poll(), [("B", False, True)])
        with open(self.path + ".1", "ab") as f:
            f.write(lines(end("A", [2], 4.0, "a")))
        self.assertEqual(self.poll(), [("A", False, True)])
        self.assertEqual(self.errors, [])

    def test_statusUnreadableAfterRotation(self) -> None:
        """
        When the name's status cannot be read after the file there was
        renamed away (here a symbolic link loop put at the name), the
        tasks written to that file before are shown and the error is
        reported: polling does not raise.
        """
        self.append(start("A", [1], 1.0, "a"), end("A", [2], 2.0, "a"))
        self.assertEqual(self.poll(), [("A", False, True)])
        self.append(start("B", [1], 3.0, "b"), end("B", [2], 4.0, "b"))
        os.rename(self.path, self.path + ".1")
        os.symlink(os.path.basename(self.path), self.path)
        self.assertEqual(self.poll(), [("B", False, True)])
        self.assertEqual([e.reason for e in self.errors], [os.strerror(errno.ELOOP)])

    def test_compressed(self) -> None:
        """
        A compressed file is read decompressed.
        """
        with open(self.path, "wb") as f:
            f.write(gzip.compress(lines(start("A", [1], 1.0, "a"), end("A", [2], 2.0, "a"))))
        self.assertEqual(self.poll(), [("A", False, True)])
        self.assertEqual(self.errors, [])

    def test_compressedClosed(self) -> None:
        """
        A compressed file is closed once copied: no C{ResourceWarning}
        for it.
        """
        with open(self.path, "wb") as f:
            f.write(gzip.compress(lines(start("A", [1], 1.0, "a"), end("A", [2], 2.0, "a"))))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            self.poll()
            gc.collect()
        unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
        self.assertEqual([m for m in unclosed if self.path in m], [])

    def test_lastLineWithoutNewline(self) -> None:
        """
        A last line without its newline is read once the file stops
        growing, if it is a whole JSON message.
        """
        with open(self.path, "ab") as f:
            f.write(lines(start("A", [1], 1.0, "a")) + lines(end("A", [2], 2.0, "a")).strip())
        self.assertEqual(self.poll(), [])  # Its newline may be on its way.
        self.assertEqual(self.poll(), [("A", False, True)])
        self.assertEqual(self.errors, [])

    def test_close(self) -> None:
        """
        Closing gives the tasks still open.
        """
        self.append(start("A", [1], 1.0, "a"))
        self.poll()
        self.assertEqual([(u.task.uuid, u.still_open) for u in self.follower.close()],
                         [("A", True)])


class CopyInProgressTests(SynchronousTestCase):
    """
    Tests for L{FileFollower} reading standard input, a real pipe copied
    by a real thread, while the copy goes on.
    """

    def test_lastLineWaitsForNewline(self) -> None:
        """
        A whole JSON line copied without its newline yet is not read
        before its newline (or the end of the copy): no empty line comes
        after it.
        """
        reader, writer = os.pipe()
        stdin = os.fdopen(reader, "rb")
        self.addCleanup(stdin.close)
        follower = FileFollower("-", stdin=stdin)
        self.addCleanup(follower.close)
        got = flat(follower.read())
        os.write(writer, b'{"a": 1}')
        for _ in range(2000):  # Until the thread copied it.
            if follower.status()["size"] == 8:
                break
            time.sleep(0.005)
        self.assertEqual(follower.status()["size"], 8)  # Else this tests nothing.
        got += flat(follower.read())
        os.write(writer, b'\n{"b": 2}\n')
        os.close(writer)
        [copy] = follower.active
        assert copy.spill is not None
        for _ in range(2000):  # Until the copy is done.
            if copy.spill.done:
                break
            time.sleep(0.005)
        self.assertTrue(copy.spill.done)
        got += flat(follower.read())
        self.assertEqual(got, [b'{"a": 1}', b'{"b": 2}'])
