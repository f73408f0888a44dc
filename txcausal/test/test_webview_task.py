"""
The web view's page of one task (C{api/task/<uuid>}), in memory: the task
as C{tree --json}'s document, and the story of a key as C{txcausal story}
shows it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Dict, FrozenSet, List, Optional

import orjson
from twisted.internet.defer import Deferred
from zope.interface import implementer
from zope.interface.verify import verifyObject

from txcausal._view_source import takes_stop
from txcausal.webview import ITaskSource, LoadedTask, Search, TaskRing, TaskViewResource

from ._web_helpers import StubTreq
from ._webview_cases import ViewTestCase, inline
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


def without_processes(page: Dict[str, Any]) -> List[Any]:
    """
    Take the process of each node out of a task as the page has it (what
    only the page shows).

    @return: The processes taken out, in the order of the nodes.
    """
    processes = []

    def take(node: Dict[str, Any]) -> None:
        processes.append(node.pop("process"))
        for child in node.get("children", []):
            take(child)

    for node in page["children"]:
        take(node)
    return processes


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

    def test_byQuery(self) -> None:
        """
        C{api/task?uuid=} names any task, the dot segments C{.} and C{..}
        (which a browser would resolve in a path) too; without C{uuid}, it
        names none.
        """
        for uuid in ["..", ".", JOINED]:
            self.ring(message(uuid, [1], 50.0, message_type="m"))
            encoded = uuid.replace(".", "%2E")
            self.assertEqual(self.json(f"api/task?uuid={encoded}")["task_uuid"], uuid)
        self.json("api/task", 404)
        self.json("api/task?uuid=", 404)

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
        self.assertEqual(without_processes(page), [0, 0, 0])
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
        without_processes(page)
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


@implementer(ITaskSource)
class OldSource:
    """
    A third-party source written before C{load} took C{stop}: a ring's
    tasks, loaded with C{load(uuid)} only.
    """

    def __init__(self, ring: TaskRing) -> None:
        self.ring = ring
        self.index = ring.index
        self.loaded: List[str] = []

    def load(self, uuid: str) -> "Deferred[Optional[LoadedTask]]":
        self.loaded.append(uuid)
        return self.ring.load(uuid)

    def search(self, search: Search) -> "Deferred[FrozenSet[str]]":
        return self.ring.search(search)

    def status(self) -> Dict[str, Any]:
        return self.ring.status()


class SourceWithoutStopTests(ViewTestCase):
    """
    A source whose C{load} takes no C{stop} (see L{ITaskSource.load}).
    """

    def setUp(self) -> None:
        super().setUp()
        self.source = OldSource(self.ring)
        self.resource = TaskViewResource(self.source, self.clock, runInThread=inline)
        self.stub = StubTreq(self.resource)

    def test_provides(self) -> None:
        """
        It provides L{ITaskSource}.
        """
        self.assertTrue(verifyObject(ITaskSource, self.source))

    def test_taskLoaded(self) -> None:
        """
        Its tasks are loaded, called without C{stop}.
        """
        self.assertEqual(self.json(f"api/task/{JOINED}")["task_uuid"], JOINED)
        self.assertEqual(self.source.loaded, [JOINED])
        self.json("api/task/nothing", 404)


class StopPassedTests(ViewTestCase):
    """
    Whether the resource passes C{stop} to a source's C{load} is told from
    its signature (L{takes_stop}); C{load} itself is looked up at each
    request.
    """

    def test_loadReplacedAfterResourceMade(self) -> None:
        """
        A C{load} set on the source after the resource is made is the one
        called.
        """
        calls = []
        original = self.ring.load

        def spy(uuid: str, **kwargs: Any) -> "Deferred[Optional[LoadedTask]]":
            calls.append(uuid)
            return original(uuid, **kwargs)

        self.ring.load = spy  # type: ignore[method-assign,assignment]
        self.assertEqual(self.json(f"api/task/{JOINED}")["task_uuid"], JOINED)
        self.assertEqual(calls, [JOINED])

    def test_keywordOnly(self) -> None:
        """
        A C{load} taking C{stop} as a keyword-only argument is passed it.
        """
        def load(uuid: str, *, stop: Any) -> None:
            pass

        self.assertTrue(takes_stop(load))

    def test_anyKeyword(self) -> None:
        """
        A C{load} taking any keyword argument (C{**kwargs}) is passed
        C{stop}.
        """
        def load(uuid: str, **kwargs: Any) -> None:
            pass

        self.assertTrue(takes_stop(load))

    def test_uuidOnly(self) -> None:
        """
        A C{load} taking C{uuid} only, or C{stop} only by position, is not
        passed C{stop}.
        """
        def load(uuid: str) -> None:
            pass

        def positional(uuid: str, stop: Any = None, /) -> None:
            pass

        self.assertEqual((takes_stop(load), takes_stop(positional)), (False, False))

    def test_unreadableSignature(self) -> None:
        """
        A C{load} whose signature cannot be read is passed C{stop}.
        """
        class Unreadable:
            __signature__ = "not a signature"

            def __call__(self, uuid: str, **kwargs: Any) -> None:
                pass

        # TypeError, or on Python 3.13 ValueError (the text is parsed).
        self.assertRaises((TypeError, ValueError), inspect.signature, Unreadable())
        self.assertTrue(takes_stop(Unreadable()))

    def test_decoratorNarrowing(self) -> None:
        """
        A C{load} decorated with C{functools.wraps} by a decorator taking
        C{uuid} only (the function it wraps takes C{stop}) is called with
        C{uuid} only.
        """
        def counted(f: Any) -> Any:
            @functools.wraps(f)
            def load(uuid: str) -> Any:
                calls.append(uuid)
                return f(uuid)
            return load

        calls: List[str] = []
        self.ring.load = counted(self.ring.load)  # type: ignore[method-assign]
        resource = TaskViewResource(self.ring, self.clock, runInThread=inline)
        self.stub = StubTreq(resource)
        self.assertEqual(self.json(f"api/task/{JOINED}")["task_uuid"], JOINED)
        self.assertEqual(calls, [JOINED])
