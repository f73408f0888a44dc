# -*- test-case-name: txcausal.test.test_logwriter,txcausal.test.test_logwriter_fork,txcausal.test.test_logwriter_reports -*-  # noqa: E501
"""
L{WriterCore}: the writing half of a L{txcausal.logwriter.ThreadedWriter}.
Each message is snapshotted (encoded) on the thread that logs it and queued;
the worker writes what is queued, accounting for what is lost; after
C{stopThreading}, messages are written on the thread that logs them.  When
the worker writes is L{txcausal._writerrounds}'s; the fork hooks call
L{txcausal._writerfork}.  L{txcausal._writerexit} adds how
a run ends (the exit reports, see L{txcausal._exitreports}, call there),
and L{txcausal.logwriter} the service: starting, stopping, flushing.
"""

from __future__ import annotations

import threading
from functools import partial
from time import monotonic
from typing import IO, Any, Callable, Deque, Dict, List, Optional, TypeVar

from orjson import dumps as _dumps

from . import _exitreports, _output, _teardown
from ._failure_reports import _last_resort
from ._feedback import FEEDBACK, guards_itself
from ._fork import FORK_HOOKS
from ._json import FAST_OPTIONS, NULL
from ._jsondefault import JSONDefault
from ._losses import Losses
from ._queue import BoundedQueue
from ._reentry import drain, holders, parked, reentered
from ._teardown import held
from ._writer import IWriterWorker, positive, sinkFor
from ._writerrounds import _BUSY, WriterRounds

_get_ident = threading.get_ident

_T = TypeVar("_T")

