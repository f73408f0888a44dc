"""
Tests for L{txcausal.FileDestination} on text files, standard output and
pipes: the same bytes as the file's text layer would write, in order with
the program's own output, and a pipe whose reader has gone.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

from twisted.python.logfile import LogFile
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal._output import Destinations
from txcausal._rawfile import ThroughBuffer, ascii_json
from txcausal._shortwrite import PipeClosed

from ._helpers import read_json_lines
from ._writer_harness import WriterHarness, numbered_message


def _line(message: Dict[str, Any]) -> str:
    """
    @return: C{message} as a JSON line, as txcausal writes it.
    """
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n"


class TextFileTests(SynchronousTestCase):
    """
    A text file gets the bytes its text layer would write, in the order of
    the program's own writes to it.
    """

    def test_utf8FileWrittenDirectly(self) -> None:
        """
        A UTF-8 text file opened on a regular file is written to directly,
        under its text layer.
        """
        path = Path(self.mktemp())
        with path.open("w", encoding="utf-8") as f:
            destination = FileDestination(f)
            self.assertIs(destination._raw, f.buffer.raw)  # type: ignore[attr-defined]
            destination({"a": "é"})
            self.assertEqual(path.read_bytes(), '{"a":"é"}\n'.encode())

    def test_printInterleaved(self) -> None:
        """
        What the program writes to the same text file between messages
        (C{print}, a line not ended yet) is in the file before the next
        message, and after the one before.
        """
        path = Path(self.mktemp())
        with path.open("w", encoding="utf-8") as f:
            destination = FileDestination(f)
            print("before", file=f)
            destination({"n": 1})
            f.write("partial ")
            destination({"n": 2})
            print("é after", file=f)
        self.assertEqual(path.read_text(encoding="utf-8"),
                         'before\n{"n":1}\npartial {"n":2}\né after\n')

    def test_appendedAfterExistingText(self) -> None:
        """
        A text file opened to append gets the lines after what it held.
        """
        path = Path(self.mktemp())
        path.write_text("old\n")
        with path.open("a", encoding="utf-8") as f:
            FileDestination(f)({"n": 1})
            print("new", file=f)
        self.assertEqual(path.read_text(), 'old\n{"n":1}\nnew\n')

    def test_nonUtf8File(self) -> None:
        """
        A text file in another encoding that writes ASCII as ASCII gets the
        bytes of each line in its encoding directly, after what the program
        printed; a line holding a character the encoding cannot hold is
        written escaped, as the same JSON in ASCII.
        """
        path = Path(self.mktemp())
        messages = [{"a": "é"}, {"b": "€ and é"}]
        with path.open("w", encoding="latin-1") as f:
            destination = FileDestination(f)
            self.assertIs(destination._direct, f.buffer.raw)  # type: ignore[attr-defined]
            for message in messages:
                destination(message)
        first, second = path.read_bytes().splitlines()
        self.assertEqual(first, b'{"a":"\xe9"}')
        self.assertEqual(second, b'{"b":"\\u20ac and \\u00e9"}')
        self.assertEqual([json.loads(line) for line in path.read_text("latin-1").splitlines()],
                         messages)

    def test_utf16File(self) -> None:
        """
        A text file whose encoding does not write ASCII as ASCII gets each
        line through its text layer: a byte order mark is written once, at
        the start, however the program and the destination take turns.
        """
        path = Path(self.mktemp())
        with path.open("w", encoding="utf-16") as f:
            destination = FileDestination(f)
            self.assertIsNone(destination._direct)
            print("x", file=f)
            destination({"n": "ü"})
            destination({"n": 2})
        self.assertEqual(path.read_text(encoding="utf-16"), 'x\n{"n":"ü"}\n{"n":2}\n')

    def test_newlineTranslated(self) -> None:
        """
        A text file opened with C{newline="\\r\\n"} ends each line with
        C{"\\r\\n"}, as its text layer writes it.
        """
        path = Path(self.mktemp())
        with path.open("w", encoding="utf-8", newline="\r\n") as f:
            destination = FileDestination(f)
            self.assertIsNone(destination._direct)
            destination({"n": 1})
            print("x", file=f)
        self.assertEqual(path.read_bytes(), b'{"n":1}\r\nx\r\n')

    def test_stringIO(self) -> None:
        """
        A L{io.StringIO} gets the lines as text, in order with what the
        program writes to it.
        """
        out = io.StringIO()
        destination = FileDestination(out)
        out.write("a\n")
        destination({"n": "é"})
        out.write("b\n")
        self.assertEqual(out.getvalue(), 'a\n{"n":"é"}\nb\n')

    def test_writeOnlyTextObject(self) -> None:
        """
        An object with nothing but a C{write} taking C{str} gets the lines
        as text.
        """

        class Writer:
            def __init__(self) -> None:
                self.written: List[str] = []

            def write(self, text: str) -> None:
                if not isinstance(text, str):
                    raise TypeError("str only")
                self.written.append(text)

        writer = Writer()
        destination = FileDestination(writer)  # type: ignore[arg-type]
        destination({"n": 1})
        destination.write_encoded(b'{"n":2}\n')
        self.assertEqual("".join(writer.written), '{"n":1}\n{"n":2}\n')



class LogFileTests(SynchronousTestCase):
    """
    Twisted's C{LogFile} and C{DailyLogFile}, written directly.
    """

    def logFile(self, kind: Any = LogFile, **kwargs: Any) -> Any:
        """
        @return: A C{kind} of log file in a new directory, closed when the
            test ends.
        """
        directory = Path(self.mktemp())
        directory.mkdir()
        logFile = kind("app.log", str(directory), **kwargs)
        self.addCleanup(logFile.close)
        return logFile

    def test_rotates(self) -> None:
        """
        A C{LogFile} written directly still rotates when it reaches its
        length, and keeps its size.
        """
        logFile = self.logFile(rotateLength=100)
        destination = FileDestination(logFile)
        self.assertIsNotNone(destination._raw)
        for n in range(10):
            destination(numbered_message(n))
        directory = Path(logFile.directory)
        self.assertEqual(logFile.size, (directory / "app.log").stat().st_size)
        rotated = sorted(directory.glob("app.log.*"), key=lambda p: -int(p.suffix[1:]))
        self.assertTrue(rotated)
        numbers = [m["n"] for path in [*rotated, directory / "app.log"]
                   for m in read_json_lines(path)]
        self.assertEqual(numbers, list(range(10)))

    def test_notRotatedByBeingGiven(self) -> None:
        """
        Making a destination writes nothing to a log file, so one due to
        rotate is not rotated until a message is written.
        """
        logFile = self.logFile(rotateLength=10)
        logFile.write(b"x" * 20)
        FileDestination(logFile)
        self.assertEqual(logFile.listLogs(), [])

    def test_overriddenWriteHonoured(self) -> None:
        """
        A subclass that overrides C{write} is written through its C{write}.
        """

        class Counting(LogFile):
            calls = 0

            def write(self, data: Any) -> None:
                self.calls += 1
                LogFile.write(self, data)

        logFile = self.logFile(Counting)
        destination = FileDestination(logFile)
        self.assertIsNone(destination._direct)
        destination({"n": 1})
        self.assertEqual(logFile.calls, 1)
        self.assertEqual(read_json_lines(Path(logFile.path)), [{"n": 1}])


#: A script that logs one message to its standard output, waits for a line
#: on its standard input, then logs 2,000 more.
_CLOSED_PIPE_SCRIPT = """
import sys
from txcausal import log_message, to_file
to_file(sys.stdout)
log_message("first")
sys.stdin.readline()
for n in range(2000):
    log_message("more", n=n)
