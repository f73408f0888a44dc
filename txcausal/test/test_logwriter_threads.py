"""
Tests for L{txcausal.logwriter} with the real thing: a thread of its own, a
reactor, a process that exits without stopping its writer, real forks, and
the example.
"""

from __future__ import annotations

import io
import os
import re
import select
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, NoReturn

import orjson
from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase, TestCase

from txcausal import FileDestination, log_message, remove_destination
from txcausal._writer import DaemonThreadWorker
from txcausal.logwriter import ThreadedWriter
from txcausal.test._helpers import (
    ImmediateReactor,
    flush_early_buffer,
    read_json_lines,
    run_example,
    run_python,
)
from txcausal.test._writer_harness import real_log_file


class _SlowDestination:
    """
    A destination that sleeps on every message, as a stalled disk would.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.messages: List[Dict[str, Any]] = []
        self.threads: List[threading.Thread] = []

    def __call__(self, message: Dict[str, Any]) -> None:
        time.sleep(self.delay)
        self.threads.append(threading.current_thread())
        self.messages.append(message)


class ThreadedWriterThreadTests(TestCase):
    """
    End-to-end: a L{ThreadedWriter} with a real thread and the real reactor.
    """

    def test_slowDestinationDoesNotStallReactor(self) -> "defer.Deferred[None]":
        """
        With a destination taking 40 ms a message, logging 20 messages takes
        the caller far less than their 800 ms of writing, the reactor keeps
        ticking while they are written, and stopping waits for all of them.
        (The limits are half the time a blocking write would take, so a busy
        machine does not make the test fail.)
        """
        from twisted.internet import reactor

        flush_early_buffer()
        slow = _SlowDestination(0.04)
        writer = ThreadedWriter(slow, reactor)
        writer.startService()
        ticks: List[float] = [time.monotonic()]
        loop = task.LoopingCall(lambda: ticks.append(time.monotonic()))
        loop.start(0.01, now=False)
        for n in range(20):
            log_message("test:slow", n=n)
        self.assertLess(time.monotonic() - ticks[0], 0.4)

        def check(_: object) -> None:
            loop.stop()
            mine = [m["n"] for m in slow.messages if m["message_type"] == "test:slow"]
            self.assertEqual(mine, list(range(20)))
            self.assertNotIn(threading.current_thread(), slow.threads)
            self.assertGreaterEqual(len(ticks), 10)
            self.assertLess(max(b - a for a, b in zip(ticks, ticks[1:], strict=False)), 0.4)

        return writer.stopService().addCallback(check)

    def test_stopThreadingWritesDirectly(self) -> None:
        """
        C{stopThreading} waits until the queue is written; from then on each
        message is written at once, on the thread that logs it.
        """
        flush_early_buffer()
        slow = _SlowDestination(0.001)
        writer = ThreadedWriter(slow)
        writer.startService()
        self.addCleanup(remove_destination, writer)
        for n in range(3):
            log_message("test:queued", n=n)
        writer.stopThreading()
        self.assertEqual([m["n"] for m in slow.messages], [0, 1, 2])
        log_message("test:direct")
        self.assertEqual(slow.messages[-1]["message_type"], "test:direct")
        self.assertIs(slow.threads[-1], threading.current_thread())

    def test_stopThreadingGivesUpOnStuckDestination(self) -> None:
        """
        When the destination is stuck, C{stopThreading} returns after
        C{exitTimeout} and later messages do not block on it: what is lost
        either way is reported on standard error.
        """
        flush_early_buffer()
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        release = threading.Event()
        self.addCleanup(release.set)
        writer = ThreadedWriter(lambda message: None if release.wait(10) else None,
                                exitTimeout=0.05)
        writer.startService()
        self.addCleanup(remove_destination, writer)
        log_message("test:stuck")
        started = time.monotonic()
        writer.stopThreading()
        log_message("test:after")
        self.assertLess(time.monotonic() - started, 5)
        self.assertFalse(writer.running)
        reasons = [orjson.loads(line)["reason"] for line in stderr.getvalue().splitlines()]
        self.assertEqual(reasons, ["not written within the exit timeout of 0.05 s",
                                   "logged after the ThreadedWriter gave up on its destination"
                                   " at exit"])

    def test_workerSurvivesAnything(self) -> None:
        """
        Work that raises, even a L{BaseException}, does not end the default
        worker's thread: the next piece of work still runs.
        """
        worker = DaemonThreadWorker()
        self.addCleanup(worker.quit)
        done = threading.Event()
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)

        def fail() -> None:
            raise SystemExit(2)

        worker.do(fail)
        worker.do(done.set)
        self.assertTrue(done.wait(10))
        self.assertTrue(worker.thread.is_alive())
        self.assertIn("SystemExit", stderr.getvalue())

    def test_daemonThread(self) -> None:
        """
        The default worker's thread is a daemon, so it never keeps a process
        alive.
        """
        worker = DaemonThreadWorker()
        done = threading.Event()
        worker.do(done.set)
        worker.quit()
        self.assertTrue(done.wait(5))
        worker.thread.join(5)
        self.assertTrue(worker.thread.daemon)
        self.assertFalse(worker.thread.is_alive())


_FORGETFUL = """
import sys, time
from txcausal import FileDestination, log_message
from txcausal.logwriter import ThreadedWriter

