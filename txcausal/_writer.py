# -*- test-case-name: txcausal.test.test_logwriter,txcausal.test.test_logwriter_files -*-
"""
The parts L{txcausal.logwriter.ThreadedWriter} is built from: workers that run
the writes (a daemon thread, or an in-memory one for tests), and the sinks
that snapshot a message on the logging thread and write it on the writer's
(the queue between them is L{txcausal._queue.BoundedQueue}).
"""

from __future__ import annotations

import sys
import threading
from queue import SimpleQueue
from typing import Any, Callable, Dict, List, Optional, Tuple, Union, cast

from zope.interface import Interface, implementer

from ._file import FileDestination
from ._json import JSONLineEncoder, encoder_for
from ._json_decode import decode_json
from ._jsondefault import JSONDefault
from ._queue import Lines
from ._safe import traceback_text

Work = Callable[[], object]


def _print_exc() -> None:
    """
    Write the exception being handled to standard error, if it can, as
    txcausal's other tracebacks are: without reading any source file (this
    may run as the interpreter tears down).
    """
    try:
        typ, value, tb = sys.exc_info()
        if value is not None:
            sys.stderr.write(traceback_text(typ, value, tb))
            sys.stderr.flush()
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


class FileSink:
    """
    Writes to a L{FileDestination}'s file directly: the lines are encoded
    with the destination's encoder on the logging thread, and each batch is
    written at once.

    @ivar encode: Encodes a message as the destination would; never raises.
    @ivar default: The orjson C{default} of that encoder, for the callers'
        fast path (orjson with C{txcausal._json.FAST_OPTIONS}, falling back to
        C{encode}, or to C{recheck} for a line holding C{null}).
    @ivar recheck: That encoder's L{txcausal._json.JSONLineEncoder.recheck}.
    @ivar encoder: That encoder, or C{None} when a subclass of the
        destination changed how it encodes.
    """

    batched = True

    def __init__(self, destination: FileDestination) -> None:
        self._destination = destination
        self.encoder: Optional[JSONLineEncoder] = (
            destination._encoder if type(destination).encode is FileDestination.encode
            else None)
        self.encode = destination.encode
        self.recheck = destination._encoder.recheck
        self.default = destination._default

    def write(self, data: Lines) -> None:
        """
        Write encoded lines.  Runs on the writer's thread.
        """
        # A batch is a bytearray: write_encoded takes any bytes-like object
        # (a copy would hold the batch twice).
        self._destination.write_encoded(cast(bytes, data))

    def finish(self) -> None:
        """
        Write the rest of a line a full disk cut short, if the destination
        keeps one, when nothing more is to be written.

        @raise txcausal._shortwrite.ShortWrite: If it still cannot be written.
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
    @ivar encoder: That encoder.
    """

    batched = False

    def __init__(self, destination: Callable[[Dict[str, Any]], None],
                 encoder: JSONLineEncoder) -> None:
        self._destination = destination
        self.encoder: Optional[JSONLineEncoder] = encoder
        self.encode = encoder.encode
        self.recheck = encoder.recheck
        self.default = encoder.default

    def write(self, data: Lines) -> None:
        """
        Decode and deliver encoded messages.  Runs on the writer's thread.
        """
        # A message with unencodable values is followed by their report.
        for line in data.splitlines():
            # Each message is kept as bytes of its own (never a batch).
            self._destination(decode_json(cast(bytes, line)))

    def finish(self) -> None:
        """
        Nothing is kept between writes.
        """

    def __repr__(self) -> str:
        return repr(self._destination)


def sinkFor(destination: Callable[[Dict[str, Any]], None],
            json_default: JSONDefault = None) -> Union[FileSink, CallableSink]:
    """
    @return: The fastest sink for C{destination} that calls what its class
        defines: a L{FileDestination} whose C{__call__} is not overridden
        gets its lines written straight to its file; any other destination
        is called with each message, snapshots encoded with
        C{json_default} or, for a L{FileDestination}, with its own encoder.
    """
    if isinstance(destination, FileDestination) and json_default is None:
        if type(destination).__call__ is FileDestination.__call__:
            return FileSink(destination)
        return CallableSink(destination, destination._encoder)
    return CallableSink(destination, encoder_for(json_default))


class Stop:
    """
    One stop of a writer, and whether it gave up on the destination.

    A give-up is a record that a retry finishes, should a C{KeyboardInterrupt}
    (Control-C) cut it short: each step is done once, and marked done as it
    is (see L{txcausal._writerexit.WriterExit._giveUp}).

    @ivar gaveUp: Whether it began to give up: its last step, should the
        worker come to it, writes nothing more.
    @ivar lost: Once the give-up forgot what was queued: how many messages
        were queued, how many were being written, and how many refusals
        were not reported yet (see L{txcausal._queue.BoundedQueue.discard}).
    @ivar unfinished: Once it then gave up on the destination: the refusals
        the write in progress reports, if it is a report, and how many
        messages it holds (see L{txcausal._losses.Losses.giveUp}): set in
        the same step as what was lost is counted in C{dropped}.
    @ivar reported: Whether its give-up's report was written.
    @ivar direct: Whether the writer goes on writing on the threads that
        log (C{stopThreading}), still among the destinations.
    @ivar done: Set once the stop's last step ran (see
        L{txcausal.logwriter.ThreadedWriter._finish}).
    """

    __slots__ = ("gaveUp", "lost", "unfinished", "reported", "direct", "done")

    def __init__(self, direct: bool = False) -> None:
        self.gaveUp = self.reported = False
        self.lost: Optional[Tuple[int, int, int]] = None
        self.unfinished: Optional[Tuple[int, int]] = None
        self.direct = direct
        self.done = threading.Event()


class StallWatch:
    """
    Calls C{stalled} once a writer has made no progress for C{timeout}
    seconds, from the reactor, unless L{cancel}led first.
    """

    def __init__(self, reactor: Any, timeout: float, progress: Callable[[], int],
                 stalled: Callable[[], object]) -> None:
        """
        @param reactor: Provides C{callLater}.
        @param progress: Returns a count that grows with every write done.
        """
        self._reactor = reactor
        self._timeout = timeout
        self._progress = progress
        self._stalled = stalled
        self._seen = progress()
        self._call: Any = reactor.callLater(timeout, self._check)

    def _check(self) -> None:
        seen = self._progress()
        if seen == self._seen:
            self._call = None
            self._stalled()
            return
        self._seen = seen
        self._call = self._reactor.callLater(self._timeout, self._check)

    def cancel(self) -> None:
        """
        Stop watching.
        """
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None


def positive(name: str, value: float) -> None:
    """
    @raise ValueError: Unless C{value}, the argument C{name}, is positive.
    """
    if not value > 0:
        raise ValueError(f"{name} must be positive, not {value!r}")