print("done", file=sys.stderr)
"""

#: The same, through a ThreadedWriter, stopped at exit.
_CLOSED_PIPE_THREADED_SCRIPT = """
import sys
from txcausal import FileDestination, log_message
from txcausal.logwriter import ThreadedWriter
ThreadedWriter(FileDestination(sys.stdout)).startService()
log_message("first")
sys.stdin.readline()
for n in range(2000):
    log_message("more", n=n)
print("done", file=sys.stderr)
"""


class ClosedPipeTests(WriterHarness, SynchronousTestCase):
    """
    A pipe whose reader has gone is reported once, then no more written to.
    """

    def pipe(self, mode: str, **kwargs: Any) -> Any:
        """
        @return: The write end of a pipe, opened with C{mode}, whose read
            end is closed.
        """
        read, write = os.pipe()
        os.close(read)
        file = os.fdopen(write, mode, **kwargs)
        self.addCleanup(self.closeQuietly, file)
        return file

    def closeQuietly(self, file: Any) -> None:
        try:
            file.close()
        except BrokenPipeError:
            pass

    def assertClosedOnce(self, file: Any) -> None:
        """
        The first write to C{file} raises L{PipeClosed}, counting the lines
        lost; the later ones raise it again, marked as such, without writing.
        """
        destination = FileDestination(file)
        error = self.assertRaises(PipeClosed, destination, {"n": 1})
        self.assertEqual((error.again, error.lost, error.first), (False, 1, b'{"n":1}'))
        self.assertIn("the reader of the pipe has gone", str(error))
        self.assertIsInstance(error.__cause__, BrokenPipeError)
        again = self.assertRaises(PipeClosed, destination.write_encoded, b'{"n":2}\n{"n":3}\n')
        self.assertEqual((again.again, again.lost), (True, 2))
        self.assertRaises(PipeClosed, destination, {"n": 4})
        self.assertIsNone(destination._direct)

    def test_textPipe(self) -> None:
        """
        A UTF-8 text file on a pipe, written directly, through its buffer.
        """
        file = self.pipe("w", encoding="utf-8")
        self.assertIsInstance(FileDestination(file)._direct, ThroughBuffer)
        self.assertClosedOnce(file)

    def test_textPipeLeftFlushable(self) -> None:
        """
        Once the reader of a UTF-8 text file's pipe has gone, its buffer
        holds nothing the destination gave it, so that flushing it (as
        Python flushes standard output at exit) succeeds; the file is still
        open on the pipe.
        """
        file = self.pipe("w", encoding="utf-8")
        self.assertRaises(PipeClosed, FileDestination(file), {"n": 1})
        file.flush()
        self.assertTrue(stat.S_ISFIFO(os.fstat(file.fileno()).st_mode))
        self.assertRaises(BrokenPipeError, file.buffer.raw.write, b"x")

    def test_otherTextPipe(self) -> None:
        """
        A text file in another encoding on a pipe, written through its text
        layer.
        """
        self.assertClosedOnce(self.pipe("w", encoding="latin-1"))

    def test_binaryPipe(self) -> None:
        """
        A binary file on a pipe, written through its buffer.
        """
        self.assertClosedOnce(self.pipe("wb"))

    def test_reportedOnceByTheRegistry(self) -> None:
        """
        The registry reports the closed pipe once, and counts every message
        lost to it.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destinations = Destinations()
        destinations.add(FileDestination(self.pipe("w", encoding="utf-8")))
        for n in range(50):
            destinations.send({"n": n})
        [report] = [json.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual((report["message_type"], report["exception"]),
                         ("eliot:destination_failure", "txcausal._shortwrite.PipeClosed"))
        self.assertEqual(destinations.dropped, 50)

    def test_reportedOnceByThreadedWriter(self) -> None:
        """
        A L{ThreadedWriter} reports the closed pipe once, and counts every
        message lost to it, or refused meanwhile (its queue holds 5), without
        telling of them again when it stops.
        """
        logger = self.capture()
        writer, _, performAll = self.started(FileDestination(self.pipe("w", encoding="utf-8")),
                                             maxMessages=5)
        for n in range(50):
            writer(numbered_message(n))
            if n % 10 == 9:
                performAll()
        stopped = writer.stopService()
        performAll()
        self.successResultOf(stopped)
        self.assertEqual([(m["message_type"], m.get("exception")) for m in logger.messages],
                         [("eliot:destination_failure", "txcausal._shortwrite.PipeClosed")])
        self.assertEqual(writer.dropped, 50)

    def test_readerGoneEarly(self) -> None:
        """
        A program logging to standard output, piped into a reader that reads
        one line and exits (as C{head -1} does), tells of the closed pipe
        once on standard error, and goes on to its normal end (its exit
        status 0: Python's own flush of standard output at exit finds
        nothing left of the lines).
        """
        self.assertReaderGoneEarly(_CLOSED_PIPE_SCRIPT)

    def test_readerGoneEarlyUnbuffered(self) -> None:
        """
        The same with standard output as C{python -u} opens it.
        """
        self.assertReaderGoneEarly(_CLOSED_PIPE_SCRIPT, unbuffered=True)

    def test_readerGoneEarlyThreaded(self) -> None:
        """
        The same through a L{ThreadedWriter}, the only destination, stopped
        at exit: the closed pipe is told of once (it was not at all: its
        report went only to the writer itself), and what it lost is not
        told of again when the writer stops.
        """
        self.assertReaderGoneEarly(_CLOSED_PIPE_THREADED_SCRIPT)

    def assertReaderGoneEarly(self, script: str, unbuffered: bool = False) -> None:
        """
        Run C{script} with its standard output read by a process that reads
        one line and exits: the first line was C{first}, the script exits
        with status 0, and its standard error holds one report, of the
        closed pipe, besides the C{done} it prints.

        @param unbuffered: Run it as C{python -u} does (else as Python
            usually does, whatever this process was run with).
        """
        env = dict(os.environ)
        env.pop("PYTHONUNBUFFERED", None)
        if unbuffered:
            env["PYTHONUNBUFFERED"] = "1"
        with tempfile.TemporaryFile("w+") as stderr:
            writer = subprocess.Popen(
                [sys.executable, "-c", script], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
            reader = subprocess.Popen(
                [sys.executable, "-c", "import sys; print(sys.stdin.readline(), end='')"],
                stdin=writer.stdout, stdout=subprocess.PIPE, text=True)
            assert writer.stdout is not None and writer.stdin is not None
            writer.stdout.close()
            firstLine, _ = reader.communicate(timeout=60)
            writer.stdin.write("go\n")
            writer.stdin.close()
            self.assertEqual(writer.wait(timeout=60), 0)
            stderr.seek(0)
            errors = stderr.read().splitlines()
        self.assertEqual(json.loads(firstLine)["message_type"], "first")
        reports = [json.loads(line) for line in errors if line != "done"]
        self.assertEqual(len(reports), 1, errors)
        [report] = reports
        self.assertEqual(report["message_type"], "eliot:destination_failure")
        self.assertIn("the reader of the pipe has gone", report["reason"])
        self.assertIn("done", errors)


class ASCIIJSONTests(SynchronousTestCase):
    """
    L{ascii_json} escapes every character past ASCII.
    """

    def test_sameJSON(self) -> None:
        """
        The escaped text is ASCII, and decodes to the same values, characters
        past the Basic Multilingual Plane included.
        """
        value = {"é": "€ 😀 \\ \" x"}
        escaped = ascii_json(json.dumps(value, ensure_ascii=False))
        self.assertTrue(escaped.isascii())
        self.assertEqual(json.loads(escaped), value)
        self.assertEqual(escaped, json.dumps(value))
