"""
The web view's resource and JSON endpoints, in memory: a L{TaskRing} as
the source, requests through treq's L{StubTreq} (a real twisted.web site
over an in-memory transport).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import orjson
from treq.testing import StubTreq as _StubTreq
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.test.requesthelper import DummyRequest
from zope.interface.verify import verifyObject

from txcausal import IDestination
from txcausal._view_resource import dumps
from txcausal.webview import (
    CONTENT_SECURITY_POLICY,
    ITaskSource,
    Search,
    TaskRing,
    TaskViewResource,
)

from ._webview_logs import (
    FAILING,
    JOINED,
    MARKUP,
    MARKUP_TEXT,
    client_messages,
    finished,
    message,
    server_messages,
    started,
)

#: StubTreq sets its methods at run time; give type checkers an Any.
StubTreq: Any = _StubTreq
ROOT = "http://example.invalid/"


def filled_ring(**kwargs: Any) -> TaskRing:
    """
    A ring holding the test logs of both processes.
    """
    ring = TaskRing(**kwargs)
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
        self.resource = TaskViewResource(self.ring, self.clock)
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

    def test_badArgument(self) -> None:
        """
        An argument that is not a number is a 400 with the reason.
        """
        body = self.json("api/tasks?since=yesterday", 400)
        self.assertIn("since", body["error"])
        self.json("api/tasks?offset=-1", 400)

    def test_limitCapped(self) -> None:
        """
        No page is longer than 500 tasks.
        """
        self.assertEqual(self.json("api/tasks?limit=100000")["limit"], 500)


class TaskTreeTests(ViewTestCase):
    """
    C{api/task/<uuid>}: one task as a tree.
    """

    def test_joinedTree(self) -> None:
        """
        The tree nests each action's children, with times and durations.
        """
        task = self.json(f"api/task/{JOINED}")
        self.assertEqual((task["task_uuid"], task["complete"]), (JOINED, True))
        (root,) = task["children"]
        (remote,) = root["children"]
        (work,) = remote["children"]
        self.assertEqual(
            [(n["action_type"], n["status"], round(n["duration"], 6))
             for n in (root, remote, work)],
            [("client:fetch", "succeeded", 1.0), ("eliot:remote_task", "succeeded", 0.6),
             ("server:work", "succeeded", 0.4)],
        )
        self.assertEqual((work["fields"], work["task_level"], work["start_time"]),
                         ({"job": "resize"}, [2, 2, 1], 1000.3))
        self.assertEqual(root["end_fields"], {"remote_task_levels": ["/2"]})

    def test_failure(self) -> None:
        """
        A failed action's finish fields carry the exception, reason and
        traceback.
        """
        (root,) = self.json(f"api/task/{FAILING}")["children"]
        (charge,) = root["children"]
        self.assertEqual(charge["status"], "failed")
        self.assertEqual(charge["end_fields"]["reason"], "over the card limit")
        self.assertIn("Traceback", charge["end_fields"]["traceback"])

    def test_markupIsData(self) -> None:
        """
        Markup in a field comes back as the same string, in JSON.
        """
        (node,) = self.json(f"api/task/{MARKUP}")["children"]
        self.assertEqual((node["message_type"], node["fields"]["text"]), ("note", MARKUP_TEXT))

    def test_matches(self) -> None:
        """
        With a search, the nodes with a matching message are marked.
        """
        task = self.json(f"api/task/{JOINED}?q=resize")
        work = task["children"][0]["children"][0]["children"][0]
        self.assertEqual((task["matches"], work["match"], task["children"][0].get("match")),
                         (1, True, None))

    def test_unknown(self) -> None:
        """
        An unknown task is a 404.
        """
        self.assertEqual(self.json("api/task/nope", 404), {"error": "no such task"})

    def test_taskDocument(self) -> None:
        """
        The task is the document of C{tree --json} (L{task_document}), with
        what only the page shows: the process (file) of each node and of
        each stray, the processes' names, and counts of what could not be
        shown.
        """
        from txcausal._view_source import only_task
        from txcausal.parse import task_document

        self.ring(started(JOINED, [1], 5.0, "again"))  # A stray.
        page = self.json(f"api/task/{JOINED}")
        self.assertEqual(
            {k: page.pop(k) for k in ["processes", "unavailable", "dropped", "matches",
                                      "stray_processes"]},
            {"processes": ["this process"], "unavailable": 0, "dropped": 0, "matches": 0,
             "stray_processes": [0]},
        )
        processes = []

        def without_process(node: Dict[str, Any]) -> None:
            processes.append(node.pop("process"))
            for child in node.get("children", []):
                without_process(child)

        for node in page["children"]:
            without_process(node)
        self.assertEqual(processes, [0, 0, 0])
        joined = [m for m in client_messages() + server_messages() if m["task_uuid"] == JOINED]
        task = only_task(JOINED, joined + [started(JOINED, [1], 5.0, "again")])
        self.assertEqual(page, orjson.loads(orjson.dumps(task_document(task))))

    def test_hostileFinishLevel(self) -> None:
        """
        A finish message at level C{[10**9]} makes one run of missing
        levels, in bounded memory (not a billion levels).
        """
        import tracemalloc

        self.ring(started("far", [1], 1.0, "far:away"))
        self.ring(finished("far", [10**9], 2.0, "far:away"))
        tracemalloc.start()
        self.addCleanup(tracemalloc.stop)
        (root,) = self.json("api/task/far")["children"]
        self.assertLess(tracemalloc.get_traced_memory()[1], 5 << 20)
        self.assertEqual(root["missing"], [[[2], [10**9 - 1]]])


class StoryPageTests(ViewTestCase):
    """
    The story of a key on the page is the story C{txcausal story} shows
    (L{story_of}): the tasks in which some action or message mentions the
    key, each pruned to the mentions and the whole subtree of each action
    that mentions it, the mentions marked.
    """

    def setUp(self) -> None:
        ViewTestCase.setUp(self)
        self.story_messages = [
            started("S", [1], 1.0, "job"),
            started("S", [2, 1], 1.1, "step", key="K-1"),
            message("S", [2, 2], 1.2, message_type="inside"),
            finished("S", [2, 3], 1.3, "step"),
            started("S", [3, 1], 1.4, "other"),
            finished("S", [3, 2], 1.5, "other"),
            message("S", [4], 1.6, message_type="note", about="see K-1 now"),
            finished("S", [5], 1.7, "job"),
        ]
        for m in self.story_messages:
            self.ring(m)

    def expected(self, key: str) -> Dict[str, Any]:
        from txcausal.parse import KeyMatcher, parse_messages, story_of, task_document

        (task,) = list(parse_messages(self.story_messages))
        story = story_of(task, KeyMatcher([key]))
        assert story is not None
        document = task_document(story.task, story.matched, story.hidden_under)
        return orjson.loads(orjson.dumps(document))  # type: ignore[no-any-return]

    def page(self, path: str) -> Dict[str, Any]:
        page: Dict[str, Any] = self.json(path)
        for key in ["processes", "unavailable", "dropped", "stray_processes"]:
            del page[key]

        def without_process(node: Dict[str, Any]) -> None:
            del node["process"]
            for child in node.get("children", []):
                without_process(child)

        for node in page["children"]:
            without_process(node)
        return page

    def test_subtreeOfMention(self) -> None:
        """
        The action that mentions the key is shown whole (the message inside
        it, which does not mention the key, too), the message that mentions
        it marked, the action that does not left out and counted.
        """
        self.assertEqual(self.uuids("api/tasks?story=K-1"), ["S"])
        page = self.page("api/task/S?story=K-1")
        self.assertEqual(page.pop("matches"), 2)
        self.assertEqual(page, self.expected("K-1"))
        (root,) = page["children"]
        step, note = root["children"]
        self.assertEqual((step.get("match"), step["children"][0]["message_type"], note.get("match"),
                          root["hidden"]), (True, "inside", True, 1))

    def test_taskKey(self) -> None:
        """
        The story of a task's UUID is the whole task, nothing left out.
        """
        page = self.page("api/task/S?story=S")
        self.assertEqual(page.pop("matches"), 5)
        self.assertEqual(page, self.expected("S"))
        (root,) = page["children"]
        self.assertNotIn("hidden", root)
        self.assertEqual(len(root["children"]), 3)


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


class EventStreamTests(SynchronousTestCase):
    """
    C{api/events}: server-sent events while a page is open.
    """

    def setUp(self) -> None:
        self.ring = TaskRing()
        self.clock = Clock()
        self.resource = TaskViewResource(self.ring, self.clock, interval=0.5)
        for m in client_messages() + server_messages():
            self.ring(m)

    def open(self) -> DummyRequest:
        request = DummyRequest([b"api", b"events"])
        self.resource.render(request)
        return request

    def test_changes(self) -> None:
        """
        A check after new messages sends a C{changed} event naming the
        tasks that changed (the first check, those that changed before the
        stream opened); a check with no changes sends nothing.
        """
        request = self.open()
        self.assertEqual(request.responseHeaders.getRawHeaders(b"content-type"),
                         [b"text/event-stream"])
        self.assertEqual(b"".join(request.written), b"retry: 2000\n\n")
        self.clock.advance(0.5)
        self.assertIn(f'"tasks":["{JOINED}","{FAILING}","{MARKUP}"]'.encode(), request.written[-1])
        self.clock.advance(0.5)
        self.assertEqual(len(request.written), 2)
        self.ring(started("new", [1], 3000.0, "later"))
        self.clock.advance(0.5)
        event = request.written[-1]
        self.assertTrue(event.startswith(b"event: changed\ndata: "), event)
        self.assertIn(b'"tasks":["new"]', event)

    def test_closed(self) -> None:
        """
        When the page goes away, the checks stop.
        """
        request = self.open()
        self.assertEqual(self.clock.getDelayedCalls()[0].getTime(), 0.5)
        request.processingFailed(Exception("gone"))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_twoResourcesOneSource(self) -> None:
        """
        Two resources showing one source (a ring mounted in two sites)
        each tell their pages of every change: neither takes the changes
        from the other.
        """
        other = TaskViewResource(self.ring, self.clock, interval=0.5)
        first = self.open()
        second = DummyRequest([b"api", b"events"])
        other.render(second)
        self.clock.advance(0.5)
        self.ring(started("new", [1], 3000.0, "later"))
        self.clock.advance(0.5)
        for request in (first, second):
            self.assertIn(b'"tasks":["new"]', request.written[-1])

    def test_manyChanges(self) -> None:
        """
        Past a few hundred changed tasks, the event says "many" (null).
        """
        request = self.open()
        for i in range(600):
            self.ring(message(f"t{i}", [1], 4000.0 + i, message_type="x"))
        self.clock.advance(0.5)
        self.assertIn(b'"tasks":null', request.written[-1])


class TaskRingTests(SynchronousTestCase):
    """
    L{TaskRing}: a bounded destination.
    """

    def test_interfaces(self) -> None:
        """
        It is a destination and a source of tasks.
        """
        ring = TaskRing()
        self.assertTrue(verifyObject(IDestination, ring))
        self.assertTrue(verifyObject(ITaskSource, ring))

    def test_maxTasks(self) -> None:
        """
        Past C{max_tasks}, the task first seen longest ago is forgotten,
        and counted.
        """
        ring = TaskRing(max_tasks=2)
        for name in "abc":
            ring(message(name, [1], 1.0, message_type="x"))
        self.assertIsNone(self.successResultOf(ring.load("a")))
        self.assertIsNotNone(self.successResultOf(ring.load("c")))
        self.assertEqual((ring.status()["tasks"], ring.status()["evicted"]), (2, 1))

    def test_maxMessages(self) -> None:
        """
        Past C{max_messages} in one task, messages are counted, not kept.
        """
        ring = TaskRing(max_messages=2)
        ring(started("a", [1], 1.0, "x"))
        for i in range(2, 6):
            ring(message("a", [i], 1.0, message_type="m"))
        loaded = self.successResultOf(ring.load("a"))
        assert loaded is not None
        self.assertEqual((len(list(loaded.task.messages())), loaded.dropped), (2, 3))
        self.assertEqual(ring.index.get("a").messages, 5)  # type: ignore[union-attr]

    def test_copies(self) -> None:
        """
        The ring keeps a copy: the logger may reuse its dictionary.
        """
        ring = TaskRing()
        logged: Dict[str, Optional[Any]] = message("a", [1], 1.0, message_type="x", n=1)
        ring(logged)
        logged["n"] = 2
        loaded = self.successResultOf(ring.load("a"))
        assert loaded is not None
        self.assertEqual([m["n"] for m in loaded.task.messages()], [1])

    def test_searchContinues(self) -> None:
        """
        Run again, a search looks only at the messages that arrived since
        (and forgets the tasks that were forgotten).
        """
        ring = TaskRing(max_tasks=3)
        seen: List[Any] = []

        def wanted(m: Dict[str, Any]) -> bool:
            seen.append(m)
            return m.get("message_type") == "hit"

        search = Search(wanted)
        ring(message("a", [1], 1.0, message_type="hit"))
        ring(message("b", [1], 1.0, message_type="miss"))
        self.assertEqual(self.successResultOf(ring.search(search)), {"a"})
        self.assertEqual(len(seen), 2)
        ring(message("b", [2], 2.0, message_type="hit"))
        ring(message("c", [1], 2.0, message_type="miss"))
        self.assertEqual(self.successResultOf(ring.search(search)), {"a", "b"})
        self.assertEqual(len(seen), 4)
        ring(message("d", [1], 3.0, message_type="miss"))
        self.assertEqual(self.successResultOf(ring.search(search)), {"b"})

    def test_bounds(self) -> None:
        """
        The bounds must be positive.
        """
        self.assertRaises(ValueError, TaskRing, max_tasks=0)
        self.assertRaises(ValueError, TaskRing, max_messages=0)

    def test_liveService(self) -> None:
        """
        Added as a destination, it shows what the process logs, as a tree.
        """
        from txcausal import start_action

        ring = TaskRing()
        with _added(ring):
            with start_action(action_type="svc:job", n=3):
                with start_action(action_type="svc:step"):
                    pass
        (row,) = [r for r in ring.index.query(_all())[1] if r["type"] == "svc:job"]
        loaded = self.successResultOf(ring.load(row["uuid"]))
        assert loaded is not None
        self.assertEqual(loaded.task.root.action_type, "svc:job")
        self.assertEqual(row["status"], "succeeded")


def _all() -> Any:
    from txcausal._view_index import Query

    return Query()


class _added:
    """
    Add a destination for the duration of a C{with} block.
    """

    def __init__(self, destination: Any) -> None:
        self.destination = destination

    def __enter__(self) -> None:
        from txcausal import add_destinations

        add_destinations(self.destination)

    def __exit__(self, *exc: Any) -> None:
        from txcausal import remove_destination

        remove_destination(self.destination)



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


class FailedRuleTests(SynchronousTestCase):
    """
    The task list's "failed" and C{tree --failed} follow one rule
    (L{txcausal._parse_tree.is_failure}).
    """

    def test_sameRule(self) -> None:
        """
        A failed action, a logged traceback, Twisted's C{log.failure}
        records and the text events of trial's C{test.log} holding a
        traceback make a task failed, for the page as for C{tree}; a Twisted
        record with a field that merely happens to be named C{exception}
        does not.
        """
        from io import BytesIO

        from txcausal.parse import MessageReader, parse_messages

        from ._reading import twisted_log

        trial = (b"2024-05-01 10:00:00+0000 [-] Unhandled error\n"
                 b"\tTraceback (most recent call last):\n"
                 b"\tbuiltins.ValueError: bad\n")
        twisted_exception = (b'\x1e{"log_format": "{exception}", "exception": "none here", '
                             b'"log_level": {"name": "info"}, "log_time": 5.0}\n')
        cases: List[Tuple[Any, bool]] = [
            (client_messages()[2:6], True),
            ([message("tb", [1], 1.0, message_type="eliot:traceback", exception="E",
                      reason="r", traceback="T")], True),
            (twisted_log(failure=True), True),
            (trial, True),
            (twisted_log(), False),
            (twisted_exception, False),
            ([message("ok", [1], 1.0, message_type="note")], False),
        ]
        for case, expected in cases:
            messages: List[Dict[str, Any]] = (
                list(MessageReader().read([BytesIO(case)])) if isinstance(case, bytes) else case
            )
            ring = TaskRing()
            for m in messages:
                ring(m)
            (summary,) = ring.index.summaries()
            (task,) = list(parse_messages(messages))
            self.assertEqual((summary.failed, task.failed), (expected, expected), case)
