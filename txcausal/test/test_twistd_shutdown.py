"""
End-to-end: a real C{twistd} stopped by C{SIGTERM} while its causal log has
a backlog, or a destination that hangs or raises C{SystemExit}: the backlog
is written before the process exits, and stopping always finishes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List

import orjson
from twisted import __version__ as twisted_version
from twisted.trial.unittest import SynchronousTestCase

from .test_file_fulldisk import SmallDiskMixin
from .test_twistd import _Twistd, _types

#: Destinations and services that misbehave, on the path of the twistd runs.
_FAULTY = '''
import os
import threading
import time

from twisted.application.service import Application, Service
from twisted.python.logfile import DailyLogFile

from txcausal import FileDestination, log_message
from txcausal.logwriter import ThreadedWriter
from txcausal.twistd import LOG_FILE_ENVIRONMENT, CausalLogService, causalLogObserverFor

COUNT = int(os.environ["FAULTY_COUNT"])
LOG = os.environ[LOG_FILE_ENVIRONMENT]


class SlowFile:
    """A binary file taking 15 us a line, as a slow disk."""
    mode = "ab"

    def __init__(self, path):
        self._file = open(path, "ab")

    def write(self, data):
        time.sleep(data.count(b"\\n") * 15e-6)
        return self._file.write(data)

    def flush(self):
        self._file.flush()


class Faulty:
    """A file destination that hangs for ever on message 5, or raises
    SystemExit on message 3."""

    def __init__(self, path):
        self._file = FileDestination(open(path, "ab"))

    def __call__(self, message):
        fault = os.environ["FAULTY_FAULT"]
        if fault == "hang" and message.get("n") == 5:
            threading.Event().wait()
        if fault == "exit" and message.get("n") == 3:
            raise SystemExit(3)
        self._file(message)

    def __repr__(self):
        return "<Faulty>"


class Burst(Service):
    """Logs COUNT messages on startup."""

    def startService(self):
        Service.startService(self)
        for n in range(COUNT):
            log_message(message_type="test:burst", n=n)


def slowLogObserver():
    """A --logger: the wiring of txcausal.twistd.causalLogObserver, slow file."""
    return causalLogObserverFor(ThreadedWriter(FileDestination(SlowFile(LOG)), exitTimeout=0.5))


def faultyLogObserver():
    """A --logger: the wiring of txcausal.twistd.causalLogObserver, Faulty file."""
    return causalLogObserverFor(ThreadedWriter(Faulty(LOG), exitTimeout=0.5))


def dailyLogObserver():
    """A --logger of one's own, as the docs show it: a DailyLogFile."""
    return causalLogObserverFor(ThreadedWriter(FileDestination(DailyLogFile.fromFullPath(LOG))))


def logged(destination):
    """An application whose Burst logs through a CausalLogService."""
    application = Application("faulty")
    service = CausalLogService(ThreadedWriter(destination, exitTimeout=0.5))
    service.setServiceParent(application)
    Burst().setServiceParent(service)
    return application
