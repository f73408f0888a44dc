"""
How the web view writes a task's page (C{api/task/<uuid>}): off the reactor
thread, in the job that read it back from the files; and whole, with a value
too deeply nested to write as JSON sent as its text.
"""

from __future__ import annotations

from typing import Any, Callable, List

from twisted.internet.defer import Deferred, inlineCallbacks, maybeDeferred

from txcausal import _view_resource, _view_task
from txcausal._view_source import LoadedTask, takes_build
from txcausal.webview import LogFiles, TaskRing, TaskViewResource

from ._web_helpers import StubTreq
from ._webview_cases import ROOT, FilesTestCase, MemoryWorker, ViewTestCase, run_now
from ._webview_logs import finished, message, started, write_log

#: Deeper than the standard library's JSON writer goes on every Python
#: supported (about 1,000 levels up to 3.11, a few thousand on 3.12 and
#: 3.13, which write 1,000 whole).
TOO_DEEP = 20_000


def nested(depth: int) -> Any:
    """
    A list nested C{depth} deep around C{1}.
    """
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


class DeepValueTests(ViewTestCase):
    """
    A value nested deeper than JSON writers go loses nothing but itself.
    """

    def test_deepValueAsText(self) -> None:
        """
        A field nested deeper than the JSON writers go is sent as its JSON
        text, cut below 50 levels (as C{txcausal tree} shows it), and
        counted; the task's other messages are there.
        """
        self.ring(started("deep", [1], 10.0, "checkout"))
        self.ring(message("deep", [2], 11.0, message_type="charge", amount=12))
        self.ring(message("deep", [3], 12.0, message_type="odd", v=nested(TOO_DEEP), w=nested(3)))
        self.ring(finished("deep", [4], 13.0, "checkout"))
        page = self.json("api/task/deep")
        children = page["children"][0]["children"]
        self.assertEqual([c["message_type"] for c in children], ["charge", "odd"])
        self.assertEqual(children[0]["fields"], {"amount": 12})
        text = children[1]["fields"]["v"]
        self.assertIsInstance(text, str)
        self.assertTrue(text.startswith("[" * 50 + "\"[…]\"" ), text[:80])
        self.assertEqual(children[1]["fields"]["w"], [[[1]]])
        self.assertEqual(page["values_as_text"], 1)

    def test_deepStrayAsText(self) -> None:
        """
        A message of the task that is not in its tree (a stray) is written
        likewise.
        """
        self.ring(message("stray", [1], 10.0, message_type="one"))
        self.ring(message("stray", [1], 10.5, message_type="again", v={"a": nested(TOO_DEEP)}))
        page = self.json("api/task/stray")
        self.assertIsInstance(page["strays"][0]["v"], str)
        self.assertEqual(page["values_as_text"], 1)

    def test_deepTypeAsText(self) -> None:
        """
        Any value of a node, not only its fields: a C{message_type} or an
        C{action_type} nested deeper than the JSON writers go is sent as its text, counted, and
        the task's other messages are there.
        """
        self.ring(message("mtype", [1], 10.0, message_type=nested(TOO_DEEP)))
        self.ring(message("mtype", [2], 11.0, message_type="other", x=1))
        self.ring(message("atype", [1], 10.0, action_type=nested(TOO_DEEP),
                          action_status="started"))
        self.ring(message("atype", [2], 11.0, message_type="other", x=1))
        for uuid, key in [("mtype", "message_type"), ("atype", "action_type")]:
            page = self.json("api/task/" + uuid)
            text = page["children"][0][key]
            self.assertIsInstance(text, str)
            self.assertTrue(text.startswith("[" * 50 + "\"[…]\""), text[:80])
            others = [*page["strays"], *page["children"][0].get("children", [])]
            self.assertIn("other", [m["message_type"] for m in others])
        self.assertEqual(self.json("api/task/mtype")["values_as_text"], 1)

    def test_shallowNotCounted(self) -> None:
        """
        A task written whole says nothing of values as text.
        """
        self.ring(message("plain", [1], 10.0, message_type="m", v=nested(20)))
        page = self.json("api/task/plain")
        self.assertEqual(page["children"][0]["fields"]["v"], nested(20))
        self.assertNotIn("values_as_text", page)


