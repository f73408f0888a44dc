"""
Tests for L{txcausal.logwriter.ThreadedWriter}'s coalesced wake-ups: while
messages keep coming, the worker lingers before writing, gathering them into
one write, for a bounded time.  Driven by an in-memory worker, a fake clock
and a fake sleep; one end-to-end test uses real threads.
"""

from __future__ import annotations

import io
import threading
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

import orjson
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from txcausal import FileDestination, _route, add_destinations, log_message
from txcausal._queueparked import PAGE_SIZE
from txcausal._writer import MemoryWorker, createMemoryWorker
from txcausal.logwriter import ThreadedWriter
from txcausal.test._helpers import (
    CapturingMixin,
    ImmediateReactor,
    IsolatedOutputMixin,
    flush_early_buffer,
)
from txcausal.test._writer_harness import isolate_exit_reports, real_log_file

LINGER = 0.005


def _performAll(perform: Callable[[], bool]) -> None:
    """
    Run a memory worker's work until none is left.
    """
    while perform():
        pass


class CountingFile(io.BytesIO):
    """
    A binary file counting its writes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: Any) -> int:
        self.writes += 1
        return super().write(data)

    def lines(self) -> List[Dict[str, Any]]:
        return [orjson.loads(line) for line in self.getvalue().splitlines()]


class LoggingFile(CountingFile):
    """
    A binary file on which, during each of its next C{left} writes, another
    thread logs a message.
    """

    def __init__(self, log: Callable[[], object]) -> None:
        super().__init__()
        self._log = log
        #: How many more writes log a message.
        self.left = 0

    def write(self, data: Any) -> int:
        if self.left:
            self.left -= 1
            thread = threading.Thread(target=self._log)
            thread.start()
            thread.join()
        return super().write(data)


class StoppingFile(CountingFile):
    """
    A binary file that calls C{during}, once, in its next write.
    """

    def __init__(self) -> None:
        super().__init__()
        self.during: Optional[Callable[[], object]] = None

    def write(self, data: Any) -> int:
        during, self.during = self.during, None
        if during is not None:
            during()
        return super().write(data)


class LingerTests(CapturingMixin, IsolatedOutputMixin, SynchronousTestCase):
    """
    The worker lingers only while messages keep coming, never longer than
    C{linger}, and loses nothing.
    """

    def setUp(self) -> None:
        flush_early_buffer()
        self.clock = Clock()
        self.clock.advance(1000)
        #: What the fake sleep was asked to wait, each time.
        self.sleeps: List[float] = []
        #: Called while the worker sleeps, as other threads would log.
        self.meanwhile: List[Callable[[], object]] = []
        self.file = CountingFile()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        for f in self.meanwhile:
            f()
        self.clock.advance(seconds)

    def stepwise(self, destination: Any = None, **kwargs: Any
                 ) -> Tuple[ThreadedWriter, MemoryWorker, Callable[[], bool]]:
        """
        @return: A started writer around C{destination}, by default a file
            destination on C{self.file}, with the fake clock and sleep; its
            worker; and a function running the worker's next piece of work.
        """
        worker, perform = createMemoryWorker()
        kwargs.setdefault("linger", LINGER)
        if destination is None:
            destination = FileDestination(self.file)
        writer = ThreadedWriter(destination, ImmediateReactor(),
                                createWorker=lambda: worker, clock=self.clock.seconds,
                                sleep=self.sleep, **kwargs)
        writer.startService()

        def stop() -> None:
            if writer.running:
                writer.stopService()
                _performAll(perform)

        self.addCleanup(stop)
        _performAll(perform)
        return writer, worker, perform

    def started(self, destination: Any = None,
                **kwargs: Any) -> Tuple[ThreadedWriter, Callable[[], None]]:
        """
        @return: What L{stepwise} does, but a function running all the
            worker's work in place of the worker and its next piece.
        """
        writer, _, perform = self.stepwise(destination, **kwargs)
        return writer, partial(_performAll, perform)

    def test_idleWriterWritesAtOnce(self) -> None:
        """
        A message logged while the writer has been idle (no message for a
        while) is written without waiting.
        """
        _, performAll = self.started()
        self.clock.advance(60)
        log_message("test:m", n=1)
        performAll()
        self.assertEqual(self.sleeps, [])
        self.assertEqual([m["n"] for m in self.file.lines()], [1])

    def test_busyWriterGathers(self) -> None:
        """
        While messages keep coming, the worker woken by one waits C{linger}
        seconds, and what is logged meanwhile is written with it, in one
        write, in order.
        """
        _, performAll = self.started()
        log_message("test:m", n=1)
        performAll()
        writes = self.file.writes
        self.meanwhile.append(lambda: log_message("test:m", n=3))
        self.meanwhile.append(lambda: log_message("test:m", n=4))
        log_message("test:m", n=2)
        performAll()
        self.assertEqual(self.sleeps, [LINGER])
        self.assertEqual([m["n"] for m in self.file.lines()], [1, 2, 3, 4])
        self.assertEqual(self.file.writes - writes, 1)

    def test_loggedDuringWriteWaitsForNextRound(self) -> None:
        """
        While messages keep coming, a message another thread logs while the
        worker writes is not written at once, in a write of its own: it
        waits for the worker's next round, C{linger} seconds later, with
        whatever comes meanwhile.  Then, nothing more having come, the
        worker goes idle.
        """
        file = LoggingFile(lambda: log_message("test:m", n=3))
        writer, performAll = self.started(destination=FileDestination(file))
        log_message("test:m", n=1)
        performAll()
        file.left = 1
        self.meanwhile.append(lambda: log_message("test:m", n=4) if len(self.sleeps) == 2
                              else None)
        log_message("test:m", n=2)
        performAll()
        self.assertEqual(self.sleeps, [LINGER, LINGER])
        self.assertEqual([m["n"] for m in file.lines()], [1, 2, 3, 4])
        self.assertEqual(file.writes, 3)
        self.assertEqual(writer.dropped, 0)

    def test_quietRoundGoesIdle(self) -> None:
        """
        A round whose write took everything queued leaves the worker idle
        at once, without another round: the next message wakes it.
        """
        _, performAll = self.started()
        log_message("test:m", n=1)
        performAll()
        log_message("test:m", n=2)
        performAll()
        self.assertEqual(self.sleeps, [LINGER])
        log_message("test:m", n=3)
        performAll()
        self.assertEqual(self.sleeps, [LINGER, LINGER])
        self.assertEqual([m["n"] for m in self.file.lines()], [1, 2, 3])

    def test_flushWhileMessagesKeepComing(self) -> None:
        """
        A flush given while messages keep coming fires after the round in
        progress and one write of its own: what is logged after it is left
        to the rounds, rather than holding the flush back for as long as
        messages come.
        """
        file = LoggingFile(lambda: log_message("test:m", n=0))
        writer, worker, perform = self.stepwise(FileDestination(file))
        log_message("test:m", n=1)
        _performAll(perform)
        file.left = 100
        log_message("test:m", n=2)
        d = writer.flush()
        # The round in progress writes 2; another thread logs a 0 meanwhile.
        perform()
        self.assertNoResult(d)
        # The flush writes that 0; another is logged meanwhile.
        perform()
        self.successResultOf(d)
        self.assertEqual([m["n"] for m in file.lines()], [1, 2, 0])
        # That one waits for the next round.
        self.assertEqual(len(worker.pending), 1)
        perform()
        self.assertEqual([m["n"] for m in file.lines()], [1, 2, 0, 0])

    def test_idleWriterGoesOnInRounds(self) -> None:
        """
        A writer woken from idle writes the first message at once; if more
        came during that write, it goes on in rounds, each write after a
        wait of C{linger} seconds, rather than writing back to back for as
        long as messages come.
        """
        file = LoggingFile(lambda: log_message("test:m", n=0))
        _, performAll = self.started(destination=FileDestination(file))
        self.clock.advance(60)
        file.left = 5
        log_message("test:m", n=1)
        performAll()
        self.assertEqual([m["n"] for m in file.lines()], [1, 0, 0, 0, 0, 0])
        self.assertEqual(file.writes, 6)
        self.assertEqual(self.sleeps, [LINGER] * 5)

    def test_pageWaitingIsWrittenAtOnce(self) -> None:
        """
        When more than a page (L{PAGE_SIZE} bytes) was logged during a
        round's write, as in a burst, the next round writes it without
        waiting: waiting gathers small writes, and would only let the
        queue grow.
        """
        padding = "x" * 1000

        def burst() -> None:
            for n in range(PAGE_SIZE // 1000 + 10):
                log_message("test:m", n=n, padding=padding)

        file = LoggingFile(burst)
        _, performAll = self.started(destination=FileDestination(file))
        log_message("test:m", n=-1)
        performAll()
        file.left = 1
        log_message("test:m", n=-2)
        performAll()
        # The round that wrote -2 waited; the one that wrote the burst did
        # not; the last found nothing more after it and went idle.
        self.assertEqual(self.sleeps, [LINGER])
        self.assertEqual(len(file.lines()), 2 + PAGE_SIZE // 1000 + 10)

    def test_nothingAfterStop(self) -> None:
        """
        A stop given during a round's write, while more is queued, writes
        what is queued and fires; the round that was to follow does nothing
        afterwards: it neither writes nor reports a message refused after
        the stop (that report waits for the next start, or the exit).
        """
        reports = self.collect()
        isolate_exit_reports(self)
        file = StoppingFile()
        writer, worker, perform = self.stepwise(FileDestination(file))
        log_message("test:m", n=1)
        _performAll(perform)
        stopped: List[Any] = []

        def during() -> None:
            thread = threading.Thread(target=log_message, args=("test:m",), kwargs={"n": 3})
            thread.start()
            thread.join()
            stopped.append(writer.stopService())

        file.during = during
        log_message("test:m", n=2)
        # The round: it writes 2, during which 3 is logged and the stop
        # given; the next round is queued behind the stop's last step.
        perform()
        perform()
        self.successResultOf(stopped[0])
        self.assertEqual([m["n"] for m in file.lines()], [1, 2, 3])
        # A thread still holding the writer logs: refused.
        writer({"message_type": "test:m", "n": 4})
        self.assertEqual(writer.dropped, 1)
        written = file.getvalue()
        _performAll(perform)
        self.assertEqual(file.getvalue(), written)
        self.assertEqual([m for m in reports if m["message_type"] == "txcausal:messages_dropped"],
                         [])

    def test_delayBounded(self) -> None:
        """
        Every message reaches the destination within C{linger} seconds of
        being logged (the worker's own time taken to write aside), whether
        it woke the worker or was logged while the worker waited; the worker
        never waits longer.
        """
        logged: Dict[int, float] = {}
        written: List[Tuple[int, float]] = []
        _, performAll = self.started(
            destination=lambda m: written.append((m["n"], self.clock.seconds())), linger=0.02)

        def log(n: int) -> None:
            logged[n] = self.clock.seconds()
            log_message("test:m", n=n)

        self.meanwhile.append(lambda: log(len(logged)))
        for _ in range(10):
            log(len(logged))
            performAll()
            self.clock.advance(0.004)
        self.assertEqual([n for n, _ in written], list(range(len(logged))))
        self.assertTrue(all(at - logged[n] <= 0.02 for n, at in written), (logged, written))
        self.assertTrue(self.sleeps)
        self.assertEqual(set(self.sleeps), {0.02})

    def test_stopDoesNotLinger(self) -> None:
        """
        Stopping the writer writes what is queued without waiting for more.
        """
        writer, performAll = self.started()
        log_message("test:m", n=1)
        performAll()
        log_message("test:m", n=2)
        d = writer.stopService()
        performAll()
        self.successResultOf(d)
        self.assertEqual(self.sleeps, [])
        self.assertEqual([m["n"] for m in self.file.lines()], [1, 2])

    def test_zeroLinger(self) -> None:
        """
        With C{linger=0}, the worker never waits.
        """
        _, performAll = self.started(linger=0)
        for n in range(3):
            log_message("test:m", n=n)
            performAll()
        self.assertEqual(self.sleeps, [])
        self.assertEqual(len(self.file.lines()), 3)

    def test_noLingerByDefaultWithOwnWorker(self) -> None:
        """
        With a worker of its own and no C{linger}, the writer does not
        linger: the default applies to the default worker, a thread.
        """
        worker, perform = createMemoryWorker()
        writer = ThreadedWriter(FileDestination(self.file), ImmediateReactor(),
                                createWorker=lambda: worker, clock=self.clock.seconds,
                                sleep=self.sleep)
        writer.startService()
        for n in range(3):
            log_message("test:m", n=n)
            while perform():
                pass
        d = writer.stopService()
        while perform():
            pass
        self.successResultOf(d)
        self.assertEqual(self.sleeps, [])
        self.assertEqual(len(self.file.lines()), 3)

    def test_negativeLinger(self) -> None:
        """
        A negative C{linger} is refused.
        """
        self.assertRaises(ValueError, ThreadedWriter, FileDestination(self.file),
                          ImmediateReactor(), linger=-1)


class EncodedOnceTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    A L{ThreadedWriter} takes the line the registry encodes once for every
    destination sharing its encoder.
    """

    def test_sharedLine(self) -> None:
        """
        Two writers around file destinations and a file destination get the
        same line, encoded once.
        """
        self.isolate()
        files = [CountingFile(), CountingFile(), CountingFile()]
        workers: List[MemoryWorker] = []
        for file in files[:2]:
            worker, perform = createMemoryWorker()
            workers.append(worker)
            writer = ThreadedWriter(FileDestination(file), ImmediateReactor(),
                                    createWorker=partial(lambda w: w, worker))
            writer.startService()
            self.addCleanup(_performAll, perform)
            self.addCleanup(writer.stopService)
        add_destinations(FileDestination(files[2]))
        counting: List[int] = []
        dumps = orjson.dumps

        def counted(*args: Any, **kwargs: Any) -> bytes:
            counting.append(1)
            return dumps(*args, **kwargs)

        self.patch(_route, "_dumps", counted)
        log_message("test:m", n=1)
        for worker in workers:
            for work in worker.pending[:]:
                worker.pending.remove(work)
                work()
        self.assertEqual(len(counting), 1)
        self.assertEqual(files[0].getvalue(), files[2].getvalue())
        self.assertEqual(files[1].getvalue(), files[2].getvalue())


class RealThreadsTests(TestCase):
    """
    End-to-end: a real writer thread, lingering as by default, and four
    threads logging at once.
    """

    def test_nothingLostOrderKept(self) -> "defer.Deferred[None]":
        """
        Every message four threads log at once reaches the file, each
        thread's in the order it logged them.
        """
        from twisted.internet import reactor

        path, file = real_log_file(self)
        writer = ThreadedWriter(FileDestination(file), reactor)
        writer.startService()

        def run(name: str) -> None:
            for n in range(500):
                log_message("test:m", thread=name, n=n)

        threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        def check(_: object) -> None:
            lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
            by_thread: Dict[str, List[int]] = {}
            for message in lines:
                by_thread.setdefault(message["thread"], []).append(message["n"])
            self.assertEqual(by_thread, {f"t{i}": list(range(500)) for i in range(4)})

        return writer.stopService().addCallback(check)

    def test_stopCutsLingerShort(self) -> "defer.Deferred[None]":
        """
        A stop while the worker lingers (an hour, here) writes what is
        queued at once, well within the stop's exit timeout (which would
        otherwise give up on those messages).
        """
        from twisted.internet import reactor

        path, file = real_log_file(self)
        lingering = threading.Event()

        def sleep(seconds: float) -> object:
            # The default wait, telling the test when it starts.
            lingering.set()
            return writer._hurry.wait(seconds)

        writer = ThreadedWriter(FileDestination(file), reactor, linger=3600, exitTimeout=5,
                                clock=lambda: 0.0, sleep=sleep)
        writer.startService()
        log_message("test:m", n=0)
        stopped: "defer.Deferred[None]" = defer.Deferred()

        def stopOnceLingering(_: object = None) -> None:
            # The worker lingers on the second message (the clock says it
            # came at once): stop only once it waits.
            if not lingering.is_set():
                reactor.callLater(0.01, stopOnceLingering)
                return
            writer.stopService().chainDeferred(stopped)

        def check(_: object) -> None:
            self.assertEqual([orjson.loads(line)["n"] for line in path.read_bytes().splitlines()],
                             [0, 1])
            self.assertEqual(writer.dropped, 0)

        writer.flush().addCallback(lambda _: log_message("test:m", n=1)).addCallback(
            stopOnceLingering)
        return stopped.addCallback(check)
