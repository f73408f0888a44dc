"""
End-to-end: what a real C{twistd} does with messages logged after its
causal log stopped, and with a causal log file it cannot open.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import orjson
from twisted.logger import ILogObserver, Logger, LoggingFile, LogPublisher
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from txcausal._failure_reports import standard_error
from txcausal.test._helpers import child_environment, examples_dir, read_json_lines
from txcausal.twistd import LOG_FILE_ENVIRONMENT, CausalLogOptions, causalLogObserver

#: A C{.tac} whose code logs in C{during} and C{after} shutdown triggers,
#: once the L{txcausal.twistd.CausalLogService} has stopped its writer.
_LATE_TAC = """
import os
from twisted.application.service import Application, Service
from twisted.internet import reactor
from txcausal import FileDestination, log_message
from txcausal.logwriter import ThreadedWriter
from txcausal.twistd import CausalLogService

writer = ThreadedWriter(FileDestination(open(os.environ["CAUSAL_LOG"], "ab")))
reactor.addSystemEventTrigger("during", "shutdown", log_message, "app:during-shutdown")
reactor.addSystemEventTrigger("after", "shutdown", log_message, "app:after-shutdown")

class Stopping(Service):
    def startService(self):
        Service.startService(self)
        log_message("app:started")
        reactor.callLater(0, reactor.stop)

application = Application("late")
logged = CausalLogService(writer)
logged.setServiceParent(application)
Stopping().setServiceParent(logged)
"""

#: A C{.tac} whose C{after} shutdown trigger logs to a destination that fails.
_AFTER_FAIL_TAC = """
from twisted.application.service import Application, Service
from twisted.internet import reactor
from txcausal import add_destinations, log_message

def failing(message):
    raise OSError("disk gone")

def late():
    add_destinations(failing)
    log_message("app:after-shutdown")

reactor.addSystemEventTrigger("after", "shutdown", late)

class Stopping(Service):
    def startService(self):
        Service.startService(self)
        reactor.callLater(0, reactor.stop)

application = Application("afterfail")
Stopping().setServiceParent(application)
"""

#: A program without twistd: Twisted's log (standard error redirected to it)
#: in a file, a message logged once its writer stopped.
_PLAIN_PROGRAM = """
import os, sys
from twisted.internet import reactor
from twisted.logger import globalLogBeginner, textFileLogObserver
from txcausal import FileDestination, log_message
from txcausal.logwriter import ThreadedWriter

here = sys.argv[1]
globalLogBeginner.beginLoggingTo(
    [textFileLogObserver(open(os.path.join(here, "app.log"), "w"))], redirectStandardIO=True)
writer = ThreadedWriter(FileDestination(open(os.path.join(here, "causal.log"), "ab")))
writer.startService()
log_message("app:started")

def stop():
    writer.stopService().addCallback(lambda _: log_message("app:late")).addBoth(
        lambda _: reactor.stop())

