"""
Tests for L{txcausal.logwriter.ThreadedWriter} around a
L{txcausal.FileDestination}: encoded lines written straight to the file,
text or binary, including Twisted's rotating log files.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Dict, List

import orjson
from twisted.python.logfile import DailyLogFile, LogFile
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal._writer import CallableSink, FileSink

from ._helpers import read_json_lines
from ._writer_harness import WriterHarness, numbered_message


class FileDestinationWriterTests(WriterHarness, SynchronousTestCase):
    """
    A L{ThreadedWriter} around a L{FileDestination} writes encoded lines
    straight to its file, text or binary, including Twisted's rotating log
    files.
    """

    def test_binaryFile(self) -> None:
        """
        A batch of messages is written to a binary file as JSON lines.
        """
        f = io.BytesIO()
        writer, _, performAll = self.started(FileDestination(f))
        writer(numbered_message(1))
        writer(numbered_message(2))
        performAll()
        self.assertEqual([orjson.loads(line)["n"] for line in f.getvalue().splitlines()], [1, 2])

    def test_fastPath(self) -> None:
        """
        A L{FileDestination} is written to through its file, one write per
        batch, not called once per message.
        """
        writes: List[bytes] = []

        class Recording(io.BytesIO):
            def write(self, data: Any) -> int:
                writes.append(bytes(data))
                return len(data)

        writer, _, performAll = self.started(FileDestination(Recording()))
        self.assertIsInstance(writer._sink, FileSink)
        for n in range(3):
            writer(numbered_message(n))
        performAll()
        self.assertEqual(len(writes), 1)
        self.assertEqual([orjson.loads(line)["n"] for line in writes[0].splitlines()], [0, 1, 2])
        writer, _, _ = self.writer(FileDestination(io.BytesIO()), json_default=lambda o: "x")
        self.assertIsInstance(writer._sink, CallableSink)

    def test_overriddenCallHonoured(self) -> None:
        """
        A L{FileDestination} subclass that overrides C{__call__} is called
        for each message, with a snapshot encoded by its own encoder hook;
        the batch fast path is only for L{FileDestination}'s own.
        """
        calls: List[Dict[str, Any]] = []

        class Recording(FileDestination):
            def __call__(self, message: Dict[str, Any]) -> None:
                calls.append(message)
                FileDestination.__call__(self, message)

        f = io.BytesIO()
        writer, _, performAll = self.started(Recording(f, json_default=lambda o: "custom"))
        for n in range(3):
            writer(numbered_message(n, thing=object()))
        performAll()
        self.assertEqual([(m["n"], m["thing"]) for m in calls],
                         [(0, "custom"), (1, "custom"), (2, "custom")])
        self.assertEqual([orjson.loads(line)["n"] for line in f.getvalue().splitlines()],
                         [0, 1, 2])

    def test_textFile(self) -> None:
        """
        A text file is given text.
        """
        f = io.StringIO()
        writer, _, performAll = self.started(FileDestination(f))
        writer(numbered_message(1, name="caf\u00e9"))
        performAll()
        self.assertEqual(orjson.loads(f.getvalue())["name"], "caf\u00e9")

    def test_encoderOfDestination(self) -> None:
        """
        The snapshot uses the L{FileDestination}'s own encoder hook.
        """
        f = io.BytesIO()
        writer, _, performAll = self.started(FileDestination(f, json_default=lambda o: "custom"))
        writer(numbered_message(1, thing=object()))
        performAll()
        self.assertEqual(orjson.loads(f.getvalue())["thing"], "custom")

    def _lines(self, paths: List[Path]) -> List[Dict[str, Any]]:
        return [m for p in paths for m in read_json_lines(p)]

    def test_logFileRotation(self) -> None:
        """
        A L{LogFile} rotates by size between writes, and every line is
        whole in one of its files.
        """
        tmp = Path(self.mktemp())
        tmp.mkdir()
        logFile = LogFile("app.log", str(tmp), rotateLength=200)
        self.addCleanup(logFile.close)
        writer, _, performAll = self.started(FileDestination(logFile))  # type: ignore[arg-type]
        for n in range(10):
            writer(numbered_message(n))
            performAll()
        rotated = sorted(tmp.glob("app.log.*"), key=lambda p: -int(p.suffix[1:]))
        self.assertTrue(rotated)
        messages = self._lines([*rotated, tmp / "app.log"])
        self.assertEqual([m["n"] for m in messages], list(range(10)))

    def test_dailyLogFileRotation(self) -> None:
        """
        A L{DailyLogFile} rotates when the day changes between writes.
        """
        tmp = Path(self.mktemp())
        tmp.mkdir()
        logFile = DailyLogFile("app.log", str(tmp))
        self.addCleanup(logFile.close)
        writer, _, performAll = self.started(FileDestination(logFile))  # type: ignore[arg-type]
        writer(numbered_message(1))
        performAll()
        logFile.lastDate = (2000, 1, 1)
        writer(numbered_message(2))
        performAll()
        self.assertEqual([m["n"] for m in read_json_lines(tmp / "app.log.2000_1_1")], [1])
        self.assertEqual([m["n"] for m in read_json_lines(tmp / "app.log")], [2])

