"""
Tests for L{txcausal.FileDestination} on text files written under their text
layer: the bytes are those the text layer writes, whatever the file's
C{errors}, and however the file is reconfigured after the destination was
made; files of other kinds go through their own C{write}.
"""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path
from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal._rawfile import ThroughBuffer, ascii_json
from txcausal._shortwrite import PipeClosed

#: Messages whose lines hold what a text layer could write otherwise: text
#: past ASCII and past the Basic Multilingual Plane, lone surrogates (one a
#: byte smuggled in by C{surrogateescape}), line and paragraph separators,
#: a carriage return, a NUL.
_MESSAGES: List[Dict[str, Any]] = [
    {"a": "é € 😀"},
    {"b": "caf\udcff", "c": "\ud800"},
    {"d": "\u2028 \u2029 \r \x00"},
    {"é": 1},
]


class TextLayerBytesTests(SynchronousTestCase):
    """
    A UTF-8 text file written directly gets, whatever its C{errors}, the
    very bytes its text layer writes for the same lines.
    """

    def assertSameAsTextLayer(self, errors: str) -> None:
        """
        Lines written by a destination to a UTF-8 text file opened with
        C{errors} are byte for byte those that the file's own C{write}
        writes for the encoded lines.
        """
        direct, layered = Path(self.mktemp()), Path(self.mktemp())
        with direct.open("w", encoding="utf-8", errors=errors) as f:
            destination = FileDestination(f)
            self.assertIs(destination._direct, f.buffer.raw)  # type: ignore[attr-defined]
            for message in _MESSAGES:
                destination(message)
        with layered.open("w", encoding="utf-8", errors=errors) as f:
            for message in _MESSAGES:
                f.write(destination.encode(message).decode("utf-8"))
        self.assertEqual(direct.read_bytes(), layered.read_bytes())

    def test_strict(self) -> None:
        """
        With C{errors="strict"}.
        """
        self.assertSameAsTextLayer("strict")

    def test_surrogateescape(self) -> None:
        """
        With C{errors="surrogateescape"}, as standard output has under a C
        locale: a byte smuggled in a string is written escaped, as JSON.
        """
        self.assertSameAsTextLayer("surrogateescape")

    def test_backslashreplace(self) -> None:
        """
        With C{errors="backslashreplace"}.
        """
        self.assertSameAsTextLayer("backslashreplace")


class RecodedBytesTests(SynchronousTestCase):
    """
    A text file in another encoding that writes ASCII as ASCII is written
    directly too, with the bytes its text layer writes for the same lines
    (escaped as the same JSON in ASCII where its encoding cannot hold a
    character, as when lines went through that layer).
    """

    def assertSameAsTextLayer(self, encoding: str, errors: str) -> None:
        """
        Lines written by a destination to a text file in C{encoding} opened
        with C{errors} are byte for byte those that the file's own C{write}
        writes for the encoded lines, or for them escaped when it raises.
        """
        direct, layered = Path(self.mktemp()), Path(self.mktemp())
        with direct.open("w", encoding=encoding, errors=errors) as f:
            destination = FileDestination(f)
            self.assertIs(destination._direct, f.buffer.raw)  # type: ignore[attr-defined]
            for message in _MESSAGES:
                destination(message)
        with layered.open("w", encoding=encoding, errors=errors) as f:
            for message in _MESSAGES:
                line = destination.encode(message).decode("utf-8")
                try:
                    f.write(line)
                except UnicodeEncodeError:
                    f.write(ascii_json(line))
        self.assertEqual(direct.read_bytes(), layered.read_bytes())

    def test_latin1Strict(self) -> None:
        """
        Latin-1 with C{errors="strict"}: a line holding what it cannot hold
        is escaped.
        """
        self.assertSameAsTextLayer("latin-1", "strict")

    def test_cp1252Replace(self) -> None:
        """
        Windows' cp1252 with C{errors="replace"}.
        """
        self.assertSameAsTextLayer("cp1252", "replace")

    def test_shiftJISBackslashReplace(self) -> None:
        """
        Shift JIS, several bytes a character, with
        C{errors="backslashreplace"}.
        """
        self.assertSameAsTextLayer("shift_jis", "backslashreplace")


