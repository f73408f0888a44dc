# -*- test-case-name: txcausal.test.test_logwriter,txcausal.test.test_logwriter_linger -*-
"""
L{WriterRounds}: when the worker of a L{txcausal.logwriter.ThreadedWriter}
writes.  While messages keep coming it lingers, gathering those logged
meanwhile into one write per round; otherwise it writes at once, and goes
idle when the queue is empty, until the next message wakes it.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Optional

from ._writer import IWriterWorker
from ._writerfork import WriterFork

#: How long the worker waits, in each round while messages keep coming, for
#: more messages to write with the first (see L{WriterRounds._round}): the most
#: a message waits before it is written, beyond the write in progress.
DEFAULT_LINGER = 0.005
#: Messages come "all the time" when one comes less than this many seconds
#: after the queue was last found empty: the worker lingers then.
_BUSY = 0.050


class WriterRounds(WriterFork):
    """
    The worker's rounds of writing of L{txcausal._writercore.WriterCore},
    which sets the attributes declared here.
    """

    #: How long the worker lingers in a round (0: it never does).
    _linger: float
    _clock: Callable[[], float]
    _sleep: Optional[Callable[[float], object]]
    #: When the worker last found the queue empty, by C{_clock}.
    _idleSince: float

    def _drain(self) -> None:
        """
        Write what is queued, until nothing is.  Runs on the worker.
        """
        while self._drainOnce():
            pass

    def _drainSoon(self) -> None:
        """
        What a message logged while the worker was idle wakes it for: while
        messages keep coming (the queue was last found empty less than
        L{_BUSY} seconds ago), a L{_round}; otherwise L{_writeOnce} at
        once; once the writer has stopped, nothing (see L{_round}).
        """
        worker = self._worker
        if worker is None:
            return
        if self._linger and self._queue.accepting and self._clock() - self._idleSince < _BUSY:
            self._round(worker)
        else:
            self._writeOnce(worker)

    def _round(self, worker: IWriterWorker, wait: bool = True) -> None:
        """
        Wait C{linger} seconds, gathering the messages logged meanwhile,
        then L{_writeOnce}: while messages keep coming, the worker writes
        once every C{linger} seconds plus the time to write, and a message
        waits at most C{linger} seconds plus the write in progress.  A stop
        cuts the wait short.

        @param worker: The worker that runs the round: if the writer no
            longer has it (stopped, given up on, or started again with
            another), the round does nothing: the stop wrote what was queued.
        @param wait: C{False} when a page already waits (a burst): waiting
            gathers small writes, and would only let the queue grow.
        """
        if wait:
            (self._sleep or self._hurry.wait)(self._linger)
        if self._worker is worker:
            self._writeOnce(worker)

    def _writeOnce(self, worker: IWriterWorker) -> None:
        """
        Write what is queued (one write per page, for a batched sink); what
        is logged meanwhile waits for the next L{_round}, given to C{worker}
        behind any other work (a flush, a stop).  When the write took all
        there was, the worker goes idle: the next message wakes it.  Without
        C{linger}, or once the writer is stopping, L{_drain} instead.
        """
        if not self._linger or not self._queue.accepting:
            self._drain()
        elif self._drainOnce() and not self._queue.idleIfEmpty():
            worker.do(partial(self._round, worker, not self._queue.pageWaits()))
            return
        self._idleSince = self._clock()
