# -*- test-case-name: txcausal.test.test_logwriter,txcausal.test.test_logwriter_fork -*-
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
written on the writer's thread.  When the queue is full the new message is
refused and counted; the count is written as a C{txcausal:messages_dropped}
message as soon as there is room.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any, Callable, Dict, Optional

from orjson import dumps as _dumps
from twisted.application.service import IService, Service
from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

from . import _output
from ._fork import FORK_HOOKS
from ._interfaces import IDestination
from ._json import FAST_OPTIONS, NULL, EncoderHook
from ._losses import Losses
from ._writer import (
    BoundedQueue,
    DaemonThreadWorker,
    IWriterWorker,
    positive,
    sinkFor,
)

#: Default queue limits: enough for bursts, small enough for any process.
DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: How long an exiting process waits for a writer nobody stopped.
DEFAULT_EXIT_TIMEOUT = 5.0


@implementer(IService, IDestination)
class ThreadedWriter(Service):
    """
    A destination, and a service, that hands messages to another destination
    on a thread of its own.

    L{startService} adds it to the destinations; L{stopService} removes it
    and returns a L{Deferred} that fires once every message accepted before
    it was written.  A process that exits without stopping it waits up to
    C{exitTimeout} seconds for the queue to drain, then exits anyway.

    Full queue policy: a message logged while C{maxMessages} messages, or
    C{maxBytes} bytes of JSON, wait to be written is refused.  Refused
    messages are counted in L{dropped} and reported in the log as a
    C{txcausal:messages_dropped} message.  A destination that raises is
    reported once as an C{eliot:destination_failure} message through the
    other destinations; the messages lost until it works again (or until
    the writer stops) are then reported as C{txcausal:messages_dropped}.

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
        maxMessages: int = DEFAULT_MAX_MESSAGES,
        maxBytes: int = DEFAULT_MAX_BYTES,
        encoder: EncoderHook = None,
        exitTimeout: float = DEFAULT_EXIT_TIMEOUT,
        createWorker: Callable[[], IWriterWorker] = DaemonThreadWorker,
    ) -> None:
        """
        @param destination: A destination (L{IDestination}); a
            L{txcausal.FileDestination} is written to with one write per
            batch of lines.
        @param reactor: Provides C{callFromThread}, to fire the L{Deferred}
            of L{stopService}; default: the global reactor.
        @param maxMessages: How many messages may wait to be written.
        @param maxBytes: How many bytes of JSON may wait to be written.
        @param encoder: A JSON encoder hook (see L{txcausal.to_file}) for the
            snapshots given to a destination that is not a
            L{txcausal.FileDestination}, which uses its own.
        @param exitTimeout: Seconds an exiting process waits for the queue.
        @param createWorker: Makes the worker that runs the writes; the
            default starts a daemon thread.
        @raise TypeError: If C{destination} is not callable.
        @raise ValueError: If a limit is not positive.
        """
        if not callable(destination):
            raise TypeError(f"ThreadedWriter needs a callable destination, not {destination!r}")
        positive("maxMessages", maxMessages)
        positive("maxBytes", maxBytes)
        self.destination = destination
        self._reactor = reactor
        self._sink = sinkFor(destination, encoder)
        self._encode = self._sink.encode
        self._recheck = self._sink.recheck
        self._default = self._sink.default
        self._queue = BoundedQueue(maxMessages, maxBytes, self._sink.batched)
        self._losses = Losses(self._sink, self._encode)
        self._exitTimeout = exitTimeout
        self._createWorker = createWorker
        self._worker: Optional[IWriterWorker] = None
        # In a forked child whose parent's writer was running: the child's
        # worker is created by the first message that needs it.
        self._workerDue = False
        self._startLock = threading.Lock()
        self._direct = False
        self._directLock = threading.RLock()
        # Held from taking messages off the queue until they are written,
        # and across a fork: the forking thread writes what is queued, and
        # a child must not inherit a file whose lock a vanished thread holds.
        self._forkLock = threading.Lock()
        FORK_HOOKS.add(self)

    @property
    def dropped(self) -> int:
        """
        How many messages were lost so far: refused (counted as they are
        refused), or lost to a failing destination (counted as it fails).
        """
        return self._losses.lost + self._queue.refused

    def _threaded(self) -> bool:
        """
        Whether the writer runs with a worker, made or due (not stopping).
        """
        return self._worker is not None or self._workerDue

    def _flushBeforeFork(self) -> None:
        """
        Before a fork, on the forking thread, once the write in progress is
        done: write what is queued now, once, and report the refusals, so
        that the parent's log is complete up to the fork whether it goes on
        or exits at once.  What other threads log meanwhile stays queued for
        the parent's worker: the child starts empty.
        """
        if self._threaded():
            self._drainOnce()

    def _holdWrites(self) -> None:
        """
        Wait for the write in progress, and hold off the next, until the
        fork is done.
        """
        self._forkLock.acquire()

    def _holdQueue(self) -> None:
        """
        Hold off every L{__call__} until the fork is done, so that no
        thread is halfway through queueing a message.
        """
        self._queue.beforeFork()

    def _releaseQueue(self) -> None:
        """
        In the parent, undo L{_holdQueue}.
        """
        self._queue.afterForkInParent()

    def _releaseWrites(self) -> None:
        """
        In the parent, undo L{_holdWrites}.
        """
        self._forkLock.release()

    def _afterForkInChild(self) -> None:
        """
        In a forked child, the parent's threads are gone and the parent has
        written what was queued: start with new locks and an empty queue.
        If the writer was running, the child's worker is created when the
        child first logs, so that a child that execs or never logs starts no
        thread.
        """
        self._forkLock = threading.Lock()
        self._directLock = threading.RLock()
        self._startLock = threading.Lock()
        self._queue.afterForkInChild()
        self._losses.afterForkInChild()
        self._workerDue = self._threaded()
        self._worker = None

    def _startDueWorker(self) -> Optional[IWriterWorker]:
        """
        @return: The worker, created if due (in a forked child, for its first
            message); C{None} if the writer is stopping.
        """
        with self._startLock:
            if self._workerDue:
                try:
                    # Set before the flag is cleared: a fork in between
                    # still sees a running writer.
                    self._worker = self._createWorker()
                except Exception:
                    # No thread to be had: write on the logging threads
                    # rather than lose the messages.
                    self._workerDue = False
                    self._switchToDirect()
                    return None
                self._workerDue = False
            return self._worker

    def __repr__(self) -> str:
        return f"<ThreadedWriter {self._sink!r}>"

    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Snapshot a message and queue it for writing.  Thread-safe, never
        raises, never blocks on the destination.
        """
        try:
            # The sink's encode(), its fast path inlined: this runs for
            # every message.
            data = _dumps(message, default=self._default, option=FAST_OPTIONS)
        except TypeError:
            data = self._encode(message)
        else:
            if data.partition(NULL)[1]:
                data = self._recheck(message, data)
        if self._direct:
            self._writeDirect(data)
            return
        if self._queue.put(data):
            worker = self._worker
            if worker is None:
                worker = self._startDueWorker()
                if worker is None:
                    if self._direct:
                        # Queued while another thread switched to direct
                        # writes: nobody else will write it.
                        self._switchToDirect()
                    return
            worker.do(self._drain)

    def _writeDirect(self, data: bytes) -> None:
        """
        Write a message on the thread that logs it.  A L{KeyboardInterrupt}
        (Control-C on this thread) is re-raised, the message counted as
        lost, for the destinations to report it and the program to stop.
        """
        with self._directLock:
            with self._forkLock:
                self._losses.write(data, 1, interruptible=True)
        if self._losses.hasReports():
            # Outside the lock: a report can reach another writer.
            self._report()

    def startService(self) -> None:
        """
        Start the writer's worker and add the writer to the destinations.
        Starting a running writer does nothing.
        """
        if self.running:
            return
        Service.startService(self)  # type: ignore[no-untyped-call]
        self._worker = self._createWorker()
        self._queue.setAccepting(True)
        self._direct = False
        atexit.register(self.stopThreading)
        # Whatever was refused while stopped is reported now.
        self._worker.do(self._drain)
        _output.add_destinations(self)

    def stopService(self) -> "Deferred[None]":
        """
        Remove the writer from the destinations and stop it.

        @return: A L{Deferred} that fires when every message accepted before
            the call has been written.
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
        reactor = self._reactor
        if reactor is None:
            from twisted.internet import reactor
        self._finish(lambda: reactor.callFromThread(done.callback, None))
        return done

    def _finish(self, then: Callable[[], object]) -> None:
        """
        Refuse new messages, and once those queued are written, stop the
        worker and call C{then} (from the worker).
        """
        self._queue.setAccepting(False)
        with self._startLock:
            worker, self._worker = self._worker, None
            self._workerDue = False

        def last() -> None:
            self._drain()
            self._close()
            if worker is not None:
                worker.quit()
            then()

        if worker is None:
            # A forked child that has not logged has no worker: nothing
            # was queued but what a racing thread may have just put.
            last()
        else:
            worker.do(last)

    def stopThreading(self) -> None:
        """
        Wait up to C{exitTimeout} seconds for the queue to be written, then
        write every later message at once, on the thread that logs it.

        This is for when no reactor is left to stall: it runs at exit for a
        writer nobody stopped, and C{twistd --logger} runs it after the
        reactor has stopped, so that twistd's last events are written before
        the process exits.  The writer stays among the destinations.

        If the queue is not written in time, the destination is stuck: the
        writer then gives up on it, so that the process can still exit.
        """
        if not self.running:
            return
        self.running = 0
        atexit.unregister(self.stopThreading)
        written = threading.Event()
        self._finish(written.set)
        if written.wait(self._exitTimeout):
            self._switchToDirect()

    def _switchToDirect(self) -> None:
        """
        Write every message from now on on the thread that logs it, and
        what is queued (refused while switching) now.
        """
        with self._directLock:
            self._direct = True
            with self._forkLock:
                while self._writeTaken():
                    pass
        if self._losses.hasReports():
            self._report()

    def _drain(self) -> None:
        """
        Write what is queued, until nothing is.  Runs on the worker.
        """
        while self._drainOnce():
            pass

    def _drainOnce(self) -> bool:
        """
        Write what is queued now, then send the failure reports.

        @return: C{False} if there was nothing to do.
        """
        with self._forkLock:
            more = self._writeTaken()
        if self._losses.hasReports():
            self._report()
        return more

    def _close(self) -> None:
        """
        After the last drain: finish the run's writes (see L{Losses.close}),
        and send the reports.
        """
        with self._forkLock:
            self._losses.close("the destination raised, until the ThreadedWriter stopped")
        self._report()

    def _writeTaken(self) -> bool:
        """
        Take what is queued, write it and report the refusals.  The caller
        holds C{_forkLock}, so a fork never finds messages taken but not
        written.

        @return: C{False} if there was nothing to do.
        """
        taken = self._queue.take()
        if taken is None:
            return False
        chunks, full, closed = taken
        losses = self._losses
        for data, count in chunks:
            losses.write(data, count)
            self._queue.release(count, len(data))
        losses.refused(full, "the ThreadedWriter queue was full")
        losses.refused(closed, "logged while the ThreadedWriter was stopped")
        return True

    def _report(self) -> None:
        """
        Send the failure reports through the default logger (the other
        destinations).  Call without holding C{_forkLock}.
        """
        for report in self._losses.takeReports():
            _output._DEFAULT_LOGGER.write(report)


__all__ = ["ThreadedWriter"]
