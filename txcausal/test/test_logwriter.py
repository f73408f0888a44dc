"""
Tests for L{txcausal.logwriter.ThreadedWriter}: a service that writes on
its worker, its queue bounded.  Writing to files is tested in
L{txcausal.test.test_logwriter_files}.
"""

from __future__ import annotations

import io
import json
import threading
from functools import partial
from typing import Any, Dict, List

import orjson
from twisted.application.service import IService, MultiService
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import FileDestination, IDestination, log_message
from txcausal._queueparked import ITEM_OVERHEAD
from txcausal.logwriter import ThreadedWriter

from ._writer_harness import WriterHarness, inAnotherThread, numbered_message


class ThreadedWriterTests(WriterHarness, SynchronousTestCase):
    """
    A L{ThreadedWriter} is a named service and a destination, writes on its
    worker, and drops (counting) what its bounded queue cannot hold.
    """

    def test_name(self) -> None:
        """
        A writer has a service name, as Eliot's has, that can be changed so
        that two writers share a parent.
        """
        parent = MultiService()
        first, _, _ = self.writer()
        second, _, _ = self.writer()
        second.setName("audit")
        first.setServiceParent(parent)
        second.setServiceParent(parent)
        self.assertIs(parent.getServiceNamed("txcausal log writer"), first)

    """
    Tests for L{ThreadedWriter}, driven by an in-memory worker.
    """

    def test_interfaces(self) -> None:
        """
        A L{ThreadedWriter} provides L{IService} and L{IDestination}.
        """
        writer, _, _ = self.writer()
        self.assertTrue(verifyObject(IService, writer))
        self.assertTrue(verifyObject(IDestination, writer))

    def test_badArguments(self) -> None:
        """
        A destination that is not callable, or a limit that is not positive,
        is refused with a clear error.
        """
        self.assertRaises(TypeError, ThreadedWriter, "not callable")
        exc = self.assertRaises(ValueError, ThreadedWriter, print, maxMessages=0)
        self.assertIn("maxMessages", str(exc))
        self.assertRaises(ValueError, ThreadedWriter, print, maxBytes=-1)

    def test_badExitTimeout(self) -> None:
        """
        An C{exitTimeout} that is negative, not finite, or above
        C{threading.TIMEOUT_MAX} (which no wait takes) is refused with a
        clear error; C{threading.TIMEOUT_MAX} itself is accepted.
        """
        for timeout in (-1.0, float("inf"), float("nan"), 1e10):
            exc = self.assertRaises(ValueError, ThreadedWriter, print, exitTimeout=timeout)
            self.assertIn("exitTimeout", str(exc))
        self.assertEqual(ThreadedWriter(print, exitTimeout=0)._exitTimeout, 0)
        self.assertGreater(1e10, threading.TIMEOUT_MAX)
        longest = ThreadedWriter(print, exitTimeout=threading.TIMEOUT_MAX)
        self.assertEqual(longest._exitTimeout, threading.TIMEOUT_MAX)

    def test_writesOnWorker(self) -> None:
        """
        Logging only queues the message; the destination is called by the
        worker.
        """
        writer, written, performAll = self.started()
        writer(numbered_message(1))
        self.assertEqual(written, [])
        performAll()
        self.assertEqual(written, [numbered_message(1)])

    def test_startServiceAddsDestination(self) -> None:
        """
        Once started, the writer receives what is logged; once stopped, it
        does not.
        """
        writer, written, performAll = self.started()
        log_message("test:logged", value=1)
        performAll()
        self.assertEqual([m["value"] for m in written], [1])
        writer.stopService()
        performAll()
        log_message("test:logged", value=2)
        performAll()
        self.assertEqual([m["value"] for m in written], [1])

    def test_startTwice(self) -> None:
        """
        Starting a running writer does nothing: messages are still written
        once each.
        """
        writer, written, performAll = self.started()
        writer.startService()
        log_message("test:once")
        performAll()
        self.assertEqual([m["message_type"] for m in written], ["test:once"])

    def test_snapshotWhenLogged(self) -> None:
        """
        Changing a value after it was logged does not change what is
        written.
        """
        writer, written, performAll = self.started()
        items = [1]
        writer(numbered_message(1, items=items))
        items.append(2)
        performAll()
        self.assertEqual(written[0]["items"], [1])

    def test_unencodableMessage(self) -> None:
        """
        A message with a value that cannot be encoded is delivered with the
        value's C{repr}, followed by the report of it, as a file
        destination would write them.
        """
        writer, written, performAll = self.started()
        writer(numbered_message(1, bad=object()))
        performAll()
        self.assertEqual([m["message_type"] for m in written],
                         ["test:n", "txcausal:unencodable_values"])
        self.assertIn("object object", written[0]["bad"])

    def test_fullEncoderWhenTheFastOneRefuses(self) -> None:
        """
        What orjson's fast path refuses (non-string keys, integers past 64
        bits) is encoded by the full encoder, for a file and for any other
        destination alike.
        """
        out = io.BytesIO()
        for destination in (FileDestination(out), None):
            writer, written, performAll = self.started(destination)
            writer(numbered_message(1, counts={2: "two"}, big=2**70 + 1))
            performAll()
            writer.stopService()
            performAll()
            [message] = written or [json.loads(out.getvalue())]
            self.assertEqual((message["counts"], message["big"]), ({"2": "two"}, 2**70 + 1))

    def test_stopServiceWaitsForQueue(self) -> None:
        """
        The L{Deferred} from C{stopService} fires only once every message
        accepted before it was written.
        """
        writer, written, performAll = self.started()
        for n in range(3):
            writer(numbered_message(n))
        d = writer.stopService()
        self.assertNoResult(d)
        performAll()
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual([m["n"] for m in written], [0, 1, 2])
        self.assertFalse(writer.running)

    def test_stopServiceWhenStopped(self) -> None:
        """
        Stopping a writer that is not running succeeds at once.
        """
        writer, _, _ = self.writer()
        self.assertIsNone(self.successResultOf(writer.stopService()))

    def test_restart(self) -> None:
        """
        A stopped writer can be started again; messages given to it while it
        was stopped are reported as dropped.
        """
        writer, written, performAll = self.started()
        writer.stopService()
        performAll()
        writer(numbered_message(1))
        writer.startService()
        writer(numbered_message(2))
        performAll()
        self.assertEqual(written[0]["n"], 2)
        self.assertEqual(written[1]["message_type"], "txcausal:messages_dropped")
        self.assertEqual(written[1]["count"], 1)
        self.assertIn("stopped", written[1]["reason"])

    def test_queueFullDropsNewest(self) -> None:
        """
        When C{maxMessages} messages wait, new ones are refused, counted, and
        reported after the queued ones are written.
        """
        writer, written, performAll = self.started(maxMessages=3)
        for n in range(5):
            writer(numbered_message(n))
        performAll()
        self.assertEqual([m.get("n") for m in written[:3]], [0, 1, 2])
        self.assertEqual(written[3]["message_type"], "txcausal:messages_dropped")
        self.assertEqual(written[3]["count"], 2)
        self.assertEqual(writer.dropped, 2)

    def test_droppedCountedWhenRefused(self) -> None:
        """
        C{dropped} counts a refused message as soon as it is refused, before
        the writer reports it: a full queue's refusals, and a stopped
        writer's.
        """
        writer, _, performAll = self.started(maxMessages=2)
        for n in range(5):
            writer(numbered_message(n))
        self.assertEqual(writer.dropped, 3)
        performAll()
        self.assertEqual(writer.dropped, 3)
        writer.stopService()
        performAll()
        writer(numbered_message(9))
        self.assertEqual(writer.dropped, 4)

    def test_defaultBoundHoldsABurst(self) -> None:
        """
        At the default settings, a burst of 20,000 messages logged while the
        destination has written none of them is queued whole: the queue is
        bounded by their memory, not by a count of messages.
        """
        writer, written, performAll = self.started()
        for n in range(20_000):
            writer(numbered_message(n))
        self.assertEqual(writer.dropped, 0)
        performAll()
        self.assertEqual([m["n"] for m in written], list(range(20_000)))

    def test_queueBoundedInBytes(self) -> None:
        """
        The queue also holds at most C{maxBytes} bytes, each message counting
        what it costs: for a destination other than a file, its JSON and
        the overhead of keeping it on its own.
        """
        size = len(orjson.dumps(numbered_message(0, padding="x" * 100))) + ITEM_OVERHEAD
        writer, written, performAll = self.started(maxBytes=2 * size + 10)
        for n in range(10):
            writer(numbered_message(n, padding="x" * 100))
        performAll()
        kept = [m for m in written if m["message_type"] == "test:n"]
        self.assertEqual(len(kept), 2)
        self.assertEqual(written[-1]["count"], 8)

    def test_memoryBoundedWhenStalled(self) -> None:
        """
        While the destination makes no progress, the queue never grows past
        its limit however much is logged.
        """
        writer, _, _ = self.started(maxMessages=10)
        for n in range(1000):
            writer(numbered_message(n))
        self.assertEqual(writer._queue._count, 10)
        self.assertEqual(writer._queue.refusedFull, 990)

    def test_boundIncludesMessagesBeingWritten(self) -> None:
        """
        Messages taken by the worker count against the limit until each is
        written, so a slow destination never has more than C{maxMessages}
        in memory, and room is freed message by message.
        """
        written: List[int] = []
        writer: ThreadedWriter

        def logThree() -> None:
            for n in range(10, 13):
                writer(numbered_message(n))

        def destination(message: Dict[str, Any]) -> None:
            # Other threads log while the destination writes.
            if message.get("n") == 0:
                inAnotherThread(logThree)
            if message.get("n") == 1:
                inAnotherThread(partial(writer, numbered_message(20)))
            written.append(message.get("n", -1))

        writer, _, performAll = self.started(destination, maxMessages=3)
        for n in range(3):
            writer(numbered_message(n))
        performAll()
        # While 0 was written, 0, 1 and 2 filled the queue: 10-12 were
        # refused; once 0 was written there was room for 20.  The refusal
        # is reported after what was queued when it was counted.
        self.assertEqual(written, [0, 1, 2, 20, -1])
        self.assertEqual(writer.dropped, 3)
