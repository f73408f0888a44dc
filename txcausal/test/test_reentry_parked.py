"""
Tests of what happens to a message logged re-entrantly (a signal handler, a
finalizer) and set aside for the thread that was logging: it is written
whole, once, in the order that thread logged, or kept; never lost silently.
Each test runs in a thread joined with a timeout (see
L{txcausal.test.test_reentry}), so that a deadlock fails it.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal._logfile import LogFileWriter
from txcausal._queue import BoundedQueue
from txcausal._shortwrite import ShortWrite

from .test_logwriter_fork import _Forkable
from .test_reentry import _raisedBy, _reenterWhen, _runTraced, _types


def _noTrace(frame: Any, event: str, arg: object) -> None:
    """
    A trace function tracing nothing: the handler runs from the file.
    """
    return None


class _Disk:
    """
    The raw file of a L{FileDestination}, on a disk that fills up: each
    write runs the signal handler due, if any, then takes what the disk
    has room for.

    @ivar room: How many bytes each write takes, by the number of the
        write (from 1); the others take everything.
    @ivar handlers: What runs at the start of a write, by its number: the
        signal handler, the file's lock held.
    """

    def __init__(self, destination: FileDestination) -> None:
        raw = destination._raw
        assert raw is not None and not isinstance(raw, LogFileWriter)
        self.raw = raw
        self.calls = 0
        self.room: Dict[int, int] = {}
        self.handlers: Dict[int, Callable[[], object]] = {}
        self.full = False
        destination._raw = destination._direct = self  # type: ignore[assignment]

    def write(self, data: Any) -> Optional[int]:
        self.calls += 1
        handler = self.handlers.pop(self.calls, None)
        if handler is not None:
            handler()
        if self.full:
            return 0
        room = self.room.get(self.calls)
        return self.raw.write(bytes(data[:room]) if room is not None else data)

    def fileno(self) -> int:
        return self.raw.fileno()


class CutLineReentryTests(SynchronousTestCase):
    """
    A message logged while L{FileDestination} writes the rest of a line a
    full disk cut short.
    """

    def setUp(self) -> None:
        self.path = Path(self.mktemp())
        self.file = open(self.path, "wb")
        self.addCleanup(self.file.close)
        self.destination = FileDestination(self.file)
        self.disk = _Disk(self.destination)

    def test_shortWriteReentered(self) -> None:
        """
        A message logged while the rest of a line cut short is written (the
        disk nearly full once more) is written whole after that line: it
        takes neither the hot path into the middle of it nor a short write
        of its own into it.
        """
        destination, disk = self.destination, self.disk
        disk.room = {1: 10, 3: 10}
        disk.handlers[2] = lambda: destination({"message_type": "signal"})

        def work() -> None:
            destination({"message_type": "outer"})
            destination({"message_type": "later"})

        _runTraced(self, _noTrace, work)
        self.assertEqual(_types(self.path), ["outer", "signal", "later"])

    def test_writeCutLineReentered(self) -> None:
        """
        A message logged while C{write_cut_line} writes the rest of a line
        cut short is written after it, not in the middle.
        """
        destination, disk = self.destination, self.disk
        self.file.write(b'{"message_type":')
        self.file.flush()
        destination._pending = b'"cut"}\n'
        destination._pendingPid = os.getpid()
        disk.handlers[1] = lambda: destination({"message_type": "signal"})
        _runTraced(self, _noTrace, destination.write_cut_line)
        self.assertEqual(_types(self.path), ["cut", "signal"])

    def test_parkedKeptOnFullDisk(self) -> None:
        """
        A message logged while the rest of a line is written, when the disk
        is full by then, is kept whole after that rest, and written once
        there is room again: by C{write_cut_line} here, as when
        L{txcausal.logwriter.ThreadedWriter} stops.
        """
        destination, disk = self.destination, self.disk
        disk.room = {1: 10}
        errors: List[BaseException] = []

        def handler() -> None:
            disk.full = True
            destination({"message_type": "signal"})

        disk.handlers[2] = handler

        def work() -> None:
            try:
                destination({"message_type": "outer"})
            except ShortWrite as e:
                errors.append(e)
            disk.full = False
            destination.write_cut_line()
            destination({"message_type": "later"})

        _runTraced(self, _noTrace, work)
        self.assertEqual(len(errors), 1)
        self.assertEqual(_types(self.path), ["outer", "signal", "later"])

    def test_parkedCountedWhenCutLineLost(self) -> None:
        """
        When C{write_cut_line} cannot write the rest either, a message
        logged meanwhile is counted as lost in its L{ShortWrite}, with the
        lines it could not write.
        """
        destination, disk = self.destination, self.disk
        destination._pending = b'"cut"}\n{"message_type":"kept"}\n'
        destination._pendingPid = os.getpid()
        disk.full = True
        disk.handlers[1] = lambda: destination({"message_type": "signal"})
        errors = _raisedBy(self, _noTrace, destination.write_cut_line, ShortWrite)
        self.assertEqual([e.lost for e in errors], [3])
        self.assertEqual(destination._pending, b"")
        self.assertEqual(list(destination._parked), [])


class WriteCutLineDrainTests(SynchronousTestCase):
    """
    A message logged while C{write_cut_line} holds its lock when nothing is
    kept (what a stopping L{txcausal.logwriter.ThreadedWriter} and the exit
    handler run, on the main thread, where signal handlers run): it is
    written, since nothing else will write it.
    """

    def _cutLineReentered(self, destination: FileDestination) -> None:
        trace = _reenterWhen(destination._pendingLock.locked, ["write_cut_line"],
                             lambda: destination({"message_type": "signal"}))
        _runTraced(self, trace, destination.write_cut_line)
        self.assertEqual(list(destination._parked), [])

    def test_pipe(self) -> None:
        """
        To a pipe.
        """
        readEnd, writeEnd = os.pipe()
        reader = os.fdopen(readEnd, "rb")
        self.addCleanup(reader.close)
        with os.fdopen(writeEnd, "wb") as file:
            self._cutLineReentered(FileDestination(file))
        self.assertEqual([orjson.loads(line)["message_type"] for line in reader],
                         ["signal"])

    def test_textStream(self) -> None:
        """
        To a text stream written through its file object.
        """
        file = io.StringIO()
        self._cutLineReentered(FileDestination(file))
        self.assertEqual([orjson.loads(line)["message_type"]
                          for line in file.getvalue().splitlines()], ["signal"])

    def test_keptAfterFailedWrite(self) -> None:
        """
        A message kept for the next write, the write it was logged in having
        failed, is written by C{write_cut_line}: no write comes after it.
        """
        path, destination = _keptAfterFailedWrite(self)
        destination.write_cut_line()
        self.assertEqual(list(destination._parked), [])
        self.assertEqual(_types(path), ["signal"])

    def test_drainFailsCounted(self) -> None:
        """
        When the disk fills up as C{write_cut_line} writes the messages
        logged meanwhile, those it cannot write are counted as lost in the
        L{ShortWrite} it raises, and nothing is kept.
        """
        path = Path(self.mktemp())
        file = open(path, "wb")
        self.addCleanup(file.close)
        destination = FileDestination(file)
        disk = _Disk(destination)
        destination._pending = b'"cut"}\n'
        destination._pendingPid = os.getpid()

        def handler() -> None:
            destination({"message_type": "signal"})
            destination({"message_type": "signal"})

        disk.handlers[1] = handler
        disk.handlers[2] = lambda: setattr(disk, "full", True)
        errors = _raisedBy(self, _noTrace, destination.write_cut_line, ShortWrite)
        self.assertEqual([e.lost for e in errors], [2])
        self.assertEqual((destination._pending, list(destination._parked)), (b"", []))


class _FullText:
    """
    A text file with no file descriptor (written through the file object),
    on a disk that fills up: its C{flush} raises C{ENOSPC} once C{full}.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.full = False
        self.unflushed = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.unflushed += text
        return len(text)

    def flush(self) -> None:
        if self.full:
            self.unflushed = ""
            raise OSError(errno.ENOSPC, "No space left on device")
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(self.unflushed)
        self.unflushed = ""


