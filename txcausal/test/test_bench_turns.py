"""
Tests for the minimal writer thread of scenarios 11 and 15
(C{bench._turns_child.MinimalThread}): what it does, not how fast; and for
the private thread pool the writers of scenarios 1-4, 11, 14 and 15 stop
through (C{bench._writer_child.PrivatePool}).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, List

from twisted.trial.unittest import SynchronousTestCase

from ._helpers import bench_root

MESSAGE = {"message_type": "bench:message", "key": "value"}
#: C{ThreadedWriter}'s default linger, which the minimal thread has too.
LINGER = 0.005


class MinimalThreadTests(SynchronousTestCase):
    """
    L{bench._turns_child.MinimalThread} is woken only when its buffer goes
    from empty to non-empty, lingers, writes, and goes idle again.
    """

    def setUp(self) -> None:
        root = str(bench_root())
        sys.path.insert(0, root)
        self.addCleanup(sys.path.remove, root)
        from bench._turns_child import MinimalThread
        directory = tempfile.TemporaryDirectory(prefix="txcausal-test-bench-")
        self.addCleanup(directory.cleanup)
        self.path = Path(directory.name) / "minimal.log"
        self.file = open(self.path, "wb")
        self.addCleanup(self.file.close)
        self.thread: Any = MinimalThread(self.file)
        self.addCleanup(self.thread.stop)
        self.takes: List[int] = []
        take = self.thread._take

        def counted() -> bytearray:
            taken: bytearray = take()
            self.takes.append(len(taken))
            return taken

        self.thread._take = counted  # type: ignore[method-assign]

    def lines(self) -> int:
        return len(self.path.read_bytes().splitlines())

    def wait_for(self, condition: Callable[[], bool]) -> None:
        """
        Wait (10 seconds at most) until C{condition()} holds, or fail.
        """
        deadline = time.monotonic() + 10
        while not condition():
            if time.monotonic() > deadline:
                self.fail("the minimal writer thread did not write")
            time.sleep(0.001)

    def test_idleWhileNothingIsLogged(self) -> None:
        """
        With nothing logged the thread never wakes to look at its buffer,
        however long it waits (20 of its lingers here); stopping it writes
        nothing more.
        """
        time.sleep(20 * LINGER)
        self.assertEqual(self.takes, [])
        self.thread.stop()
        self.assertEqual(self.lines(), 0)

    def test_wokenByAMessage(self) -> None:
        """
        A message logged while the thread sleeps wakes it: it writes the
        message without being stopped, goes idle, and is woken again by
        the next message.
        """
        self.thread(MESSAGE)
        self.wait_for(lambda: self.lines() == 1)
        time.sleep(10 * LINGER)
        rounds = len(self.takes)
        self.assertEqual(rounds, 1)
        self.thread(MESSAGE)
        self.wait_for(lambda: self.lines() == 2)
        self.thread.stop()
        self.assertEqual(self.lines(), 2)

    def test_everyMessageWritten(self) -> None:
        """
        Messages logged from several threads at once are all written, each
        a whole line, by the thread itself: before it is stopped (stopping
        it writes what is left, which would hide a lost wake-up).  Each
        thread pauses now and then, so that messages keep arriving while
        the writer takes and writes its buffer, over many of its lingers.
        """
        def log() -> None:
            for number in range(2_000):
                self.thread(MESSAGE)
                if number % 20 == 0:
                    time.sleep(LINGER / 10)

        threads = [threading.Thread(target=log) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.wait_for(lambda: self.path.read_bytes().count(b"\n") == 8_000)
        self.thread.stop()
        lines = self.path.read_bytes().splitlines()
        self.assertEqual(len(lines), 8_000)
        self.assertEqual(set(lines), {b'{"message_type":"bench:message","key":"value"}'})


class PrivatePoolTests(SynchronousTestCase):
    """
    L{bench._writer_child.PrivatePool} stands for the reactor with a thread
    pool of its own, which leaves no thread behind once closed.
    """

    def setUp(self) -> None:
        root = str(bench_root())
        sys.path.insert(0, root)
        self.addCleanup(sys.path.remove, root)

    def test_noThreadLeftBehind(self) -> None:
        """
        Work run in its pool starts a thread there; closing it joins that
        thread, so that no thread is left beside the next timing.
        """
        from bench._writer_child import PrivatePool

        before = set(threading.enumerate())
        pool = PrivatePool(object())
        ran = threading.Event()
        pool.getThreadPool().callInThread(ran.set)
        self.assertTrue(ran.wait(10))
        self.assertNotEqual(set(threading.enumerate()), before)
        pool.close()
        self.assertEqual(set(threading.enumerate()), before)

    def test_otherwiseTheReactor(self) -> None:
        """
        Anything else is the reactor's.
        """
        from bench._writer_child import PrivatePool

        class Reactor:
            def callFromThread(self) -> None:
                pass

        reactor = Reactor()
        pool = PrivatePool(reactor)
        self.addCleanup(pool.close)
        self.assertEqual(pool.callFromThread, reactor.callFromThread)
