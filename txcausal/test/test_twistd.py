"""
Tests for L{txcausal.twistd}, and the twistd examples run by a real twistd.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import orjson
from twisted.application.service import IService, Service
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import ILogObserver
from twisted.python import usage
from twisted.python.reflect import namedAny
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import log_message, remove_destination
from txcausal._writer import MemoryWorker, createMemoryWorker
from txcausal.logwriter import ThreadedWriter
from txcausal.test._helpers import (
    ImmediateReactor,
    IsolatedOutputMixin,
    child_environment,
    examples_dir,
    flush_early_buffer,
    read_json_lines,
)
from txcausal.twistd import (
    DEFAULT_LOG_FILE,
    LOG_FILE_ENVIRONMENT,
    CausalLogOptions,
    CausalLogService,
    causalLogObserver,
    causalLogObserverFor,
    withCausalLog,
)


def _types(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("message_type") or f"{m['action_type']}/{m['action_status']}" for m in messages]


def _logFile(writer: ThreadedWriter) -> Any:
    """
    @return: The L{LogFile} of a writer made by L{txcausal.twistd}.
    """
    destination: Any = writer.destination
    return destination.file


class _Options(CausalLogOptions):
    optParameters = [["port", "p", 8080, "A plugin's own option.", int]]  # type: ignore[list-item]


class CausalLogOptionsTests(SynchronousTestCase):
    """
    Tests for L{CausalLogOptions} and L{withCausalLog}.
    """

    def test_option(self) -> None:
        """
        A subclass has C{--causal-log} beside its own options; it defaults
        to C{None}.
        """
        path = self.mktemp()
        options = _Options()
        options.parseOptions(["--causal-log", path, "--port", "1"])
        self.assertEqual((options["causal-log"], options["port"]), (path, 1))
        options = _Options()
        options.parseOptions([])
        self.assertIsNone(options["causal-log"])

    def test_withoutOption(self) -> None:
        """
        Without C{--causal-log}, the service is returned unchanged.
        """
        service = Service()
        self.assertIs(withCausalLog({"causal-log": None}, service), service)

    def test_withOption(self) -> None:
        """
        With C{--causal-log FILE}, the service becomes the child of a
        L{CausalLogService} whose writer appends to FILE.
        """
        path = Path(self.mktemp())
        service = Service()
        logged = withCausalLog({"causal-log": str(path)}, service)
        assert isinstance(logged, CausalLogService)
        self.assertEqual(list(logged), [service])
        self.assertEqual(_logFile(logged.writer).path, str(path.absolute()))
        self.assertTrue(path.exists())
        _logFile(logged.writer).close()

    def test_unopenableFile(self) -> None:
        """
        A file that cannot be opened is a usage error naming it.
        """
        path = str(Path(self.mktemp()) / "missing" / "app.log")
        exc = self.assertRaises(usage.UsageError, withCausalLog, {"causal-log": path}, Service())
        self.assertIn(path, str(exc))


class _SlowStop(Service):
    """
    A service whose stop takes until the test fires it.
    """

    def __init__(self, writer: ThreadedWriter) -> None:
        self.writer = writer
        self.stopping: "Deferred[None]" = Deferred()
        self.writerRunningAtStart = False

    def startService(self) -> None:
        Service.startService(self)
        self.writerRunningAtStart = bool(self.writer.running)

    def stopService(self) -> "Deferred[None]":
        Service.stopService(self)
        return self.stopping


class CausalLogServiceTests(SynchronousTestCase):
    """
    Tests for L{CausalLogService}.
    """

    def setUp(self) -> None:
        flush_early_buffer()
        self.written: List[Dict[str, Any]] = []
        self.performers: List[Callable[[], bool]] = []

        def createWorker() -> MemoryWorker:
            worker, perform = createMemoryWorker()
            self.performers.append(perform)
            return worker

        self.writer = ThreadedWriter(self.written.append, ImmediateReactor(),
                                     createWorker=createWorker)
        self.logged = CausalLogService(self.writer)
        self.child = _SlowStop(self.writer)
        self.child.setServiceParent(self.logged)

    def performAll(self) -> None:
        for perform in self.performers:
            while perform():
                pass

    def test_interface(self) -> None:
        """
        A L{CausalLogService} provides L{IService}.
        """
        self.assertTrue(verifyObject(IService, self.logged))

    def test_onlyWriters(self) -> None:
        """
        A L{CausalLogService} needs a L{ThreadedWriter}.
        """
        self.assertRaises(TypeError, CausalLogService, print)

    def test_writerFirstAndLast(self) -> None:
        """
        The writer starts before the children and stops only after their
        stop has finished, so what they log meanwhile is written.
        """
        self.logged.startService()
        self.assertTrue(self.child.writerRunningAtStart)
        d = self.logged.stopService()
        self.assertTrue(self.writer.running)
        log_message("test:stopping")
        self.child.stopping.callback(None)
        self.assertNoResult(d)
        self.performAll()
        self.successResultOf(d)
        self.assertFalse(self.writer.running)
        self.assertEqual(_types(self.written), ["test:stopping"])


class _Broken:
    """
    A destination that raises.
    """

    def __call__(self, message: Dict[str, Any]) -> None:
        raise OSError("gone")


class CausalLogObserverTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Tests for L{causalLogObserver}, the C{twistd --logger} factory.
    """

    def observe(self, environ: Dict[str, str]) -> Tuple[Any, ThreadedWriter, Callable[[], None]]:
        flush_early_buffer()
        reactor = MemoryReactorClock()
        observer = causalLogObserver(environ, reactor)
        [(stopThreading, _, _)] = reactor.triggers["after"]["shutdown"]
        writer = stopThreading.__self__
        [(flush, _, _)] = reactor.triggers["before"]["shutdown"]
        self.assertEqual(flush, writer.flush)
        self.addCleanup(lambda: _logFile(writer).close())
        self.addCleanup(remove_destination, writer)
        self.addCleanup(stopThreading)
        return observer, writer, stopThreading

    def test_bridgesTwistedEvents(self) -> None:
        """
        The observer turns Twisted events into messages that, with those
        logged with txcausal, reach the file named by the environment; after
        the reactor's shutdown they are written at once.
        """
        path = Path(self.mktemp())
        observer, writer, afterShutdown = self.observe({LOG_FILE_ENVIRONMENT: str(path)})
        self.assertTrue(verifyObject(ILogObserver, observer))
        observer({"log_format": "hello {who}", "who": "twistd", "log_namespace": "test",
                  "log_time": 0.0})
        log_message("test:causal")
        afterShutdown()
        log_message("test:late")
        messages = read_json_lines(path)
        self.assertEqual(_types(messages), ["twisted:log", "test:causal", "test:late"])
        self.assertEqual(messages[0]["message"], "hello twistd")

    def test_reportsToStandardErrorBeforeRedirection(self) -> None:
        """
        The reports of a writer given to L{causalLogObserverFor} that no
        other destination takes go to the standard error of when it was
        called, not to what twistd replaces it with afterwards (a file
        feeding the log that this writer writes).
        """
        self.isolate()
        before = io.StringIO()
        self.patch(sys, "stderr", before)
        worker, perform = createMemoryWorker()
        writer = ThreadedWriter(_Broken(), ImmediateReactor(), createWorker=lambda: worker)
        causalLogObserverFor(writer, MemoryReactorClock())
        self.addCleanup(writer.stopThreading)
        self.patch(sys, "stderr", io.StringIO())
        log_message("test:lost")
        while perform():
            pass
        [report] = map(orjson.loads, before.getvalue().splitlines())
        self.assertEqual((report["message_type"], report["lost"]),
                         ("eliot:destination_failure", 1))

    def test_classIsNotALogger(self) -> None:
        """
        C{txcausal.twistd.CausalLogObserver}, the class given to C{--logger}
        by mistake for the factory, cannot be imported: the error names the
        factory.
        """
        exc = self.assertRaises(AttributeError, namedAny, "txcausal.twistd.CausalLogObserver")
        self.assertIn("txcausal.twistd.causalLogObserver", str(exc))
        self.assertRaises(AttributeError, namedAny, "txcausal.twistd.NoSuchThing")

    def test_defaultFile(self) -> None:
        """
        Without the environment variable, the file is C{txcausal.log} in the
        current directory.
        """
        here = Path(self.mktemp()).absolute()
        here.mkdir()
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(here)
        _, writer, _ = self.observe({})
        self.assertEqual(_logFile(writer).path, str((here / DEFAULT_LOG_FILE).absolute()))