class ReconfiguredTests(SynchronousTestCase):
    """
    A text file the program reconfigures after the destination was made
    gets the lines as its text layer writes them from then on.
    """

    def test_encodingChanged(self) -> None:
        """
        Lines written after the file's encoding changed are in the new
        encoding.
        """
        path = Path(self.mktemp())
        with path.open("w", encoding="utf-8") as f:
            destination = FileDestination(f)
            destination({"a": "é"})
            f.reconfigure(encoding="latin-1")
            destination({"b": "é"})
            print("é", file=f)
        self.assertEqual(path.read_bytes(), b'{"a":"\xc3\xa9"}\n{"b":"\xe9"}\n\xe9\n')

    def test_pipeInUTF16Reconfigured(self) -> None:
        """
        A text file in UTF-16 on a pipe, written with its own encoder (one
        byte order mark), gets UTF-8 once reconfigured to it.
        """
        read, write = os.pipe()
        with os.fdopen(read, "rb") as reader, os.fdopen(write, "w", encoding="utf-16") as f:
            destination = FileDestination(f)
            self.assertIsInstance(destination._direct, ThroughBuffer)
            destination({"a": "é"})
            print("x", file=f, flush=True)
            destination({"b": "é"})
            f.reconfigure(encoding="utf-8")
            destination({"c": "é"})
            f.close()
            data = reader.read()
        utf16, utf8 = data.split(b'{"c"')
        self.assertEqual(utf16.decode("utf-16"), '{"a":"é"}\nx\n{"b":"é"}\n')
        self.assertEqual(b'{"c"' + utf8, '{"c":"é"}\n'.encode())

    def test_newlineChanged(self) -> None:
        """
        Lines written after the file was set to write C{"\\n"} as
        C{"\\r\\n"} end with C{"\\r\\n"}.
        """
        path = Path(self.mktemp())
        with path.open("w", encoding="utf-8") as f:
            destination = FileDestination(f)
            destination({"n": 1})
            f.reconfigure(newline="\r\n")
            destination({"n": 2})
            destination.write_encoded(b'{"n":3}\n')
            print("x", file=f)
        self.assertEqual(path.read_bytes(), b'{"n":1}\n{"n":2}\r\n{"n":3}\r\n' b"x\r\n")

    def test_writtenDirectlyWhenStillUtf8(self) -> None:
        """
        A file reconfigured to what still writes the same bytes (another
        C{errors}, line buffering, or UTF-8 again after another encoding)
        is written directly again.
        """
        path = Path(self.mktemp())
        with path.open("w", encoding="utf-16") as f:
            destination = FileDestination(f)
            self.assertIsNone(destination._direct)
            f.reconfigure(encoding="utf-8", errors="replace")
            f.reconfigure(line_buffering=True)
            destination({"a": "é"})
            self.assertIs(destination._direct, f.buffer.raw)  # type: ignore[attr-defined]
            destination({"b": "é"})
        self.assertEqual(path.read_text(encoding="utf-8"), '{"a":"é"}\n{"b":"é"}\n')

    def test_closedPipeStaysClosed(self) -> None:
        """
        A reconfigured text file whose pipe reader has gone is not written
        to again.
        """
        read, write = os.pipe()
        os.close(read)
        file = os.fdopen(write, "w", encoding="utf-8")
        destination = FileDestination(file)
        self.assertRaises(PipeClosed, destination, {"n": 1})
        file.reconfigure(errors="replace")
        again = self.assertRaises(PipeClosed, destination, {"n": 2})
        self.assertTrue(again.again)
        self.assertIsNone(destination._direct)
        try:
            file.close()
        except BrokenPipeError:
            pass


class OtherTextFilesTests(SynchronousTestCase):
    """
    Text files that are not plain C{io.TextIOWrapper}s over an operating
    system file are written through their own C{write}.
    """

    def test_subclassWriteHonoured(self) -> None:
        """
        A subclass of C{io.TextIOWrapper} (as pytest's capture of standard
        output is) is written through its C{write}.
        """
        written: List[str] = []

        class Recording(io.TextIOWrapper):
            def write(self, text: str) -> int:
                written.append(text)
                return super().write(text)

        path = Path(self.mktemp())
        with Recording(path.open("wb"), encoding="utf-8") as f:
            destination = FileDestination(f)
            destination({"n": "é"})
        self.assertEqual(written, ['{"n":"é"}\n'])
        self.assertEqual(path.read_text(encoding="utf-8"), '{"n":"é"}\n')

    def test_socketFile(self) -> None:
        """
        A text file made by C{socket.makefile("w")} gets the lines, in order
        with what the program writes to it.
        """
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        self.addCleanup(theirs.close)
        with ours.makefile("w", encoding="utf-8") as f:
            destination = FileDestination(f)
            f.write("before ")
            destination({"n": "é"})
            print("after", file=f)
        ours.shutdown(socket.SHUT_WR)
        with theirs.makefile("rb") as received:
            self.assertEqual(received.read(), 'before {"n":"é"}\nafter\n'.encode())
