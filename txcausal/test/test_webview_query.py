"""
The task list's queries on the web view's worker (see
L{txcausal.test.test_webview}): the index changing between the request and
the query, and the queries in flight when the reactor stops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import orjson
from twisted.internet.defer import maybeDeferred
from twisted.internet.interfaces import IReactorCore, IReactorTime
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from txcausal import _view_index
from txcausal._view_index import Query, QueryStopped
from txcausal.webview import LogFiles, Search, TaskRing, TaskViewResource

from ._web_helpers import StubTreq
from ._webview_cases import ROOT, FilesTestCase, MemoryWorker, run_now
from ._webview_logs import message


def ring_of(tasks: int) -> TaskRing:
    """
    A ring of C{tasks} tasks, C{t0} the first, every other one failed,
    their start times out of order.
    """
    ring = TaskRing(max_tasks=1000)
    for n in range(tasks):
        status = "failed" if n % 2 else "succeeded"
        ring(message(f"t{n}", [1], float((n * 37) % 23), action_type="m",
                     action_status=status))
    return ring


@implementer(IReactorCore, IReactorTime)
class _NoWeakReferences:
    """
    A reactor that cannot be weakly referenced: a memory reactor behind
    a proxy with slots.
    """

    __slots__ = ("_reactor",)

    def __init__(self, reactor: MemoryReactorClock) -> None:
        self._reactor = reactor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)


class QueryOnWorkerTests(SynchronousTestCase):
    """
    A query asked for by a request and run later by the worker.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.worker = MemoryWorker()

    def ask(self, ring: TaskRing, path: str = "api/tasks",
            reactor: Any = None) -> Tuple[StubTreq, Any]:
        reactor = self.reactor if reactor is None else reactor
        stub = StubTreq(TaskViewResource(ring, reactor, runInThread=self.worker))
        response = stub.get(ROOT + path)
        stub.flush()
        self.assertNoResult(response)
        return stub, response

    def answer(self, stub: StubTreq, response: Any) -> Tuple[int, Any]:
        self.worker.run()
        stub.flush()
        answer = self.successResultOf(response)
        return answer.code, self.successResultOf(answer.json())

    def test_tasksAddedBeforeTheQueryRuns(self) -> None:
        """
        Tasks added between the request and the worker running its query
        are in the answer (the list is copied on the worker); the version
        it gives is the one read at the request, so that the change is
        announced to the page again; and the change feed tells of them.
        """
        ring = ring_of(4)
        feed = ring.index.changes()
        stub, response = self.ask(ring)
        before = ring.index.version
        ring(message("late", [1], 99.0, action_type="late", action_status="started"))
        code, body = self.answer(stub, response)
        self.assertEqual(code, 200)
        self.assertEqual((body["total"], body["tasks"][0]["uuid"]), (5, "late"))
        self.assertEqual(body["types"], ["late", "m"])
        self.assertEqual(body["version"], before)
        self.assertEqual(feed.drain(), (before + 1, ["late"]))

    def test_stoppedAtShutdown(self) -> None:
        """
        A query still to run when the reactor begins to stop (its 'before'
        'shutdown' triggers) stops at once, and its request is answered
        503, the server stopping, rather than holding the shutdown back.
        """
        stub, response = self.ask(ring_of(10))
        for trigger, args, kwargs in self.reactor.triggers["before"]["shutdown"]:
            trigger(*args, **kwargs)
        self.assertEqual(self.answer(stub, response),
                         (503, {"error": "the server is stopping"}))

    def test_oneTriggerPerReactor(self) -> None:
        """
        The resources of one reactor share one 'before' 'shutdown'
        trigger, added by the first: making resources leaves no trigger
        each behind; it stops the queries of every one of them.
        """
        stub, response = self.ask(ring_of(10))
        for _ in range(3):
            TaskViewResource(ring_of(1), self.reactor, runInThread=self.worker)
        [(trigger, args, kwargs)] = self.reactor.triggers["before"]["shutdown"]
        trigger(*args, **kwargs)
        self.assertEqual(self.answer(stub, response)[0], 503)

    def test_reactorNotAWeakKey(self) -> None:
        """
        A reactor that cannot be weakly referenced, or hashed, still gets
        its resource, and its shutdown still stops the queries: a trigger of
        their own for each.
        """
        class Unhashable(MemoryReactorClock):
            __hash__ = None  # type: ignore[assignment]

        reactors: List[Any] = [_NoWeakReferences(MemoryReactorClock()), Unhashable()]
        for reactor in reactors:
            stub, response = self.ask(ring_of(10), reactor=reactor)
            TaskViewResource(ring_of(1), reactor, runInThread=self.worker)
            triggers = reactor.triggers["before"]["shutdown"]
            self.assertEqual(len(triggers), 2)
            for trigger, args, kwargs in triggers:
                trigger(*args, **kwargs)
            self.assertEqual(self.answer(stub, response)[0], 503)

    def test_notStoppedBeforeShutdown(self) -> None:
        """
        Before the reactor stops, the queries run to their end.
        """
        stub, response = self.ask(ring_of(10), "api/tasks?failed=1")
        self.assertEqual(self.answer(stub, response)[1]["total"], 5)


