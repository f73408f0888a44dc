"""
Tests for L{txcausal._source}: bounded lines from files, pipes and gzip.
"""

from __future__ import annotations

import gzip
import io
import os
import tracemalloc
from typing import List

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from txcausal._source import (
    TOO_LONG,
    LineSplitter,
    TooLong,
    line_batches,
    line_length,
    open_path,
    wrap_stream,
)
from txcausal.test._reading import OpenPipe


def split(chunks: List[bytes], max_line: int) -> List[bytes]:
    splitter = LineSplitter(max_line)
    result = [line for chunk in chunks for line in splitter.feed(chunk)]
    return result + splitter.finish()


class LineSplitterTests(SynchronousTestCase):
    """
    Tests for L{LineSplitter}.
    """

    def test_lines(self) -> None:
        """
        Chunks are split at newlines, lines cut by a chunk's end joined,
        the last line returned by C{finish}.
        """
        self.assertEqual(split([b"ab\ncd", b"ef\n\ngh"], 100), [b"ab", b"cdef", b"", b"gh"])
        self.assertEqual(split([b"a\n"], 100), [b"a"])

    def test_tooLong(self) -> None:
        """
        A line longer than the bound, in one chunk or across several,
        becomes L{TOO_LONG}.
        """
        self.assertEqual(split([b"a\n" + b"x" * 11 + b"\nb\n"], 10), [b"a", TOO_LONG, b"b"])
        self.assertEqual(split([b"a\nxxxx", b"xxxx", b"xxx\nb"], 10), [b"a", TOO_LONG, b"b"])
        self.assertEqual(split([b"x" * 10, b"\n"], 10), [b"x" * 10])
        self.assertEqual(split([b"x" * 30], 10), [TOO_LONG])

    def test_tooLongLength(self) -> None:
        """
        A line too long says how long it was, so that the positions of the
        lines after it are known.
        """
        lines = split([b"a\n" + b"x" * 11 + b"\nb\n"], 10)
        self.assertEqual([line_length(line) for line in lines], [1, 11, 1])
        lines = split([b"a\nxxxx", b"xxxx", b"xxx\nb"], 10)
        self.assertEqual([line_length(line) for line in lines], [1, 11, 1])
        self.assertIsInstance(lines[1], TooLong)

    def test_pending(self) -> None:
        """
        C{pending_bytes} is the size of the line not finished yet (held or
        skipped), C{pending} the line itself while it is within the bound.
        """
        splitter = LineSplitter(10)
        splitter.feed(b"a\nbcd")
        self.assertEqual((splitter.pending_bytes, splitter.pending()), (3, b"bcd"))
        splitter.feed(b"x" * 20)
        self.assertEqual((splitter.pending_bytes, splitter.pending()), (23, None))
        splitter.feed(b"\n")
        self.assertEqual((splitter.pending_bytes, splitter.pending()), (0, b""))

    @settings(derandomize=True, deadline=None, max_examples=100)
    @given(st.binary(max_size=60), st.lists(st.integers(1, 60), max_size=8))
    def test_anyChunking(self, data: bytes, cuts: List[int]) -> None:
        """
        However the input is cut into chunks, the lines are the same, and
        their lengths add up to what was fed.
        """
        chunks, rest = [], data
        for cut in cuts:
            chunks.append(rest[:cut])
            rest = rest[cut:]
        chunks.append(rest)
        expected = [line if len(line) <= 8 else TOO_LONG for line in data.split(b"\n")]
        if expected and not expected[-1] and data.endswith(b"\n") or not data:
            expected.pop()
        splitter = LineSplitter(8)
        lines = [line for chunk in chunks if chunk for line in splitter.feed(chunk)]
        self.assertEqual(sum(line_length(line) + 1 for line in lines),
                         len(data) - splitter.pending_bytes)
        lines += splitter.finish()
        self.assertEqual(lines, expected)
        self.assertEqual([line_length(line) for line in lines],
                         [len(line) for line in data.split(b"\n")][:len(lines)])

    def test_boundedMemory(self) -> None:
        """
        Input without newlines is not held: memory stays near the bound
        whatever comes in.
        """
        chunk = b"x" * (1 << 20)
        splitter = LineSplitter(1 << 16)
        tracemalloc.start()
        try:
            for _ in range(32):
                self.assertEqual(splitter.feed(chunk), [])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 1 << 18)
        self.assertEqual(splitter.finish(), [TOO_LONG])

    def test_badBound(self) -> None:
        """
        The bound must be positive.
        """
        self.assertRaises(ValueError, LineSplitter, 0)


class LineBatchesTests(SynchronousTestCase):
    """
    Tests for L{line_batches}.
    """

    def test_idlePipe(self) -> None:
        """
        Before reading a pipe that has nothing to read yet, C{on_idle} is
        called (so that output can be flushed while C{tail -f} is quiet).
        """
        pipe = OpenPipe(b"a\nb")
        idle: List[int] = []

        def on_idle() -> None:
            idle.append(1)
            pipe.close()

        with os.fdopen(pipe.read_end, "rb") as stream:
            batches = list(line_batches(stream, on_idle=on_idle))
        self.assertEqual((batches, idle), ([[b"a"], [b"b"]], [1]))

    def test_regularFileNeverIdle(self) -> None:
        """
        A regular file is never idle.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"a\nb\n")
        idle: List[int] = []
        with open(path, "rb") as stream:
            batches = list(line_batches(stream, on_idle=lambda: idle.append(1)))
        self.assertEqual((batches, idle), ([[b"a", b"b"]], []))

    def test_gzip(self) -> None:
        """
        Paths and streams that hold gzip data are decompressed.
        """
        data = gzip.compress(b"a\nb\n")
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(data)
        with open_path(path) as stream:
            self.assertEqual(list(line_batches(stream)), [[b"a", b"b"]])
        stream = wrap_stream(io.BufferedReader(io.BytesIO(data)))
        self.assertEqual(list(line_batches(stream)), [[b"a", b"b"]])

    def test_gzipPathClosed(self) -> None:
        """
        Closing what L{open_path} gave for a gzip file closes the file
        itself too (no C{ResourceWarning} for it later).
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(gzip.compress(b"a\n"))
        with open_path(path) as stream:
            descriptor = stream.fileno()
            os.fstat(descriptor)
        self.assertRaises(OSError, os.fstat, descriptor)
