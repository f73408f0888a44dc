"""
A task's page being built stops inside its longest steps (making its
document, writing the values nested too deep as text), not only between
them, once it is told to: the server is stopping, or nobody waits for it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import orjson
from twisted.internet.testing import MemoryReactorClock

from txcausal import _view_task
from txcausal._cli._text import scalar_text
from txcausal._story import KeyMatcher
from txcausal._view_index import QueryStopped
from txcausal._view_source import LoadedTask, only_task
from txcausal._view_task import STOP_EVERY, task_body
from txcausal.webview import LogFiles, TaskViewResource

from ._web_helpers import StubTreq
from ._webview_cases import ROOT, FilesTestCase, MemoryWorker, run_now
from ._webview_logs import finished, message, started
from .test_webview_build import TOO_DEEP, nested
from .test_webview_builds import STOPPING, shut_down

#: Messages in the big task: several times L{STOP_EVERY}.
COUNT = 5 * STOP_EVERY


class _Looked(Dict[int, int]):
    """
    The sources of a loaded task, counting how often one is looked up:
    once for each node as its document is made.
    """

    looked = 0

    def get(self, key: int, default: Optional[int] = None) -> Optional[int]:  # type: ignore[override]
        self.looked += 1
        return super().get(key, default)


def big_task(count: int, **fields: Any) -> List[Dict[str, Any]]:
    """
    The messages of task C{t}: an action holding C{count} messages, each
    with C{fields}.
    """
    return [started("t", [1], 0.0, "big"),
            *(message("t", [n], float(n), message_type="m", **fields)
              for n in range(2, count + 2)),
            finished("t", [count + 2], count + 2.0, "big")]


def loaded(messages: List[Dict[str, Any]], sources: Optional[Dict[int, int]] = None
           ) -> LoadedTask:
    """
    Task C{t} of C{messages}, as a source loads it.
    """
    return LoadedTask(only_task("t", messages), sources if sources is not None else {}, ["a"])


class TaskBodyTests(FilesTestCase):
    """
    L{task_body} told to stop while it runs.
    """

    def test_stopsInsideDocument(self) -> None:
        """
        Told to stop once the document is being made, it stops within
        L{STOP_EVERY} nodes, not at the end of the task.
        """
        sources = _Looked()
        task = loaded(big_task(COUNT), sources)
        with self.assertRaises(QueryStopped):
            task_body(task, None, lambda: sources.looked > 0)
        self.assertEqual(sources.looked, STOP_EVERY - 1)

    def test_stopsInsideValuesAsText(self) -> None:
        """
        Told to stop once the values nested too deep are being written as
        text (the task could not be written whole), it stops within
        L{STOP_EVERY} values, not at the end of the task.
        """
        written: List[object] = []

        def text(value: Any) -> str:
            written.append(value)
            return scalar_text(value)

        self.patch(_view_task, "scalar_text", text)
        task = loaded(big_task(COUNT, deep=nested(TOO_DEEP)))
        with self.assertRaises(QueryStopped):
            task_body(task, None, lambda: bool(written))
        self.assertLess(len(written), STOP_EVERY)

    def test_stopsInsideOneValue(self) -> None:
        """
        Told to stop while one large value nested too deep is walked (the
        only one of the task: its walk is the whole of writing the values
        as text), it stops inside that walk, before writing it as text.
        """
        value = {"deep": nested(TOO_DEEP), "wide": list(range(COUNT))}
        walking: List[object] = []
        too_deep = _view_task._too_deep

        def walked(other: Any, tick: Any) -> bool:
            if other is value:
                walking.append(other)
            return too_deep(other, tick)

        written: List[object] = []
        self.patch(_view_task, "_too_deep", walked)
        self.patch(_view_task, "scalar_text", written.append)
        task = loaded([message("t", [1], 0.0, message_type="m", value=value)])
        with self.assertRaises(QueryStopped):
            task_body(task, None, lambda: bool(walking))
        self.assertEqual((walking, written), ([value], []))

    def _storyStopped(self, messages: List[Dict[str, Any]], key: str,
                      bound: int = STOP_EVERY + 10) -> None:
        """
        Told to stop once the story of C{key} in task C{t} of C{messages}
        is being found, L{task_body} stops within L{STOP_EVERY} nodes of
        its walk, before the document is made: fewer than C{bound} messages
        looked at.
        """
        matched: List[object] = []
        matches = KeyMatcher.matches

        def counted(matcher: KeyMatcher, message: Any) -> bool:
            matched.append(message)
            return matches(matcher, message)

        self.patch(KeyMatcher, "matches", counted)
        sources = _Looked()
        with self.assertRaises(QueryStopped):
            task_body(loaded(messages, sources), ("story", key), lambda: bool(matched))
        self.assertLess(len(matched), bound)
        self.assertEqual(sources.looked, 0)

    def test_stopsInsideStory(self) -> None:
        """
        Told to stop while the story of a key is found (the task pruned to
        what mentions it), it stops within L{STOP_EVERY} nodes, not at
        the end of the task.
        """
        self._storyStopped(big_task(COUNT, request="r"), "other")

    def test_stopsInsideWholeStory(self) -> None:
        """
        Told to stop while the story of the task's own UUID is found (each
        node looked at for a mention), it stops within L{STOP_EVERY} nodes.
        """
        self._storyStopped(big_task(COUNT, request="r"), "t")

    def test_stopsInsideWholeStoryOfActions(self) -> None:
        """
        Told to stop while the story of the task's own UUID is found in a
        task of many actions holding few messages, it stops within
        L{STOP_EVERY} actions: each action looked at counts, not only the
        messages.
        """
        actions = [part for n in range(2, COUNT + 2)
                   for part in (started("t", [n, 1], float(n), "small"),
                                finished("t", [n, 2], n + 0.5, "small"))]
        messages = [started("t", [1], 0.0, "big"), *actions,
                    finished("t", [COUNT + 2], COUNT + 2.0, "big")]
        # Each action may be looked at twice (its start and its end).
        self._storyStopped(messages, "t", 2 * (STOP_EVERY + 10))

    def test_stopsInsideStrays(self) -> None:
        """
        Told to stop while the task's strays (the messages that did not
        fit its tree) are looked at for the story, it stops within
        L{STOP_EVERY} of them.
        """
        strays = [message("t", [2], float(n), message_type="m") for n in range(COUNT)]
        self._storyStopped([message("t", [1], 0.0, message_type="first"), *strays], "other")

    def test_notStopped(self) -> None:
        """
        Not told to stop, it writes every node, the values nested too deep
        as text.
        """
        task = loaded(big_task(3 * STOP_EVERY, deep=nested(TOO_DEEP)))
        page = orjson.loads(task_body(task, None, lambda: False))
        children = page["children"][0]["children"]
        self.assertEqual((len(children), page["values_as_text"]),
                         (3 * STOP_EVERY, 3 * STOP_EVERY))
        self.assertIsInstance(children[-1]["fields"]["deep"], str)


class StoppedBuildTests(FilesTestCase):
    """
    The requests waiting for a build that stops inside a step.
    """

    def test_waitersAnsweredStopping(self) -> None:
        """
        When the server begins to stop while the page's document is made,
        the build stops within L{STOP_EVERY} nodes: every request waiting
        for it is answered 503, as for a stop between steps, and nothing
        is written as JSON.
        """
        path = self.dir / "t.log"
        path.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in big_task(COUNT)))
        worker, reactor = MemoryWorker(), MemoryReactorClock()
        files = LogFiles([str(path)], self.clock, runInThread=worker, startThread=run_now)
        self.addCleanup(files.close)
        files.readAvailable()
        stub = StubTreq(TaskViewResource(files, reactor, runInThread=worker))
        matched: List[object] = []
        predicate = _view_task.text_predicate

        def text_predicate(text: str) -> Any:
            match = predicate(text)

            def counted(m: Any) -> bool:
                matched.append(m)
                if len(matched) == 10:
                    shut_down(reactor)
                return match(m)

            return counted

        self.patch(_view_task, "text_predicate", text_predicate)
        written: List[object] = []
        dumps = _view_task.dumps

        def write(value: Any) -> bytes:
            written.append(value)
            return dumps(value)

        self.patch(_view_task, "dumps", write)
        responses = [stub.get(ROOT + "api/task/t?q=m") for _ in "ab"]
        stub.flush()
        self.assertEqual(len(worker.jobs), 1)
        worker.run()
        stub.flush()
        answers = []
        for response in responses:
            done = self.successResultOf(response)
            answers.append((done.code, self.successResultOf(done.json())))
        self.assertEqual(answers, [STOPPING] * 2)
        self.assertLess(len(matched), 2 * STOP_EVERY)
        self.assertEqual(written, [])
