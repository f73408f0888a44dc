"""
The test cases of the web view's tests: its resource asked through treq's
L{StubTreq} (a real twisted.web site over an in-memory transport), with a
L{TaskRing} holding the logs of L{txcausal.test._webview_logs} as its
source; and L{LogFiles} reading real files in a temporary directory, its
threads run inline and its reading driven by the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from txcausal._view_index import Query
from txcausal._view_source import on_reactor
from txcausal.webview import LoadedTask, LogFiles, TaskRing, TaskViewResource

from ._web_helpers import StubTreq
from ._webview_logs import client_messages, server_messages

ROOT = "http://example.invalid/"


#: Runs every step of a ring's search now, its answer there at once: the
#: web view's cooperator for a reactor without threads.
at_once = on_reactor(Clock())


def filled_ring(**kwargs: Any) -> TaskRing:
    """
    A ring holding the test logs of both processes, its searches done at
    once.
    """
    ring = TaskRing(cooperate=at_once, **kwargs)
    for m in client_messages() + server_messages():
        ring(m)
    return ring


class ViewTestCase(SynchronousTestCase):
    """
    Requests to a L{TaskViewResource} through L{StubTreq}.
    """

    def setUp(self) -> None:
        self.ring = filled_ring()
        self.clock = Clock()
        self.resource = TaskViewResource(self.ring, self.clock, runInThread=inline)
        self.stub = StubTreq(self.resource)

    def get(self, path: str) -> Any:
        response = self.successResultOf(self.stub.get(ROOT + path))
        self.stub.flush()
        return response

    def json(self, path: str, code: int = 200) -> Any:
        response = self.get(path)
        self.assertEqual(response.code, code, path)
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["application/json"])
        return self.successResultOf(response.json())

    def uuids(self, path: str) -> List[str]:
        return [task["uuid"] for task in self.json(path)["tasks"]]


def inline(f: Callable[[], Any]) -> "Deferred[Any]":
    return succeed(f())


class MemoryWorker:
    """
    Runs what it is given only when told to (the idea of Twisted's
    C{createMemoryWorker}): what a worker thread would run, run by the
    test; what it raises fails the L{Deferred} it returned.
    """

    def __init__(self) -> None:
        self.jobs: List[Tuple[Callable[[], Any], Deferred[Any]]] = []

    def __call__(self, f: Callable[[], Any]) -> "Deferred[Any]":
        done: Deferred[Any] = Deferred()
        self.jobs.append((f, done))
        return done

    def run(self) -> None:
        while self.jobs:
            f, done = self.jobs.pop(0)
            maybeDeferred(f).chainDeferred(done)


def run_now(f: Callable[[], None]) -> None:
    f()


class FilesTestCase(SynchronousTestCase):
    """
    Helpers: files in a temporary directory, a source reading them.
    """

    def setUp(self) -> None:
        self.dir = Path(self.mktemp())
        self.dir.mkdir()
        self.clock = Clock()

    def source(self, *paths: Any, **kwargs: Any) -> LogFiles:
        files = LogFiles([str(p) for p in paths], self.clock, runInThread=inline,
                         startThread=run_now, **kwargs)
        self.addCleanup(files.close)
        files.readAvailable()
        return files

    def load(self, files: LogFiles, uuid: str) -> LoadedTask:
        loaded: Optional[LoadedTask] = self.successResultOf(files.load(uuid))
        assert loaded is not None
        return loaded

    def uuids(self, files: LogFiles, **query: Any) -> List[str]:
        return [row["uuid"] for row in files.index.query(Query(**query))[1]]
