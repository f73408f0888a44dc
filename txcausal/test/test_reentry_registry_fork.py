"""
Tests of a process forked while another of its threads is halfway through
changing the destination registry (L{Destinations.add} or
L{Destinations.remove}): the forked child must not be left with a registry
that neither sends nor keeps what it logs.

Each runs a script in a process of its own (a real fork), ended after
L{HANG} seconds if it waits for ever, and the test then fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import List

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from .._destinations import EARLY_BUFFER_SIZE
from ._helpers import run_python
from .test_reentry_fork import HANG, _text

#: A destination refused as the route is planned (its attribute raises past
#: the first look, when it is added), and C{refused()}, which adds one.
_REFUSED = """
class Refused:
    # Refused as the route is planned (its attribute raises past the first look).
    looks = 0
    def __call__(self, message):
        pass
    @property
    def _jsonLines(self):
        Refused.looks += 1
        if Refused.looks > 1:
            raise RuntimeError("refused as planned")

def refused():
    try:
        registry.add(Refused())
    except RuntimeError:
        pass
"""

#: Stops a thread adding or removing the process's destination at a line
#: where the registry is halfway through the change (C{sys.argv[1]}, a key of
#: C{halfway}), then forks on the main thread; the stopped thread goes on once
#: the fork is done.  The child logs a message, then adds a destination (or,
#: if C{sys.argv[2]} is "exit", runs the exit's report and prints it);
#: prints the C{n} of the child's message as received by the destination
#: added or removed (in the child) and by the child's own, and the count of
#: messages the child dropped; then what the parent's destinations receive.
_FORK_HALFWAY = """
import io, json, os, signal, sys, threading
from txcausal._destinations import Destinations
from txcausal._output import _DESTINATIONS as registry

mode = sys.argv[1]
halfway = {
    # The destination out of the list, the route not planned yet.
    "remove-unplanned": lambda: not registry._destinations and registry._single is not None,
    # The route planned, the buffer not made yet.
    "remove": lambda: (not registry._destinations and registry._single is None
                       and registry._buffer is None),
    # The buffer made.
    "remove-buffered": lambda: not registry._destinations and registry._buffer is not None,
    # The buffer taken, the destination not listed yet.
    "add": lambda: not registry._destinations and registry._buffer is None,
    # The destination listed, the route not planned yet.
    "add-unplanned": lambda: (registry._destinations and registry._buffer is None
                              and not registry._route[4]),
}[mode.removesuffix("-refused")]
""" + _REFUSED + """
stopped, go = threading.Event(), threading.Event()
first = []
if mode.startswith("remove"):
    registry.add(first.append)
    change, code = (lambda: registry.remove(first.append)), Destinations.remove.__code__
else:
    registry.send({"n": "early"})
    change, code = (lambda: registry.add(first.append)), Destinations.add.__code__
    if mode.endswith("-refused"):
        change = refused

def local(frame, event, arg):
    if event == "line" and not stopped.is_set() and halfway():
        stopped.set()
        go.wait()
        return None
    return local

def trace(frame, event, arg):
    return local if frame.f_code is code else None

def run():
    sys.settrace(trace)
    change()
    sys.settrace(None)

def child():
    signal.alarm(10)
    received = []
    registry.send({"n": "child"})
    if sys.argv[2:] == ["exit"]:
        stream = io.StringIO()
        registry.finish(stream)
        report = json.loads(stream.getvalue())
        print("child", report["count"], report["reason"], registry.dropped, flush=True)
        os._exit(0)
    registry.add(received.append)
    print("child", json.dumps([m.get("n") for m in first if m.get("n") == "child"]),
          json.dumps([m.get("n") for m in received]), registry.dropped, flush=True)
    os._exit(0)

thread = threading.Thread(target=run)
thread.start()
stopped.wait()
forked = os.fork() or child()
go.set()
thread.join()
assert os.waitstatus_to_exitcode(os.waitpid(forked, 0)[1]) == 0
received = []
registry.send({"n": "parent"})
registry.add(received.append)
print("parent", json.dumps([m.get("n") for m in first + received]), flush=True)
"""

#: Removes the process's last destination, or adds the first if
#: C{sys.argv[1]} is "add" or "overflow", and forks halfway on the same
#: thread, as a signal handler run there would: where the registry holds
#: its lock with no destination listed, past the new route and before the
#: new buffer (or, if C{sys.argv[1]} is "emptied", past the new buffer;
#: adding, past taking what was kept and the count of those dropped).  The
#: thread removing logs a message (parked) before it forks.  The child logs
#: a message (one more than it keeps for "overflow"), then adds a
#: destination there, or once back from the handler and done (for "back",
#: and adding: it then logs another).  Prints the C{n} of what the child's
#: destinations receive (the C{count} of a report of those dropped), the
#: count it dropped (and adding, how many it still keeps), then what the
#: parent's destinations receive.
_FORK_HERE = """
import json, os, signal, sys
from txcausal._output import _DESTINATIONS as registry

mode = sys.argv[1]
adding = mode in ("add", "overflow")
first, forked = [], []

