"""
Tests for what L{txcausal.FileDestination} does when a file takes only part
of a write (a full disk): the rest of one cut line is kept, everything else
the file did not take is lost and counted.  L{ThreadedWriter}'s batches cut
short are tested in L{txcausal.test.test_logwriter_shortwrite}.
"""

from __future__ import annotations

import copy
import errno
import io
import json
import os
import pickle
import sys
from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal._output import Destinations
from txcausal._shortwrite import ShortWrite

from ._shortwrite import ShortWriter, direct_destination, full_disk, json_lines


class FileDestinationShortWriteTests(SynchronousTestCase):
    """
    A L{FileDestination} writing directly to a file that takes only part of
    a write keeps the rest of the one line cut short, and no more.
    """

    def assertShortWrite(self, call: Any, *args: Any, lost: int) -> ShortWrite:
        error: ShortWrite = self.assertRaises(ShortWrite, call, *args)
        self.assertIsInstance(error, OSError)
        self.assertEqual(error.lost, lost)
        return error

    def test_shortWritesCompleted(self) -> None:
        """
        A short write is followed by writes of the rest of the line.
        """
        short = ShortWriter(most=5)
        destination = direct_destination(short)
        destination({"text": "x" * 20})
        destination.write_encoded(b'{"n":2}\n')
        self.assertEqual(short.data, b'{"text":"' + b"x" * 20 + b'"}\n{"n":2}\n')

    def test_batchCutKeepsOnlyTheCutLine(self) -> None:
        """
        When a full disk cuts a batch in the middle of a line, only the rest
        of that line is kept; the lines after it are lost and counted, and
        the error says so and chains the file's own.
        """
        full = full_disk(budget=12)
        destination = direct_destination(full)
        error = self.assertShortWrite(destination.write_encoded, json_lines(0, 1, 2, 3, 4), lost=3)
        self.assertEqual(full.data, b'{"n":0}\n{"n"')
        self.assertEqual(destination._pending, b':1}\n')
        self.assertEqual(
            str(error),
            "the file took 12 of 40 bytes (builtins.OSError: [Errno 28] No space left "
            "on device); the rest of the line cut short is kept and written next; "
            "3 lines lost")
        self.assertIsInstance(error.__cause__, OSError)
        self.assertEqual(error.__cause__.errno, errno.ENOSPC)  # type: ignore[union-attr]

    def test_batchCutAtLineEnd(self) -> None:
        """
        When the file stops at the end of a line, nothing is kept: every
        line after it is lost.
        """
        destination = direct_destination(ShortWriter(budget=16))
        error = self.assertShortWrite(destination.write_encoded, json_lines(0, 1, 2), lost=1)
        self.assertEqual(destination._pending, b"")
        self.assertEqual(str(error), "the file took 16 of 24 bytes; 1 line lost")

    def test_messageCutIsKeptNotLost(self) -> None:
        """
        A single message cut short raises, so that the failure is reported,
        but counts nothing lost: the rest of its line is kept.
        """
        destination = direct_destination(full_disk(budget=4))
        self.assertShortWrite(destination, {"n": 1}, lost=0)
        self.assertEqual(destination._pending, b':1}\n')

    def test_raisingBeforeTakingAnything(self) -> None:
        """
        A file that raises before taking anything raises its own error, and
        nothing is kept.
        """
        destination = direct_destination(full_disk(budget=0))
        error = self.assertRaises(OSError, destination, {"n": 1})
        self.assertNotIsInstance(error, ShortWrite)
        self.assertRaises(OSError, destination.write_encoded, json_lines(1, 2))
        self.assertEqual(destination._pending, b"")

    def test_takingNothing(self) -> None:
        """
        A file that takes nothing without raising loses every line of the
        write, and keeps nothing.
        """
        destination = direct_destination(ShortWriter(budget=0))
        self.assertShortWrite(destination.write_encoded, json_lines(1, 2), lost=2)
        self.assertShortWrite(destination, {"n": 3}, lost=1)
        self.assertEqual(destination._pending, b"")

    def test_pendingDoesNotGrow(self) -> None:
        """
        While the rest of a cut line cannot be written, later writes are
        not attempted and not kept: each is lost, and what is kept stays the
        same however many there are.
        """
        full = full_disk(budget=4)
        destination = direct_destination(full)
        self.assertShortWrite(destination, {"n": 1}, lost=0)
        for n in range(100):
            self.assertShortWrite(destination, {"n": n}, lost=1)
            self.assertShortWrite(destination.write_encoded, json_lines(n, n), lost=2)
        self.assertEqual(destination._pending, b':1}\n')
        self.assertEqual(full.data, b'{"n"')
        # One attempt a call, at the cut line only.
        self.assertEqual(full.calls, 2 + 200)

    def test_pendingFailureMessage(self) -> None:
        """
        The error raised while the cut line cannot be finished says so.
        """
        destination = direct_destination(ShortWriter(budget=4))
        self.assertShortWrite(destination, {"n": 1}, lost=0)
        error = self.assertShortWrite(destination.write_encoded, json_lines(2, 3), lost=2)
        self.assertEqual(
            str(error),
            "the file took 0 of the 4 bytes left of a line cut short earlier; that rest "
            "is kept and written next; 2 lines not written and lost")

    def test_pendingPartlyWritten(self) -> None:
        """
        When the file takes only part of the cut line's rest, what is left
        of it is kept, and the new lines are lost.
        """
        full = full_disk(budget=4)
        destination = direct_destination(full)
        self.assertShortWrite(destination, {"n": 1}, lost=0)
        full.budget = 2
        self.assertShortWrite(destination.write_encoded, json_lines(2, 3), lost=2)
        self.assertEqual(destination._pending, b'}\n')
        self.assertEqual(full.data, b'{"n":1')

    def test_recovery(self) -> None:
        """
        Once the file takes data again, the cut line is finished, then the
        new message is written: the file holds only whole JSON lines, and
        none of the lost messages.
        """
        full = full_disk(budget=12)
        destination = direct_destination(full)
        self.assertShortWrite(destination.write_encoded, json_lines(0, 1, 2), lost=1)
        for n in range(10, 15):
            self.assertShortWrite(destination, {"n": n}, lost=1)
        full.budget = 2**30
        destination({"n": 3})
        destination.write_encoded(json_lines(4))
        self.assertEqual(destination._pending, b"")
        self.assertEqual([json.loads(line) for line in full.data.splitlines()],
                         [{"n": n} for n in range(5) if n != 2])

    def test_recoveryThenShortWrite(self) -> None:
        """
        A write after the cut line is finished may itself be cut: the rest
        of its own line is then kept.
        """
        full = full_disk(budget=4)
        destination = direct_destination(full)
        self.assertShortWrite(destination, {"n": 1}, lost=0)
        full.budget = 4 + 8 + 3
        self.assertShortWrite(destination.write_encoded, json_lines(2, 3, 4), lost=1)
        self.assertEqual(full.data, b'{"n":1}\n{"n":2}\n{"n')
        self.assertEqual(destination._pending, b'":3}\n')

    def test_reportedByTheRegistry(self) -> None:
        """
        A message cut short is reported through the other destinations as a
        failure of the file destination.
        """
        destinations = Destinations()
        file = direct_destination(full_disk(budget=4))
        reports: List[Dict[str, Any]] = []
        destinations.add(file, reports.append)
        destinations.send({"n": 1})
        [report] = [m for m in reports if m.get("message_type")]
        self.assertEqual(report["message_type"], "eliot:destination_failure")
        self.assertEqual(report["exception"], "txcausal._shortwrite.ShortWrite")
        self.assertIn("the rest of the line cut short is kept", report["reason"])
        self.assertEqual(file._pending, b':1}\n')

    def test_aloneCountsOnlyLostMessages(self) -> None:
        """
        With no other destination to report to, the registry counts as
        dropped a message whose line is kept to be completed: no; one the
        file took nothing of: yes.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destinations = Destinations()
        file = direct_destination(full_disk(budget=4))
        destinations.add(file)
        destinations.send({"n": 1})
        self.assertEqual((file._pending, destinations.dropped), (b':1}\n', 0))
        destinations.send({"n": 2})
        self.assertEqual((file._pending, destinations.dropped), (b':1}\n', 1))
        self.assertEqual(stderr.getvalue().count("eliot:destination_failure"), 2)

    def test_unencodableMessageCountsOnce(self) -> None:
        """
        A message that cannot be encoded is written as two lines; lost to a
        full disk, it is counted as one dropped message.
        """
        self.patch(sys, "stderr", io.StringIO())
        destinations = Destinations()
        file = direct_destination(full_disk(budget=4))
        destinations.add(file)
        destinations.send({"n": 1})
        destinations.send({"n": object()})
        self.assertEqual(destinations.dropped, 1)


class ShortWriteDetailsTests(SynchronousTestCase):
    """
    What a L{ShortWrite} tells, and L{FileDestination.write_cut_line}.
    """

    def test_firstLostLine(self) -> None:
        """
        C{first} is the first line lost when lines are lost, else the line
        cut short.
        """
        destination = direct_destination(full_disk(budget=12))
        error = self.assertRaises(ShortWrite, destination.write_encoded, json_lines(0, 1, 2))
        self.assertEqual((error.lost, error.first), (1, b'{"n":2}'))
        single = direct_destination(full_disk(budget=4))
        error = self.assertRaises(ShortWrite, single.write_encoded, json_lines(0, 7))
        self.assertEqual((error.lost, error.first), (1, b'{"n":7}'))
        error = self.assertRaises(ShortWrite, direct_destination(full_disk(budget=12)),
                                  {"n": 1, "m": 2})
        self.assertEqual((error.lost, error.first), (0, b'{"n":1,"m":2}'))

    def test_firstWhilePending(self) -> None:
        """
        While a cut line cannot be finished, C{first} is the first line of
        the write refused.
        """
        destination = direct_destination(full_disk(budget=4))
        self.assertRaises(ShortWrite, destination, {"n": 1})
        error = self.assertRaises(ShortWrite, destination.write_encoded, json_lines(5, 6))
        self.assertEqual((error.lost, error.first), (2, b'{"n":5}'))

    def test_copied(self) -> None:
        """
        A L{ShortWrite} can be copied and pickled like other exceptions
        (its details are not carried over).
        """
        error = ShortWrite("reason", 3, b"line")
        self.assertEqual(str(copy.copy(error)), "reason")
        self.assertEqual(str(pickle.loads(pickle.dumps(error))), "reason")

    def test_writeCutLine(self) -> None:
        """
        L{FileDestination.write_cut_line} writes the rest of the line cut
        short, if any, and keeps nothing afterwards.
        """
        full = full_disk(budget=4)
        destination = direct_destination(full)
        destination.write_cut_line()
        self.assertEqual(full.data, b"")
        self.assertRaises(ShortWrite, destination, {"n": 1})
        full.budget = 100
        destination.write_cut_line()
        self.assertEqual((full.data, destination._pending), (b'{"n":1}\n', b""))

    def test_forkedChildLeavesTheRestToItsParent(self) -> None:
        """
        In a forked child (another process id), the rest of a line the
        parent cut short is neither written nor kept: the parent writes it.
        """
        full = full_disk(budget=4)
        destination = direct_destination(full)
        self.assertRaises(ShortWrite, destination, {"n": 1})
        other = direct_destination(full_disk(budget=4))
        self.assertRaises(ShortWrite, other, {"n": 1})
        full.budget = 100
        self.patch(os, "getpid", lambda: destination._pendingPid + 1)
        destination({"n": 2})
        self.assertEqual((full.data, destination._pending), (b'{"n"{"n":2}\n', b""))
        other.write_cut_line()
        self.assertEqual(other._pending, b"")

    def test_writeCutLineFails(self) -> None:
        """
        When the rest still cannot be written, L{FileDestination.write_cut_line}
        raises L{ShortWrite} counting that line lost, and keeps nothing.
        """
        full = full_disk(budget=4)
        destination = direct_destination(full)
        self.assertRaises(ShortWrite, destination, {"n": 1})
        error = self.assertRaises(ShortWrite, destination.write_cut_line)
        self.assertEqual((error.lost, error.first, destination._pending), (1, b':1}\n', b""))
        self.assertIsInstance(error.__cause__, OSError)


class RegistryAtExitTests(SynchronousTestCase):
    """
    L{Destinations.finish}, which the process-wide registry runs at exit:
    a file destination called on the thread that logs gets the rest of the
    line a full disk cut short written, or counted and reported, as a
    L{txcausal.logwriter.ThreadedWriter} does when it stops.
    """

    def test_cutLineWritten(self) -> None:
        """
        When the file takes the rest, it is written, and nothing is lost.
        """
        full = full_disk(budget=4)
        destinations = Destinations()
        destinations.add(direct_destination(full))
        destinations.send({"n": 1})
        full.budget = 100
        destinations.finish()
        self.assertEqual((full.data, destinations.dropped), (b'{"n":1}\n', 0))

    def test_cutLineLostReported(self) -> None:
        """
        When the file still does not take it, that line is reported to the
        other destinations (which got its message, so it is not counted as
        dropped), showing its rest.
        """
        destinations = Destinations()
        file = direct_destination(full_disk(budget=4))
        reports: List[Dict[str, Any]] = []
        destinations.add(file, reports.append)
        destinations.send({"n": 1})
        del reports[:]
        destinations.finish()
        [report] = reports
        self.assertEqual((report["message_type"], report["message"]),
                         ("eliot:destination_failure", ':1}\n'))
        self.assertIn("when no more were to be written; 1 line lost", report["reason"])
        self.assertEqual(file._pending, b"")

    def test_aloneCutLineCounted(self) -> None:
        """
        The only destination's line lost at exit is counted in C{dropped},
        and reported on standard error.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destinations = Destinations()
        destinations.add(direct_destination(full_disk(budget=4)))
        destinations.send({"n": 1})
        self.assertEqual(destinations.dropped, 0)
        destinations.finish()
        self.assertEqual(destinations.dropped, 1)
        self.assertIn("when no more were to be written", stderr.getvalue().splitlines()[-1])