def _keptAfterFailedWrite(case: SynchronousTestCase) -> Tuple[Path, FileDestination]:
    """
    A message (C{"signal"}) logged re-entrantly while a L{FileDestination}
    writes C{"outer"} to a text file through its file object, the disk
    filling up during that write: C{"signal"} is kept for the next write.

    @return: The file's path and the destination, the disk no longer full.
    """
    path = Path(case.mktemp())
    file = _FullText(path)
    destination = FileDestination(file)  # type: ignore[arg-type]
    lock = destination._lock
    assert lock is not None

    def handler() -> None:
        destination({"message_type": "signal"})
        file.full = True

    trace = _reenterWhen(lock.locked, ["_write_file"], handler)
    errors = _raisedBy(case, trace, lambda: destination({"message_type": "outer"}), OSError)
    case.assertEqual(len(errors), 1)
    file.full = False
    return path, destination


class ParkedOnceTests(SynchronousTestCase):
    """
    A parked message is written once: by the parent only after a fork, by
    L{FileDestination}'s own write only for a subclass.
    """

    def test_forkedChild(self) -> None:
        """
        A message parked (the write it was logged in failed, so it waits
        for the next) when the process forks is written by the parent, not
        by the child too.
        """
        path, destination = _keptAfterFailedWrite(self)
        pid = os.fork()
        if pid == 0:
            try:
                destination({"message_type": "child"})
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        destination({"message_type": "parent"})
        self.assertEqual(sorted(_types(path)), ["child", "parent", "signal"])

    def test_subclassOverride(self) -> None:
        """
        A message parked by a subclass of L{FileDestination} whose
        C{write_encoded} adds to each line and calls the base class's is
        written through the base class's: the override ran on it once.
        """
        path = Path(self.mktemp())

        class Tagged(FileDestination):
            def write_encoded(self, data: bytes) -> None:
                super().write_encoded(b'{"tag":1,' + data[1:])

        file = open(path, "w", encoding="utf-16")
        self.addCleanup(file.close)
        destination = Tagged(file)
        lock = destination._lock
        assert lock is not None
        trace = _reenterWhen(lock.locked, ["_write_file", "_write_text"],
                             lambda: destination({"message_type": "inner"}))
        _runTraced(self, trace, lambda: destination({"message_type": "outer"}))
        file.flush()
        self.assertEqual(path.read_text(encoding="utf-16").splitlines(),
                         ['{"tag":1,"message_type":"outer"}', '{"tag":1,"message_type":"inner"}'])


