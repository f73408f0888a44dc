"""
A task's page asked for by several requests at once (several tabs on one
big task) is built once for them all; a build stops between its steps when
the server stops, or when every request for it went away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List, Tuple

import orjson
from twisted.internet.defer import Deferred, DeferredList, ensureDeferred
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site
from twisted.web.test.requesthelper import DummyRequest

from txcausal import _view_files, _view_task
from txcausal._view_index import QueryStopped
from txcausal._view_source import only_task
from txcausal.webview import LogFiles, TaskViewResource

from ._web_helpers import StubTreq
from ._webview_cases import ROOT, FilesTestCase, MemoryWorker, run_now
from ._webview_logs import finished, message, started

STOPPING = (503, {"error": "the server is stopping"})


def task_lines(uuid: str, count: int, first: int = 1) -> bytes:
    """
    C{count} messages of task C{uuid} as JSON lines, at levels C{[first]},
    C{[first + 1]}...
    """
    return b"".join(orjson.dumps(message(uuid, [n], float(n), message_type="m")) + b"\n"
                    for n in range(first, first + count))


def shown(body: Any) -> int:
    """
    How many messages a page of task C{t} (lone messages) shows.
    """
    return len(body["children"]) + len(body["strays"])


def shut_down(reactor: MemoryReactorClock) -> None:
    """
    Run C{reactor}'s 'before' 'shutdown' triggers: the server stops.
    """
    for trigger, args, kwargs in reactor.triggers["before"]["shutdown"]:
        trigger(*args, **kwargs)


class SharedBuildTests(FilesTestCase):
    """
    Requests for one task's page while it is built share the build.
    """

    def setUp(self) -> None:
        super().setUp()
        self.path = self.dir / "t.log"
        self.path.write_bytes(task_lines("t", 3))
        self.worker = MemoryWorker()
        self.reactor = MemoryReactorClock()
        self.files = LogFiles([str(self.path)], self.clock, runInThread=self.worker,
                              startThread=run_now)
        self.addCleanup(self.files.close)
        self.files.readAvailable()
        self.resource = TaskViewResource(self.files, self.reactor, runInThread=self.worker)
        self.stub = StubTreq(self.resource)

    def ask(self, path: str = "api/task/t", count: int = 1) -> List[Any]:
        """
        Ask C{count} times for C{path}, not answered yet.
        """
        responses = [self.stub.get(ROOT + path) for _ in range(count)]
        self.stub.flush()
        for response in responses:
            self.assertNoResult(response)
        return responses

    def answers(self, responses: List[Any]) -> List[Tuple[int, Any]]:
        """
        Run the worker's jobs; the answers.
        """
        self.worker.run()
        self.stub.flush()
        done = [self.successResultOf(response) for response in responses]
        return [(r.code, self.successResultOf(r.json())) for r in done]

    def grow(self, count: int) -> None:
        """
        Add C{count} messages to task C{t}'s file, and index them.
        """
        with self.path.open("ab") as log:
            log.write(task_lines("t", count, first=4))
        self.files.readAvailable()

    def test_oneBuild(self) -> None:
        """
        Five requests for one task's page, all made before the page is
        built, start one build (one job of the worker); each gets its own
        response, the same page.
        """
        responses = self.ask(count=5)
        self.assertEqual(len(self.worker.jobs), 1)
        answers = self.answers(responses)
        self.assertEqual([code for code, _ in answers], [200] * 5)
        self.assertEqual(shown(answers[0][1]), 3)
        self.assertEqual([body for _, body in answers], [answers[0][1]] * 5)

    def test_searchesBuiltApart(self) -> None:
        """
        The same task with a search (its matches marked) is another page:
        built apart.
        """
        responses = self.ask() + self.ask("api/task/t?q=m") + self.ask("api/task/t?q=m")
        self.assertEqual(len(self.worker.jobs), 2)
        answers = self.answers(responses)
        matches = [body["matches"] for _, body in answers]
        self.assertEqual((matches[0], matches[1] > 0, matches[2]), (0, True, matches[1]))

    def test_notKept(self) -> None:
        """
        A page is not kept once built: a request after it starts another
        build, which shows what the file gained meanwhile.
        """
        self.assertEqual(shown(self.answers(self.ask())[0][1]), 3)
        self.assertEqual(len(self.resource._builds), 0)
        self.grow(2)
        responses = self.ask(count=2)
        self.assertEqual(len(self.worker.jobs), 1)
        self.assertEqual([shown(body) for _, body in self.answers(responses)], [5, 5])

    def test_grewWhileBuilding(self) -> None:
        """
        A request made after the task gained messages does not wait for
        the build started before: it gets a build of its own, with them.
        """
        before = self.ask()
        self.grow(1)
        after = self.ask(count=2)
        self.assertEqual(len(self.worker.jobs), 2)
        answers = self.answers(before + after)
        self.assertEqual([shown(body) for _, body in answers], [3, 4, 4])

    def test_truncatedWhileBuilding(self) -> None:
        """
        A request made after the file was truncated (no new message for the
        task: its summary is the same) does not wait for the build started
        before: it gets a build of its own, which finds the messages gone.
        """
        before = self.ask()
        self.path.write_bytes(b"")
        self.files.readAvailable()
        self.assertEqual(self.files.file_problems, 1)  # The truncation, read.
        after = self.ask()
        self.assertEqual((self.resource._builds.started, len(self.worker.jobs)), (2, 2))
        self.assertEqual(self.answers(before + after)[1][1]["unavailable"], 3)

    def test_failedForEveryone(self) -> None:
        """
        A build that fails answers every request waiting for it with the
        same error; the next request builds again.
        """
        def broken(*args: Any) -> Any:
            raise ValueError("a bad task")

        original = _view_task.task_json
        self.patch(_view_task, "task_json", broken)
        responses = self.ask(count=3)
        self.assertEqual(len(self.worker.jobs), 1)
        answers = self.answers(responses)
        self.assertEqual(answers, [(500, {"error": "internal error: a bad task"})] * 3)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.patch(_view_task, "task_json", original)
        self.assertEqual(self.answers(self.ask())[0][0], 200)

    def test_failureLoggedWithNobodyLeft(self) -> None:
        """
        A build that fails after every request for it went away is logged
        all the same.
        """
        def broken(*args: Any) -> Any:
            for request in requests:
                self.disconnect(request)
            raise ValueError("a bad task")

        self.patch(_view_task, "task_json", broken)
        requests = [self.rendered(), self.rendered()]
        self.worker.run()
        self.assertEqual([(r.written, r.finished) for r in requests], [([], 0)] * 2)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_stoppedBeforeWriting(self) -> None:
        """
        When the server begins to stop while the page's document is made,
        the build stops before it writes it as JSON: 503.
        """
        made = _view_task.task_json
        written: List[object] = []

        def document(*args: Any) -> Any:
            shut_down(self.reactor)
            return made(*args)

        self.patch(_view_task, "task_json", document)
        dumps = _view_task.dumps

        def write(value: Any) -> bytes:
            written.append(value)
            return dumps(value)

        self.patch(_view_task, "dumps", write)
        self.assertEqual(self.answers(self.ask(count=2)), [STOPPING] * 2)
        self.assertEqual(written, [])

    def test_olderBuildLeft(self) -> None:
        """
        The last request for a build from an older state of the task
        leaving does not forget the build from its newer state: a request
        after joins that one.
        """
        older = self.rendered()
        self.grow(1)
        newer = self.rendered()
        self.disconnect(older)
        later = self.rendered()
        self.assertEqual((self.resource._builds.started, len(self.worker.jobs)), (2, 2))
        self.worker.run()
        self.assertEqual([r.responseCode for r in (newer, later)], [200, 200])
        self.assertEqual(shown(orjson.loads(b"".join(later.written))), 4)

    def rendered(self) -> DummyRequest:
        """
        A request for task C{t}'s page, rendered, not answered yet.
        """
        request = DummyRequest([b"api", b"task", b"t"])
        self.assertIs(self.resource.render(request), NOT_DONE_YET)
        return request

    def disconnect(self, request: Any) -> None:
        request._disconnected = True
        request.processingFailed(Failure(ConnectionDone()))

    def test_oneLeaves(self) -> None:
        """
        A request whose client goes away while the page is built leaves
        the build to the others, who get the page; nothing is written to
        it.
        """
        gone, staying = self.rendered(), self.rendered()
        self.disconnect(gone)
        self.assertEqual(len(self.worker.jobs), 1)
        self.worker.run()
        self.assertEqual((gone.written, gone.finished), ([], 0))
        self.assertEqual(staying.responseCode, 200)
        self.assertEqual(shown(orjson.loads(b"".join(staying.written))), 3)

    def test_allLeave(self) -> None:
        """
        Once every request for a page went away, its build stops before
        its next step, and is forgotten: a request after gets a new one.
        """
        built: List[object] = []
        self.patch(_view_files, "only_task", lambda *args: built.append(args))
        self.patch(_view_task, "task_json", lambda *args: built.append(args))
        requests = [self.rendered(), self.rendered()]
        for request in requests:
            self.disconnect(request)
        self.assertEqual(len(self.resource._builds), 0)
        self.worker.run()
        self.assertEqual(built, [])
        self.assertEqual([(r.written, r.finished) for r in requests], [([], 0)] * 2)
        self.rendered()
        self.assertEqual(len(self.worker.jobs), 1)

    def test_stoppedWhileWaiting(self) -> None:
        """
        When the server begins to stop before the worker runs the build,
        every request waiting for it is answered 503.
        """
        responses = self.ask(count=3)
        self.assertEqual(len(self.worker.jobs), 1)
        shut_down(self.reactor)
        self.assertEqual(self.answers(responses), [STOPPING] * 3)

    def test_stoppedBetweenSteps(self) -> None:
        """
        When the server begins to stop while the task is joined into its
        tree, the build stops before it makes the page's document: the
        waiting requests are answered 503.
        """
        joined = only_task
        documented: List[object] = []

        def join(*args: Any) -> Any:
            shut_down(self.reactor)
            return joined(*args)

        self.patch(_view_files, "only_task", join)
        self.patch(_view_task, "task_json", lambda *args: documented.append(args))
        self.assertEqual(self.answers(self.ask(count=2)), [STOPPING] * 2)
        self.assertEqual(documented, [])

    def test_stoppedBeforeJoining(self) -> None:
        """
        Told to stop once it read the task's messages, the load stops
        before it joins them into a tree.
        """
        joined: List[object] = []
        self.patch(_view_files, "only_task", lambda *args: joined.append(args))
        looks: List[int] = []

        def stop() -> bool:
            looks.append(1)
            return len(looks) > 3

        loading = self.files.load("t", stop=stop)
        self.worker.run()
        self.failureResultOf(loading, QueryStopped)
        self.assertEqual((len(looks), joined), (4, []))


class _Arrivals(Resource):
    """
    Counts the requests that reached C{resource}, and fires C{all_in} once
    C{expected} did.
    """

    isLeaf = True

    def __init__(self, resource: Resource, expected: int) -> None:
        super().__init__()
        self._resource = resource
        self._expected = expected
        self.all_in: Deferred[None] = Deferred()

    def render(self, request: Any) -> Any:
        result = self._resource.render(request)
        self._expected -= 1
        if self._expected == 0:
            self.all_in.callback(None)
        return result


class LoopbackTests(TestCase):
    """
    A real twisted.web server on 127.0.0.1, reading a real file in the
    reactor's thread pool, and a real treq client.
    """

    def test_concurrentRequestsOneBuild(self) -> Any:
        """
        Four requests at once for one task's page are answered the same
        page, from one load of the task: the load's job waits until the
        four reached the view.
        """
        import treq
        from twisted.internet import reactor as _reactor
        from twisted.internet.threads import deferToThreadPool
        from twisted.web.client import HTTPConnectionPool

        reactor: Any = _reactor
        path = Path(self.mktemp())
        messages = [started("big", [1], 1.0, "big:task")]
        messages += [message("big", [n + 1], 1.0 + n, message_type="step", n=n)
                     for n in range(1, 2001)]
        messages.append(finished("big", [2002], 3000.0, "big:task"))
        path.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in messages))
        count = 4
        gate: List[_Arrivals] = []
        loads: List[str] = []

        def after_all_in(f: Callable[[], Any]) -> "Deferred[Any]":
            job: Deferred[Any] = Deferred()

            def run(_: object) -> None:
                deferToThreadPool(reactor, reactor.getThreadPool(), f).chainDeferred(job)

            gate[0].all_in.addCallback(run)
            return job

        class Counted(LogFiles):
            def load(self, uuid: str, stop: Any = lambda: False, build: Any = None) -> Any:
                loads.append(uuid)
                return super().load(uuid, stop, build)

        files = Counted([str(path)], reactor, runInThread=after_all_in)
        self.addCleanup(files.close)
        files.readAvailable()
        arrivals = _Arrivals(TaskViewResource(files, reactor), count)
        gate.append(arrivals)
        port: Any = reactor.listenTCP(0, Site(arrivals), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        pool = HTTPConnectionPool(reactor, persistent=False)
        url = f"http://127.0.0.1:{port.getHost().port}/api/task/big"

        async def get() -> Tuple[int, bytes]:
            response = await treq.get(url, pool=pool, reactor=reactor)
            return response.code, await response.content()

        def check(results: List[Tuple[bool, Tuple[int, bytes]]]) -> None:
            self.assertEqual([ok for ok, _ in results], [True] * count)
            answers = [answer for _, answer in results]
            self.assertEqual(answers, [answers[0]] * count)
            code, body = answers[0]
            page = orjson.loads(body)
            self.assertEqual((code, page["children"][0]["action_type"]), (200, "big:task"))
            self.assertEqual(len(page["children"][0]["children"]), 2000)
            self.assertEqual(loads, ["big"])

        requests = [ensureDeferred(get()) for _ in range(count)]
        return DeferredList(requests, consumeErrors=True).addCallback(check)

