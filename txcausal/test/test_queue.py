"""
Tests for L{txcausal._queue.BoundedQueue}: its bounds, what a queued message
really costs in memory, and the pages a batch is written in.
"""

from __future__ import annotations

import tracemalloc
from typing import Callable, List, Tuple, TypeVar

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._json import FAST_OPTIONS
from txcausal._queue import BoundedQueue, Taken
from txcausal._queueparked import ITEM_OVERHEAD, PAGE_SIZE
from txcausal._writer import Stop

T = TypeVar("T")


def _line(n: int) -> bytes:
    """
    @return: A message as the writer encodes it (with orjson, as it is).
    """
    return orjson.dumps({"message_type": "test:n", "task_uuid": "2d7a3a8e-7a37-4f8e-9b0c",
                         "task_level": [n], "timestamp": 1700000000.25, "n": n},
                        option=FAST_OPTIONS)


def _traced(f: Callable[[], T]) -> "tuple[T, int, int]":
    """
    @return: What C{f} returned, the memory it left allocated, and the peak
        it allocated meanwhile, in bytes (as L{tracemalloc} sees them).
    """
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = f()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, current - before, peak - before


def _queue(batched: bool, maxMessages: "int | None" = None,
           maxBytes: int = 1 << 30) -> BoundedQueue:
    queue = BoundedQueue(maxMessages, maxBytes, batched)
    queue.setAccepting(True)
    return queue


def _taken(queue: BoundedQueue) -> Taken:
    taken = queue.take()
    assert taken is not None
    return taken



def _settled(queue: BoundedQueue) -> List[int]:
    """
    @return: What L{BoundedQueue.settleRefusals} gives.
    """
    settled: List[int] = []
    queue.settleRefusals(settled)
    return settled


