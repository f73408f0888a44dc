"""
Tests for what L{txcausal.logwriter.ThreadedWriter} does when its file
takes only part of a batch (a full disk): the rest of one cut line is kept,
everything else the file did not take is lost and counted.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from ._shortwrite import direct_destination, full_disk
from ._writer_harness import WriterHarness, numbered_message


class ThreadedWriterShortWriteTests(WriterHarness, SynchronousTestCase):
    """
    A L{ThreadedWriter} whose batch a full disk cuts counts as lost only the
    lines neither written nor kept.
    """

    def cutBatch(self, messages: int, cutAt: int, into: int = 5) -> None:
        """
        Write C{messages} messages in one batch to a disk that fills up
        C{into} bytes into line C{cutAt}; C{self.threaded}, C{self.full},
        C{self.logger} (capturing the failure reports) and C{self.lines}
        (those written) are then set.
        """
        self.logger = self.capture()
        self.full = full_disk(budget=0)
        self.destination = direct_destination(self.full)
        self.threaded, _, self.performAll = self.started(self.destination)
        self.lines = [self.destination.encode(numbered_message(n)) for n in range(messages)]
        self.full.budget = len(b"".join(self.lines[:cutAt])) + into
        for n in range(messages):
            self.threaded(numbered_message(n))
        self.performAll()

    def test_batchCutInTheMiddle(self) -> None:
        """
        A batch cut in the middle of a line is reported with C{lost}, and
        counted in C{dropped}, as the lines after the cut one only.
        """
        self.cutBatch(6, cutAt=2)
        [report] = self.logger.messages
        self.assertEqual(report["message_type"], "eliot:destination_failure")
        self.assertEqual(report["exception"], "txcausal._shortwrite.ShortWrite")
        self.assertIn("3 lines lost", report["reason"])
        self.assertEqual(report["lost"], 3)
        self.assertEqual(json.loads(report["message"])["n"], 3)
        self.assertEqual(self.threaded.dropped, 3)
        self.assertEqual(self.full.data, b"".join(self.lines[:2]) + self.lines[2][:5])
        self.assertEqual(self.destination._pending, self.lines[2][5:])

    def test_lostWhilePendingCountedOnRecovery(self) -> None:
        """
        The batches lost while the cut line cannot be finished are counted
        and, once the disk has room again, reported after the cut line is
        finished; the file then holds only whole lines.
        """
        self.cutBatch(4, cutAt=1)
        for n in range(10, 13):
            self.threaded(numbered_message(n))
            self.performAll()
        self.assertEqual([m["lost"] for m in self.logger.messages], [2])
        self.assertEqual(self.destination._pending, self.lines[1][5:])
        # Counted as they are lost, reported once the disk takes them.
        self.assertEqual(self.threaded.dropped, 2 + 3)
        self.full.budget = 2**30
        self.threaded(numbered_message(20))
        self.performAll()
        written = [json.loads(line) for line in self.full.data.splitlines()]
        self.assertEqual([m.get("n") for m in written], [0, 1, 20, None])
        self.assertEqual((written[-1]["message_type"], written[-1]["count"]),
                         ("txcausal:messages_dropped", 3))
        self.assertEqual(self.threaded.dropped, 2 + 3)

    def test_otherErrorsLoseTheBatch(self) -> None:
        """
        An error raised before the file took anything loses the whole batch.
        """
        self.cutBatch(3, cutAt=0, into=0)
        [report] = self.logger.messages
        self.assertEqual(report["exception"], "builtins.OSError")
        self.assertEqual(report["lost"], 3)
        self.assertEqual(json.loads(report["message"])["n"], 0)
        self.assertEqual(self.threaded.dropped, 3)

    def test_cutLineShown(self) -> None:
        """
        When nothing is lost, the report shows the line cut short.
        """
        self.cutBatch(1, cutAt=0)
        [report] = self.logger.messages
        self.assertEqual((report["lost"], self.threaded.dropped), (0, 0))
        self.assertEqual(report["message"], self.lines[0].decode("utf-8").rstrip("\n"))

    def test_stopFinishesTheCutLine(self) -> None:
        """
        A writer stopping writes the rest of a line cut short when the disk
        has room again, though nothing more was logged.
        """
        self.cutBatch(3, cutAt=1)
        self.full.budget = 2**30
        self.successResultOf(self.stop())
        self.assertEqual(self.full.data.splitlines(), [line.rstrip(b"\n") for line in
                                                       self.lines[:2]])
        self.assertEqual([m["lost"] for m in self.logger.messages], [1])
        self.assertEqual(self.threaded.dropped, 1)

    def test_stopWhileFailingReportsTheLost(self) -> None:
        """
        A writer stopping while the disk is still full counts the line cut
        short as lost too, and reports every message lost since the first
        failure through the other destinations, since no later write will.
        """
        self.cutBatch(3, cutAt=1)
        for n in range(10, 13):
            self.threaded(numbered_message(n))
            self.performAll()
        self.successResultOf(self.stop())
        failure, dropped = self.logger.messages
        self.assertEqual((failure["message_type"], failure["lost"]),
                         ("eliot:destination_failure", 1))
        self.assertEqual((dropped["message_type"], dropped["count"]),
                         ("txcausal:messages_dropped", 3 + 1))
        self.assertIn("until the ThreadedWriter stopped", dropped["reason"])
        self.assertEqual(self.threaded.dropped, 1 + 3 + 1)
        self.assertEqual(self.destination._pending, b"")

    def stop(self) -> Any:
        """
        Stop the writer and run its worker.

        @return: L{ThreadedWriter.stopService}'s L{Deferred}.
        """
        stopped = self.threaded.stopService()
        self.performAll()
        return stopped
