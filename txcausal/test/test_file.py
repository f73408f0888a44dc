"""
Tests for L{txcausal._file}: L{FileDestination}, text and binary files,
direct writes and encoding (its short writes: C{test_file_shortwrite}).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import orjson
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import (
    FileDestination,
    IDestination,
    MessageType,
    UnwritableFile,
    fields,
    log_message,
    start_action,
    to_file,
)
from txcausal._types import Field

from ._helpers import IsolatedOutputMixin, read_json_lines, run_python


class FileDestinationTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    L{FileDestination} and L{to_file}.
    """

    def test_binaryFile(self) -> None:
        """
        Messages are written to a binary file as JSON lines.
        """
        out = io.BytesIO()
        FileDestination(out)({"a": 1, "b": "é"})
        self.assertEqual(json.loads(out.getvalue()), {"a": 1, "b": "é"})
        self.assertTrue(out.getvalue().endswith(b"}\n"))

    def test_textFile(self) -> None:
        """
        Messages are written to a text file as JSON lines.
        """
        out = io.StringIO()
        FileDestination(out)({"a": "é"})
        self.assertEqual(out.getvalue(), '{"a":"é"}\n')

    def test_realFileFlushedEachMessage(self) -> None:
        """
        With L{to_file} each message is in the file as soon as it is logged,
        with no explicit flush.
        """
        self.isolate()
        path = Path(self.mktemp())
        with path.open("w") as f:
            to_file(f)
            with start_action(action_type="a"):
                log_message(message_type="m")
                self.assertEqual(len(read_json_lines(path)), 2)
        self.assertEqual(len(read_json_lines(path)), 3)

    def test_provides(self) -> None:
        """
        L{FileDestination} provides L{IDestination}.
        """
        self.assertTrue(verifyObject(IDestination, FileDestination(io.BytesIO())))

    def test_encodeThenWrite(self) -> None:
        """
        L{FileDestination.encode} gives the line the destination would write,
        and L{FileDestination.write_encoded} writes a batch of such lines.
        """
        out = io.StringIO()
        destination = FileDestination(out)
        lines = destination.encode({"n": 1}) + destination.encode({"n": 2})
        self.assertEqual(lines, b'{"n":1}\n{"n":2}\n')
        destination.write_encoded(lines)
        self.assertEqual(out.getvalue(), lines.decode())

    def test_unencodable(self) -> None:
        """
        An unencodable value is written as its C{repr}, and a line reporting
        it follows; the file stays valid JSON lines.
        """
        out = io.BytesIO()
        FileDestination(out)({"message_type": "m", "o": object()})
        lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual([m["message_type"] for m in lines],
                         ["m", "txcausal:unencodable_values"])
        self.assertIn("object object", lines[0]["o"])

    def test_encoderClass(self) -> None:
        """
        A L{json.JSONEncoder} subclass, as Eliot accepts it as C{encoder=}
        (deprecated), encodes user types; what its C{default} refuses is
        encoded as without it.
        """

        class Encoder(json.JSONEncoder):
            def default(self, o: Any) -> Any:
                if isinstance(o, complex):
                    return [o.real, o.imag]
                return json.JSONEncoder.default(self, o)

        out = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            destination = FileDestination(out, encoder=Encoder)
        destination({"c": 1 + 2j, "b": b"raw"})
        self.assertEqual(json.loads(out.getvalue()), {"c": [1.0, 2.0], "b": "raw"})

    def test_jsonDefault(self) -> None:
        """
        A function given as C{json_default} encodes what JSON does not know.
        """
        out = io.BytesIO()
        FileDestination(out, json_default=lambda o: sorted(o) if isinstance(o, frozenset)
                        else str(o))({"s": frozenset([2, 1]), "p": Path("/x")})
        self.assertEqual(json.loads(out.getvalue()), {"s": [1, 2], "p": "/x"})

    def test_bigIntegers(self) -> None:
        """
        Integers beyond 64 bits are encoded exactly.
        """
        out = io.BytesIO()
        FileDestination(out)({"n": 2**70, "s": {1}})
        self.assertEqual(json.loads(out.getvalue()), {"n": 2**70, "s": [1]})

    def test_numpy(self) -> None:
        """
        NumPy scalars and arrays are encoded as numbers and lists.
        """
        import numpy as np

        out = io.BytesIO()
        FileDestination(out)({"i": np.int64(3), "f": np.float32(0.5),
                              "a": np.arange(3), "o": np.array([1, "x"], dtype=object)})
        self.assertEqual(json.loads(out.getvalue()),
                         {"i": 3, "f": 0.5, "a": [0, 1, 2], "o": [1, "x"]})

    def test_typedMessageSerialized(self) -> None:
        """
        Field serializers run when a message is written.
        """
        messages = self.collect()
        MessageType("t", fields(Field("p", lambda p: [p.real, p.imag]))).log(p=1j)
        self.assertEqual(messages[0]["p"], [0.0, 1.0])


