"""
Tests of logging re-entered on a thread that holds one of the logging
path's locks: what a signal handler (Python runs it on the main thread
between two bytecodes) or a finalizer (run by the garbage collector at an
allocation) logs there.  A trace function plays the signal handler, at a
line run while the lock is held; each test runs in a thread joined with a
timeout, so that a deadlock fails the test rather than hangs the suite.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Dict, List, Optional, Type, TypeVar

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal._feedback import FEEDBACK
from txcausal._queue import BoundedQueue
from txcausal.logwriter import ThreadedWriter

from ._helpers import IsolatedOutputMixin

#: How long a test's thread may take before it is taken for deadlocked.
DEADLOCK = 10.0


def _reenterWhen(held: Callable[[], bool], names: List[str],
                 handler: Callable[[], object]) -> Callable[..., Any]:
    """
    @return: A trace function that calls C{handler} once, as a signal
        handler would run, at the first line of a function named in
        C{names} run while C{held()}.
    """
    fired: List[bool] = []

    def local(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if event == "line" and not fired and held():
            fired.append(True)
            handler()
        return local

    def trace(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if event == "call" and frame.f_code.co_name in names and not fired:
            return local
        return None

    return trace


def _runTraced(test: SynchronousTestCase, trace: Callable[..., Any],
               work: Callable[[], object]) -> None:
    """
    Run C{work} with C{trace} on a thread of its own; fail if it deadlocks
    or raises.
    """
    errors: List[BaseException] = []

    def run() -> None:
        sys.settrace(trace)
        try:
            work()
        except BaseException as e:
            errors.append(e)
        finally:
            sys.settrace(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLOCK)
    test.assertFalse(thread.is_alive(), "deadlocked: the thread re-entered a lock it held")
    test.assertEqual(errors, [])


_E = TypeVar("_E", bound=BaseException)


def _raisedBy(test: SynchronousTestCase, trace: Callable[..., Any], call: Callable[[], object],
              kind: Type[_E]) -> List[_E]:
    """
    L{_runTraced} for a C{call} that may raise C{kind}.

    @return: What it raised of C{kind}, if anything.
    """
    raised: List[_E] = []

    def work() -> None:
        try:
            call()
        except kind as e:
            raised.append(e)

    _runTraced(test, trace, work)
    return raised


def _types(path: Path) -> List[str]:
    """
    @return: The C{message_type} of each line of the file at C{path}.
    """
    return [orjson.loads(line).get("message_type", "?")
            for line in path.read_bytes().splitlines()]


class QueueReentryTests(SynchronousTestCase):
    """
    L{BoundedQueue} re-entered on the thread holding its lock.
    """

    def test_putReentered(self) -> None:
        """
        A message queued by a thread inside L{BoundedQueue.put} is queued
        after the one it was queueing, without waiting for the lock it
        holds.
        """
        queue = BoundedQueue(None, 1 << 20)
        queue.setAccepting(True)
        # Once it has queued it: before, it is queued just before it.
        trace = _reenterWhen(lambda: queue._lock.locked() and queue._count == 1, ["put"],
                             lambda: queue.put(b"inner\n"))
        _runTraced(self, trace, lambda: queue.put(b"outer\n"))
        taken = queue.take()
        assert taken is not None
        self.assertEqual([data for data, _, _ in taken[0]], [b"outer\ninner\n"])
        self.assertEqual(taken[0][0][1], 2)

    def test_putItemReentered(self) -> None:
        """
        The same for a sink that is not batched: each message on its own.
        """
        queue = BoundedQueue(None, 1 << 20, batched=False)
        queue.setAccepting(True)
        trace = _reenterWhen(lambda: queue._lock.locked() and queue._count == 1, ["_putItem"],
                             lambda: queue.put(b"inner\n"))
        _runTraced(self, trace, lambda: queue.put(b"outer\n"))
        taken = queue.take()
        assert taken is not None
        self.assertEqual([data for data, _, _ in taken[0]], [b"outer", b"inner"])

    def test_refuseFeedbackInTake(self) -> None:
        """
        A refusal counted by the writer's thread while it takes what is
        queued (a finalizer logging during L{BoundedQueue.take}, which the
        writer refuses as its destination's own) is counted, and reported
        with the next message.
        """
        queue = BoundedQueue(None, 1 << 20)
        queue.setAccepting(True)
        queue.put(b"one\n")
        # Where the garbage collector may run: take's allocation in _forget.
        trace = _reenterWhen(queue._lock.locked, ["_forget"], queue.refuseFeedback)
        _runTraced(self, trace, queue.take)
        queue.put(b"two\n")
        taken = queue.take()
        assert taken is not None
        self.assertEqual(taken[3], 1)
        self.assertEqual(queue.refused, 1)


    def test_refuseFeedbackInTakeFeedback(self) -> None:
        """
        A refusal counted while the thread writing directly (after
        C{stopThreading}) takes the refusals to report is reported by that
        take or the next: no message is queued to carry it.
        """
        queue = BoundedQueue(None, 1 << 20)
        trace = _reenterWhen(queue._lock.locked, ["takeFeedback"], queue.refuseFeedback)
        taken: List[int] = []
        _runTraced(self, trace, lambda: taken.append(queue.takeFeedback()))
        self.assertEqual(sum(taken) + queue.takeFeedback(), 1)
        self.assertEqual(queue.refused, 1)


class WriterReentryTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    L{ThreadedWriter} and L{FileDestination} re-entered on a thread writing
    to them: what is logged there is written after what was being written.
    """

    def setUp(self) -> None:
        # A started writer adds itself to the destinations: its own.
        self.isolate()
        self.path = Path(self.mktemp())

    def test_threadedWriter(self) -> None:
        """
        A message logged while the logging thread queues one for a running
        writer is written after it.
        """
        file = open(self.path, "wb")
        self.addCleanup(file.close)
        writer = ThreadedWriter(FileDestination(file))
        writer.startService()
        queue = writer._queue
        trace = _reenterWhen(lambda: queue._lock.locked() and queue._count == 1, ["put"],
                             lambda: writer({"message_type": "inner"}))
        # Stopped only if not deadlocked: a stop would wait for ever.
        _runTraced(self, trace, lambda: writer({"message_type": "outer"}))
        writer.stopThreading()
        self.assertEqual(_types(self.path), ["outer", "inner"])

    def test_stoppedWriter(self) -> None:
        """
        After C{stopThreading}, a message logged while the logging thread
        writes one directly is written after it.
        """
        file = open(self.path, "wb")
        self.addCleanup(file.close)
        writer = ThreadedWriter(FileDestination(file))
        writer.startService()
        writer.stopThreading()
        trace = _reenterWhen(writer._forkLock.locked, ["_writeDirect", "_writeDirectHeld"],
                             lambda: writer({"message_type": "inner"}))
        _runTraced(self, trace, lambda: writer({"message_type": "outer"}))
        self.assertEqual(_types(self.path)[-2:], ["outer", "inner"])

    def test_stoppedWriterInterrupted(self) -> None:
        """
        After C{stopThreading}, a message logged while the logging thread
        writes one directly is written even when that write raises (a
        Control-C), and the exception is raised.
        """
        written: List[str] = []

        def destination(message: Dict[str, Any]) -> None:
            if message["message_type"] == "outer":
                raise KeyboardInterrupt()
            written.append(message["message_type"])

        writer = ThreadedWriter(destination)
        writer.startService()
        writer.stopThreading()
        trace = _reenterWhen(writer._forkLock.locked, ["_writeDirectHeld"],
                             lambda: writer({"message_type": "inner"}))
        interrupted = _raisedBy(self, trace, lambda: writer({"message_type": "outer"}),
                                KeyboardInterrupt)
        self.assertEqual(len(interrupted), 1)
        self.assertEqual(written, ["inner"])
        self.assertEqual(list(writer._parked), [])

    def test_textFile(self) -> None:
        """
        A message logged while a L{FileDestination} writes to a text file
        through its text layer (UTF-16: not written directly) is written
        after the one it was writing.
        """
        file = open(self.path, "w", encoding="utf-16")
        self.addCleanup(file.close)
        destination = FileDestination(file)
        lock = destination._lock
        assert lock is not None
        trace = _reenterWhen(lock.locked, ["_write_file", "_write_text"],
                             lambda: destination({"message_type": "inner"}))
        _runTraced(self, trace, lambda: destination({"message_type": "outer"}))
        file.flush()
        lines = self.path.read_text(encoding="utf-16").splitlines()
        self.assertEqual([orjson.loads(line)["message_type"] for line in lines],
                         ["outer", "inner"])

    def test_cutLine(self) -> None:
        """
        A message logged while a L{FileDestination} writes the rest of a line
        a full disk cut short is written after what it was writing.
        """
        file = open(self.path, "wb")
        self.addCleanup(file.close)
        destination = FileDestination(file)
        # What a full disk leaves: the rest of a line, to be written first.
        destination._pending = b'"cut"}\n'
        destination._pendingPid = os.getpid()
        trace = _reenterWhen(destination._pendingLock.locked, ["_write_pending"],
                             lambda: destination({"message_type": "inner"}))
        _runTraced(self, trace, lambda: destination({"message_type": "outer"}))
        lines = self.path.read_bytes().splitlines()
        self.assertEqual(lines[0], b'"cut"}')
        self.assertEqual([orjson.loads(line)["message_type"] for line in lines[1:]],
                         ["outer", "inner"])


class RealSignalTests(SynchronousTestCase):
    """
    A real program logging from a real signal handler, a thousand times a
    second, while its main thread logs without pause (what Twisted's
    C{SIGTERM} handler does, once).
    """

    def _logFromHandler(self, mode: str) -> None:
        """
        Run L{txcausal.test._signal_child} in C{mode} until 300 messages are
        logged from its handler: it must not deadlock, and every message
        must be in its file.
        """
        path = Path(self.mktemp())
        child = subprocess.run(
            [sys.executable, "-m", "txcausal.test._signal_child", mode, str(path), "300"],
            capture_output=True, text=True, timeout=300)
        self.assertEqual(child.returncode, 0, child.stderr[-3000:])
        main, handled = map(int, child.stdout.split())
        if mode == "utf16":
            lines = path.read_text(encoding="utf-16").splitlines()
        else:
            lines = path.read_text().splitlines()
        messages = [orjson.loads(line) for line in lines]
        types = [message["message_type"] for message in messages]
        # Logged while the thread wrote the file directly: counted, not kept.
        refused = sum(message["count"] for message in messages
                      if message.get("reason") == FEEDBACK)
        self.assertEqual((types.count("main"), types.count("sig") + refused), (main, handled))
        if mode != "stopped":
            self.assertEqual(refused, 0)

    def test_threadedWriter(self) -> None:
        """
        Behind a running L{ThreadedWriter}.
        """
        self._logFromHandler("running")

    def test_stoppedWriter(self) -> None:
        """
        Behind a L{ThreadedWriter} after C{stopThreading}: what the handler
        logs while the main thread writes to the file is counted as the
        destination's own (which it cannot be told from), and reported.
        """
        self._logFromHandler("stopped")

    def test_textFile(self) -> None:
        """
        To a UTF-16 text file.
        """
        self._logFromHandler("utf16")


class NotAFileTests(SynchronousTestCase):
    """
    L{FileDestination} refuses at once what is not a file.
    """

    def test_none(self) -> None:
        """
        C{None}, what C{sys.stdout} is when standard output is closed, is
        refused with a C{TypeError} saying so.
        """
        error = self.assertRaises(TypeError, FileDestination, None)
        self.assertIn("standard output", str(error))

    def test_noWrite(self) -> None:
        """
        An object without C{write} is refused with a C{TypeError} naming it.
        """
        error = self.assertRaises(TypeError, FileDestination, 42)
        self.assertIn("42", str(error))
        self.assertIsInstance(FileDestination(io.BytesIO()), FileDestination)