def child():
    received = []
    registry.add(received.append)
    got = [m.get("n") for m in first + received]
    print("child", json.dumps(got), registry.dropped, flush=True)
    os._exit(0)

def halfway(frame):
    if adding:
        return (registry._lock.locked() and "before" in frame.f_locals
                and not registry._destinations)
    if mode == "emptied":
        return registry._lock.locked() and registry._emptied
    return (not registry._destinations and registry._buffer is None
            and registry._single is None)

def local(frame, event, arg):
    if event == "line" and not forked and halfway(frame):
        if not adding:
            registry.send({"n": "parent"})
        forked.append(os.fork())
        if forked[0] == 0:
            signal.alarm(10)
            for _ in range(registry._buffer_size + 1 if mode == "overflow" else 1):
                registry.send({"n": "child"})
            if mode in ("here", "emptied"):
                child()
    return local

method = type(registry).add if adding else type(registry).remove

def trace(frame, event, arg):
    return local if frame.f_code is method.__code__ else None

if adding:
    registry.send({"n": "early"})
else:
    registry.add(first.append)
sys.settrace(trace)
method(registry, first.append)
sys.settrace(None)
if forked[0] == 0 and adding:
    registry.send({"n": "after"})
    print("child", json.dumps([m.get("n", m.get("count")) for m in first]), registry.dropped,
          len(registry._buffer or ()), flush=True)
    os._exit(0)
if forked[0] == 0:
    child()
assert os.waitstatus_to_exitcode(os.waitpid(forked[0], 0)[1]) == 0
received = []
registry.add(received.append)
print("parent", json.dumps([m.get("n") for m in first + received]), flush=True)
"""


#: Adds the first destination (C{sys.argv[1]} "shown") or one refused as the
#: route is planned ("refused"), and forks on the same thread (a signal
#: handler) with what was kept taken and the destination not listed; the
#: child's handler shows a report and keeps it (C{keep_shown}), or logs a
#: message.  "shown": the child, back in its add, removes that destination,
#: logs two messages and runs the exit's report: prints what the destination
#: received, the report's count and the count dropped.  "refused": the child,
#: once its add has raised, adds a destination: prints what it received and
#: the count dropped.
_FORK_IN_ADD = """
import io, json, os, signal, sys
from txcausal._output import _DESTINATIONS as registry
""" + _REFUSED + """
mode = sys.argv[1]
first, forked = [], []
def local(frame, event, arg):
    if (event == "line" and not forked and registry._lock.locked()
            and "before" in frame.f_locals and not registry._destinations):
        forked.append(os.fork())
        if forked[0] == 0:
            signal.alarm(10)
            if mode == "shown":
                registry.keep_shown({"message_type": "shown"})
            else:
                registry.send({"n": "handler"})
    return local

def trace(frame, event, arg):
    return local if frame.f_code is type(registry).add.__code__ else None

registry.send({"n": "early"})
sys.settrace(trace)
if mode == "shown":
    registry.add(first.append)
else:
    refused()
sys.settrace(None)
if forked[0] == 0 and mode == "shown":
    registry.remove(first.append)
    registry.send({"n": 1})
    registry.send({"n": 2})
    stream = io.StringIO()
    registry.finish(stream)
    print(json.dumps([m.get("n", m.get("message_type")) for m in first]),
          json.loads(stream.getvalue())["count"], registry.dropped, flush=True)
    os._exit(0)
if forked[0] == 0:
    got = []
    registry.add(got.append)
    print(json.dumps([m.get("n") for m in got]), registry.dropped, flush=True)
    os._exit(0)