class WriterForkTests(_Forkable, SynchronousTestCase):
    """
    L{txcausal.logwriter.ThreadedWriter}'s parked messages across a fork.
    """

    def test_parkedLeftToParent(self) -> None:
        """
        A message parked for the thread writing directly when the process
        forks is the parent's to write: the child drops it.
        """
        writer, written, workers, hooks = self.forkable()
        hooks.before()
        writer._parked.append(orjson.dumps({"message_type": "parked"}) + b"\n")
        hooks.afterInChild()
        writer.stopThreading()
        writer({"message_type": "child"})
        self.assertEqual([m["message_type"] for m in written], ["child"])


class QueueOrderTests(SynchronousTestCase):
    """
    The order of the messages a thread queues, with one logged from a
    signal handler while it queued another.
    """

    def test_putOrder(self) -> None:
        """
        A message logged while L{BoundedQueue.put} queues one is queued
        after it, before what the thread logs next (not at the writer's next
        take, after those).
        """
        queue = BoundedQueue(None, 1 << 20)
        queue.setAccepting(True)
        trace = _reenterWhen(lambda: queue._lock.locked() and queue._count == 1, ["put"],
                             lambda: queue.put(b"signal\n"))

        def work() -> None:
            queue.put(b"outer\n")
            queue.put(b"later\n")

        _runTraced(self, trace, work)
        taken = queue.take()
        assert taken is not None
        self.assertEqual(b"".join(data for data, _, _ in taken[0]), b"outer\nsignal\nlater\n")

    def test_putItemOrder(self) -> None:
        """
        The same for a sink that is not batched.
        """
        queue = BoundedQueue(None, 1 << 20, batched=False)
        queue.setAccepting(True)
        trace = _reenterWhen(lambda: queue._lock.locked() and queue._count == 1,
                             ["_putItem"], lambda: queue.put(b"signal\n"))

        def work() -> None:
            queue.put(b"outer\n")
            queue.put(b"later\n")

        _runTraced(self, trace, work)
        taken = queue.take()
        assert taken is not None
        self.assertEqual([data for data, _, _ in taken[0]], [b"outer", b"signal", b"later"])