class WriterCore(WriterRounds):
    """
    Queues messages and writes them to a destination, on a worker or, after
    L{_switchToDirect}, on the thread that logs them.

    @ivar destination: Where the messages go, from the writer's thread.
    """

    #: Where reports that no other destination can take go (see
    #: L{txcausal._writerexit.WriterExit._standardError}).
    _standardError: Optional[IO[str]]

    def __init__(
        self,
        destination: Callable[[Dict[str, Any]], None],
        maxMessages: Optional[int],
        maxBytes: int,
        json_default: JSONDefault,
        createWorker: Callable[[], IWriterWorker],
        linger: float,
        clock: Callable[[], float] = monotonic,
        sleep: Optional[Callable[[float], object]] = None,
    ) -> None:
        """
        See L{txcausal.logwriter.ThreadedWriter}.

        @raise TypeError: If C{destination} is not callable.
        @raise ValueError: If a limit is not positive, or C{linger} is
            negative.
        """
        if not callable(destination):
            raise TypeError(f"ThreadedWriter needs a callable destination, not {destination!r}")
        if maxMessages is not None:
            positive("maxMessages", maxMessages)
        positive("maxBytes", maxBytes)
        if not linger >= 0:
            raise ValueError(f"linger must be 0 or more, not {linger!r}")
        self._linger = linger
        self._clock = clock
        self._sleep = sleep
        #: Set by a stop, to cut the worker's lingering short.
        self._hurry = threading.Event()
        #: When the worker last found the queue empty, by C{clock}.
        self._idleSince = -_BUSY
        self.destination = destination
        self._sink = sinkFor(destination, json_default)
        self._encode = self._sink.encode
        self._recheck = self._sink.recheck
        self._default = self._sink.default
        self._losses = Losses(self._sink, self._encode)
        # Not the writer, nor a weak reference, which the cycle collector
        # may have cleared as the interpreter tears down.
        self._queue = BoundedQueue(maxMessages, maxBytes, self._sink.batched,
                                   partial(_exitreports.refuse_torn_down, self._losses))
        self._createWorker = createWorker
        # From startService until the last step of the stop that follows:
        # a writer started again before that step keeps its worker.
        self._worker: Optional[IWriterWorker] = None
        # In a forked child whose parent's writer was running: the child's
        # worker is created by the first message that needs it.
        self._workerDue = False
        self._startLock = threading.Lock()
        # When set, every message goes there instead of the queue: written
        # at once after stopThreading, refused after giving up at exit.
        self._bypass: Optional[Callable[[bytes], None]] = None
        self._directLock = threading.RLock()
        # Held from taking messages off the queue until they are written,
        # and across a fork: the forking thread writes what is queued, and
        # a child must not inherit a file whose lock a vanished thread holds.
        self._forkLock = threading.Lock()
        # Messages logged on the thread holding it (see _writeDirect).
        self._parked: Deque[bytes] = parked()
        # The thread writing to the destination now, if any.
        self._writingThread: Optional[int] = None
        # The thread of the write in progress when the writer gave up on it.
        self._abandoned: Optional[int] = None
        # Writes done, for the bound of a stop.
        self._progress = 0
        FORK_HOOKS.add(self)

    @guards_itself
    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Snapshot a message and queue it for writing.  Thread-safe, never
        blocks on the destination, never raises (but for Control-C while
        writing directly, after C{stopThreading}: see L{_writeDirect}).
        """
        writing = self._writingThread
        if writing is not None and writing == _get_ident():
            # Logged by the destination while it writes: it would loop.
            self._refuseFeedback()
            return
        try:
            # The sink's encode(), its fast path inlined: this runs for
            # every message.
            data = _dumps(message, default=self._default, option=FAST_OPTIONS)
        except TypeError:
            data = self._encode(message)
        else:
            if data.partition(NULL)[1]:
                data = self._recheck(message, data)
        # What _enqueue does, inlined.
        bypass = self._bypass
        if bypass is not None:
            bypass(data)
        elif self._queue.put(data):
            self._wake()

    def _enqueue(self, data: bytes) -> None:
        """
        Queue a message encoded as the sink encodes: what L{__call__} does
        once it has encoded it.
        """
        writing = self._writingThread
        if writing is not None and writing == _get_ident():
            self._refuseFeedback()
            return
        bypass = self._bypass
        if bypass is not None:
            bypass(data)
        elif self._queue.put(data):
            self._wake()

    def _refuseFeedback(self) -> None:
        """
        Count a message the destination logged while it wrote, for the next
        write to report.  On the thread of a write given up on (stuck),
        which writes no more, the exit reports report it.
        """
        self._queue.refuseFeedback()
        if self._abandoned == _get_ident():
            _exitreports.EXIT_REPORTS.add(
                self, self._queue, self._losses.name(), self._standardError)

    def _wake(self) -> None:
        """
        Have the worker write what is queued, or report what was refused:
        a message was logged while nothing waited to be written.
        """
        worker = self._worker
        if worker is None:
            worker = self._startDueWorker()
            if worker is None:
                if self._bypass == self._writeDirect and self._queue.accepting:
                    # Queued (not refused) while another thread switched to
                    # direct writes: nobody else will write it.
                    self._switchToDirect()
                return
        worker.do(self._drainSoon)

    def _writeDirectAtExit(self, data: bytes) -> None:
        """See L{txcausal._writerexit.WriterExit._writeDirectAtExit}."""
        raise NotImplementedError()

    def _reportStopped(self, late: bool = False,
                       left: Callable[[float], float] = float) -> None:
        """At exit: see L{txcausal._writerexit.WriterExit._reportStopped}."""
        raise NotImplementedError()

    def _switchToDirect(self) -> None:
        """
        Write every message from now on on the thread that logs it, and
        what is queued (refused while switching) now.
        """
        try:
            with self._directLock:
                self._writing(self._drainSwitching)
        finally:
            # Cut short by a Control-C too: what it did not write.
            self._report()

    def _writeDirect(self, data: bytes) -> None:
        """
        Write a message on the thread that logs it.  A C{KeyboardInterrupt}
        (Control-C on this thread) is re-raised, the message counted as
        lost, for the destinations to report it and the program to stop.
        Once the process is exiting, L{_writeDirectAtExit} instead.
        """
        # Not False: None deep in the teardown, _teardown's globals gone.
        if _teardown.exiting is not False:
            return self._writeDirectAtExit(data)
        # L{_writing}'s lines, inlined: a call costs every message.
        try:
            with self._directLock:
                if self._forkLock.locked() and reentered(self, _HOLDERS):
                    # Logged from a signal handler or a finalizer while this
                    # thread wrote (it holds the lock, or is about to take
                    # it): written after what it writes.
                    self._parked.append(data)
                    if self._forkLock.acquire(False):
                        # Not this thread's: released meanwhile.
                        self._forkLock.release()
                        drain(self._parked, self._writeDirect)
                    return
                self._writeDirectHeld(data)
            # Outside the lock: a report can reach another writer.
            self._report()
        except BaseException:
            # The write raised (a Control-C): what was parked is written
            # all the same, unless a frame below holds the lock still.
            if self._parked and not reentered(self, _HOLDERS):
                drain(self._parked, self._writeDirect)
            raise
        if self._parked:
            drain(self._parked, self._writeDirect)

    def _writeDirectHeld(self, data: bytes) -> None:
        """
        L{_writeDirect}'s write, holding C{_directLock}.
        """
        with self._forkLock:
            ident = _get_ident()
            try:
                self._writingThread = ident
                # What it logged writing earlier ones: reported after this.
                feedback = self._queue.takeFeedback()
                self._losses.write(data, 1, interruptible=True)
                self._losses.refused(feedback, FEEDBACK)
            finally:
                self._writingThread = None

    def _drainSwitching(self) -> None:
        """
        For L{_switchToDirect}, holding the write lock: write directly from
        now on, and what is queued now.
        """
        self._bypass = self._writeDirect
        while self._writeTaken():
            pass

    def _writing(self, work: Callable[[], _T]) -> _T:
        """
        Run C{work} holding the write lock, for this thread to write to the
        destination.  A Control-C cannot keep the lock, nor leave this
        thread marked as the writer (whose messages would be refused as the
        destination's own): the lock is taken with C{with} (no generator,
        whose C{__enter__} and C{__exit__} would leave a Control-C points
        where the lock is held and nothing frees it), the mark set inside
        the C{try} that clears it.  (The C{try} is not the first line under
        the C{with} only for the tests that inject a Control-C with a trace
        function, which can raise at that line's no-op, outside the
        C{with} on Python 3.12 and 3.13; a real signal is never acted on
        there.)

        @return: What C{work} returns.
        """
        try:
            with self._forkLock:
                ident = _get_ident()
                try:
                    self._writingThread = ident
                    done = work()
                finally:
                    self._writingThread = None
        finally:
            if self._parked:
                # Logged directly while this thread held the lock (see
                # L{_writeDirect}), also when C{work} raised.
                drain(self._parked, self._writeDirect)
        return done

    def _drainOnce(self, beforeFork: bool = False) -> bool:
        """
        Write what is queued now, then send the failure reports.

        @param beforeFork: Whether this is the last write before a fork: the
            report of what the destination logged while it wrote is
            written too (see L{_writeFeedback}).
        @return: C{False} if there was nothing to do.
        """
        more = self._writing(self._writeTakenBeforeFork if beforeFork else self._writeTaken)
        self._report()
        return more

    def _writeTakenBeforeFork(self) -> bool:
        """
        L{_writeTaken}, then L{_writeFeedback}: the last write before a fork.
        """
        more = self._writeTaken()
        self._writeFeedback()
        return more

    def _writeTaken(self) -> bool:
        """
        Take what is queued, write it and report the refusals.  The caller
        holds C{_forkLock}, so a fork never finds messages taken but not
        written.  What the writer gave up on meanwhile is not written, and
        the refusals taken with it are counted in the give-up's report.  A
        C{KeyboardInterrupt} (on a thread switching to direct writes) counts
        what was taken and not released as lost (that of a write that
        returned just before it among them, at worst), frees its room, and
        owes its report and that of the refusals taken with it and not
        reported (repeated, at worst, if it came as they were written), for
        the caller to send.

        @return: C{False} if there was nothing to do.
        """
        losses, queue = self._losses, self._queue
        settled: List[int] = []
        epoch = losses.epoch
        try:
            taken = queue.take()
            if taken is None:
                return False
            for data, count, room in taken[0]:
                if losses.epoch == epoch:
                    losses.write(data, count)
                    self._progress += 1
                queue.release(count, room)
            queue.settleRefusals(settled)
            if losses.epoch == epoch:
                losses.refusals(*settled)
            else:
                # Given up on after they were settled: not to the destination.
                for report in losses.stoppedReports(*settled):
                    _last_resort(report, self._standardError)
        except BaseException:
            if losses.epoch == epoch:
                lost, refusals = queue.abandonTaken()
                losses.cutShort(lost, (settled[0], settled[1], settled[2]) if settled else refusals)
            raise
        return True

    def _writeFeedback(self) -> None:
        """
        Write the report of what the destination logged while it wrote, not
        reported yet, at the end of a run (a stop, a switch to direct
        writes, a fork): no next message may come to carry it.  The caller
        holds C{_forkLock}.
        """
        self._losses.refused(self._queue.takeFeedback(), FEEDBACK)

    def _report(self) -> None:
        """
        Send the failure reports through the default logger (the other
        destinations; standard error too when there is none).  Call without
        holding C{_forkLock}.
        """
        if self._losses.hasReports():
            for report in self._losses.takeReports():
                _output._report_lost(self, report, self._standardError)

    def _threaded(self) -> bool:
        """Whether the writer has a worker, made or due."""
        return self._worker is not None or self._workerDue

    def _startDueWorker(self) -> Optional[IWriterWorker]:
        """
        @return: The worker, created if due (in a forked child, for its first
            message); C{None} if the writer is stopped: what it refused is
            then reported at its next start, or else at exit.  As the
            interpreter tears down, the lock is not waited for if a frozen
            thread holds it (see L{txcausal._teardown}), and no worker is
            created.
        """
        with held(self._startLock) as free:
            if free and self._workerDue:
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
            elif self._worker is None:
                _exitreports.EXIT_REPORTS.add(
                    self, self._queue, self._losses.name(), self._standardError)
            return self._worker


#: The methods that take a writer's C{_forkLock}: a thread logging while it
#: runs one of them may hold it (see L{txcausal._reentry}).
_HOLDERS = holders(WriterCore._writeDirect, WriterCore._writeDirectHeld, WriterCore._writing)