class BoundedQueueTests(SynchronousTestCase):
    """
    The bounds of a L{BoundedQueue}, and the room its messages take.
    """

    def test_noMessageLimitByDefault(self) -> None:
        """
        Without C{maxMessages}, only the bytes bound a queue.
        """
        queue = _queue(True, maxBytes=len(_line(0)) * 3)
        for n in range(5):
            queue.put(_line(n))
        self.assertEqual(queue.refused, 2)
        queue = _queue(True)
        for n in range(20_000):
            queue.put(_line(n))
        self.assertEqual(queue.refused, 0)

    def test_memoryOfQueuedMessages(self) -> None:
        """
        The room a queued message takes is no less than the memory it holds
        (give or take the buffer's spare room as it grows): a message kept
        on its own is a right-sized copy, not orjson's result, which holds
        some 4 KiB whatever its length.
        """
        for batched, slack in ((True, 1.15), (False, 1.02)):
            queue = _queue(batched)

            def fill(queue: BoundedQueue = queue) -> None:
                for n in range(20_000):
                    queue.put(_line(n))

            _, held, _ = _traced(fill)
            room = queue._size
            self.assertLessEqual(held, room * slack, (batched, held, room))
            self.assertGreaterEqual(held, sum(len(_line(n)) - 1 for n in range(20_000)))

    def test_itemOverhead(self) -> None:
        """
        L{ITEM_OVERHEAD} covers what a message kept on its own costs beyond
        its bytes, as L{tracemalloc} sees it, with at most 16 bytes more for
        the allocator's rounding, which it does not see.
        """
        queue = _queue(False)

        def fill() -> None:
            for n in range(20_000):
                queue.put(_line(n))

        _, held, _ = _traced(fill)
        overhead = (held - sum(len(_line(n)) - 1 for n in range(20_000))) / 20_000
        self.assertLessEqual(overhead, ITEM_OVERHEAD)
        self.assertGreaterEqual(overhead, ITEM_OVERHEAD - 16)

    def test_batchNotCopied(self) -> None:
        """
        Taking a batch does not copy it: the memory it holds is never held
        twice.
        """
        queue = _queue(True)
        for n in range(20_000):
            queue.put(_line(n))
        taken, _, peak = _traced(lambda: _taken(queue))
        self.assertLess(peak, queue._size / 10)
        self.assertEqual(sum(count for _, count, _ in taken[0]), 20_000)

    def test_idleIfEmpty(self) -> None:
        """
        L{BoundedQueue.idleIfEmpty} leaves a drain scheduled while messages
        or refusals not yet reported wait (refused because the queue was
        full, or because it was closed); once they are taken, it makes the
        queue idle, so that the next message schedules a drain again.
        """
        for batched in (True, False):
            with self.subTest(batched=batched):
                queue = _queue(batched, maxMessages=1)
                self.assertTrue(queue.put(_line(0)))
                self.assertFalse(queue.put(_line(1)))
                self.assertFalse(queue.idleIfEmpty())
                chunks, full, _, _ = _taken(queue)
                self.assertEqual(full, 1)
                # Refused: the message taken still counts until released.
                self.assertFalse(queue.put(_line(2)))
                self.assertFalse(queue.idleIfEmpty())
                self.assertEqual(_taken(queue)[1], 1)
                for _, count, room in chunks:
                    queue.release(count, room)
                self.assertTrue(queue.idleIfEmpty())
                queue.setAccepting(False)
                # Refused while idle: a drain is scheduled to report it.
                self.assertTrue(queue.put(_line(3)))
                self.assertFalse(queue.idleIfEmpty())
                self.assertEqual(_taken(queue)[2], 1)
                self.assertTrue(queue.idleIfEmpty())
                queue.setAccepting(True)
                self.assertTrue(queue.put(_line(4)))

    def test_refusedWhileIdleSchedules(self) -> None:
        """
        A message refused while the queue is idle, because it alone is
        larger than the bound or because the queue is closed, schedules a
        drain, once, for the refusal to be reported.
        """
        big = _line(0) * 10
        for batched in (True, False):
            with self.subTest(batched=batched):
                queue = _queue(batched, maxBytes=len(big) // 2)
                self.assertEqual([queue.put(big), queue.put(big)], [True, False])
                self.assertEqual(_taken(queue)[1:], (2, 0, 0))
                self.assertTrue(queue.idleIfEmpty())
                self.assertTrue(queue.put(big))
                _taken(queue)
                self.assertTrue(queue.idleIfEmpty())
                queue.setAccepting(False)
                self.assertEqual([queue.put(_line(1)), queue.put(_line(2))], [True, False])
                self.assertEqual(_taken(queue)[1:], (0, 2, 0))

    def test_takeRefusals(self) -> None:
        """
        L{BoundedQueue.takeRefusals} takes the refusals alone, leaving what
        is queued; with nothing queued, the next refusal schedules a drain
        again, for its report.
        """
        queue = _queue(True, maxBytes=len(_line(0)) * 2)
        self.assertTrue(queue.put(_line(0)))
        self.assertFalse(queue.put(_line(1) * 3))
        queue.refuseFeedback()
        self.assertEqual(queue.takeRefusals(), (1, 0, 1))
        self.assertEqual(queue.takeRefusals(), (0, 0, 0))
        self.assertFalse(queue.put(_line(1) * 3))
        self.assertEqual(_taken(queue), ([(_line(0), 1, len(_line(0)))], 1, 0, 0))
        queue.release(1, len(_line(0)))
        self.assertTrue(queue.idleIfEmpty())
        queue.setAccepting(False)
        self.assertEqual([queue.put(_line(2)), queue.put(_line(3))], [True, False])
        self.assertEqual(queue.takeRefusals(), (0, 2, 0))
        self.assertTrue(queue.put(_line(4)))

    def test_takeRefusalsQuiet(self) -> None:
        """
        Taken C{quiet}, the refusals leave the queue scheduled: the next
        refusals are only counted, for a later report.
        """
        queue = _queue(True)
        queue.setAccepting(False)
        self.assertTrue(queue.put(_line(0)))
        self.assertEqual(queue.takeRefusals(quiet=True), (0, 1, 0))
        self.assertEqual([queue.put(_line(1)), queue.put(_line(2))], [False, False])
        self.assertEqual(queue.takeRefusals(), (0, 2, 0))

    def test_settleRefusals(self) -> None:
        """
        The refusals a take took are settled once its messages are written
        (L{BoundedQueue.settleRefusals}), unless a L{BoundedQueue.discard}
        meanwhile counted them among those it forgot.
        """
        queue = _queue(True, maxMessages=1)
        queue.put(_line(0))
        queue.put(_line(1))
        queue.take()
        self.assertEqual(_settled(queue), [1, 0, 0])
        self.assertEqual(_settled(queue), [0, 0, 0])
        queue.release(1, len(_line(0)))
        queue.put(_line(2))
        queue.put(_line(3))
        queue.take()
        self.assertEqual(_discarded(queue), (0, 1, 1))
        self.assertEqual(_settled(queue), [0, 0, 0])

    def test_abandonTaken(self) -> None:
        """
        L{BoundedQueue.abandonTaken} frees the room of the messages taken
        and not released (once: not that of one released), and gives their
        number and the refusals taken with them; what was queued since
        keeps its room.
        """
        queue = _queue(False, maxMessages=2)
        for n in range(3):
            queue.put(_line(n))
        taken = queue.take()
        assert taken is not None
        _, count, room = taken[0][0]
        queue.release(count, room)
        queue.put(_line(3))
        self.assertEqual(queue.abandonTaken(), (1, (1, 0, 0)))
        alone = _queue(False)
        alone.put(_line(3))
        self.assertEqual((queue._count, queue._taken, queue._size), (1, 0, alone._size))
        self.assertEqual(queue.abandonTaken(), (0, (0, 0, 0)))


class PagesTests(SynchronousTestCase):
    """
    A batch is taken as pages of about L{PAGE_SIZE} bytes, each counting its
    messages and its room exactly.
    """

    def test_pages(self) -> None:
        """
        Past L{PAGE_SIZE} bytes the buffer becomes a page; each page holds
        whole lines, and the pages hold every message once, in order.
        """
        queue = _queue(True)
        queue.put(_line(-1))
        _taken(queue)  # being written while the pages fill
        lines = [_line(n) for n in range(3 * PAGE_SIZE // 100)]
        for line in lines:
            queue.put(line)
        chunks, _, _, _ = _taken(queue)
        self.assertGreater(len(chunks), 2)
        for data, count, room in chunks:
            self.assertEqual((data.count(b"\n"), room), (count, len(data)))
            self.assertLessEqual(len(data), PAGE_SIZE + max(map(len, lines)))
            self.assertTrue(data.endswith(b"\n"))
        self.assertEqual(b"".join(data for data, _, _ in chunks), b"".join(lines))

    def test_roomFreedPageByPage(self) -> None:
        """
        Each page's room is freed when it is released, so that the writer
        makes room as it goes; what is put meanwhile is the next batch.
        """
        queue = _queue(True)
        for n in range(2 * PAGE_SIZE // 100):
            queue.put(_line(n))
        chunks, _, _, _ = _taken(queue)
        sizes: List[int] = []
        for _, count, room in chunks:
            queue.release(count, room)
            sizes.append(queue._size)
        self.assertEqual(sizes[-1], 0)
        self.assertEqual(sizes, sorted(sizes, reverse=True))
        queue.put(_line(0))
        self.assertEqual(_taken(queue)[0][0][1], 1)

    def test_discard(self) -> None:
        """
        Discarding forgets the pages and the buffer and frees their room;
        the messages being written still count until released.
        """
        queue = _queue(True)
        queue.put(_line(0))
        chunks, _, _, _ = _taken(queue)
        for n in range(PAGE_SIZE // 50):
            queue.put(_line(n))
        queued, inWrite, pending = _discarded(queue)
        self.assertEqual((queued, inWrite, pending), (PAGE_SIZE // 50, 1, 0))
        self.assertEqual(queue._size, chunks[0][2])
        self.assertIsNone(queue.take())


def _discarded(queue: BoundedQueue) -> Tuple[int, int, int]:
    """
    @return: What L{BoundedQueue.discard} gives, as a stop's C{lost}.
    """
    stop = Stop()
    queue.discard(stop)
    assert stop.lost is not None
    return stop.lost
