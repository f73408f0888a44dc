"""
Tests for L{txcausal._tail}: what follows when the compressed file at the
name was cut inside its gzip stream (its writer stopped, or killed): the
writer goes on, slowly, or a new one appends its own stream
(C{app | gzip >> log} restarted).
"""

from __future__ import annotations

import gzip
import os
from typing import List

from txcausal._tail import RETIRE_AFTER, UNFINISHED_WAIT, FileFollower
from txcausal.test.test_follow_compressed import TRUNCATED
from txcausal.test.test_follow_rotated import FollowerCase, flat
from txcausal.test.test_follow_unfinished import CUT_AT_NAME, WENT_ON, killed_gzip, unfinished

#: The report of a new gzip stream appended after the one reported cut.
APPENDED = "log: a new gzip stream was appended after the cut one: read from its start"


class CutThenAppendedTests(FollowerCase):
    """
    Tests for L{FileFollower} following a compressed file at the name
    after its gzip stream was reported cut.
    """

    def setUp(self) -> None:
        super().setUp()
        self.now = 0.0
        self.follower = FileFollower(str(self.path), on_error=self.errors.append,
                                     stat=self.stat, startThread=lambda f: f(),
                                     clock=lambda: self.now)
        self.addCleanup(self.follower.close)

    def stall(self) -> List[bytes]:
        """
        Look as long as a cut takes (L{RETIRE_AFTER} looks, the last change
        L{UNFINISHED_WAIT} seconds old).

        @return: The lines read meanwhile.
        """
        got: List[bytes] = []
        self.now = os.stat(self.path).st_mtime + UNFINISHED_WAIT
        for _ in range(RETIRE_AFTER + 2):
            got += flat(self.follower.read())
        return got

    def test_slowWriterReportedOnce(self) -> None:
        """
        A live writer that pauses for longer than L{UNFINISHED_WAIT} again
        and again is reported cut once, and going on once; each later
        pause is only shown in the status.
        """
        data, writer = unfinished(b'{"i": 0}\n{"i": 1')
        self.path.write_bytes(data)
        got = self.stall()
        for i in range(2, 5):
            self.append(writer.compress(b'}\n{"i": %d' % i) + writer.flush(0o2))
            got += self.stall()
            self.assertEqual(self.follower.status()["error"], CUT_AT_NAME[5:])
        self.append(writer.compress(b'}\n') + writer.flush())
        got += flat(self.follower.read())
        self.assertEqual(got, [b'{"i": %d}' % i for i in range(5)])
        self.assertEqual(self.reasons(), [CUT_AT_NAME, WENT_ON])
        self.assertEqual(self.follower.status()["error"], None)

    def test_killedThenAppended(self) -> None:
        """
        The real C{gzip} command killed in the middle of its stream, then a
        new stream appended (C{app | gzip >> log} restarted): the new
        stream is read from its start, as such, and said so; no line is
        read that was never written.
        """
        lines = killed_gzip(self.path)
        got = flat(self.follower.read()) + self.stall()
        self.assertEqual(got, lines[:len(got)])
        new = [b'{"new": %d}' % n for n in range(50)]
        self.append(gzip.compress(b"\n".join(new) + b"\n"))
        self.assertEqual(flat(self.follower.read()), new)
        [cut, appended] = self.reasons()
        self.assertTrue(cut.startswith("log: cut inside its gzip stream"), cut)
        self.assertEqual(appended, APPENDED)
        self.assertEqual(self.follower.status()["error"], None)

    def test_appendedWhileWaiting(self) -> None:
        """
        A new gzip stream appended after one not finished, before it is
        reported cut: the old stream's last line is reported cut, not read;
        the new stream is read.
        """
        data, _ = unfinished(b'{"i": 0}\n{"i": 1')
        self.path.write_bytes(data)
        self.assertEqual(flat(self.follower.read()), [b'{"i": 0}'])
        self.append(gzip.compress(b'{"new": 0}\n'))
        self.assertEqual(flat(self.follower.read()), [b'{"new": 0}'])
        self.assertEqual(self.reasons(), [
            "log: a new gzip stream was appended after an unfinished one, cut: its last line is"
            " left out (7 bytes)"])

    def test_headerComesInPieces(self) -> None:
        """
        The first bytes of a new gzip stream appended after the cut one,
        too few yet to tell it from the old stream's next: nothing is read
        until they are.
        """
        data, _ = unfinished(b'{"i": 0}\n{"i": 1')
        self.path.write_bytes(data)
        self.stall()
        new = gzip.compress(b'{"new": 0}\n')
        self.append(new[:2])
        self.assertEqual(flat(self.follower.read()), [])
        self.append(new[2:])
        self.assertEqual(flat(self.follower.read()), [b'{"new": 0}'])
        self.assertEqual(self.reasons(), [CUT_AT_NAME, APPENDED])

    def test_garbageAppended(self) -> None:
        """
        Bytes appended to the cut stream that do not go on with it (nor
        start a new one) are a failed decompression, reported; its last
        line is not read (and is reported left out for good).
        """
        data, _ = unfinished(b'{"i": 0}\n{"i": 1')
        self.path.write_bytes(data)
        self.stall()
        self.append(b"\xff" * 64)
        self.assertEqual(flat(self.follower.read()), [])
        [cut, went_on, failed, left_out] = self.reasons()
        self.assertEqual((cut, went_on), (CUT_AT_NAME, WENT_ON))
        self.assertTrue(failed.startswith("log: not read whole, its decompression failed: "),
                        failed)
        self.assertEqual(left_out, "log: the last line of a decompressed copy, cut inside its"
                                   " gzip stream, is left out (7 bytes)")

    def test_cutThenTruncated(self) -> None:
        """
        C{app | gzip > log} restarted after the kill (the shell truncates
        the file): the new stream is read from its start; the truncation
        is reported as one after the copy got to the end of the file, not
        as one that left bytes not decompressed.
        """
        data, _ = unfinished(b'{"i": 0}\n{"i": 1')
        self.path.write_bytes(data)
        got = self.stall()
        new = [b'{"new": %d}' % n for n in range(2000)]
        self.path.write_bytes(gzip.compress(b"\n".join(new) + b"\n"))
        for _ in range(RETIRE_AFTER + 3):
            got += flat(self.follower.read())
        self.assertEqual(got, [b'{"i": 0}'] + new)
        self.assertEqual(self.reasons(), [CUT_AT_NAME, TRUNCATED])

    def test_appendedAfterLaterPause(self) -> None:
        """
        A new gzip stream appended after a slow writer's stream cut again
        (at a pause not reported): that stream's last line is reported
        left out then.
        """
        data, writer = unfinished(b'{"i": 0}\n{"i": 1')
        self.path.write_bytes(data)
        got = self.stall()
        self.append(writer.compress(b'}\n{"i": 22') + writer.flush(0o2))
        got += self.stall()
        self.append(gzip.compress(b'{"new": 0}\n'))
        got += flat(self.follower.read())
        self.assertEqual(got, [b'{"i": 0}', b'{"i": 1}', b'{"new": 0}'])
        self.assertEqual(self.reasons(), [
            CUT_AT_NAME, WENT_ON, "log: a new gzip stream was appended after an unfinished one,"
            " cut: its last line is left out (8 bytes)"])