class Slow(FileDestination):
    def __call__(self, message):
        time.sleep(0.01)
        FileDestination.__call__(self, message)

writer = ThreadedWriter(Slow(open(sys.argv[1], "ab")))
writer.startService()
for n in range(20):
    log_message("test:forgotten", n=n)
"""


class ForgottenStopTests(SynchronousTestCase):
    """
    A process whose writer is never stopped still exits.
    """

    def test_lostAtExitReported(self) -> None:
        """
        When the exit timeout runs out before a backlog is written (2,000
        messages taking 1 ms each, 0.2 s to write them), the process still
        exits, and reports on standard error how many messages it did not
        write: with those written, every message is accounted for, but the
        one in the write that had not returned, which may have finished as
        the process exited: the report counts it, and says it apart.
        """
        path = Path(self.mktemp())
        result = run_python(["-c", _FORGOTTEN_BACKLOG, str(path)], timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        [report] = [orjson.loads(line) for line in result.stderr.splitlines()]
        self.assertEqual(report["message_type"], "txcausal:messages_dropped")
        self.assertIn("exit timeout", report["reason"])
        written = path.read_text().split()
        self.assertGreater(report["count"], 0)
        self.assertIn(report["unfinished_write"], (0, 1))
        self.assertIn(report["count"] + len(written) - 2000, (0, report["unfinished_write"]))
        self.assertEqual(written, [str(n) for n in range(len(written))])

    def test_exitsAndFlushes(self) -> None:
        """
        The process exits promptly and the queued messages are written at
        exit.
        """
        path = Path(self.mktemp())
        result = run_python(["-c", _FORGETFUL, str(path)], timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        mine = [m["n"] for m in read_json_lines(path) if m["message_type"] == "test:forgotten"]
        self.assertEqual(mine, list(range(20)))

    def test_stopNotWaitedForFinishedAtExit(self) -> None:
        """
        A script that stops its writer and exits without waiting for the
        stop's L{Deferred} still has what was queued written before the
        process exits, and what was refused meanwhile reported in the log,
        by the stop.
        """
        path = Path(self.mktemp())
        result = run_python(["-c", _STOPPED_NOT_WAITED, str(path)], timeout=60)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        written = read_json_lines(path)
        mine = [m["n"] for m in written if m["message_type"] == "test:forgotten"]
        self.assertEqual(mine, list(range(20)))
        self.assertEqual([(m["count"], m["reason"]) for m in written
                          if m["message_type"] == "txcausal:messages_dropped"],
                         [(1, "logged while the ThreadedWriter was stopped")])


#: _FORGETFUL, stopping its writer without waiting, then logging once more.
_STOPPED_NOT_WAITED = _FORGETFUL + """
writer.stopService()
writer({"message_type": "test:refused"})
"""


_FORGOTTEN_BACKLOG = """
import sys, time
from txcausal import log_message
from txcausal.logwriter import ThreadedWriter

class Slow:
    def __init__(self, path):
        self.file = open(path, "a")

    def __call__(self, message):
        time.sleep(0.001)
        self.file.write(str(message["n"]) + "\\n")
        self.file.flush()

writer = ThreadedWriter(Slow(sys.argv[1]), exitTimeout=0.2)
writer.startService()
for n in range(2000):
    log_message("test:forgotten", n=n)
