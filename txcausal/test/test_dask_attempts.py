"""
Tests for the attempts of a traced Dask task: each run of a task (the
first, and each one Dask makes again after a worker died or the task
raised with C{retries}) logs at a position of its own under the task's
position, so that C{tree} shows every attempt whole, in the order they
ran.  No cluster here: the runs are made by calling the traced task, as a
worker does (see L{test_dask_retry} for a worker that really dies).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any, Callable, Dict, List

from dask._task_spec import Task as DaskTask
from twisted.trial.unittest import SynchronousTestCase

from txcausal import _dask_graph, log_message, start_action
from txcausal._cli._tree_text import DEFAULT_OPTIONS, TreeRenderer
from txcausal._dask_graph import MAX_ATTEMPT, AttemptClock, TracedCall, trace_graph
from txcausal._otel_spans import parent_of
from txcausal._parse_tree import WrittenAction
from txcausal._traceids import span_id
from txcausal.parse import Parser, Task, parse_messages

from . import test_dask_attempts as this
from ._helpers import IsolatedOutputMixin
from ._reading import only

Message = Dict[str, Any]


class _Died(BaseException):
    """
    Stands for the death of the worker process running an attempt.
    """


def _work(x: int) -> int:
    log_message("test:working", x=x)
    if this.dying:
        raise _Died()
    if this.raising:
        raise RuntimeError("first time fails")
    return x * 2


#: Whether the next call of L{_work} dies.
dying = False
#: Whether the next call of L{_work} raises.
raising = False


class _Clock:
    """
    A wall clock that reads the times it is given, one per call.
    """

    def __init__(self, times: List[float]) -> None:
        self._times = times

    def __call__(self) -> float:
        return self._times.pop(0)


class AttemptClockTests(SynchronousTestCase):
    """
    L{AttemptClock} numbers attempts by the milliseconds since the graph
    was traced, never twice the same in one process.
    """

    def index(self, times: List[float], traced_at: float = 100.0,
              position: str = "u@/2") -> List[int]:
        clock = AttemptClock(_Clock(list(times)))
        return [clock.index(position, traced_at) for _ in times]

    def test_millisecondsSinceTraced(self) -> None:
        """
        An attempt made at the time of tracing is 1; one made later, 1
        more than the whole milliseconds since.
        """
        self.assertEqual(self.index([100.0, 100.0372, 102.5]), [1, 38, 2501])

    def test_clockBehind(self) -> None:
        """
        A worker whose clock is behind the client's (an attempt made
        "before" the graph was traced) numbers its attempt 1.
        """
        self.assertEqual(self.index([99.0]), [1])

    def test_capped(self) -> None:
        """
        An index never has more digits than a level of a serialized task
        id may have (10): past that, attempts get L{MAX_ATTEMPT}.
        """
        self.assertEqual(MAX_ATTEMPT, 9_999_999_999)
        self.assertEqual(self.index([100.0 + 1e9]), [MAX_ATTEMPT])

    def test_sameMillisecond(self) -> None:
        """
        Two attempts at one position in the same millisecond (a task that
        raised, with C{retries}, run again at once by a cluster in this
        process) get different indices, in order.
        """
        self.assertEqual(self.index([100.0101, 100.0104, 100.0105]), [11, 12, 13])

    def test_otherPositions(self) -> None:
        """
        Attempts at different positions in the same millisecond get the
        same index: they are under different parents.
        """
        clock = AttemptClock(_Clock([100.01, 100.01]))
        self.assertEqual([clock.index("u@/2", 100.0), clock.index("u@/3", 100.0)], [11, 11])


class AttemptTreeTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    The attempts of a traced task as the reader sees them.
    """

    def setUp(self) -> None:
        self.messages = self.collect()
        self.patch(this, "dying", False)
        self.patch(this, "raising", False)

    def traced(self, times: List[float], action_type: str = "dask:compute") -> TracedCall:
        """
        Trace a one-task graph inside a C{dask:compute} action (or
        C{action_type}), with the attempts' clock reading C{times} (offsets
        from the time of tracing).
        """
        with start_action(action_type=action_type) as action:
            graph = trace_graph({"x": DaskTask("x", _work, 21)}, action)
        call: TracedCall = graph["x"].func
        clock = AttemptClock(_Clock([call.traced_at + t for t in times]))
        self.patch(_dask_graph, "ATTEMPTS", clock)
        return call

    def attempt(self, call: TracedCall, dies: bool) -> None:
        """
        Run an attempt; one that dies leaves no finish message, as a process
        that died writes nothing more.
        """
        before = len(self.messages)
        self.patch(this, "dying", dies)
        try:
            call()
        except _Died:
            finish = self.messages.pop()
            self.assertEqual((finish["action_status"], len(self.messages) > before),
                             ("failed", True))

    def task(self) -> Task:
        return only(list(parse_messages(self.messages)))

    def attempts(self, task: Task) -> List[WrittenAction]:
        return [c for c in task.root.children if isinstance(c, WrittenAction)]

    def returnedAtLast(self) -> Task:
        """
        Add the messages to a L{Parser}: the task must be returned by the
        call that adds the last of them, none before, and none left open.
        """
        parser = Parser()
        returned = [parser.add(message) for message in self.messages]
        self.assertEqual(([task is None for task in returned], parser.open_count()),
                         ([True] * (len(self.messages) - 1) + [False], 0))
        task = returned[-1]
        assert task is not None
        return task

    def test_ordinary(self) -> None:
        """
        A task run once makes a complete tree: its C{eliot:remote_task}
        action is a child of the computation's action, below the task's
        position, its start message marking it as an attempt of it.
        """
        self.attempt(self.traced([0.0045]), dies=False)
        task = self.task()
        self.assertEqual((task.complete, task.strays), (True, []))
        [attempt] = self.attempts(task)
        self.assertEqual((attempt.action_type, attempt.status, attempt.task_level),
                         ("eliot:remote_task", "succeeded", (2, 5)))
        assert attempt.start_message is not None
        self.assertEqual(attempt.start_message["attempt_of"], "/2")

    def test_workerDied(self) -> None:
        """
        When the first attempt's worker died and Dask ran the task again,
        the tree shows the dead attempt started and never finished, and the
        retry as a complete attempt after it, under the same parent; no
        message is left out of the tree.
        """
        call = self.traced([0.0025, 0.3505])
        self.attempt(call, dies=True)
        self.attempt(call, dies=False)
        task = self.task()
        self.assertEqual((task.complete, task.strays), (False, []))
        self.assertEqual([(a.task_level, a.status, a.complete) for a in self.attempts(task)],
                         [((2, 3), "started", False), ((2, 351), "succeeded", True)])

    def test_retryRead(self) -> None:
        """
        Read in any order (the retry's worker's file first), the attempts
        make the same tree.
        """
        call = self.traced([0.0025, 0.3505])
        self.attempt(call, dies=True)
        self.attempt(call, dies=False)
        self.messages.reverse()
        task = self.task()
        self.assertEqual([(a.task_level, a.status) for a in self.attempts(task)],
                         [((2, 3), "started"), ((2, 351), "succeeded")])
        self.assertEqual(task.strays, [])

    def test_emittedAtLastMessage(self) -> None:
        """
        A computation whose tasks ran once, in one process, is returned by
        the call that adds its last message, not held to the end of input.
        """
        self.attempt(self.traced([0.0045]), dies=False)
        task = self.returnedAtLast()
        self.assertEqual((task.complete, len(self.attempts(task))), (True, 1))

    def test_deadAttemptReadLast(self) -> None:
        """
        A task whose attempts are read after the computation's finish is
        taken as whole at its first complete attempt, as far as the input
        read so far tells; the dead attempt, its worker's file read last,
        comes out as an incomplete piece of its own (as any part of a task
        read after the task was returned), its messages all in it.
        """
        call = self.traced([0.0025, 0.3505])
        self.attempt(call, dies=True)
        dead = len(self.messages)
        self.attempt(call, dies=False)
        computation = [m for m in self.messages if len(m["task_level"]) == 1]
        attempts = [m for m in self.messages if len(m["task_level"]) > 1]
        self.messages[:] = computation + attempts[dead - 2:] + attempts[:dead - 2]
        whole, piece = parse_messages(self.messages)
        self.assertEqual([(a.task_level, a.status, whole.complete) for a in self.attempts(whole)],
                         [((2, 351), "succeeded", True)])
        self.assertEqual((piece.complete, piece.strays, list(piece.messages())),
                         (False, [], attempts[:dead - 2]))

    def raised(self, call: TracedCall) -> None:
        """
        Run an attempt that raises, as a task with C{retries} may.
        """
        self.patch(this, "raising", True)
        self.assertRaises(RuntimeError, call)
        self.patch(this, "raising", False)

    def test_failedAttemptReadFirst(self) -> None:
        """
        A computation that succeeded, whose task raised once and was run
        again: its failed attempt read first (a worker's file before the
        other's) does not complete it; the attempt that succeeded does,
        and the computation is returned whole by its last message.
        """
        call = self.traced([0.0025, 0.3505])
        self.raised(call)
        self.attempt(call, dies=False)
        task = self.returnedAtLast()
        self.assertEqual([(a.task_level, a.status) for a in self.attempts(task)],
                         [((2, 3), "failed"), ((2, 351), "succeeded")])
        self.assertEqual((task.complete, task.strays), (True, []))

    def test_successfulAttemptNeverRead(self) -> None:
        """
        When the attempt that succeeded is never read (its worker's file not
        given), the computation waits for it to the end of the input, and
        is returned then with what was read, as complete as a computation
        whose task's position is empty; following a log (C{eager}), it is
        returned by its last message.
        """
        self.raised(self.traced([0.0025]))
        finish = self.messages.pop(1)
        self.assertEqual(finish["action_status"], "succeeded")
        self.messages.append(finish)
        for eager in (False, True):
            parser = Parser(eager=eager)
            returned = [parser.add(message) for message in self.messages]
            self.assertEqual(returned[-1] is None, not eager)
            [task] = parser.flush() if not eager else [returned[-1]]
            assert task is not None
            self.assertEqual(([(a.task_level, a.status) for a in self.attempts(task)],
                              task.complete), ([((2, 3), "failed")], True))

    def test_persistedTaskFailed(self) -> None:
        """
        A persisted task that raised: C{dask:persist} succeeded when the
        graph was submitted, before any task ran, so its success says
        nothing of the tasks'.  The only attempt, failed, is all there is:
        the computation is returned by that attempt's last message.
        """
        self.raised(self.traced([0.0025], action_type="dask:persist"))
        task = self.returnedAtLast()
        self.assertEqual((task.root.status, [a.status for a in self.attempts(task)]),
                         ("succeeded", ["failed"]))

    def failed(self, retries: int, attempts: int) -> None:
        """
        Log a failed computation whose one task, traced with C{retries},
        raised at each of C{attempts} attempts; sort the messages as the
        client's file read before the workers' would.
        """
        with self.assertRaises(RuntimeError):
            with start_action(action_type="dask:compute") as action:
                graph = trace_graph({"x": DaskTask("x", _work, 21)}, action, retries=retries)
                call = graph["x"].func
                self.patch(_dask_graph, "ATTEMPTS", AttemptClock(
                    _Clock([call.traced_at + 0.001 * n for n in range(attempts)])))
                for _ in range(attempts):
                    self.raised(call)
                raise RuntimeError("the computation fails too")
        self.messages.sort(key=lambda message: len(message["task_level"]))

    def test_retriesLogged(self) -> None:
        """
        Each attempt's C{dask:task} message says how many times the task may
        be run again after it raised (C{retries}), when it may be.
        """
        self.failed(retries=2, attempts=1)
        self.failed(retries=0, attempts=1)
        self.assertEqual([m.get("retries") for m in self.messages
                          if m.get("message_type") == "dask:task"], [2, None])

    def test_retriedComputationFailed(self) -> None:
        """
        A computation that failed, whose task raised at every attempt it
        had (C{retries=1}: two): the first attempt does not complete it, it
        is returned whole by the last message of the second.
        """
        self.failed(retries=1, attempts=2)
        task = self.returnedAtLast()
        self.assertEqual((task.root.status, [a.status for a in self.attempts(task)]),
                         ("failed", ["failed", "failed"]))

    def test_failedComputation(self) -> None:
        """
        A computation that failed, whose task, without C{retries}, raised at
        its only attempt, is returned by that attempt's last message, read
        after the computation's: no other attempt needs to be waited for.
        """
        self.failed(retries=0, attempts=1)
        task = self.returnedAtLast()
        self.assertEqual((task.root.status, [a.status for a in self.attempts(task)]),
                         ("failed", ["failed"]))

    def onWorker(self, run_id: int, key: Any = "x") -> None:
        """
        Run what follows as Dask's distributed worker runs a task: the
        scheduler's C{run_id} for this dispatch of C{key}.
        """
        task = SimpleNamespace(run_id=run_id)
        worker = SimpleNamespace(state=SimpleNamespace(tasks={"x": task}))
        module = SimpleNamespace(get_worker=lambda: worker, thread_state=SimpleNamespace(key=key))
        self.patch(sys, "modules", {**sys.modules, "distributed.worker": module})

    def test_runIdOnWorker(self) -> None:
        """
        On a distributed worker an attempt's index is 1 more than the
        scheduler's run id of the dispatch, which grows with each: the
        attempts of two workers whose clocks are behind the client's (both
        clamped to index 1 by the clock) still get two levels, in order.
        """
        call = self.traced([-2.0])
        self.onWorker(4)
        self.attempt(call, dies=True)
        self.onWorker(9)
        # Another process: a clock of its own.
        self.patch(_dask_graph, "ATTEMPTS", AttemptClock(_Clock([call.traced_at - 1.5])))
        self.attempt(call, dies=False)
        task = self.task()
        self.assertEqual(([(a.task_level, a.status) for a in self.attempts(task)], task.strays),
                         ([((2, 5), "started"), ((2, 10), "succeeded")], []))

    def test_notOnWorker(self) -> None:
        """
        Outside a worker's task (another scheduler, with C{distributed}
        imported: no worker, or not this key), the index is the clock's.
        """
        self.onWorker(4, key="y")
        self.attempt(self.traced([0.0045]), dies=False)
        self.patch(sys, "modules", {**sys.modules, "distributed.worker": SimpleNamespace(
            get_worker=_no_worker, thread_state=SimpleNamespace())})
        self.attempt(self.traced([0.0095]), dies=False)
        tasks = list(parse_messages(self.messages))
        self.assertEqual([[a.task_level for a in self.attempts(t)] for t in tasks],
                         [[(2, 5)], [(2, 10)]])

    def test_rendered(self) -> None:
        """
        C{txcausal tree} draws each attempt as a child of the computation,
        the dead one with the reader's note for an unfinished action.
        """
        call = self.traced([0.0025, 0.3505])
        self.attempt(call, dies=True)
        self.attempt(call, dies=False)
        parts: List[str] = []
        TreeRenderer(DEFAULT_OPTIONS).task(self.task(), parts)
        text = "".join(parts)
        self.assertNotIn("start missing", text)
        lines = [line for line in text.splitlines()
                 if "eliot:remote_task" in line or "finish" in line]
        self.assertEqual([_shape(line) for line in lines], [
            "eliot:remote_task/2/3/1 started", "no finish message",
            "eliot:remote_task/2/351/1 started", "eliot:remote_task/2/351/4 succeeded",
        ])

    def test_spanParent(self) -> None:
        """
        An attempt's span is a child of the computation's span (the task's
        position has no action, so no span).
        """
        self.attempt(self.traced([0.0045]), dies=False)
        [attempt] = self.attempts(self.task())
        uuid = attempt.task_uuid
        parent = parent_of(uuid, attempt.task_level, 1, attempt.start_message)
        assert parent is not None
        self.assertEqual(parent.span_id, span_id(uuid, []))