assert os.waitstatus_to_exitcode(os.waitpid(forked[0], 0)[1]) == 0
"""

class ForkHalfwayTests(SynchronousTestCase):
    """
    A child forked while another thread of the parent, or the forking
    thread itself (a signal handler), adds or removes a destination.
    """

    def _forked(self, mode: str, script: str = _FORK_HALFWAY, *more: str) -> List[str]:
        """
        Run C{script} (by default L{_FORK_HALFWAY}) with the arguments
        C{mode} and C{more}; fail if it fails or hangs.

        @return: The lines it printed.
        """
        if not hasattr(os, "fork"):
            raise SkipTest("no os.fork on this platform")
        try:
            result = run_python(["-c", script, mode, *more], timeout=HANG)
        except subprocess.TimeoutExpired as e:
            self.fail(f"forking halfway through {mode} hung for {HANG:.0f} s and was ended\n"
                      f"{_text(e.stdout)}{_text(e.stderr)}")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout.splitlines()

    def test_remove(self) -> None:
        """
        A child forked while another thread removes the last destination,
        past the new route and before the buffer: a message the child logs
        is kept for the child's first destination, nothing dropped.  The
        parent's next destination receives the parent's.
        """
        self.assertEqual(self._forked("remove"),
                         ['child [] ["child"] 0', 'parent ["parent"]'])

    def test_removeUnplanned(self) -> None:
        """
        A child forked while another thread removes the last destination,
        past taking it out of the list and before the new route: the child
        does not send to the destination removed; a message it logs is kept
        for its first destination, nothing dropped.
        """
        self.assertEqual(self._forked("remove-unplanned"),
                         ['child [] ["child"] 0', 'parent ["parent"]'])

    def test_removeThenExit(self) -> None:
        """
        A child forked while another thread removes the last destination
        the first time, before the buffer, that logs a message and exits
        with no destination: the message is counted and reported as lost.
        """
        self.assertEqual(self._forked("remove", _FORK_HALFWAY, "exit")[0],
                         "child 1 logged after the last destination was removed 1")

    def test_removeBufferedThenExit(self) -> None:
        """
        As in L{test_removeThenExit}, but forked once the new buffer is made:
        the message is counted and reported as lost too.
        """
        self.assertEqual(self._forked("remove-buffered", _FORK_HALFWAY, "exit")[0],
                         "child 1 logged after the last destination was removed 1")

    def test_addRefusedUnplanned(self) -> None:
        """
        A child forked while another thread adds a destination that is
        refused as the route is planned, past listing it and before the
        route: the child's route is planned from the destinations it had (its
        own planning refuses that one too), and a message it logs is kept for
        its first destination, nothing dropped.  The parent, whose L{add}
        raised, keeps what it kept before.
        """
        self.assertEqual(self._forked("add-unplanned-refused"),
                         ['child [] ["child"] 0', 'parent ["early", "parent"]'])

    def test_add(self) -> None:
        """
        A child forked while another thread adds the first destination,
        past taking the buffer and before listing the destination: a message
        the child logs is kept for the child's first destination, nothing
        dropped.  The parent's destination receives what it kept before,
        then its next.
        """
        self.assertEqual(self._forked("add"),
                         ['child [] ["child"] 0', 'parent ["early", "parent"]'])

    def test_addUnplanned(self) -> None:
        """
        A child forked while another thread adds the first destination,
        past listing it and before the new route: a message the child logs
        reaches that destination, nothing dropped.
        """
        self.assertEqual(self._forked("add-unplanned"),
                         ['child ["child"] [] 0', 'parent ["early", "parent"]'])

    def test_removeHere(self) -> None:
        """
        A child forked by the thread removing the last destination, past
        the new route and before the buffer (a signal handler forking where
        the registry holds its lock): the child keeps a message it logs for
        its first destination, nothing dropped, but not the parent's
        message parked there, which the parent keeps.
        """
        self.assertEqual(self._forked("here", _FORK_HERE),
                         ['child ["child"] 0', 'parent ["parent"]'])

    def test_removeHereAndBack(self) -> None:
        """
        As in L{test_removeHere}, but the child goes back from the handler
        and is done removing before it adds a destination: that one still
        receives the message the child logged in the handler.
        """
        self.assertEqual(self._forked("back", _FORK_HERE),
                         ['child ["child"] 0', 'parent ["parent"]'])

    def test_forkedChildDropsParked(self) -> None:
        """
        A child forked by a thread of the parent that holds the lock after
        removing the last destination (a signal handler forking there),
        with a message parked there, does not keep it (the parent's, which
        that thread keeps): the child's next destination receives only the
        child's messages.
        """
        self.assertEqual(self._forked("emptied", _FORK_HERE),
                         ['child ["child"] 0', 'parent ["parent"]'])

    def test_addHere(self) -> None:
        """
        A child forked by the thread adding the first destination, past
        taking the buffer and before listing the destination (a signal
        handler forking where the registry holds its lock): once done
        adding, the child's destination receives what was kept before the
        fork, the message the child logged in the handler, then its next;
        nothing dropped or left kept.  The parent's receives what was kept.
        """
        self.assertEqual(self._forked("add", _FORK_HERE),
                         ['child ["early", "child", "after"] 0 0', 'parent ["early"]'])

    def test_addHereOverflowed(self) -> None:
        """
        As in L{test_addHere}, but the child logs in the handler one message
        more than it keeps: its destination receives what was kept before
        the fork, the report of the one dropped, then the rest.
        """
        lines = self._forked("overflow", _FORK_HERE)
        received, dropped, kept = lines[0].removeprefix("child ").rsplit(" ", 2)
        self.assertEqual((json.loads(received), dropped, kept),
                         (["early", 1] + ["child"] * EARLY_BUFFER_SIZE + ["after"], "1", "0"))

    def test_addHereShown(self) -> None:
        """
        A report a child's signal handler showed and kept while the child's
        add had taken what was kept goes to the destination added, with the
        rest, and is no longer counted as shown: two messages the child logs
        after removing that destination are both reported lost at its exit.
        """
        self.assertEqual(self._forked("shown", _FORK_IN_ADD), ['["early", "shown"] 2 2'])

    def test_addHereRefused(self) -> None:
        """
        A child forked by the thread adding a destination that is refused as
        the route is planned (a signal handler forking there): what the
        child logged in the handler is kept, with what was kept before, for
        the child's next destination.
        """
        self.assertEqual(self._forked("refused", _FORK_IN_ADD),
                         ['["early", "handler"] 0'])
