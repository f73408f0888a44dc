"""
Tests of a process forked while another of its threads is halfway through
changing the destination registry (L{Destinations.add} or
L{Destinations.remove}): the forked child must not be left with a registry
that neither sends nor keeps what it logs.

Each runs a script in a process of its own (a real fork), ended after
L{HANG} seconds if it waits for ever, and the test then fails.
"""

from __future__ import annotations

import os
import subprocess
from typing import List

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from ._helpers import run_python
from .test_reentry_fork import HANG, _text

#: Stops a thread adding or removing (C{sys.argv[1]}) the process's
#: destination at the line where the registry has no destination and no
#: buffer yet, then forks on the main thread.  The stopped thread goes on when
#: the main thread asks for the registry's lock (a fork hook that waits for
#: it), or else once the fork is done.  Prints the C{n} of the child's
#: message as received by the child's destinations, and the count of
#: messages it dropped; then what the parent's destinations receive.
_FORK_HALFWAY = """
import json, os, signal, sys, threading
from txcausal._destinations import Destinations
from txcausal._output import _DESTINATIONS as registry

mode = sys.argv[1]
stopped, go = threading.Event(), threading.Event()

class Lock:
    # The registry's lock, telling the stopped thread to go on when the
    # forking thread asks for it.
    def __init__(self):
        self.lock = threading.Lock()
    def acquire(self, blocking=True, timeout=-1):
        if stopped.is_set() and threading.current_thread() is threading.main_thread():
            go.set()
        return self.lock.acquire(blocking, timeout)
    def release(self):
        self.lock.release()
    def locked(self):
        return self.lock.locked()
    def __enter__(self):
        return self.acquire()
    def __exit__(self, *exc_info):
        self.release()

registry._lock = Lock()
first = []
if mode == "remove":
    registry.add(first.append)
    change, code = (lambda: registry.remove(first.append)), Destinations.remove.__code__
else:
    registry.send({"n": "early"})
    change, code = (lambda: registry.add(first.append)), Destinations.add.__code__

def local(frame, event, arg):
    if (event == "line" and not stopped.is_set() and not registry._destinations
            and registry._buffer is None and registry._single is None):
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
    registry.add(received.append)
    got = [m.get("n") for m in first + received if m.get("n") == "child"]
    print("child", json.dumps(got), registry.dropped, flush=True)
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

#: Removes the process's last destination; at the line where the registry
#: has no destination and no buffer yet, holding its lock (or, if
#: C{sys.argv[1]} is "emptied", past the new buffer), logs a message
#: (parked) then forks, as a signal handler run there would.  The child logs
#: a message, then adds a destination there, or once back from the handler
#: and done removing if C{sys.argv[1]} is "back".  Prints the C{n} of what
#: the child's destinations receive and the count it dropped, then what the
#: parent's next destination receives.
_FORK_HERE = """
import json, os, signal, sys
from txcausal._output import _DESTINATIONS as registry

first, forked = [], []
registry.add(first.append)

def child():
    received = []
    registry.add(received.append)
    got = [m.get("n") for m in first + received]
    print("child", json.dumps(got), registry.dropped, flush=True)
    os._exit(0)

def halfway():
    if sys.argv[1] == "emptied":
        return registry._lock.locked() and registry._emptied
    return (not registry._destinations and registry._buffer is None
            and registry._single is None)

def local(frame, event, arg):
    if event == "line" and not forked and halfway():
        registry.send({"n": "parent"})
        forked.append(os.fork())
        if forked[0] == 0:
            signal.alarm(10)
            registry.send({"n": "child"})
            if sys.argv[1] != "back":
                child()
    return local

def trace(frame, event, arg):
    return local if frame.f_code is type(registry).remove.__code__ else None

sys.settrace(trace)
registry.remove(first.append)
sys.settrace(None)
if forked[0] == 0:
    child()
assert os.waitstatus_to_exitcode(os.waitpid(forked[0], 0)[1]) == 0
received = []
registry.add(received.append)
print("parent", json.dumps([m.get("n") for m in received]), flush=True)
"""


class ForkHalfwayTests(SynchronousTestCase):
    """
    A child forked while another thread of the parent adds or removes a
    destination.
    """

    def _forked(self, mode: str, script: str = _FORK_HALFWAY) -> List[str]:
        """
        Run C{script} (by default L{_FORK_HALFWAY}) with the argument
        C{mode}; fail if it fails or hangs.

        @return: The lines it printed.
        """
        if not hasattr(os, "fork"):
            raise SkipTest("no os.fork on this platform")
        try:
            result = run_python(["-c", script, mode], timeout=HANG)
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
        self.assertEqual(self._forked("remove"), ['child ["child"] 0', 'parent ["parent"]'])

    def test_add(self) -> None:
        """
        A child forked while another thread adds the first destination,
        past taking the buffer and before the new route: a message the child
        logs reaches a destination of the child, nothing dropped.  The
        parent's destination receives what it kept before, then its next.
        """
        self.assertEqual(self._forked("add"), ['child ["child"] 0', 'parent ["early", "parent"]'])

    def test_removeHere(self) -> None:
        """
        A child forked by the thread removing the last destination, past
        the new route and before the buffer (a signal handler forking where
        the registry holds its lock, which the fork cannot wait for): the
        fork is not held up, and the child keeps a message it logs for its
        first destination, nothing dropped, but not the parent's message
        parked there, which the parent keeps.
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
