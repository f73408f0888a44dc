"""
L{TaskRing}, the web view's bounded in-process source of tasks; the event
stream (C{api/events}) that tells an open page what changed; and the rule
of failure the task list shares with C{tree --failed}.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

from twisted.internet.interfaces import IReactorThreads
from twisted.internet.task import Clock, Cooperator
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Site
from twisted.web.test.requesthelper import DummyRequest
from zope.interface import alsoProvides
from zope.interface.verify import verifyObject

from txcausal import IDestination
from txcausal._view_ring import SEARCH_STEP
from txcausal._view_task import text_predicate
from txcausal.webview import (
    ITaskSource,
    Search,
    TaskRing,
    TaskViewResource,
)

from ._web_helpers import StubTreq
from ._webview_cases import ROOT, at_once, filled_ring, inline
from ._webview_logs import (
    FAILING,
    JOINED,
    MARKUP,
    client_messages,
    message,
    server_messages,
    started,
)


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

    def test_head(self) -> None:
        """
        A C{HEAD} request gets the stream's headers and is answered at
        once, opening no stream: the next request on the connection is
        answered too.
        """
        channel = Site(self.resource, timeout=None, reactor=self.clock).buildProtocol(None)
        transport = StringTransport()
        channel.makeConnection(transport)
        channel.dataReceived(b"HEAD /api/events HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"GET /static/app.js HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, rest = transport.value().partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
        self.assertIn(b"\r\nContent-Type: text/event-stream", head)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK\r\n"), rest[:200])
        self.assertEqual((self.clock.getDelayedCalls(), self.resource._events.clients()), ([], 0))
        channel.connectionLost(None)

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
        ring = TaskRing(max_tasks=3, cooperate=at_once)
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


class RingSearchTests(SynchronousTestCase):
    """
    L{TaskRing.search} runs in the reactor thread a bounded share of the
    messages at a time.
    """

    def test_boundedPerTurn(self) -> None:
        """
        A search is done by its cooperator a step at a time, each step
        looking at L{SEARCH_STEP} messages at most: none at the call, and
        the answer once every step ran.
        """
        turns: List[Callable[[], None]] = []
        cooperator = Cooperator(terminationPredicateFactory=lambda: lambda: True,
                                scheduler=turns.append)  # type: ignore[arg-type]
        ring = TaskRing(cooperate=cooperator.cooperate)
        per_task = SEARCH_STEP * 2 + 1
        for t in range(3):
            for n in range(per_task):
                ring(message(f"t{t}", [n + 1], 1.0, message_type="m", hit=(t == 1 and n == 5)))
        looked: List[int] = []

        def predicate(m: Dict[str, Any]) -> bool:
            looked.append(1)
            return m["hit"] is True

        answer = ring.search(Search(predicate))
        self.assertNoResult(answer)
        self.assertEqual(looked, [])
        steps = []
        while turns:
            turns.pop(0)()
            steps.append(len(looked))
        self.assertEqual(self.successResultOf(answer), frozenset(["t1"]))
        deltas = [b - a for a, b in zip([0, *steps[:-1]], steps, strict=True)]
        self.assertEqual(max(deltas), SEARCH_STEP)
        # The task found is not looked at further.
        self.assertEqual(len(looked), 2 * per_task + 6)



class ResourceReactorSearchTests(SynchronousTestCase):
    """
    A L{TaskRing} left to its default runs its searches on the reactor of
    the L{TaskViewResource} that asks, not on the global one.
    """

    def ask(self, reactor: Clock) -> Tuple[StubTreq, Any]:
        ring = TaskRing()
        for m in client_messages() + server_messages():
            ring(m)
        stub = StubTreq(TaskViewResource(ring, reactor, runInThread=inline))
        response = stub.get(ROOT + f"api/tasks?q={JOINED}")
        stub.flush()
        return stub, response

    def uuids(self, response: Any) -> List[str]:
        answer = self.successResultOf(response)
        self.assertEqual(answer.code, 200)
        return [t["uuid"] for t in self.successResultOf(answer.json())["tasks"]]

    def test_inLineWithClock(self) -> None:
        """
        With a reactor without threads (a C{Clock}), the search runs
        in-line: the answer is there at once, as documented for tests.
        """
        stub, response = self.ask(Clock())
        self.assertEqual(self.uuids(response), self.expected())

    def test_stepsOnTheResourcesReactor(self) -> None:
        """
        With a reactor with threads, the steps are scheduled with that
        reactor's C{callLater}: no answer until it runs them.
        """
        clock = Clock()
        alsoProvides(clock, IReactorThreads)  # Its thread pool is not used.
        stub, response = self.ask(clock)
        self.assertNoResult(response)
        while clock.getDelayedCalls():
            clock.advance(1)
        stub.flush()
        self.assertEqual(self.uuids(response), self.expected())

    def expected(self) -> List[str]:
        ring = filled_ring()
        answer = self.successResultOf(ring.search(Search(text_predicate(JOINED))))
        found = sorted(answer)
        self.assertNotEqual(found, [])
        return found


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