reactor.callLater(0, stop)
reactor.run()
"""


def runTwistd(case: SynchronousTestCase, args: List[str], files: Dict[str, str],
              environ: Dict[str, str]) -> Tuple[int, str, str, Path]:
    """
    Run a real C{twistd -n} to its end in a directory of its own holding
    C{files}.

    @return: Its exit code, standard output (twistd's log), standard error,
        and its directory.
    """
    here = Path(case.mktemp()).absolute()
    # A copy, so the plugin cache twistd writes stays out of the tree.
    shutil.copytree(examples_dir() / "twistd_plugin", here)
    for name, text in files.items():
        (here / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
         "-n", "--pidfile=", *args],
        cwd=here, env=child_environment(environ, [here]),
        capture_output=True, timeout=60)
    return (done.returncode, done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"), here)


def _jsonLines(text: str) -> List[Dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


class LateMessagesTests(SynchronousTestCase):
    """
    Messages logged by shutdown triggers after a C{CausalLogService} stopped
    its writer, under a real C{twistd -n}.
    """

    def test_reportedOnStandardError(self) -> None:
        """
        They are counted and reported on the process's standard error,
        not on the C{LoggingFile} twistd put in C{sys.stderr}, whose log
        has stopped by then.
        """
        code, out, err, here = runTwistd(self, ["-y", "late.tac"], {"late.tac": _LATE_TAC},
                                         {"CAUSAL_LOG": "causal.log"})
        self.assertEqual(code, 0, out + err)
        self.assertEqual([m["message_type"] for m in read_json_lines(here / "causal.log")],
                         ["app:started"])
        reports = [m for m in _jsonLines(err)
                   if m.get("message_type") == "txcausal:messages_dropped"]
        self.assertEqual([m["count"] for m in reports], [2], out + err)

    def test_afterTriggerInLogFile(self) -> None:
        """
        What an C{after} shutdown trigger's failing destination reports goes
        into twistd's C{--logfile}, which is still up then (twistd stops it
        once the reactor has returned): a daemon's standard error is
        C{/dev/null}.
        """
        code, out, err, here = runTwistd(self, ["--logfile", "twistd.log", "-y", "fail.tac"],
                                         {"fail.tac": _AFTER_FAIL_TAC}, {})
        self.assertEqual(code, 0, out + err)
        self.assertIn("disk gone", (here / "twistd.log").read_text(), out + err)
        self.assertNotIn("disk gone", out + err)

    def test_plainProgramLog(self) -> None:
        """
        A program without twistd whose Twisted log (standard error redirected
        to it) outlives its reactor gets its exit report in that log.
        """
        here = Path(self.mktemp()).absolute()
        here.mkdir()
        done = subprocess.run([sys.executable, "-c", _PLAIN_PROGRAM, str(here)],
                              capture_output=True, timeout=60)
        err = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
        self.assertEqual(done.returncode, 0, err)
        logged = [line[line.index("{"):] for line in
                  (here / "app.log").read_text().splitlines() if "{" in line]
        reports = [m for m in _jsonLines("\n".join(logged))
                   if m.get("message_type") == "txcausal:messages_dropped"]
        self.assertEqual([m["count"] for m in reports], [1], err)
        self.assertNotIn("messages_dropped", err)


@implementer(ILogObserver)
class _Observer:
    def __call__(self, event: Any) -> None:
        pass


class StandardErrorTests(SynchronousTestCase):
    """
    Tests for L{standard_error}, given a C{sys} of the test's making.
    """

    def fakeSys(self, stderr: Any) -> Any:
        fake = type("FakeSys", (), {})()
        fake.stderr, fake.__stderr__, fake.modules = stderr, object(), sys.modules
        return fake

    def test_plainStream(self) -> None:
        """
        A standard error that is not a C{LoggingFile} is used as it is.
        """
        fake = self.fakeSys(sys.stderr)
        self.assertIs(standard_error(fake), sys.stderr)

    def test_loggingFileObserved(self) -> None:
        """
        A C{LoggingFile} whose publisher has an observer (twistd's log, even
        in a shutdown trigger) is used: what is written there reaches it.
        An observer that is not a C{LogPublisher} counts as one.
        """
        observers: List[ILogObserver] = [LogPublisher(_Observer()), _Observer()]
        for observer in observers:
            stream = LoggingFile(Logger(observer=observer))
            self.assertIs(standard_error(self.fakeSys(stream)), stream)

    def test_loggingFileUnobserved(self) -> None:
        """
        A C{LoggingFile} whose publisher has no observer left (twistd stopped
        its log) gives way to the process's own standard error.
        """
        observer = _Observer()
        publisher = LogPublisher(observer)
        publisher.removeObserver(observer)
        fake = self.fakeSys(LoggingFile(Logger(observer=publisher)))
        self.assertIs(standard_error(fake), fake.__stderr__)

    def test_streamGiven(self) -> None:
        """
        A stream given is where reports go, whatever C{sys} holds: a
        writer's own standard error is used as it is.
        """
        observer = _Observer()
        publisher = LogPublisher(observer)
        publisher.removeObserver(observer)
        fake = self.fakeSys(LoggingFile(Logger(observer=publisher)))
        stream = io.StringIO()
        self.assertIs(standard_error(fake, stream=stream), stream)
        self.assertIs(standard_error(fake, stream=None), fake.__stderr__)


class BadPathTests(SynchronousTestCase):
    """
    A causal log file that cannot be opened, or an empty name, is told
    in one line, before anything runs.
    """

    def badPaths(self) -> List[str]:
        """
        @return: A path in a directory that does not exist, and a directory.
        """
        here = Path(self.mktemp()).absolute()
        here.mkdir()
        return [str(here / "missing" / "app.log"), str(here)]

    def test_optionUnopenable(self) -> None:
        """
        C{--causal-log} naming a file that cannot be opened is a usage error
        of the options themselves, naming the file and why.
        """
        for path in self.badPaths():
            options = CausalLogOptions()
            exc = self.assertRaises(usage.UsageError, options.parseOptions,
                                    ["--causal-log", path])
            self.assertIn(repr(path), str(exc))
            self.assertIn(os.strerror(2 if path.endswith(".log") else 21), str(exc))

    def test_optionPipe(self) -> None:
        """
        C{--causal-log} naming a pipe (C{/dev/stdout} piped, say), which
        opens for appending but is not a file the writer can seek in, is a
        usage error of the options, as the writer would fail later.
        """
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        self.addCleanup(os.close, write)
        path = f"/dev/fd/{write}"
        exc = self.assertRaises(usage.UsageError, CausalLogOptions().parseOptions,
                                ["--causal-log", path])
        self.assertIn(repr(path), str(exc))
        self.assertIn(os.strerror(errno.ESPIPE), str(exc))

    def usageExitCode(self) -> int:
        """
        @return: How this Twisted's twistd exits on a usage error of a
            plugin's options: 1 (Twisted 23.10 exited with 0).
        """
        code, out, err, _ = runTwistd(self, ["causal-example", "--no-such-option"], {}, {})
        self.assertIn("no-such-option", out + err)
        return code

    def test_twistdStandardOutputPipe(self) -> None:
        """
        A real twistd given C{--causal-log /dev/stdout}, its standard output
        a pipe, exits as on any usage error, without a Python traceback.
        """
        code, out, err, _ = runTwistd(
            self, ["causal-example", "--count", "1", "--causal-log", "/dev/stdout"], {}, {})
        self.assertEqual(code, self.usageExitCode(), out + err)
        self.assertNotIn("Traceback", out + err)
        self.assertIn("'/dev/stdout'", out + err)

    def test_optionEmpty(self) -> None:
        """
        An empty C{--causal-log} (a variable left unset in a unit file, say)
        is a usage error, not a run without a causal log.
        """
        exc = self.assertRaises(usage.UsageError, CausalLogOptions().parseOptions,
                                ["--causal-log", ""])
        self.assertIn("--causal-log", str(exc))

    def test_loggerUnopenable(self) -> None:
        """
        C{causalLogObserver} given a file it cannot open exits with one line
        naming the variable, the file and why.
        """
        for path in self.badPaths():
            exc = self.assertRaises(SystemExit, causalLogObserver, {LOG_FILE_ENVIRONMENT: path})
            self.assertIsInstance(exc.code, str)
            self.assertIn(f"${LOG_FILE_ENVIRONMENT}", str(exc.code))
            self.assertIn(repr(path), str(exc.code))
            self.assertNotIn("\n", str(exc.code))

    def test_twistdOptionAndLogger(self) -> None:
        """
        A real twistd given a C{--causal-log} or a C{$TXCAUSAL_LOG_FILE} in a
        directory that does not exist exits as on any usage error (the
        logger with 1), with a message naming the file and without a Python
        traceback.
        """
        path = self.badPaths()[0]
        for args, environ, exit in (
                (["causal-example", "--count", "1", "--causal-log", path], {},
                 self.usageExitCode()),
                (["--logger", "txcausal.twistd.causalLogObserver", "causal-example"],
                 {LOG_FILE_ENVIRONMENT: path}, 1)):
            code, out, err, _ = runTwistd(self, args, {}, environ)
            self.assertEqual(code, exit, out + err)
            self.assertNotIn("Traceback", out + err)
            self.assertIn(repr(path), out + err)
