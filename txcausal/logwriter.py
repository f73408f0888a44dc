# -*- test-case-name: txcausal.test.test_logwriter,txcausal.test.test_logwriter_stop,txcausal.test.test_logwriter_reports -*-  # noqa: E501
"""
L{ThreadedWriter}: a destination that writes from a thread of its own, so a
slow or blocked disk never stalls the reactor::

    from twisted.python.logfile import DailyLogFile
    from txcausal import FileDestination
    from txcausal.logwriter import ThreadedWriter

    writer = ThreadedWriter(FileDestination(DailyLogFile.fromFullPath("app.log")))
    writer.setServiceParent(application)

Each message is encoded as JSON on the logging thread (its snapshot: later
changes to the values logged do not change what is written), queued, and
written on the writer's thread.  A message the writer refuses is counted in
L{ThreadedWriter.dropped} at once, and reported as a
C{txcausal:messages_dropped} message, never dropped silently:

  - refused because the queue was full: in the log, with the writer's next
    write (once the write in progress is done, plus up to C{linger} seconds
    while messages keep coming), or, when nothing was queued (a message
    larger than C{maxBytes} alone), by the write it wakes the writer for;
  - refused because the writer was stopped: in the log when it is started
    again; if it never is, at exit, through the other destinations (on
    standard error when there is none, or after giving up on the
    destination; for refusals after the exit reports ran, the first at
    once, the others in one line as the process ends);
  - logged by the destination while it wrote (not fed back into it), or
    by a signal handler or a finalizer on the writer's thread while it
    wrote (which cannot be told apart): in
    the log, after the next message written; at a stop (or
    C{stopThreading}, or a fork), without waiting for one.  What it logs
    while taking the last report of a stop goes to the other destinations
    (standard error when there is none); after C{stopThreading}, what it
    logs while writing the last message is reported when the writer is
    removed or at exit, to the destination (what it logs while taking that
    report, on standard error), or on standard error alone when the
    destination removes its own writer as it writes.  While the
    destination raises, such a report cannot reach it either: its count
    joins the messages lost to the failure, reported when the destination
    works again or when the writer stops.
"""

from __future__ import annotations

import atexit
import threading
from time import monotonic
from typing import Any, Callable, Dict, Optional, Tuple

from twisted.application.service import IService, Service
from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

from . import _exitreports, _output
from ._interfaces import IDestination
from ._json import JSONLineEncoder
from ._jsondefault import EncoderClass, JSONDefault, checked_default
from ._writer import DaemonThreadWorker, IWriterWorker, StallWatch, Stop, _print_exc
from ._writercore import WriterCore
from ._writerexit import WriterExit
from ._writerrounds import DEFAULT_LINGER

#: The default bound of the queue: the memory its messages may take.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: How long a stop waits for a destination that makes no progress, and an
#: exiting process for the queue of a writer nobody stopped.
DEFAULT_EXIT_TIMEOUT = 5.0


