"""
Tests for telling a followed input compressed or plain by its first two
bytes: not before both are there (gzip's magic number starts with
C{\\x1f}, which a pipe may deliver alone), unless the input ends first.
"""

from __future__ import annotations

import gzip
import io
from typing import List

from twisted.trial.unittest import SynchronousTestCase

from txcausal._parse_input import MessageReader
from txcausal._tail import RETIRE_AFTER, FileFollower
from txcausal.test.test_follow_rotated import FollowerCase, flat


class Trickle(io.RawIOBase):
    """
    A pipe whose writer wrote C{chunks} one at a time: each read gives
    at most the next one, as a pipe gives what is there so far.
    """

    def __init__(self, chunks: List[bytes]) -> None:
        super().__init__()
        self.chunks = chunks

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "memoryview") -> int:  # type: ignore[override]
        if not self.chunks:
            return 0
        chunk = self.chunks[0][:len(buffer)]
        self.chunks[0] = self.chunks[0][len(chunk):]
        if not self.chunks[0]:
            self.chunks.pop(0)
        buffer[:len(chunk)] = chunk
        return len(chunk)


def piped(*chunks: bytes) -> io.BufferedReader:
    """
    Standard input reading a pipe that delivers C{chunks} one by one.
    """
    return io.BufferedReader(Trickle(list(chunks)))


class StandardInputTests(SynchronousTestCase):
    """
    Tests for L{FileFollower} following standard input (C{"-"}).
    """

    def following(self, stdin: io.BufferedReader) -> List[bytes]:
        follower = FileFollower("-", stdin=stdin, startThread=lambda f: f())
        self.addCleanup(follower.close)
        return flat(follower.read())

    def test_magicSplit(self) -> None:
        """
        A gzip stream whose first byte comes alone is read decompressed.
        """
        data = gzip.compress(b"a\nb\n")
        self.assertEqual(self.following(piped(data[:1], data[1:])), [b"a", b"b"])

    def test_firstByteAloneThenEnd(self) -> None:
        """
        An input holding only C{\\x1f} is plain: its one line is read.
        """
        self.assertEqual(self.following(piped(b"\x1f")), [b"\x1f"])

    def test_plainSplit(self) -> None:
        """
        A plain input whose first byte, C{\\x1f}, comes alone is read as
        it is.
        """
        self.assertEqual(self.following(piped(b"\x1f", b"a\nb\n")), [b"\x1fa", b"b"])


class ReaderTests(SynchronousTestCase):
    """
    Tests for L{MessageReader} reading standard input (C{tree -}).
    """

    def test_magicSplit(self) -> None:
        """
        A gzip stream whose first byte comes alone is read decompressed.
        """
        data = gzip.compress(b'{"task_uuid": "t", "task_level": [1]}\n')
        reader = MessageReader(stdin=piped(data[:1], data[1:]))
        self.assertEqual([m["task_uuid"] for m in reader.read_source("-")], ["t"])


class RotatedUndecidedTests(FollowerCase):
    """
    Tests for L{FileFollower} when a file rotated away holds only the
    first byte of gzip's magic number.
    """

    def test_readPlainWhenRetired(self) -> None:
        """
        Its input ended (it is retired): it is plain, its byte a line.
        """
        self.append(b"\x1f")
        self.assertEqual(flat(self.follower.read()), [])
        self.rotate()
        self.append(b"b\n")
        got = []
        for _ in range(2 * RETIRE_AFTER + 2):
            got += flat(self.follower.read())
        self.assertEqual(got, [b"b", b"\x1f"])
        self.assertEqual((self.reasons(), len(self.follower.active)), ([], 1))
