# -*- test-case-name: txcausal.test.test_logwriter -*-
"""
The parts L{txcausal.logwriter.ThreadedWriter} is built from: workers that run
the writes (a daemon thread, or an in-memory one for tests), the bounded queue
between the logging threads and the writer, and the sinks that snapshot a
message on the logging thread and write it on the writer's.
"""

from __future__ import annotations

import sys
import threading
import traceback
from queue import SimpleQueue
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from zope.interface import Interface, implementer

from ._file import FileDestination
from ._json import EncoderHook, decode_json, encoder_for

Work = Callable[[], object]


def _print_exc() -> None:
    """
    Write the exception being handled to standard error, if it can.
    """
    try:
        traceback.print_exc(file=sys.stderr)
    except BaseException:
        pass


class IWriterWorker(Interface):
    """
    Runs work, in order, one piece at a time (the contract of Twisted's
    C{IExclusiveWorker}).
    """

    def do(work: Work) -> None:
        """
        Run C{work} later, after everything given before it.  Thread-safe.
        """

    def quit() -> None:
        """
        Run nothing given from now on; let the work already given finish.
        """


@implementer(IWriterWorker)
class DaemonThreadWorker:
    """
    A worker with a thread of its own.  The thread is a daemon, so a process
    that never stops its writer can still exit.
    """

    def __init__(self, name: str = "txcausal-writer") -> None:
        self._queue: "SimpleQueue[Optional[Work]]" = SimpleQueue()
        self._quit = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            try:
                work()
            except BaseException:
                # Whatever the work raised, the thread goes on: the work
                # given later must still run.
                _print_exc()

    def do(self, work: Work) -> None:
        if not self._quit:
            self._queue.put(work)

    def quit(self) -> None:
        self._quit = True
        self._queue.put(None)


@implementer(IWriterWorker)
class MemoryWorker:
    """
    A worker that only queues work, for tests to run with the C{perform}
    callable of L{createMemoryWorker}.

    @ivar pending: The work not yet performed.
    @ivar quitted: Whether L{quit} was called.
    """

    def __init__(self) -> None:
        self.pending: List[Work] = []
        self.quitted = False

    def do(self, work: Work) -> None:
        if not self.quitted:
            self.pending.append(work)

    def quit(self) -> None:
        self.quitted = True


def createMemoryWorker() -> Tuple[MemoryWorker, Callable[[], bool]]:
    """
    Create a worker that runs nothing until told to (the idea of Twisted's
    private C{createMemoryWorker}).

    @return: The worker, and a callable that performs one piece of its work,
        returning C{False} when there was none.
    """
    worker = MemoryWorker()

    def perform() -> bool:
        if not worker.pending:
            return False
        worker.pending.pop(0)()
        return True

    return worker, perform


#: One piece of queued work for the writer: encoded lines, and how many
#: messages they hold.
Chunk = Tuple[bytes, int]