@implementer(IService, IDestination)
class ThreadedWriter(WriterExit, Service):
    """
    A destination, and a service, that hands messages to another destination
    on a thread of its own.

    L{startService} adds it to the destinations; L{stopService} removes it
    and returns a L{Deferred} that fires once every message accepted before
    it was written, or once the destination has made no progress for
    C{exitTimeout} seconds: the messages not written are then counted and
    reported on standard error.  A process that exits without stopping it,
    or before its stop finished (a script that calls L{stopService} and
    returns), waits up to C{exitTimeout} seconds for the queue to drain,
    then exits anyway, counting and reporting what it could not write.

    The worker is woken when a message is logged while nothing waits to be
    written.  While messages keep coming (one within 50 ms of the queue
    last being found empty, as in a server handling a stream of requests),
    it then waits C{linger} seconds (5 ms by default) before it writes,
    gathering the messages logged meanwhile into one write instead of
    waking for each, and goes on so, one write every C{linger} seconds,
    until a write finds nothing more queued: a message reaches the
    destination within C{linger} seconds of being logged, plus the time to
    write what was logged before it.  L{stopService} does not wait for
    more.

    Full queue policy: a message logged while C{maxBytes} bytes of messages
    (or C{maxMessages} messages, if given) wait to be written is refused.
    Refused messages are counted in L{ThreadedWriter.dropped} and reported in the log as a
    C{txcausal:messages_dropped} message.  A destination that raises is
    reported once as an C{eliot:destination_failure} message through the
    other destinations; the messages lost until it works again (or until
    the writer stops) are then reported as C{txcausal:messages_dropped}.
    Messages the destination itself logs while it writes are not fed back
    into it: they reach the other destinations, and are counted and
    reported as refused here.  The module's docstring says when each kind
    of refusal is reported.

    @ivar name: The service's name, as Twisted services have one (the
        class's is C{"txcausal log writer"}).
    @ivar destination: Where the messages go, from the writer's thread.
    """

    name = "txcausal log writer"

    def __init__(
        self,
        destination: Callable[[Dict[str, Any]], None],
        reactor: Any = None,
        *,
        maxMessages: Optional[int] = None,
        maxBytes: int = DEFAULT_MAX_BYTES,
        json_default: JSONDefault = None,
        exitTimeout: float = DEFAULT_EXIT_TIMEOUT,
        createWorker: Callable[[], IWriterWorker] = DaemonThreadWorker,
        encoder: EncoderClass = None,
        linger: Optional[float] = None,
        clock: Callable[[], float] = monotonic,
        sleep: Optional[Callable[[float], object]] = None,
    ) -> None:
        """
        @param destination: A destination (L{IDestination}); a
            L{txcausal.FileDestination} (whose C{__call__} is its own) is
            written to with one write per batch of lines.
        @param reactor: Provides C{callFromThread} and C{callLater}, for
            L{stopService} and L{flush}; default: the global reactor.
        @param maxMessages: How many messages may wait to be written; by
            default, as many as C{maxBytes} holds.
        @param maxBytes: How much memory the messages waiting to be written
            may take.
        @param json_default: A function for types JSON does not know (see
            L{txcausal.to_file}), for the snapshots given to a destination
            that is not a L{txcausal.FileDestination}, which uses its own.
        @param exitTimeout: Seconds a stop waits for a destination that
            makes no progress, and an exiting process for the queue.
        @param createWorker: Makes the worker that runs the writes; the
            default starts a daemon thread.
        @param encoder: Deprecated: a L{json.JSONEncoder} subclass; pass
            C{json_default} instead.
        @param linger: While messages keep coming, how many seconds the
            worker, once woken by a message, waits for more to write with it
            (0: none); the most a message waits beyond the write in
            progress.  By default 5 ms with the default worker (a thread),
            none with a worker of your own.
        @param clock: The worker's clock, in seconds (for tests).
        @param sleep: How the worker waits that long (for tests); by
            default, a wait that a stop cuts short.
        @raise TypeError: If C{destination} is not callable, or
            C{json_default} or C{encoder} is not what it should be (or both
            are given).
        @raise ValueError: If a limit is not positive, C{linger} is
            negative, or C{exitTimeout} negative or above
            C{threading.TIMEOUT_MAX} (or not a number).
        """
        if not 0 <= exitTimeout <= threading.TIMEOUT_MAX:
            raise ValueError(f"exitTimeout must be a number of seconds from 0 to"
                             f" threading.TIMEOUT_MAX, not {exitTimeout!r}")
        if linger is None:
            linger = DEFAULT_LINGER if createWorker is DaemonThreadWorker else 0.0
        WriterCore.__init__(self, destination, maxMessages, maxBytes,
                            checked_default(json_default, encoder), createWorker,
                            linger, clock, sleep)
        self._reactor = reactor
        self._exitTimeout = exitTimeout
        # The last stopService's stop, for the exit to finish (see
        # _reportStopped).
        self._stopping: Optional[Stop] = None

    @property
    def dropped(self) -> int:
        """
        How many messages were lost so far: refused (counted as they are
        refused), lost to a failing destination (counted as it fails), or
        given up on (counted when the writer gives up).
        """
        return self._losses.lost + self._queue.refused

    def __repr__(self) -> str:
        return f"<ThreadedWriter {self._sink!r}>"

    def startService(self) -> None:
        """
        Start the writer's worker and add the writer to the destinations.
        Starting a running writer does nothing.
        """
        if self.running:
            return
        Service.startService(self)  # type: ignore[no-untyped-call]
        with self._startLock:
            if self._worker is None:
                self._worker = self._createWorker()
            worker = self._worker
            # What was refused while stopped is reported now, not at exit.
            _exitreports.EXIT_REPORTS.discard(self)
            self._stopping = None
            self._abandoned = None
        self._hurry.clear()
        self._queue.setAccepting(True)
        self._bypass = None
        atexit.register(self.stopThreading)
        worker.do(self._drain)
        _output.add_destinations(self)

    def stopService(self) -> "Deferred[None]":
        """
        Remove the writer from the destinations and stop it.

        @return: A L{Deferred} that fires when every message accepted before
            the call has been written, or when the destination has made no
            progress for C{exitTimeout} seconds: the writer then gives up on
            what it did not write, counting and reporting it.
        """
        if not self.running:
            return succeed(None)
        Service.stopService(self)  # type: ignore[no-untyped-call]
        atexit.unregister(self.stopThreading)
        try:
            _output.remove_destination(self)
        except ValueError:
            pass
        done: "Deferred[None]" = Deferred()
        reactor = self._reactorOrGlobal()
        stop = Stop()

        def stalled() -> None:
            # Started again meanwhile: the new run keeps the queue.
            if not self.running:
                self._giveUp(stop, f"the destination made no progress for "
                                   f"{self._exitTimeout:g} s while the ThreadedWriter stopped")
            done.callback(None)

        watch = StallWatch(reactor, self._exitTimeout, self._progressMade, stalled)
        self._stopping = stop
        self._finish(stop, lambda: reactor.callFromThread(_fireOnce, watch, done))
        # Should the process exit before the stop finishes.
        _exitreports.EXIT_REPORTS.add(self)
        return done

    def flush(self) -> "Deferred[None]":
        """
        Wait for what was logged so far to be written, without stopping:
        for a reactor's shutdown, before the last events are logged.

        @return: A L{Deferred} that fires when every message accepted before
            the call has been written, or when the destination has made no
            progress for C{exitTimeout} seconds.
        """
        worker = self._worker
        if not self.running or worker is None or self._bypass is not None:
            return succeed(None)
        done: "Deferred[None]" = Deferred()
        reactor = self._reactorOrGlobal()
        watch = StallWatch(reactor, self._exitTimeout, self._progressMade,
                           lambda: _fireOnce(watch, done))

        def drained() -> None:
            # One take: the worker runs its work in order, so what was
            # logged before the call is queued or written by now; what is
            # logged after it is left to the rounds, which would otherwise
            # hold the flush back for as long as messages keep coming.
            self._drainOnce()
            reactor.callFromThread(_fireOnce, watch, done)

        worker.do(drained)
        return done

    def stopThreading(self) -> None:
        """
        Wait up to C{exitTimeout} seconds for the queue to be written, then
        write every later message at once, on the thread that logs it.

        This is for when no reactor is left to stall: it runs at exit for a
        writer nobody stopped, and C{twistd --logger} runs it after the
        reactor has stopped, so that twistd's last events are written before
        the process exits.  The writer stays among the destinations.

        If the queue is not written in time, the destination is stuck: the
        writer gives up on it, so that the process can still exit.  What it
        did not write, and every message logged later, is counted in
        L{ThreadedWriter.dropped} and reported on standard error.
        """
        if not self.running:
            return
        self.running = 0
        atexit.unregister(self.stopThreading)
        written = threading.Event()
        stop = self._stopping = Stop(direct=True)
        # Should a Control-C cut it short: the exit reports finish it.
        if not _exitreports.EXIT_REPORTS.ran:
            _exitreports.EXIT_REPORTS.add(self)
        self._finish(stop, written.set)
        direct = interrupted = False
        try:
            if written.wait(self._exitTimeout):
                self._switchToDirect()
                direct = True
            else:
                self._giveUp(stop, f"not written within the exit timeout of "
                                   f"{self._exitTimeout:g} s", toOthers=False)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            if not direct:
                # Written after the wait gave up on it: given up all the same.
                self._stopCutShort(stop, written.is_set() and not stop.gaveUp, interrupted)

    def _finishDestination(self) -> None:
        """
        After a C{stopService} wrote the last queued message: finish the
        destination as the registry finishes one it removes, if its class
        has a C{_finishFeedback} method (a L{txcausal.otel.SpanDestination}
        ends its open actions and reports its pending losses).
        """
        destination = getattr(self._sink, "_destination", None)
        finish = getattr(type(destination), "_finishFeedback", None)
        if finish is not None:
            try:
                finish(destination)
            except Exception:
                _print_exc()

    def _jsonLines(self) -> Optional[Tuple[JSONLineEncoder, Callable[[bytes], None]]]:
        """
        For the registry (see L{txcausal._route}): the encoder of the
        snapshots and the function queueing a snapshot, which together do
        what calling this writer does; C{None} when a subclass changed what
        calling it does, or the destination's subclass how it encodes.
        """
        encoder = self._sink.encoder
        if type(self).__call__ is not WriterCore.__call__ or encoder is None:
            return None
        return encoder, self._enqueue

    def _progressMade(self) -> int:
        """
        @return: How many writes were done so far.
        """
        return self._progress

    def _reactorOrGlobal(self) -> Any:
        """
        @return: The writer's reactor, by default the global one.
        """
        if self._reactor is not None:
            return self._reactor
        from twisted.internet import reactor
        return reactor

    def _finish(self, stop: Stop, then: Callable[[], object]) -> None:
        """
        Refuse new messages, and once those queued are written, stop the
        worker (unless the writer was started again meanwhile) and call
        C{then} (from the worker).
        """
        self._queue.setAccepting(False)
        self._hurry.set()
        with self._startLock:
            worker = self._worker
            self._workerDue = False

        def last() -> None:
            self._drain()
            with self._startLock:
                restarted = bool(self.running) and self._worker is worker
                if not restarted and self._worker is worker:
                    self._worker = None
                    # Finished: the exit need not (a refusal from now on
                    # registers again, under this lock).
                    _exitreports.EXIT_REPORTS.discard(self)
            if not restarted:
                if not stop.gaveUp:
                    # Refused since the drain: their wake-up went to the
                    # worker let go; from now on, a refusal finds none.
                    self._drain()
                    self._close(stop.direct)
                    if not stop.direct:
                        self._finishDestination()
                if worker is not None:
                    worker.quit()
            stop.done.set()
            then()

        if worker is None:
            # A forked child that has not logged has no worker: nothing
            # was queued but what a racing thread may have just put.
            last()
        else:
            worker.do(last)

def _fireOnce(watch: StallWatch, done: "Deferred[None]") -> None:
    """
    Stop C{watch} and fire C{done}, unless it fired already.
    """
    watch.cancel()
    if not done.called:
        done.callback(None)


__all__ = ["ThreadedWriter"]