'''

_FILES = {
    "faulty.py": _FAULTY,
    "burst.tac": "from twisted.application.service import Application\n"
                 "from faulty import Burst\n"
                 "application = Application('burst')\n"
                 "Burst().setServiceParent(application)\n",
    "slow.tac": "from txcausal import FileDestination\n"
                "from faulty import LOG, SlowFile, logged\n"
                "application = logged(FileDestination(SlowFile(LOG)))\n",
    "faulty.tac": "from faulty import LOG, Faulty, logged\n"
                  "application = logged(Faulty(LOG))\n",
}


def _burst(messages: List[Dict[str, Any]]) -> List[int]:
    return [m["n"] for m in messages if m.get("message_type") == "test:burst"]


def _reports(output: str) -> List[Dict[str, Any]]:
    """
    @return: The JSON reports written to standard error, in twistd's output
        (which logs each line written there, after a prefix).
    """
    return [orjson.loads(line[line.index("{"):]) for line in output.splitlines()
            if "[stderr#error] {" in line]


class TwistdShutdownTests(SynchronousTestCase):
    """
    A real C{twistd -n} sent C{SIGTERM} with a backlog, or a destination that
    misbehaves.  The writers' C{exitTimeout} is half a second.
    """

    def twistd(self, args: List[str], count: int, fault: str = "") -> _Twistd:
        log = Path(self.mktemp()).absolute()
        twistd = _Twistd(self, args, log, files=_FILES,
                         environ={"FAULTY_COUNT": str(count), "FAULTY_FAULT": fault})
        twistd.waitUntilRunning()
        return twistd

    def assertWholeBurst(self, twistd: _Twistd, messages: List[Dict[str, Any]]) -> None:
        """
        Assert that the 80,000 messages of the burst are all in the log, in
        order, and that twistd reported no loss.
        """
        output = twistd.outputText()
        self.assertEqual(len(_burst(messages)), 80_000, output[-3000:])
        self.assertEqual(_burst(messages), list(range(80_000)))
        self.assertNotIn("txcausal:messages_dropped", output)

    def test_loggerBacklog(self) -> None:
        """
        With the C{--logger} factory's wiring, a backlog that takes longer
        than the exit timeout to write (80,000 lines at 15 us, in writes of
        0.1 s each) is written as the reactor shuts down: nothing is lost,
        and twistd's last event still ends the file.
        """
        twistd = self.twistd(["--logger", "faulty.slowLogObserver", "-y", "plugin/burst.tac"],
                             80_000)
        messages = twistd.terminate()
        self.assertWholeBurst(twistd, messages)
        texts = [m["message"] for m in messages if m.get("message_type") == "twisted:log"]
        self.assertEqual(texts[-1], "Server Shut Down.")

    def test_serviceBacklog(self) -> None:
        """
        A L{txcausal.twistd.CausalLogService} (as C{--causal-log} and the
        C{.tac} recipe make) writes a backlog longer than the exit timeout
        before the process exits.
        """
        twistd = self.twistd(["-y", "plugin/slow.tac"], 80_000)
        self.assertWholeBurst(twistd, twistd.terminate())

    def test_hungDestination(self) -> None:
        """
        A destination that never returns does not stop twistd from exiting:
        the writer gives up after the exit timeout, and twistd's output
        says how many messages were not written.
        """
        twistd = self.twistd(["-y", "plugin/faulty.tac"], 10, "hang")
        messages = twistd.terminate()
        self.assertEqual(_burst(messages), [0, 1, 2, 3, 4])
        output = twistd.outputText()
        reports = _reports(output)
        self.assertEqual(len(reports), 1, output)
        [report] = reports
        self.assertEqual((report["message_type"], report["count"], report["unfinished_write"]),
                         ("txcausal:messages_dropped", 5, 1))

    def test_loggerHungDestination(self) -> None:
        """
        Under C{--logger}, where standard error feeds the log that hangs,
        what the writer gave up on is reported on twistd's own standard
        error, with twistd's last events, logged after it gave up.
        """
        twistd = self.twistd(["--logger", "faulty.faultyLogObserver", "-y", "plugin/burst.tac"],
                             10, "hang")
        messages = twistd.terminate()
        self.assertEqual(_burst(messages), [0, 1, 2, 3, 4])
        output = twistd.outputText()
        reports = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
        self.assertEqual([report["message_type"] for report in reports],
                         ["txcausal:messages_dropped"] * 3, output)
        gaveUp, *after = reports
        self.assertIn("exit timeout", gaveUp["reason"])
        # Messages 5 to 9, and Twisted's events logged until the reactor
        # stopped, one of them in the write that never returned.
        self.assertGreaterEqual(gaveUp["count"], 5)
        self.assertEqual(gaveUp["unfinished_write"], 1)
        self.assertEqual([orjson.loads(report["message"])["message"] for report in after],
                         ["Main loop terminated.", "Server Shut Down."])

    def test_destinationRaisingSystemExit(self) -> None:
        """
        A destination raising C{SystemExit} is a failing destination: the
        writer reports it, writes the other messages, and stops when twistd
        does.  The writer being txcausal's only destination, the report goes
        to standard error, which twistd logs (it may reach the file too, if
        the writer had not stopped yet).
        """
        twistd = self.twistd(["-y", "plugin/faulty.tac"], 10, "exit")
        messages = twistd.terminate()
        self.assertEqual(_burst(messages), [0, 1, 2, 4, 5, 6, 7, 8, 9])
        [failure] = _reports(twistd.outputText())
        self.assertEqual((failure["message_type"], failure["exception"], failure["lost"]),
                         ("eliot:destination_failure", "builtins.SystemExit", 1))


class FullDiskTests(SmallDiskMixin, SynchronousTestCase):
    """
    A real C{twistd -n} whose C{--logger} writes to a C{DailyLogFile} on a
    small disk that fills up, then has room again, before C{SIGTERM}.
    """

    def test_dailyLogFileFillsUp(self) -> None:
        """
        The loss is reported on twistd's standard error as it happens, and
        in the file once it has room; the file holds whole lines only, and
        every message of the burst is in it or counted as lost.
        """
        disk = self.smallDisk().absolute()
        freeRest = self.fill(disk)
        twistd = _Twistd(self, ["--logger", "faulty.dailyLogObserver", "-y", "plugin/burst.tac"],
                         disk / "app.log", files=_FILES, environ={"FAULTY_COUNT": "2000"})
        twistd.waitUntilRunning()
        failures = self.waitForReports(twistd)
        freeRest()
        messages = twistd.terminate()
        dropped = [m["count"] for m in messages if m["message_type"] == "txcausal:messages_dropped"]
        written = _burst(messages)
        self.assertEqual(written, list(range(len(written))))
        # The reports count the burst's messages lost, and the failure's
        # report, which the writer tries to write to the file too, unless
        # that is done once there is room again.
        reportLost = "eliot:destination_failure" not in _types(messages)
        self.assertEqual(2000 - len(written) + reportLost,
                         sum(f["lost"] for f in failures) + sum(dropped))
        self.assertEqual(messages[-1].get("message"), "Server Shut Down.")

    def waitForReports(self, twistd: _Twistd) -> List[Dict[str, Any]]:
        """
        Wait for a report of a destination failure on twistd's standard
        error.

        @return: The reports there.
        """
        end = time.monotonic() + 30
        while time.monotonic() < end:
            reports = [orjson.loads(line) for line in twistd.outputText().splitlines()
                       if line.startswith("{")]
            if reports:
                self.assertEqual({r["message_type"] for r in reports},
                                 {"eliot:destination_failure"})
                return reports
            time.sleep(0.05)
        self.fail(f"no report on standard error:\n{twistd.outputText()}")


class LoggerClassTests(SynchronousTestCase):
    """
    C{twistd --logger} given C{CausalLogObserver}, the class rather than the
    factory: alone it writes nothing.
    """

    def test_failsLoudly(self) -> None:
        """
        twistd refuses it at once, by either of its names, saying which
        factory to use.  By the name in C{txcausal.twistd}, which twistd
        cannot import, that is a usage error: its exit status is twistd's
        for one, 1 since Twisted 26.10, 0 before.  By the class's own name,
        making the observer raises: 1.
        """
        usage_status = 1 if tuple(map(int, twisted_version.split(".")[:2])) >= (26, 10) else 0
        for name, status in [("txcausal.twistd.CausalLogObserver", usage_status),
                             ("txcausal.twisted.CausalLogObserver", 1)]:
            log = Path(self.mktemp()).absolute()
            twistd = _Twistd(self, ["--logger", name, "causal-example"], log)
            self.assertEqual(twistd.process.wait(30), status)
            self.assertIn("--logger txcausal.twistd.causalLogObserver", twistd.outputText())
            self.assertFalse(log.exists())