class StopBetweenRunsTests(SynchronousTestCase):
    """
    L{TaskIndex.listing<txcausal._view_index.TaskIndex.listing>} told to
    stop.
    """

    def test_stopsBetweenRuns(self) -> None:
        """
        The listing looks whether it is to stop before each run of tasks
        it orders: told to at the second look, it raises L{QueryStopped}
        there, the other runs not ordered.
        """
        self.patch(_view_index, "SORT_RUN", 3)
        index = ring_of(12).index
        looks: List[int] = []

        def stop() -> bool:
            looks.append(1)
            return len(looks) == 2

        self.assertRaises(QueryStopped, index.listing, Query(), stop=stop)
        self.assertEqual(len(looks), 2)

    def test_runsFilteredAsOneSort(self) -> None:
        """
        Filtered a run at a time, the tasks come in the order of one sort
        of those that pass: newest first, of those that started at the
        same time the one seen last first.
        """
        self.patch(_view_index, "SORT_RUN", 4)
        ring = ring_of(40)
        starts = {f"t{n}": float((n * 37) % 23) for n in range(40)}
        failed = [f"t{n}" for n in range(1, 40, 2)]
        expected = sorted(failed, key=lambda u: (starts[u], int(u[1:])), reverse=True)
        total, rows, types = ring.index.listing(Query(failed=True, offset=3, limit=9),
                                                stop=lambda: False)
        self.assertEqual((total, types), (20, ["m"]))
        self.assertEqual([r["uuid"] for r in rows], expected[3:12])


