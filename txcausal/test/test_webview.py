"""
The web view's task list (C{api/tasks}) and what it serves, in memory: a
L{TaskRing} as the source, requests through L{treq.testing.StubTreq} (a real
twisted.web site over an in-memory transport).  One task's page is tested in
L{txcausal.test.test_webview_task}, the ring and the event stream in
L{txcausal.test.test_webview_ring}.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Tuple

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from txcausal import _view_index
from txcausal._view_index import Query
from txcausal._view_task import dumps
from txcausal.webview import (
    CONTENT_SECURITY_POLICY,
    Search,
    TaskRing,
    TaskViewResource,
)

from ._web_helpers import StubTreq
from ._webview_cases import ROOT, MemoryWorker, ViewTestCase
from ._webview_logs import (
    FAILING,
    JOINED,
    MARKUP,
    message,
)


class TaskListTests(ViewTestCase):
    """
    C{api/tasks}: newest first, filtered, paged.
    """

    def test_rows(self) -> None:
        """
        Each task has a row, newest first, with its root type, status,
        start, duration, and the number of processes and messages.
        """
        body = self.json("api/tasks")
        self.assertEqual(body["total"], 3)
        rows = {row["uuid"]: row for row in body["tasks"]}
        self.assertEqual([row["uuid"] for row in body["tasks"]], [MARKUP, FAILING, JOINED])
        joined = rows[JOINED]
        self.assertEqual(
            (joined["type"], joined["status"], joined["start"], joined["duration"]),
            ("client:fetch", "succeeded", 1000.0, 1.0),
        )
        self.assertEqual((joined["messages"], joined["processes"], joined["failed"]), (6, 1, False))
        self.assertEqual((rows[FAILING]["status"], rows[FAILING]["failed"]), ("failed", True))
        self.assertEqual((rows[MARKUP]["type"], rows[MARKUP]["status"]), ("note", None))
        # A lone message is not a task still running: no duration to show.
        self.assertEqual((rows[MARKUP]["duration"], rows[MARKUP]["finished"]), (None, True))
        self.assertEqual(body["types"], ["client:fetch", "note", "shop:checkout"])

    def test_failedOnly(self) -> None:
        """
        C{failed=1} keeps only the tasks in which something failed.
        """
        self.assertEqual(self.uuids("api/tasks?failed=1"), [FAILING])

    def test_actionType(self) -> None:
        """
        C{type} keeps the tasks whose root type starts with it.
        """
        self.assertEqual(self.uuids("api/tasks?type=shop"), [FAILING])
        self.assertEqual(self.uuids("api/tasks?type=client:fetch"), [JOINED])

    def test_timeRange(self) -> None:
        """
        C{since} and C{until} (seconds since the epoch) bound the start.
        """
        self.assertEqual(self.uuids("api/tasks?since=1001.5&until=1002.5"), [FAILING])
        self.assertEqual(self.uuids("api/tasks?until=1000"), [JOINED])

    def test_paging(self) -> None:
        """
        C{offset} and C{limit} choose a page; C{total} counts them all.
        """
        body = self.json("api/tasks?offset=1&limit=1")
        self.assertEqual((body["total"], [t["uuid"] for t in body["tasks"]]), (3, [FAILING]))

    def test_textSearch(self) -> None:
        """
        C{q} keeps the tasks with a field containing the text, ignoring
        case, including action and message types.
        """
        self.assertEqual(self.uuids("api/tasks?q=RESIZE"), [JOINED])
        self.assertEqual(self.uuids("api/tasks?q=card%20limit"), [FAILING])
        self.assertEqual(self.uuids("api/tasks?q=nothing-like-it"), [])

    def test_story(self) -> None:
        """
        C{story} keeps the tasks in the story of a key: the task with that
        UUID, and those with a field mentioning it as a whole word.
        """
        self.assertEqual(self.uuids(f"api/tasks?story={JOINED}"), [JOINED])
        self.assertEqual(self.uuids("api/tasks?story=950"), [FAILING])
        self.assertEqual(self.uuids("api/tasks?story=95"), [])

    def test_searchAnswerRenewed(self) -> None:
        """
        A search is answered again once new messages arrived.
        """
        self.assertEqual(self.uuids("api/tasks?q=fresh"), [])
        self.ring(message("new-task", [1], 2000.0, message_type="fresh"))
        self.assertEqual(self.uuids("api/tasks?q=fresh"), ["new-task"])

    def test_failedSearchNotKept(self) -> None:
        """
        A search that failed is a 500, and is run again when asked again.
        """
        from twisted.internet.defer import fail

        real = self.ring.search
        self.ring.search = lambda search: fail(OSError("disk gone"))  # type: ignore
        self.assertEqual(self.json("api/tasks?q=resize", 500),
                         {"error": "internal error: disk gone"})
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)  # See test_webview_failures.
        self.ring.search = real  # type: ignore[method-assign]
        self.assertEqual(self.uuids("api/tasks?q=resize"), [JOINED])

    def test_searchContinued(self) -> None:
        """
        Asked again after new messages, a search is continued (the source
        is handed the same L{Search}, which knows where it stopped), not
        started over; its answer holds what it found before and since.
        """
        searches: List[Search] = []
        real = self.ring.search

        def search(s: Search) -> Any:
            searches.append(s)
            return real(s)

        self.ring.search = search  # type: ignore[method-assign, assignment]
        self.assertEqual(self.uuids("api/tasks?q=resize"), [JOINED])
        self.assertEqual(self.uuids("api/tasks?q=resize"), [JOINED])
        self.ring(message("new-task", [1], 2000.0, message_type="resize:more"))
        self.assertEqual(self.uuids("api/tasks?q=resize"), ["new-task", JOINED])
        self.assertEqual(len(searches), 2)
        self.assertIs(searches[0], searches[1])

    def test_searchRaising(self) -> None:
        """
        A search that raises (a logged object whose C{str} fails, in a
        ring) is a 500, and is run again when asked again.
        """
        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("no text")

        self.ring(message("odd", [1], 2000.0, message_type="odd", value=Unprintable()))
        for _ in "ab":
            self.assertEqual(self.json("api/tasks?q=resize", 500),
                             {"error": "internal error: no text"})
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)

    def test_failedSearchWhileWaiting(self) -> None:
        """
        When a search that several requests wait for fails, each of them
        is a 500 (none is answered with the unfiltered list).
        """
        running: Deferred[Any] = Deferred()
        self.ring.search = lambda search: running  # type: ignore
        first, second = [self.stub.get(ROOT + "api/tasks?q=resize") for _ in "ab"]
        running.errback(OSError("disk gone"))
        self.stub.flush()
        for response in (first, second):
            self.assertEqual(self.successResultOf(response).code, 500)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_badArgument(self) -> None:
        """
        An argument that is not a number is a 400 with the reason.
        """
        body = self.json("api/tasks?since=yesterday", 400)
        self.assertIn("since", body["error"])
        self.json("api/tasks?offset=-1", 400)

    def test_offsetTooLarge(self) -> None:
        """
        An offset too large for a page to start at (past the largest index
        a list can have) is a 400 naming it, with a search too.
        """
        for offset in (sys.maxsize, 2 ** 63, 10 ** 30):
            for search in ("", "&q=resize"):
                body = self.json(f"api/tasks?offset={offset}{search}", 400)
                self.assertIn("offset: out of range", body["error"])
        self.assertEqual(self.json(f"api/tasks?offset={sys.maxsize - 500}")["tasks"], [])

    def test_limitCapped(self) -> None:
        """
        No page is longer than 500 tasks.
        """
        self.assertEqual(self.json("api/tasks?limit=100000")["limit"], 500)


class _CountingTasks(Dict[str, Any]):
    """
    The tasks of an index, counting the walks over all of them.
    """

    walks = 0

    def values(self) -> Any:
        self.walks += 1
        return super().values()

    def items(self) -> Any:
        self.walks += 1
        return super().items()

    def __iter__(self) -> Any:
        self.walks += 1
        return super().__iter__()


class _BrokenTasks(Dict[str, Any]):
    """
    An index's tasks that cannot be listed.
    """

    def values(self) -> Any:
        raise RuntimeError("index broken")


class QueryOffReactorTests(SynchronousTestCase):
    """
    The task list is filtered, ordered and paged on the injected worker,
    never in the reactor thread: the reactor's share of a page does not
    grow with the number of tasks.
    """

    def page(self, tasks: int) -> Tuple[int, int, Any]:
        """
        Ask for the second page of 5 failed tasks among C{tasks} tasks.

        @return: The walks over all the tasks in the reactor thread, those
            on the worker, and the answer.
        """
        ring = TaskRing(max_tasks=tasks)
        for n in range(tasks):
            status = "failed" if n % 2 else "succeeded"
            ring(message(f"t{n}", [1], float(n), action_type="m", action_status=status))
        counting = ring.index._tasks = _CountingTasks(ring.index._tasks)
        worker = MemoryWorker()
        stub = StubTreq(TaskViewResource(ring, Clock(), runInThread=worker))
        response = stub.get(ROOT + "api/tasks?failed=1&offset=5&limit=5")
        stub.flush()
        self.assertNoResult(response)
        in_reactor = counting.walks
        worker.run()
        stub.flush()
        body = self.successResultOf(self.successResultOf(response).json())
        return in_reactor, counting.walks - in_reactor, body

    def test_queryOnWorker(self) -> None:
        """
        The filters, the order and the page are worked out on the worker:
        the reactor thread walks over no task, whether there are 20 or
        2,000, and the worker copies the list of tasks once, for the page
        and the root types alike; the answer is the right page.
        """
        for tasks in (20, 2000):
            in_reactor, on_worker, body = self.page(tasks)
            self.assertEqual(in_reactor, 0)
            self.assertEqual(on_worker, 1)
            self.assertEqual(body["total"], tasks // 2)
            self.assertEqual([t["uuid"] for t in body["tasks"]],
                             [f"t{tasks - 1 - 2 * i}" for i in range(5, 10)])
            self.assertEqual(body["types"], ["m"])

    def test_queryFailsOnWorker(self) -> None:
        """
        A query that fails on the worker is answered with a 500 and the
        error, not left hanging.
        """
        ring = TaskRing()
        ring(message("t", [1], 1.0, message_type="m"))
        ring.index._tasks = _BrokenTasks(ring.index._tasks)
        worker = MemoryWorker()
        stub = StubTreq(TaskViewResource(ring, Clock(), runInThread=worker))
        response = stub.get(ROOT + "api/tasks")
        stub.flush()
        worker.run()
        stub.flush()
        answer = self.successResultOf(response)
        self.assertEqual(answer.code, 500)
        self.assertEqual(self.successResultOf(answer.json()),
                         {"error": "internal error: index broken"})
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_reactorWithoutThreads(self) -> None:
        """
        Given a reactor without threads (a L{Clock}, in tests), the
        resource runs its queries in-line: the answer is there at once.
        """
        ring = TaskRing()
        ring(message("t", [1], 1.0, message_type="m"))
        stub = StubTreq(TaskViewResource(ring, Clock()))
        response = self.successResultOf(stub.get(ROOT + "api/tasks"))
        stub.flush()
        self.assertEqual(response.code, 200)
        body = self.successResultOf(response.json())
        self.assertEqual(([t["uuid"] for t in body["tasks"]], body["types"]), (["t"], ["m"]))

    def test_ordersInRuns(self) -> None:
        """
        A long list is ordered a run at a time (so that no single step
        holds the interpreter long) and the runs merged: the pages are
        those of one sort, newest first, and of tasks that started at the
        same time, the one seen last first.
        """
        self.patch(_view_index, "SORT_RUN", 7)
        ring = TaskRing(max_tasks=100)
        starts = [float((n * 37) % 23) for n in range(60)]
        for n, start in enumerate(starts):
            ring(message(f"t{n}", [1], start, message_type="m"))
        expected = sorted(range(60), key=lambda n: (starts[n], n), reverse=True)
        for offset in (0, 13, 55):
            total, rows = ring.index.query(Query(offset=offset, limit=10))
            self.assertEqual(total, 60)
            self.assertEqual([r["uuid"] for r in rows],
                             [f"t{n}" for n in expected[offset:offset + 10]])


class SafetyTests(ViewTestCase):
    """
    Headers, and nothing served but the page, its two files and the API.
    """

    def test_contentSecurityPolicy(self) -> None:
        """
        Every response forbids inline script and anything from elsewhere.
        """
        for path in ["", "task/x", "static/app.js", "api/tasks", "api/task/nope", "nothing"]:
            headers = self.get(path).headers
            self.assertEqual(headers.getRawHeaders("content-security-policy"),
                             [CONTENT_SECURITY_POLICY], path)
            self.assertEqual(headers.getRawHeaders("x-content-type-options"), ["nosniff"])
        self.assertIn("script-src 'self'", CONTENT_SECURITY_POLICY)
        self.assertNotIn("unsafe-inline", CONTENT_SECURITY_POLICY)

    def test_everyMethodSecured(self) -> None:
        """
        The answers to methods the view does not serve (twisted.web's own
        405 and 501 pages) carry the same headers.
        """
        client = StubTreq(self.resource)
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]:
            response = self.successResultOf(client.request(method, ROOT + "api/tasks"))
            self.assertIn(response.code, (405, 501), method)
            headers = response.headers
            self.assertEqual(headers.getRawHeaders("content-security-policy"),
                             [CONTENT_SECURITY_POLICY], method)
            self.assertEqual([headers.getRawHeaders(name) for name in
                              ("x-content-type-options", "referrer-policy", "x-frame-options")],
                             [["nosniff"], ["no-referrer"], ["DENY"]], method)

    def test_page(self) -> None:
        """
        The page is the package's HTML, its base set for the task address,
        with no inline script.
        """
        for path, base in [("", b'<base href="./">'), ("task/" + JOINED, b'<base href="../">')]:
            response = self.get(path)
            body = self.successResultOf(response.content())
            self.assertIn(base, body)
            self.assertIn(b'<script src="static/app.js" defer></script>', body)
            self.assertEqual(body.count(b"<script"), 1)

    def test_staticFiles(self) -> None:
        """
        The script and the style sheet are served with their types.
        """
        for name, kind in [("app.js", "text/javascript"), ("style.css", "text/css")]:
            response = self.get("static/" + name)
            self.assertEqual(response.code, 200)
            self.assertTrue(response.headers.getRawHeaders("content-type")[0].startswith(kind))
            self.assertGreater(len(self.successResultOf(response.content())), 1000)

    def test_noOtherFile(self) -> None:
        """
        Nothing else is served, however the path is spelled.
        """
        for path in ["static/index.html", "static/../setup.cfg", "static/..%2f..%2fsetup.cfg",
                     "static/%2e%2e/__init__.py", "static/app.js/x", "api/task/a/b", "task",
                     "_view_static/app.js", "static//etc/passwd", "api/../static/app.js"]:
            response = self.get(path)
            self.assertIn(response.code, (404, 301, 302), path)
            body = self.successResultOf(response.content())
            self.assertNotIn(b"[metadata]", body)
            self.assertNotIn(b"import", body)

    def test_redirectToSlash(self) -> None:
        """
        Mounted under a name, the address without a trailing slash
        redirects to the one with it, so the page's relative links work.
        """
        root = Resource()
        root.putChild(b"tasks", self.resource)
        redirected = StubTreq(root).get(ROOT + "tasks?x=1", allow_redirects=False)
        response = self.successResultOf(redirected)
        self.assertEqual(response.code, 302)
        self.assertEqual(response.headers.getRawHeaders("location"), ["/tasks/"])

    def test_hugeInteger(self) -> None:
        """
        A field past 64 bits is still sent.
        """
        self.assertEqual(dumps({"n": 2**70}), b'{"n": 1180591620717411303424}')


class ExportsTests(SynchronousTestCase):
    """
    L{txcausal.webview} re-exports its private modules' objects, and
    C{import txcausal} does not import it.
    """

    def test_names(self) -> None:
        """
        Every name in C{__all__} is the object of a private module.
        """
        import importlib

        import txcausal.webview

        for name in txcausal.webview.__all__:
            value = getattr(txcausal.webview, name)
            if isinstance(value, str):
                continue
            self.assertTrue(value.__module__.startswith("txcausal._view_"), name)
            self.assertIs(getattr(importlib.import_module(value.__module__), name), value)