class BoundedQueue:
    """
    Encoded messages waiting for the writer or being written, at most
    C{maxMessages} of them and C{maxBytes} in all.  When full, the message
    being added is refused (tail drop) and counted.  Thread-safe.

    For a batched sink the lines are appended to one growing buffer, taken
    whole: holding thousands of small C{bytes} objects, each from its own
    allocation, costs more than encoding them.  Otherwise they are kept one
    by one, so that each message is written, and freed, on its own.  While
    a full batch is copied out for the writer, its memory is briefly held
    twice.

    @ivar refusedFull: Refused because the queue was full, not yet reported.
    @ivar refusedClosed: Refused because the writer was not running, not yet
        reported.
    @ivar refused: Refused in all, reported or not.
    """

    __slots__ = ("_maxMessages", "_maxBytes", "_batched", "_lock", "_buffer", "_items",
                 "_queued", "_count", "_size", "_scheduled", "accepting", "refusedFull",
                 "refusedClosed", "refused")

    def __init__(self, maxMessages: int, maxBytes: int, batched: bool = True) -> None:
        self._maxMessages = maxMessages
        self._maxBytes = maxBytes
        self._batched = batched
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._items: List[bytes] = []
        #: Messages queued and not yet taken (in the buffer or the items).
        self._queued = 0
        #: Messages and bytes queued or being written.
        self._count = 0
        self._size = 0
        self._scheduled = False
        self.accepting = False
        self.refusedFull = 0
        self.refusedClosed = 0
        self.refused = 0

    def put(self, data: bytes) -> bool:
        """
        Add one encoded message, unless the queue is full or closed.

        @return: C{True} when the caller must schedule a drain (the queue was
            idle); C{False} when one is already scheduled or C{data} was
            refused.
        """
        # This runs for every message: an explicit acquire and release, and
        # the common case tested first, measured a third cheaper than
        # "with self._lock" and the refusals first.
        lock = self._lock
        lock.acquire()
        try:
            count = self._count
            size = self._size + len(data)
            if self.accepting and count < self._maxMessages and size <= self._maxBytes:
                if self._batched:
                    self._buffer += data
                else:
                    self._items.append(data)
                self._queued += 1
                self._count = count + 1
                self._size = size
                if self._scheduled:
                    return False
                self._scheduled = True
                return True
            if self.accepting:
                self.refusedFull += 1
            else:
                self.refusedClosed += 1
            self.refused += 1
            return False
        finally:
            lock.release()

    def take(self) -> Optional[Tuple[List[Chunk], int, int]]:
        """
        Take everything queued, and the refusal counts, for writing.  The
        messages taken still count against the limits until L{release}d.

        @return: C{(chunks, refusedFull, refusedClosed)}: one chunk for a
            batched sink, one a message otherwise.  C{None} when there is
            nothing to do, in which case the next L{put} schedules a drain
            again.
        """
        with self._lock:
            queued, full, closed = self._queued, self.refusedFull, self.refusedClosed
            if not queued and not full and not closed:
                self._scheduled = False
                return None
            buffer, items = self._buffer, self._items
            self._buffer, self._items = bytearray(), []
            self._queued = self.refusedFull = self.refusedClosed = 0
        chunks: List[Chunk]
        if not queued:
            chunks = []
        elif self._batched:
            # Copied, and the buffer freed at once: measured faster for the
            # logging threads than handing the buffer itself to the writer.
            chunks = [(bytes(buffer), queued)]
        else:
            chunks = [(line, 1) for line in items]
        return chunks, full, closed

    def beforeFork(self) -> None:
        """
        Hold the lock across a fork, so that no thread is halfway through a
        L{put} when the process forks; L{afterForkInParent} releases it.
        """
        self._lock.acquire()

    def afterForkInParent(self) -> None:
        """
        Release the lock L{beforeFork} took, in the parent.
        """
        self._lock.release()

    def afterForkInChild(self) -> None:
        """
        Start the queue afresh in a forked child: a new lock, nothing queued
        or being written, no refusal to report and no drain scheduled.  The
        messages queued at the fork, and the refusals, are the parent's to
        write and report; the child keeps only whether it accepts messages.
        """
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._items = []
        self._queued = self._count = self._size = 0
        self._scheduled = False
        self.refusedFull = self.refusedClosed = 0

    def release(self, count: int, size: int) -> None:
        """
        Free the room of C{count} taken messages, C{size} bytes, once
        written.
        """
        with self._lock:
            self._count -= count
            self._size -= size

    def setAccepting(self, accepting: bool) -> None:
        """
        Start or stop accepting messages.
        """
        with self._lock:
            self.accepting = accepting


class FileSink:
    """
    Writes to a L{FileDestination}'s file directly: the lines are encoded
    with the destination's encoder on the logging thread, and each batch is
    written at once.

    @ivar encode: Encodes a message as the destination would; never raises.
    @ivar default: The orjson C{default} of that encoder, for the callers'
        fast path (orjson with L{txcausal._json.FAST_OPTIONS}, falling back to
        C{encode}, or to C{recheck} for a line holding C{null}).
    @ivar recheck: That encoder's L{txcausal._json.JSONLineEncoder.recheck}.
    """

    batched = True

    def __init__(self, destination: FileDestination) -> None:
        self._destination = destination
        self.encode = destination.encode
        self.recheck = destination._encoder.recheck
        self.default = destination._default

    def write(self, data: bytes) -> None:
        """
        Write encoded lines.  Runs on the writer's thread.
        """
        self._destination.write_encoded(data)

    def finish(self) -> None:
        """
        Write the rest of a line a full disk cut short, if the destination
        keeps one, when nothing more is to be written.

        @raise txcausal._file.ShortWrite: If it still cannot be written.
        """
        self._destination.write_cut_line()

    def __repr__(self) -> str:
        return repr(self._destination)


class CallableSink:
    """
    Writes to any destination: the message is encoded as JSON on the logging
    thread (its snapshot) and decoded again on the writer's thread, so the
    destination gets a private copy, as a file would have stored it.

    @ivar encode: Encodes a message; never raises.
    @ivar default: The orjson C{default} of that encoder (see L{FileSink}).
    @ivar recheck: That encoder's C{recheck} (see L{FileSink}).
    """

    batched = False

    def __init__(self, destination: Callable[[Dict[str, Any]], None],
                 encoder: EncoderHook = None) -> None:
        self._destination = destination
        full = encoder_for(encoder)
        self.encode = full.encode
        self.recheck = full.recheck
        self.default = full.default

    def write(self, data: bytes) -> None:
        """
        Decode and deliver encoded messages.  Runs on the writer's thread.
        """
        # A message with unencodable values is followed by their report.
        for line in data.splitlines():
            self._destination(decode_json(line))

    def finish(self) -> None:
        """
        Nothing is kept between writes.
        """

    def __repr__(self) -> str:
        return repr(self._destination)


def sinkFor(destination: Callable[[Dict[str, Any]], None],
            encoder: EncoderHook = None) -> Union[FileSink, CallableSink]:
    """
    @return: The fastest sink for C{destination}.
    """
    if isinstance(destination, FileDestination) and encoder is None:
        return FileSink(destination)
    return CallableSink(destination, encoder)


def positive(name: str, value: float) -> None:
    """
    @raise ValueError: Unless C{value}, the argument C{name}, is positive.
    """
    if not value > 0:
        raise ValueError(f"{name} must be positive, not {value!r}")