"""


class ExampleTests(SynchronousTestCase):
    """
    Run C{examples/threaded_writer_service.py}.
    """

    def test_threadedWriterService(self) -> None:
        """
        The example writes its whole burst through its slow destination,
        which is called for each message on the writer's thread, not the
        reactor's; the writer is stopped only once all of it was written.
        """
        result = run_example("threaded_writer_service.py")
        messages = [orjson.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual([m["n"] for m in messages if m.get("message_type") == "demo:item"],
                         list(range(10)))
        self.assertEqual(messages[-1]["action_status"], "succeeded")
        measured = re.fullmatch(
            r"logging took the reactor \((\S+)\) [0-9.]+ ms; the destination wrote (\d+) "
            r"messages in \d+ ms on (.+)\n", result.stderr)
        assert measured is not None, result.stderr
        reactorThread, calls, writerThreads = measured.groups()
        self.assertEqual(int(calls), len(messages))
        self.assertEqual(writerThreads, "txcausal-writer")
        self.assertNotEqual(reactorThread, writerThreads)


class RealForkTests(TestCase):
    """
    End-to-end: a real fork, a real thread and a real file.
    """

    def test_eachMessageOnce(self) -> "defer.Deferred[None]":
        """
        The parent logs, forks, and logs again; the child, which has no
        writer thread until it logs, logs and stops its writer.  The file
        holds every message exactly once.
        """
        from twisted.internet import reactor

        path, logFile = real_log_file(self)
        writer = ThreadedWriter(FileDestination(logFile), reactor)
        writer.startService()
        for n in range(2000):
            writer({"phase": "before", "n": n})
        pid = os.fork()
        if pid == 0:
            # Only the forking thread: the fork started no writer thread.
            _exitAfter(lambda: threading.active_count() == 1
                       and _logAndStop(writer, "child", 300))
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        for n in range(500):
            writer({"phase": "after", "n": n})

        def check(_: object) -> None:
            lines = path.read_bytes().splitlines()
            messages = [(m["phase"], m["n"]) for m in map(orjson.loads, lines)]
            self.assertEqual(len(messages), 2800)
            self.assertEqual(sorted(messages), sorted(
                [("before", n) for n in range(2000)] + [("child", n) for n in range(300)]
                + [("after", n) for n in range(500)]))

        return writer.stopService().addCallback(check)

    def test_parentExitingAtOnce(self) -> None:
        """
        As twistd going into the background: a process logs, forks and
        exits at once without stopping its writer; its child logs and stops.
        The file holds every message of both exactly once, since the forking
        process wrote its queue before forking.
        """
        path = Path(self.mktemp())
        done, doneWriter = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(done)
            _exitAfter(lambda: _daemonize(path))
        os.close(doneWriter)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        # The end of the pipe: the daemon exited (or timed out).
        ready, _, _ = select.select([done], [], [], 30)
        self.assertTrue(ready and os.read(done, 1) == b"")
        os.close(done)
        messages = [(m["phase"], m["n"]) for m in map(orjson.loads, path.read_bytes().splitlines())]
        self.assertEqual(sorted(messages), sorted(
            [("before", n) for n in range(2000)] + [("daemon", n) for n in range(300)]))


def _exitAfter(body: Callable[[], object]) -> NoReturn:
    """
    In a forked child: run C{body}, then exit, with 0 if it returned a true
    value, 1 otherwise (or if it raised): never back into the test runner.
    """
    code = 1
    try:
        code = 0 if body() else 1
    finally:
        os._exit(code)


def _logAndStop(writer: ThreadedWriter, phase: str, count: int) -> bool:
    """
    Log C{count} messages of C{phase} and stop C{writer} as at exit.
    """
    for n in range(count):
        writer({"phase": phase, "n": n})
    writer.stopThreading()
    return True


def _daemonize(path: Path) -> bool:
    """
    In a forked child: log, fork a daemon that logs and stops its writer,
    and return at once without stopping ours (the caller exits).
    """
    writer = ThreadedWriter(FileDestination(open(path, "ab")), ImmediateReactor())
    writer.startService()
    for n in range(2000):
        writer({"phase": "before", "n": n})
    if os.fork() != 0:
        return True
    _exitAfter(lambda: _logAndStop(writer, "daemon", 300))
