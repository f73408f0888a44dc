"""
What fails while the web view answers (the task list's query, a search, a
task's page) is answered 500 and logged once through twisted.logger; and
what C{txcausal web} shows of it on standard error.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, cast

from twisted.internet.defer import Deferred, fail
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from txcausal._view_failures import NAMESPACE
from txcausal.webview import TaskViewResource

from ._web_helpers import StubTreq
from ._webview_cases import ROOT, MemoryWorker, filled_ring
from ._webview_logs import JOINED, write_log
from ._webview_server import start_web
from .test_webview_builds import STOPPING, shut_down

INTERNAL = 500


class _BrokenTasks(Dict[str, Any]):
    """
    An index's tasks that cannot be listed.
    """

    def values(self) -> Any:
        raise RuntimeError("index broken")


class ListFailureTests(SynchronousTestCase):
    """
    The task list's failures, through a real site (L{StubTreq}), a ring as
    the source and a worker the test runs.
    """

    def setUp(self) -> None:
        self.events: List[LogEvent] = []
        observer = cast(ILogObserver, self.events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.ring = filled_ring()
        self.reactor = MemoryReactorClock()
        self.worker = MemoryWorker()
        self.stub = StubTreq(TaskViewResource(self.ring, self.reactor, runInThread=self.worker))

    def logged(self) -> List[str]:
        """
        What the view logged of its failures, as text.
        """
        return [formatEvent(event) for event in self.events
                if event.get("log_namespace") == NAMESPACE and "log_failure" in event]

    def answers(self, *paths: str) -> List[Any]:
        """
        Ask for each of C{paths} at once; once the worker ran, the answers.
        """
        responses = [self.stub.get(ROOT + path) for path in paths]
        self.stub.flush()
        self.worker.run()
        self.stub.flush()
        answers = []
        for response in responses:
            done = self.successResultOf(response)
            answers.append((done.code, self.successResultOf(done.json())))
        return answers

    def test_queryFailureLogged(self) -> None:
        """
        A query that fails on the worker is answered 500 and logged once,
        with its traceback.
        """
        self.ring.index._tasks = _BrokenTasks(self.ring.index._tasks)
        self.assertEqual(self.answers("api/tasks"),
                         [(INTERNAL, {"error": "internal error: index broken"})])
        self.assertEqual(self.logged(), ["the task list's query failed"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_searchFailureLoggedOnce(self) -> None:
        """
        A search that fails is logged once, however many requests waited
        for it; each is answered 500.
        """
        running: Deferred[Any] = Deferred()
        self.ring.search = lambda search: running  # type: ignore[method-assign]
        responses = [self.stub.get(ROOT + "api/tasks?q=resize") for _ in "abc"]
        self.stub.flush()
        running.errback(OSError("disk gone"))
        self.stub.flush()
        self.assertEqual([self.successResultOf(r).code for r in responses], [INTERNAL] * 3)
        self.assertEqual(self.logged(), ["searching the tasks for 'resize' failed"])
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    def test_eachFailedSearchLogged(self) -> None:
        """
        A search run again after it failed, and failing again, is logged
        again; a story search says so.
        """
        self.ring.search = lambda search: fail(OSError("disk gone"))  # type: ignore
        self.assertEqual(self.answers("api/tasks?story=k1", "api/tasks?story=k1"),
                         [(INTERNAL, {"error": "internal error: disk gone"})] * 2)
        self.assertEqual(self.logged(), ["searching the tasks for the story of 'k1' failed"] * 2)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 2)

    def test_stopNotLogged(self) -> None:
        """
        A query stopped because the server stops is answered 503, and is
        no failure to log.
        """
        response = self.stub.get(ROOT + "api/tasks")
        self.stub.flush()
        shut_down(self.reactor)
        self.worker.run()
        self.stub.flush()
        self.assertEqual(self.successResultOf(response).code, 503)
        self.assertEqual(self.logged(), [])

    def test_cleanedBeforeLogged(self) -> None:
        """
        The query's failure is cleaned (its frames, which hold the index's
        tasks, let go) before it is logged, as a build's is.
        """
        order: List[str] = []

        def cleanFailure(failure: Failure) -> None:
            order.append("cleaned")

        def observe(event: LogEvent) -> None:
            if event.get("log_namespace") == NAMESPACE:
                order.append("logged")

        self.patch(Failure, "cleanFailure", cleanFailure)
        globalLogPublisher.addObserver(cast(ILogObserver, observe))
        self.addCleanup(globalLogPublisher.removeObserver, cast(ILogObserver, observe))
        self.ring.index._tasks = _BrokenTasks(self.ring.index._tasks)
        self.answers("api/tasks")
        self.flushLoggedErrors(RuntimeError)
        # Logged once, cleaned just before (older Twisted's Deferred cleans
        # a failure it catches too, earlier).
        self.assertEqual((order.count("logged"), order[-2:]), (1, ["cleaned", "logged"]))

    def test_answerNotWrittenLogged(self) -> None:
        """
        An answer that cannot be written as JSON (here a custom source's
        status) is answered 500 and logged once too, as the query's
        failure.
        """
        def status(ring: Any) -> Dict[str, Any]:
            return {"odd": {(1, 2): "a key JSON has not"}}

        self.patch(type(self.ring), "status", status)
        [(code, _)] = self.answers("api/tasks")
        self.assertEqual((code, self.logged()), (INTERNAL, ["the task list's query failed"]))
        self.assertEqual(len(self.flushLoggedErrors(TypeError)), 1)

    def test_publicStopRecognised(self) -> None:
        """
        A source's load that fails with L{txcausal.webview.QueryStopped}
        (as C{ITaskSource}'s contract says a stopped load does) is answered
        as a stop (503), not logged as a failure.
        """
        from txcausal import webview

        def load(ring: Any, uuid: str, **kwargs: Any) -> "Deferred[Any]":
            return fail(webview.QueryStopped())

        self.patch(type(self.ring), "load", load)
        self.assertEqual(self.answers(f"api/task/{JOINED}"), [STOPPING])
        self.assertEqual(self.logged(), [])

    def test_pageFailureNamed(self) -> None:
        """
        A task's page that cannot be built is logged naming the task (and
        its search), not the build's key.
        """
        from txcausal import _view_task

        def broken(*args: Any) -> Any:
            raise ValueError("a bad task")

        self.patch(_view_task, "task_json", broken)
        self.answers(f"api/task/{JOINED}", f"api/task/{JOINED}?story=k1")
        self.assertEqual(self.logged(), [
            f"building the page of task {JOINED!r} failed",
            f"building the page of task {JOINED!r} (story 'k1') failed",
        ])
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 2)


#: Run C{txcausal} with the task list's query and the making of a task's
#: page broken.
BROKEN = """\
import runpy
from txcausal import _view_index, _view_task

