"""
The task list's queries on the web view's worker (see
L{txcausal.test.test_webview}): the index changing between the request and
the query, and the queries in flight when the reactor stops.
"""

from __future__ import annotations

from typing import Any, List, Tuple

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from txcausal import _view_index
from txcausal._view_index import Query, QueryStopped
from txcausal.webview import TaskRing, TaskViewResource

from ._web_helpers import StubTreq
from ._webview_cases import ROOT, MemoryWorker
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


class QueryOnWorkerTests(SynchronousTestCase):
    """
    A query asked for by a request and run later by the worker.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.worker = MemoryWorker()

    def ask(self, ring: TaskRing, path: str = "api/tasks") -> Tuple[StubTreq, Any]:
        stub = StubTreq(TaskViewResource(ring, self.reactor, runInThread=self.worker))
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