#: The name of the file a twistd run by L{_Twistd} creates once its reactor
#: runs.
_RUNNING = "reactor-running"

#: What L{_Twistd} runs: twistd itself, having asked the reactor it will run
#: to create L{_RUNNING} once running, that is, once it handles C{SIGTERM}
#: (installed as the reactor starts; a C{SIGTERM} before kills the process).
_RUN_TWISTD = (
    "from pathlib import Path\n"
    "from twisted.internet import reactor\n"
    f"reactor.callWhenRunning(Path({_RUNNING!r}).touch)\n"
    "from twisted.scripts.twistd import run\n"
    "run()\n"
)


class _Twistd:
    """
    A real C{twistd -n} subprocess, in a temporary directory, with the
    example plugin on its path.
    """

    def __init__(self, case: SynchronousTestCase, args: List[str], log: Path,
                 daemon: bool = False, files: Optional[Dict[str, str]] = None,
                 environ: Optional[Dict[str, str]] = None) -> None:
        """
        @param files: Modules and C{.tac} files, by name, to put on the path
            (in the directory holding the example plugin).
        @param environ: More environment variables.
        """
        self.dir = Path(case.mktemp()).absolute()
        self.pidfile = self.dir / "twistd.pid"
        self.daemon = daemon
        # A copy, so the plugin cache twistd writes stays out of the tree.
        shutil.copytree(examples_dir() / "twistd_plugin", self.dir / "plugin")
        for name, text in (files or {}).items():
            (self.dir / "plugin" / name).write_text(text)
        self.log = log
        env = child_environment({LOG_FILE_ENVIRONMENT: str(log), **(environ or {})},
                                [self.dir / "plugin"])
        self.output = open(self.dir / "output.txt", "wb")
        case.addCleanup(self.output.close)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _RUN_TWISTD,
             *([f"--pidfile={self.pidfile}"] if daemon else ["-n", "--pidfile="]), *args],
            cwd=self.dir, env=env, stdout=self.output, stderr=subprocess.STDOUT)
        case.addCleanup(self.kill)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.pidfile.exists():
            try:
                os.kill(int(self.pidfile.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass

    def terminateDaemon(self, deadline: float = 30) -> List[Dict[str, Any]]:
        """
        Stop a daemonized twistd with SIGTERM, wait for it to be gone, and
        return what it logged.
        """
        pid = int(self.pidfile.read_text())
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + deadline
        while self.pidfile.exists() and time.monotonic() < end:
            time.sleep(0.05)
        assert not self.pidfile.exists(), "twistd did not stop"
        return read_json_lines(self.log)

    def waitForFile(self, name: str, deadline: float = 30) -> None:
        """
        Poll until a file of this name is in twistd's directory.
        """
        end = time.monotonic() + deadline
        while time.monotonic() < end and (self.daemon or self.process.poll() is None):
            if (self.dir / name).exists():
                return
            time.sleep(0.02)
        self.kill()
        raise AssertionError(f"no {name}:\n{self.outputText()}")

    def waitUntilRunning(self) -> None:
        """
        Wait until the reactor runs, so that a C{SIGTERM} stops it as it
        should rather than killing the process.
        """
        self.waitForFile(_RUNNING)

    def outputText(self) -> str:
        """
        @return: What twistd wrote on its standard output and error.
        """
        self.output.flush()
        return (self.dir / "output.txt").read_text()

    def terminate(self) -> List[Dict[str, Any]]:
        """
        Stop twistd with SIGTERM and return what it logged.
        """
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        assert code in (0, -signal.SIGTERM), (self.dir / "output.txt").read_text()
        return read_json_lines(self.log)


class TwistdTests(SynchronousTestCase):
    """
    End-to-end: the examples run by a real C{twistd}, stopped by SIGTERM.
    """

    def test_pluginNothingLostAtShutdown(self) -> None:
        """
        The example plugin with C{--causal-log} logs 200 items at startup
        and an asynchronous shutdown action, all in the file after SIGTERM.
        """
        log = Path(self.mktemp()).absolute()
        twistd = _Twistd(self, ["causal-example", "--count", "200", "--causal-log", str(log)], log)
        twistd.waitUntilRunning()
        messages = twistd.terminate()
        items = [m["n"] for m in messages if m.get("message_type") == "example:item"]
        self.assertEqual(items, list(range(200)))
        self.assertEqual(_types(messages)[-3:], ["example:shutdown/started", "example:goodbye",
                                                  "example:shutdown/succeeded"])

    def test_loggerFactory(self) -> None:
        """
        With C{--logger txcausal.twistd.causalLogObserver}, Twisted's own
        events, from startup to the last one, share the file with the
        plugin's messages.
        """
        log = Path(self.mktemp()).absolute()
        twistd = _Twistd(self, ["--logger", "txcausal.twistd.causalLogObserver",
                                "causal-example", "--count", "3"], log)
        twistd.waitUntilRunning()
        messages = twistd.terminate()
        texts = [m["message"] for m in messages if m.get("message_type") == "twisted:log"]
        self.assertIn("starting up", texts[0])
        self.assertEqual(texts[-1], "Server Shut Down.")
        self.assertIn("example:goodbye", _types(messages))

    def test_loggerFactoryDaemonized(self) -> None:
        """
        Without C{-n}, twistd forks into the background after starting its
        logger: the writer follows it into the daemon, so the daemon's work
        and shutdown are in the file.
        """
        log = Path(self.mktemp()).absolute()
        twistd = _Twistd(self, ["--logger", "txcausal.twistd.causalLogObserver",
                                "causal-example", "--count", "3"], log, daemon=True)
        self.assertEqual(twistd.process.wait(30), 0)
        twistd.waitUntilRunning()
        messages = twistd.terminateDaemon()
        self.assertEqual([m["n"] for m in messages if m.get("message_type") == "example:item"],
                         [0, 1, 2])
        self.assertIn("example:goodbye", _types(messages))

    def test_tacRecipe(self) -> None:
        """
        C{examples/causal.tac} run by C{twistd -y} logs its startup and its
        shutdown.
        """
        log = Path(self.mktemp()).absolute()
        twistd = _Twistd(self, ["-y", str(examples_dir() / "causal.tac")], log)
        twistd.waitUntilRunning()
        messages = twistd.terminate()
        self.assertEqual(_types(messages), ["tac:startup/started", "tac:hello",
                                            "tac:startup/succeeded", "tac:goodbye"])