class NoNumPyImportTests(SynchronousTestCase):
    """
    txcausal recognises NumPy values without importing NumPy itself.
    """

    def test_numpyNotImported(self) -> None:
        """
        Importing txcausal and logging to a file leaves NumPy unimported.
        """
        script = (
            "import io, sys, txcausal\n"
            "txcausal.to_file(io.BytesIO())\n"
            "txcausal.log_message(message_type='m', x={1}, b=b'x')\n"
            "print('numpy' in sys.modules)\n"
        )
        result = run_python(["-c", script])
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "False"), result.stderr)


class FileDestinationDirectWriteTests(SynchronousTestCase):
    """
    L{FileDestination} writes lines straight to a regular file opened in
    binary mode, one system call per line, and through the buffer otherwise.
    """

    def test_regularFileWrittenDirectly(self) -> None:
        """
        A binary file on a regular file is written to directly, after what
        the program wrote through the file object before.
        """
        path = Path(self.mktemp())
        with path.open("wb") as f:
            f.write(b'{"header":1}\n')
            destination = FileDestination(f)
            self.assertIs(destination._raw, f.raw)
            destination({"n": 1})
            self.assertEqual(read_json_lines(path), [{"header": 1}, {"n": 1}])

    def test_streamsAndPipesBuffered(self) -> None:
        """
        The standard streams and pipes are written through their buffer,
        and flushed.
        """
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "wb") as w, os.fdopen(read_end, "rb") as r:
            destination = FileDestination(w)
            self.assertIsNone(destination._raw)
            destination({"n": 1})
            self.assertEqual(r.readline(), b'{"n":1}\n')
        # Standard output's own buffer (which python -u does without).
        with io.FileIO(sys.__stdout__.fileno(), "w", closefd=False) as raw:  # type: ignore
            self.assertIsNone(FileDestination(io.BufferedWriter(raw))._raw)

    def test_closedFileRaises(self) -> None:
        """
        Once the file is closed, writing raises (and the registry reports
        it) rather than writing to whatever reuses the file descriptor.
        """
        path = Path(self.mktemp())
        f = path.open("wb")
        destination = FileDestination(f)
        f.close()
        self.assertRaises(ValueError, destination, {"n": 1})

    def test_fileIsReadOnly(self) -> None:
        """
        L{FileDestination.file} is the file written to, and cannot be
        replaced (the destination would keep writing to the old one).
        """
        out = io.BytesIO()
        destination = FileDestination(out)
        self.assertIs(destination.file, out)
        self.assertRaises(AttributeError, setattr, destination, "file", io.BytesIO())


class UnwritableFileTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    A file that cannot be written to is refused when the destination is
    made, as Eliot does, instead of failing at every message.
    """

    def setUp(self) -> None:
        self.path = Path(self.mktemp())
        self.path.write_bytes(b"")

    def test_readOnlyFile(self) -> None:
        """
        A file open for reading only, text or binary, is refused by
        L{FileDestination} and L{to_file} with an L{UnwritableFile} naming
        it; no destination is added.
        """
        destinations = self.isolate()
        for mode in ("r", "rb"):
            with self.path.open(mode) as f:
                error = self.assertRaises(UnwritableFile, FileDestination, f)
                self.assertIn("not open for writing", str(error))
                self.assertIn(repr(f), str(error))
                self.assertRaises(UnwritableFile, to_file, f)
        self.assertEqual(destinations._destinations, ())
        self.assertEqual(self.path.read_bytes(), b"")

    def test_closedFile(self) -> None:
        """
        A closed file is refused with a C{ValueError} saying so.
        """
        f = self.path.open("ab")
        f.close()
        error = self.assertRaises(ValueError, FileDestination, f)
        self.assertIn("closed", str(error))
        self.assertNotIsInstance(error, RuntimeError)

    def test_closedFileWritableSaysYes(self) -> None:
        """
        A closed file whose C{writable()} does not raise (a C{gzip} file
        closed) is refused all the same: its C{closed} is true.
        """
        f = gzip.open(self.path, "wb")
        f.close()
        error = self.assertRaises(ValueError, FileDestination, f)
        self.assertIn("closed", str(error))

    def test_unwritableFileIsEliotsError(self) -> None:
        """
        L{UnwritableFile} is both a C{ValueError} and the C{RuntimeError}
        Eliot raises for a file not open for writing, so a program written
        for Eliot that catches C{RuntimeError} catches it.
        """
        self.assertTrue(issubclass(UnwritableFile, ValueError))
        self.assertTrue(issubclass(UnwritableFile, RuntimeError))
        with self.path.open("r") as f:
            self.assertRaises(RuntimeError, FileDestination, f)

    def test_fileObjectSaysNotWritable(self) -> None:
        """
        Any file object whose C{writable()} says no is refused; one without
        C{writable} (as Twisted's C{LogFile}) is taken.
        """
        class Unwritable(io.RawIOBase):
            pass

        class NoWritable:
            def write(self, data: bytes) -> None:
                self.data = data

        self.assertRaises(UnwritableFile, FileDestination, Unwritable())
        plain = NoWritable()
        FileDestination(plain)({"n": 1})  # type: ignore[arg-type]
        self.assertEqual(plain.data, b'{"n":1}\n')

    def test_writableFiles(self) -> None:
        """
        Files open for writing, appending or updating are taken.
        """
        for mode in ("w", "ab", "r+", "r+b"):
            with self.path.open(mode) as f:
                FileDestination(f)