class FileSearchStoppedTests(FilesTestCase):
    """
    A search of L{LogFiles} (C{q=}, C{story=}) stops between its batches
    once the reactor begins to stop, as the listing does.
    """

    def logs(self) -> List[Path]:
        """
        Two files of three tasks each.
        """
        paths = []
        for name in ["a", "b"]:
            path = self.dir / f"{name}.log"
            path.write_bytes(b"".join(
                orjson.dumps(message(f"{name}{n}", [1], float(n), message_type="m")) + b"\n"
                for n in range(3)))
            paths.append(path)
        return paths

    def files(self, runInThread: Any) -> LogFiles:
        """
        L{LogFiles} of L{logs}, read, its searches run by C{runInThread}.
        """
        files = LogFiles([str(p) for p in self.logs()], self.clock, runInThread=runInThread,
                         startThread=run_now)
        self.addCleanup(files.close)
        files.readAvailable()
        return files

    def test_stopsBetweenBatches(self) -> None:
        """
        Told to stop while it runs, the search raises L{QueryStopped}
        before its next batch: the second file is not looked at.
        """
        files = self.files(maybeDeferred)
        looked: List[str] = []

        def predicate(m: Dict[str, Any]) -> bool:
            looked.append(m["task_uuid"])
            return False

        stopped = files.search(Search(predicate, stop=lambda: bool(looked)))
        self.failureResultOf(stopped, QueryStopped)
        self.assertEqual(looked, ["a0", "a1", "a2"])

    def test_answered503AtShutdown(self) -> None:
        """
        A text search in flight when the reactor begins to stop is
        answered 503 without going on to the listing.
        """
        worker = MemoryWorker()
        files = self.files(worker)
        reactor = MemoryReactorClock()
        stub = StubTreq(TaskViewResource(files, reactor, runInThread=worker))
        response = stub.get(ROOT + "api/tasks?q=a1")
        stub.flush()
        for trigger, args, kwargs in reactor.triggers["before"]["shutdown"]:
            trigger(*args, **kwargs)
        search, done = worker.jobs.pop(0)  # The search, on the worker.
        maybeDeferred(search).chainDeferred(done)
        stub.flush()
        self.assertEqual(worker.jobs, [])  # No listing after it.
        answer = self.successResultOf(response)
        self.assertEqual((answer.code, self.successResultOf(answer.json())),
                         (503, {"error": "the server is stopping"}))


class FileLoadStoppedTests(FilesTestCase):
    """
    A task load of L{LogFiles} on the thread pool stops before its next
    message once the reactor begins to stop, as the searches do.
    """

    def files(self, runInThread: Any) -> LogFiles:
        """
        L{LogFiles} of a file holding task C{t} of three messages, read,
        its loads run by C{runInThread}.
        """
        path = self.dir / "t.log"
        path.write_bytes(b"".join(
            orjson.dumps(message("t", [n], float(n), message_type="m")) + b"\n"
            for n in range(1, 4)))
        files = LogFiles([str(path)], self.clock, runInThread=runInThread,
                         startThread=run_now)
        self.addCleanup(files.close)
        files.readAvailable()
        return files

    def test_stopsBetweenMessages(self) -> None:
        """
        Told to stop while it reads a task back, the load raises
        L{QueryStopped} before its next message is read.
        """
        files = self.files(maybeDeferred)
        looks: List[int] = []

        def stop() -> bool:
            looks.append(1)
            return len(looks) == 2

        self.failureResultOf(files.load("t", stop=stop), QueryStopped)
        self.assertEqual(len(looks), 2)

    def ask(self, stop: bool) -> Tuple[int, Any]:
        """
        Ask for task C{t} through a resource whose worker runs later,
        after the reactor begins to stop if C{stop}; the answer.
        """
        worker = MemoryWorker()
        reactor = MemoryReactorClock()
        stub = StubTreq(TaskViewResource(self.files(worker), reactor, runInThread=worker))
        response = stub.get(ROOT + "api/task/t")
        stub.flush()
        self.assertNoResult(response)
        if stop:
            for trigger, args, kwargs in reactor.triggers["before"]["shutdown"]:
                trigger(*args, **kwargs)
        worker.run()
        stub.flush()
        answer = self.successResultOf(response)
        return answer.code, self.successResultOf(answer.json())

    def test_loadAnswered503AtShutdown(self) -> None:
        """
        A task load waiting for the thread pool when the reactor begins to
        stop is answered 503, the server stopping.
        """
        self.assertEqual(self.ask(stop=True), (503, {"error": "the server is stopping"}))

    def test_loadedBeforeShutdown(self) -> None:
        """
        Before the reactor stops, a task load runs to its end: every
        message is read back.
        """
        code, body = self.ask(stop=False)
        self.assertEqual((code, body["task_uuid"], body["unavailable"]), (200, "t", 0))
        self.assertEqual(len(body["children"]) + len(body["strays"]), 3)