class UserFieldTests(SynchronousTestCase):
    """
    A user's field named C{attempt_of} on an ordinary action marks no
    attempt: only an C{eliot:remote_task} action's, naming the position
    just above it, does.
    """

    uuid = "11111111-2222-3333-4444-555555555555"

    def message(self, level: List[int], **fields: Any) -> Message:
        return {"task_uuid": self.uuid, "timestamp": 1.0, "task_level": level, **fields}

    def test_parsedInAnyOrder(self) -> None:
        """
        An action at a handed-off position whose child has a user field
        C{attempt_of} (here naming that position) reads the same whichever
        process's messages come first: complete, nothing stray.
        """
        first = [self.message([1], action_type="outer", action_status="started"),
                 self.message([2, 1], action_type="handoff", action_status="started"),
                 self.message([2, 3], action_type="handoff", action_status="succeeded"),
                 self.message([3], action_type="outer", action_status="succeeded")]
        second = [self.message([2, 2, 1], action_type="fetch", action_status="started",
                               attempt_of="/2"),
                  self.message([2, 2, 2], action_type="fetch", action_status="succeeded")]

        def shape(messages: List[Message]) -> Any:
            task = only(list(parse_messages(messages)))
            return (task.complete, task.strays, _actions(task.root))

        expected: Any = (True, [], ("outer", "succeeded",
                               [("handoff", "succeeded", [("fetch", "succeeded", [])])]))
        self.assertEqual((shape(first + second), shape(second + first)), (expected, expected))

    def test_spanParent(self) -> None:
        """
        The span of an ordinary action with a user field C{attempt_of} is
        a child of the enclosing action's span.
        """
        for attempt_of in (2, "/2", "/2/3"):
            start = self.message([2, 3, 1], action_type="fetch", action_status="started",
                                 attempt_of=attempt_of)
            parent = parent_of(self.uuid, [2, 3], 1, start)
            assert parent is not None
            self.assertEqual(parent.span_id, span_id(self.uuid, [2]))


def _no_worker() -> None:
    raise ValueError("No worker found")


def _actions(node: WrittenAction) -> Any:
    return (node.action_type, node.status,
            [_actions(c) for c in node.children if isinstance(c, WrittenAction)])


def _shape(line: str, keep: Callable[[str], bool] = lambda word: "/" in word) -> str:
    """
    A tree line without its drawing, times and durations.
    """
    words = line.replace("─", " ").replace("│", " ").replace("├", " ").replace("└", " ").split()
    kept = [w for w in words if keep(w) or w in ("started", "succeeded", "failed")]
    return " ".join(kept) or " ".join(words)