class BuiltInJobTests(FilesTestCase):
    """
    Read back from the files, a task's tree and JSON are made in the job
    that read it, not in the reactor thread.
    """

    def test_builtInLoadJob(self) -> None:
        """
        The page's body is built by the worker's job: when the job is run,
        the tree is made and written; nothing of it before, and nothing
        after, in the reactor thread.
        """
        log = write_log(self.dir / "a.log", [started("t", [1], 1.0, "a"),
                                             finished("t", [2], 2.0, "a")])
        worker = MemoryWorker()
        in_job: List[bool] = [False]
        built: List[bool] = []
        encoded: List[bool] = []

        def running(f: Callable[[], Any]) -> "Deferred[Any]":
            def job() -> Any:
                in_job[0] = True
                try:
                    return f()
                finally:
                    in_job[0] = False
            return worker(job)

        original_json, original_body = _view_task.task_json, _view_task.task_body

        def task_json(*args: Any) -> Any:
            built.append(in_job[0])
            return original_json(*args)

        def task_body(*args: Any) -> Any:
            encoded.append(in_job[0])
            return original_body(*args)

        self.patch(_view_task, "task_json", task_json)
        self.patch(_view_resource, "task_body", task_body)
        files = LogFiles([str(log)], self.clock, runInThread=running, startThread=run_now)
        self.addCleanup(files.close)
        files.readAvailable()
        resource = TaskViewResource(files, self.clock, runInThread=worker)
        stub = StubTreq(resource)
        answer = stub.get(ROOT + "api/task/t")
        self.assertNoResult(answer)
        self.assertEqual((built, encoded), ([], []))
        worker.run()
        stub.flush()
        response = self.successResultOf(answer)
        self.assertEqual(response.code, 200)
        page = self.successResultOf(response.json())
        self.assertEqual(page["children"][0]["action_type"], "a")
        self.assertEqual((built, encoded), ([True], [True]))


class BuildPassedTests(FilesTestCase):
    """
    C{build} is passed only to a C{load} that names it: any other source
    gets the L{LoadedTask} from its C{load}, as before C{build} was added.
    """

    def test_named(self) -> None:
        """
        A C{load} naming C{build} (keyword-only too) is passed it; one
        taking any keyword argument, C{build} only by position, or whose
        signature cannot be read, is not.
        """
        def named(uuid: str, stop: Any = None, build: Any = None) -> None:
            pass

        def keyword(uuid: str, *, build: Any) -> None:
            pass

        def anything(uuid: str, **kwargs: Any) -> None:
            pass

        def positional(uuid: str, build: Any = None, /) -> None:
            pass

        class Unreadable:
            __signature__ = "not a signature"

            def __call__(self, uuid: str, build: Any = None) -> None:
                pass

        loads: List[Callable[..., Any]] = [named, keyword, anything, positional, Unreadable()]
        self.assertEqual([takes_build(f) for f in loads], [True, True, False, False, False])

    def page(self, source: Any) -> Any:
        """
        The page of task C{t} from C{source}.
        """
        stub = StubTreq(TaskViewResource(source, self.clock, runInThread=maybeDeferred))
        response = self.successResultOf(stub.get(ROOT + "api/task/t"))
        self.assertEqual(response.code, 200)
        return self.successResultOf(response.json())

    def test_keywordsWrapper(self) -> None:
        """
        A L{LogFiles} whose C{load(uuid, **kwargs)} passes its keyword
        arguments on to L{LogFiles.load} and works on the L{LoadedTask} it
        gives gets that task, not the page's body.
        """
        seen: List[Any] = []

        class Redacting(LogFiles):
            def load(self, uuid: str, **kwargs: Any) -> "Deferred[Any]":  # type: ignore[override]
                def redact(loaded: Any) -> Any:
                    seen.append(loaded)
                    for stray in loaded.task.strays:
                        stray.pop("password", None)
                    return loaded
                return super().load(uuid, **kwargs).addCallback(redact)

        log = write_log(self.dir / "a.log", [started("t", [1], 1.0, "a"),
                                             finished("t", [2], 2.0, "a")])
        files = Redacting([str(log)], self.clock, runInThread=maybeDeferred, startThread=run_now)
        self.addCleanup(files.close)
        files.readAvailable()
        self.assertEqual(self.page(files)["children"][0]["action_type"], "a")
        self.assertEqual([type(loaded) for loaded in seen], [LoadedTask])

    def test_decoratedLoad(self) -> None:
        """
        A C{load(uuid, stop)} decorated with C{inlineCallbacks} (whose
        signature reads C{*args, **kwargs}) is called as before: with
        C{stop}, without C{build}.
        """
        class Ring(TaskRing):
            @inlineCallbacks
            def load(self, uuid: str, stop: Any = lambda: False) -> Any:
                loaded = yield TaskRing.load(self, uuid, stop)
                return loaded

        ring = Ring()
        ring(started("t", [1], 1.0, "a"))
        ring(finished("t", [2], 2.0, "a"))
        self.assertEqual(self.page(ring)["children"][0]["action_type"], "a")