def broken(*args, **kwargs):
    raise RuntimeError("broken \\x1b[2J on purpose")

_view_index.TaskIndex.listing = broken
_view_task.task_json = broken
runpy.run_module("txcausal", run_name="__main__", alter_sys=True)
"""


class CommandTests(SynchronousTestCase):
    """
    C{txcausal web}, a real process on loopback, its query and pages
    broken on purpose.
    """

    def test_reportedOnStandardError(self) -> None:
        """
        The failures of the task list and of a task's page are printed on
        standard error as the command's other reports are, after
        C{txcausal web: }, the traceback below, indented and escaped.
        """
        log = write_log(Path(self.mktemp()), [
            {"task_uuid": "t1", "task_level": [1], "timestamp": 1.0, "message_type": "m"}])
        process, address = start_web([str(log)], self, python=["-c", BROKEN])
        for path in ("api/tasks", "api/task/t1"):
            with self.assertRaises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(address + path, timeout=60)
            self.assertEqual(raised.exception.code, INTERNAL)
            raised.exception.close()
        process.terminate()
        process.wait(timeout=30)
        stderr = process.stderr.read()  # type: ignore[union-attr]
        reports = [line for line in stderr.splitlines() if not line.startswith("  ")]
        self.assertEqual(reports, ["txcausal web: the task list's query failed",
                                   "txcausal web: building the page of task 't1' failed"],
                         stderr)
        self.assertIn("  builtins.RuntimeError: broken \\x1b[2J on purpose\n", stderr)
