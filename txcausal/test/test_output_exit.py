"""
Tests for L{txcausal._output.Destinations.finish}: what the exit does with
the messages logged after the last destination was removed.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._output import Destinations

from ._helpers import run_python

#: The reason of the exit's report.
AFTER_LAST_REMOVED = "logged after the last destination was removed"


def _reports(text: str) -> List[Dict[str, Any]]:
    """
    @return: The messages in C{text}, one JSON object a line.
    """
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


class FinishTests(SynchronousTestCase):
    """
    L{Destinations.finish}, with an injected standard error.
    """

    def test_afterLastRemovedReported(self) -> None:
        """
        Messages logged after the last destination was removed, kept for a
        destination that never came, are counted in C{dropped} at exit and
        reported on standard error, with those that overflowed the buffer.
        """
        destinations = Destinations(buffer_size=2)
        written: List[Dict[str, Any]] = []
        destinations.add(written.append)
        destinations.remove(written.append)
        for i in range(5):
            destinations.send({"message_type": "app:late", "i": i})
        stream = io.StringIO()
        destinations.finish(stream)
        [report] = _reports(stream.getvalue())
        self.assertEqual((report["message_type"], report["count"], report["reason"]),
                         ("txcausal:messages_dropped", 5, AFTER_LAST_REMOVED))
        self.assertEqual(destinations.dropped, 5)
        self.assertEqual(written, [])

    def assertLaterReportedAtOnce(self, destinations: Destinations, stream: io.StringIO) -> None:
        """
        A message logged now, with no destination left after the exit's
        report, is counted and reported on C{stream} at once.
        """
        destinations.send({"message_type": "app:later"})
        [report] = _reports(stream.getvalue())
        self.assertEqual((report["count"], report["reason"]), (1, AFTER_LAST_REMOVED))
        self.assertEqual(destinations.dropped, 1)

    def test_afterExitReportedAtOnce(self) -> None:
        """
        A message logged once the exit's report was written (by a later
        exit handler, or a C{__del__} as the interpreter tears down) is
        counted and reported at once, since nothing would report it later.
        """
        destinations = Destinations()
        destinations.add(print)
        destinations.remove(print)
        stream = io.StringIO()
        destinations.finish(stream)
        self.assertLaterReportedAtOnce(destinations, stream)

    def test_removedAfterExitReportedAtOnce(self) -> None:
        """
        When the last destination is removed after the exit's report ran
        (by an exit handler that runs later), a message logged then is
        counted and reported at once.
        """
        destinations = Destinations()
        destinations.add(print)
        stream = io.StringIO()
        destinations.finish(stream)
        destinations.remove(print)
        self.assertLaterReportedAtOnce(destinations, stream)

    def test_afterForkInChildForgetsKept(self) -> None:
        """
        A forked child does not report the messages its parent kept after
        the last destination was removed (the parent reports them), and
        does not wait for a lock a thread of the parent held.
        """
        destinations = Destinations(buffer_size=2)
        destinations.add(print)
        destinations.remove(print)
        for i in range(3):
            destinations.send({"message_type": "app:parent", "i": i})
        held = threading.Lock()
        held.acquire()
        destinations._lock = held
        destinations.afterForkInChild()
        destinations.send({"message_type": "app:child"})
        stream = io.StringIO()
        destinations.finish(stream)
        [report] = _reports(stream.getvalue())
        self.assertEqual((report["count"], report["reason"]), (1, AFTER_LAST_REMOVED))
        self.assertEqual(destinations.dropped, 1)

    def test_afterForkInChildKeepsEarly(self) -> None:
        """
        A forked child keeps the messages logged before the first
        destination, for the destination it adds (a daemon forks before it
        configures its logging).
        """
        destinations = Destinations()
        destinations.send({"message_type": "app:early"})
        destinations.afterForkInChild()
        written: List[Dict[str, Any]] = []
        destinations.add(written.append)
        self.assertEqual([m["message_type"] for m in written], ["app:early"])

    def test_neverConfiguredQuiet(self) -> None:
        """
        A program that never added a destination exits quietly, whatever
        it logged, as with Eliot.
        """
        destinations = Destinations(buffer_size=2)
        for i in range(5):
            destinations.send({"message_type": "app:x", "i": i})
        stream = io.StringIO()
        destinations.finish(stream)
        destinations.send({"message_type": "app:later"})
        self.assertEqual(stream.getvalue(), "")

    def test_nothingLeftQuiet(self) -> None:
        """
        Nothing is reported when nothing was logged after the last
        destination was removed, or when a destination added since took
        it.
        """
        stream = io.StringIO()
        destinations = Destinations()
        destinations.add(print)
        destinations.remove(print)
        destinations.finish(stream)
        again = Destinations()
        written: List[Dict[str, Any]] = []
        again.add(written.append)
        again.remove(written.append)
        again.send({"message_type": "app:x"})
        again.add(written.append)
        again.finish(stream)
        self.assertEqual((stream.getvalue(), destinations.dropped, again.dropped), ("", 0, 0))
        self.assertEqual([m["message_type"] for m in written], ["app:x"])


#: A writer stopped as a service of the application is (in a "before"
#: shutdown trigger), then messages logged by later triggers.
_SHUTDOWN = r'''
import sys
from twisted.internet import reactor
from txcausal import FileDestination, log_message
from txcausal.logwriter import ThreadedWriter
writer = ThreadedWriter(FileDestination(open(sys.argv[1], "ab")), reactor)
writer.startService()
reactor.addSystemEventTrigger("before", "shutdown", writer.stopService)
def burst(phase, count):
    for i in range(count):
        log_message("test:burst", phase=phase, i=i)
reactor.addSystemEventTrigger("before", "shutdown", burst, "before", 700)
reactor.addSystemEventTrigger("during", "shutdown", burst, "during", 300)
reactor.addSystemEventTrigger("after", "shutdown", burst, "after", 300)
reactor.callWhenRunning(burst, "running", 10)
reactor.callWhenRunning(reactor.stop)
reactor.run()
'''


class ShutdownTests(SynchronousTestCase):
    """
    A real process whose writer stopped before the reactor's last events.
    """

    def test_loggedAfterWriterStoppedReported(self) -> None:
        """
        What is logged after the writer's C{stopService} removed it, during
        the reactor's shutdown, is reported on standard error at exit,
        counted, beyond the buffer's 1,000 too: every message is written or
        counted in a report.
        """
        path = Path(self.mktemp())
        done = run_python(["-c", _SHUTDOWN, str(path)])
        self.assertEqual(done.returncode, 0, done.stderr)
        phases = [m["phase"] for m in _reports(path.read_text())]
        self.assertEqual(phases, ["running"] * 10)
        [report] = _reports(done.stderr)
        self.assertEqual((report["message_type"], report["count"], report["reason"]),
                         ("txcausal:messages_dropped", 1300, AFTER_LAST_REMOVED))


#: An exit handler registered before txcausal was imported runs after its
#: exit report, removes the last destination and logs 5 messages.  Before,
#: with no destination, the program logged 3 and forked (the child exits
#: normally), then added a destination, which got the 3.
_LATE_AND_FORK = r'''
import atexit, os, sys
def late():
    from txcausal import log_message, remove_destination
    remove_destination(DEST)
    for i in range(5):
        log_message("app:late", i=i)
atexit.register(late)
from txcausal import add_destinations, log_message, remove_destination
DEST = [].append
add_destinations(print)
remove_destination(print)
for i in range(3):
    log_message("app:forked")
if os.fork() == 0:
    sys.exit(0)
os.wait()
add_destinations(DEST)
'''


class LateExitTests(SynchronousTestCase):
    """
    Real processes: an exit handler that runs after the exit's report, and
    a fork after the last destination was removed.
    """

    def test_removedByLaterExitHandlerAndForked(self) -> None:
        """
        The child does not report the 3 messages kept when the process
        forked (its parent's destination got them), and each
        of the 5 logged after a later exit handler removed the last
        destination is reported at once.
        """
        done = run_python(["-c", _LATE_AND_FORK])
        self.assertEqual(done.returncode, 0, done.stderr)
        reports = _reports(done.stderr)
        self.assertEqual({r["reason"] for r in reports}, {AFTER_LAST_REMOVED})
        self.assertEqual([r["count"] for r in reports], [1] * 5)

