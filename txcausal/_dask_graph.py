# -*- test-case-name: txcausal.test.test_dask -*-
"""
Tracing a Dask graph: every task of a graph, as Dask is about to run it
(optimised, in Dask's task spec), is replaced by one that runs the original
inside an C{eliot:remote_task} action continuing the computation's action,
after a C{dask:task} message naming its key and dependencies.

Each task gets a position in the computation's action when the graph is
traced; each attempt at running it (Dask runs a task again when its worker
died, or when it raised and has C{retries} left) logs its action below that
position, at an index of its own (L{attempt_index}): on the distributed scheduler,
the scheduler's run id of that dispatch of the task; elsewhere the
milliseconds since the graph was traced (L{AttemptClock}).  So attempts
do not share a level, and sort in the order they started, without any
coordination between the processes that run them.

Imported by L{txcausal.dask} only: it imports Dask.
"""

from __future__ import annotations

import copyreg
import sys
import time
import types
from collections.abc import Mapping
from typing import Any, Callable, Dict, Hashable, List, Optional, Tuple

import cloudpickle
from dask._expr import LLGExpr
from dask._task_spec import Alias, GraphNode, Task, TaskRef, convert_legacy_graph

from ._action import Action
from ._message import log_message
from ._wire import ATTEMPT_OF_FIELD, DASK_TASK_MESSAGE_TYPE, RETRIES_FIELD

Key = Hashable
Graph = Dict[Key, GraphNode]

#: The largest index of an attempt: a level of a serialized task id has at
#: most 10 digits (115 days of milliseconds).
MAX_ATTEMPT = 9_999_999_999
#: How many positions an L{AttemptClock} remembers before it forgets them all.
_REMEMBERED = 10_000


class AttemptClock:
    """
    Numbers the attempts this process makes at running traced tasks: an
    attempt is 1 more than the whole milliseconds between the tracing of
    the graph (by the client's clock) and its start (by this process's),
    at least 1 and at most L{MAX_ATTEMPT}, and more than the last index
    this process gave the same task.  A retry starts after its worker's
    death was noticed, or after the failure it retries: milliseconds
    later, so later in the tree, unless the clocks of the two machines
    differ by more than that.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        """
        @param now: The wall clock.
        """
        self._now = now
        self._last: Dict[str, int] = {}

    def index(self, position: str, traced_at: float) -> int:
        """
        @param position: The task's position, as serialized.
        @param traced_at: When the graph was traced (POSIX time).
        @return: The index of an attempt starting now.
        """
        index = min(max(int((self._now() - traced_at) * 1000), 0) + 1, MAX_ATTEMPT)
        last = self._last.get(position)
        if last is not None and index <= last:
            index = min(last + 1, MAX_ATTEMPT)
        elif len(self._last) >= _REMEMBERED:
            self._last.clear()
        self._last[position] = index
        return index


#: The attempts of this process.
ATTEMPTS = AttemptClock()


def attempt_index(position: str, traced_at: float) -> int:
    """
    @param position: The task's position, as serialized.
    @param traced_at: When the graph was traced (POSIX time).
    @return: The index of an attempt starting now: on a worker of Dask's
        distributed scheduler, 1 more than the scheduler's run id of this
        dispatch of the task (new and larger at each dispatch, whichever
        worker runs it); elsewhere, L{ATTEMPTS}'s.
    """
    run_id = _run_id()
    if run_id is None:
        return ATTEMPTS.index(position, traced_at)
    return min(run_id + 1, MAX_ATTEMPT)


def _run_id() -> Optional[int]:
    """
    @return: The distributed scheduler's run id of the task this thread
        runs on a worker, or C{None} outside a worker's task.
    """
    worker = sys.modules.get("distributed.worker")
    if worker is None:
        return None
    try:
        run_id = worker.get_worker().state.tasks[worker.thread_state.key].run_id
    except (ValueError, AttributeError, KeyError, TypeError):
        return None
    return run_id if run_id.__class__ is int and run_id >= 0 else None


def key_text(key: Key) -> str:
    """
    @return: A Dask key as txcausal writes it, as Eliot does: a string key
        as it is, the parts of a tuple key joined by C{-}
        (C{("sum-ab12", 0)} is C{"sum-ab12-0"}).
    """
    if isinstance(key, tuple):
        return "-".join(str(part) for part in key)
    return str(key)


def _sort_key(key: Key) -> Tuple[Tuple[int, Any], ...]:
    """
    Order keys of any mix of types: strings by text, tuples by their parts.
    """
    parts = key if isinstance(key, tuple) else (key,)
    return tuple((0, p) if isinstance(p, (int, float)) else (1, str(p)) for p in parts)


class TracedCall:
    """
    Runs one task of a traced graph: the original node, given its
    dependencies' values, inside an C{eliot:remote_task} action.  Pickled
    with the graph to wherever the task runs.
    """

    __slots__ = ("task_id", "traced_at", "key", "dependencies", "node", "inputs", "retries")

    def __init__(self, task_id: str, traced_at: float, key: str, dependencies: List[str],
                 node: GraphNode, inputs: Tuple[Key, ...], retries: int = 0) -> None:
        """
        @param task_id: The task's position in the computation's action:
            each attempt continues at a position of its own below it.
        @param traced_at: When the graph was traced (POSIX time).
        @param key: The task's key, as logged.
        @param dependencies: The keys of the tasks it depends on, as logged.
        @param node: The task as Dask made it.
        @param inputs: The keys of the values given to L{__call__}, in order.
        @param retries: How many times the scheduler runs the task again
            after it raised, logged (when not 0) for the reader to know
            how many failed attempts to wait for.
        """
        self.task_id = task_id
        self.traced_at = traced_at
        self.key = key
        self.dependencies = dependencies
        self.node = node
        self.inputs = inputs
        self.retries = retries

    def __getstate__(self) -> Tuple[Any, ...]:
        node: Any = self.node
        if types.MethodType in copyreg.dispatch_table:
            # A program replaced Python's pickling of methods: Twisted's
            # (twisted.persisted.styles) writes class methods, which
            # DataFrame graphs hold, in a form that cannot be loaded.
            # cloudpickle pickles methods itself.
            node = cloudpickle.dumps(node)
        return (self.task_id, self.traced_at, self.key, self.dependencies, node, self.inputs,
                self.retries)

    def __setstate__(self, state: Tuple[Any, ...]) -> None:
        (self.task_id, self.traced_at, self.key, self.dependencies, node, self.inputs,
         self.retries) = state
        self.node = cloudpickle.loads(node) if isinstance(node, bytes) else node

    def __dask_tokenize__(self) -> Tuple[str, str, str]:
        return ("txcausal.TracedCall", self.task_id, self.key)

    def __call__(self, *values: Any) -> Any:
        task_id = self.task_id
        attempt = f"{task_id}/{attempt_index(task_id, self.traced_at)}"
        fields: Dict[str, Any] = {ATTEMPT_OF_FIELD: task_id[task_id.index("@") + 1:]}
        with Action.continue_task(None, attempt, **fields):
            retries = {RETRIES_FIELD: self.retries} if self.retries else {}
            log_message(message_type=DASK_TASK_MESSAGE_TYPE, key=self.key,
                        dependencies=self.dependencies, **retries)
            return self.node(dict(zip(self.inputs, values, strict=True)))

    def __repr__(self) -> str:
        return f"<TracedCall {self.key} of {self.node!r}>"


class TracedGraph(LLGExpr):
    """
    A traced graph, with the annotations (retries, workers, priorities...)
    of the graph it traces, for the distributed scheduler.
    """

    _parameters = ["dsk", "annotations"]

    def __dask_annotations__(self) -> Dict[str, Dict[Key, Any]]:
        annotations: Dict[str, Dict[Key, Any]] = self.operand(  # type: ignore[no-untyped-call]
            "annotations")
        return annotations


def _topological(graph: Graph) -> List[Key]:
    """
    @return: The keys of C{graph}, each after those it depends on.
    """
    order: List[Key] = []
    done: set[Key] = set()
    for root in graph:
        stack = [(root, False)]
        while stack:
            key, expanded = stack.pop()
            if key in done or key not in graph:
                continue
            if expanded:
                done.add(key)
                order.append(key)
                continue
            stack.append((key, True))
            # Popped in order: the first dependency first.
            dependencies = sorted(graph[key].dependencies, key=_sort_key, reverse=True)
            stack.extend((d, False) for d in dependencies if d not in done)
    return order


def _producer(graph: Graph, key: Key) -> Key:
    """
    @return: The key of the task that computes C{key}'s value: past any
        aliases.
    """
    for _ in range(len(graph)):
        node = graph.get(key)
        if not isinstance(node, Alias):
            break
        key = node.target
    return key


def _retries(key: Key, annotated: Mapping[Key, Any], default: Any) -> int:
    """
    @return: The retries of C{key}, as the distributed scheduler reads
        them: its own annotation, else C{default} (a number, or a function
        of the key); 0 for anything but a positive integer.
    """
    value = annotated.get(key)
    if value is None:
        value = default(key) if callable(default) else default
    return value if value.__class__ is int and value > 0 else 0


def _traced_task(graph: Graph, key: Key, action: Action, traced_at: float,
                 retries: int) -> GraphNode:
    """
    @return: The task of C{key}, run inside C{action}.
    """
    node = graph[key]
    inputs = tuple(sorted(node.dependencies, key=_sort_key))
    call = TracedCall(action.serialize_task_id().decode("ascii"), traced_at, key_text(key),
                      [key_text(_producer(graph, d)) for d in inputs], node, inputs, retries)
    return Task(key, call, *(TaskRef(k) for k in inputs), _data_producer=node.data_producer)


def trace_graph(dsk: Any, action: Action, retries: Any = None) -> Any:
    """
    Trace every task of a graph inside C{action}; aliases and data are
    left as they are, and so are coroutine tasks (run by the distributed
    scheduler's event loop, not called).

    @param dsk: A graph, or an expression with one, as Dask gives it to a
        scheduler.
    @param retries: C{None} for a scheduler that does not run a task again
        after it raised; else the retries of a task without a C{retries}
        annotation of its own (a number, or a function of the key, as the
        distributed scheduler takes them).
    @return: The traced graph: a dictionary, or a L{TracedGraph} keeping
        the original's annotations.
    """
    annotations: Dict[str, Dict[Key, Any]] = {}
    if not isinstance(dsk, Mapping):
        annotations = dsk.__dask_annotations__()
        dsk = dsk.__dask_graph__()
    graph: Graph = convert_legacy_graph(dsk)
    traced_at = time.time()
    annotated: Mapping[Key, Any] = annotations.get("retries") or {}
    traced = {
        key: _traced_task(graph, key, action, traced_at,
                          0 if retries is None else _retries(key, annotated, retries))
        if isinstance(graph[key], Task) and not graph[key].is_coro
        else graph[key]
        for key in _topological(graph)
    }
    if annotations:
        return TracedGraph(traced, annotations)  # type: ignore[no-untyped-call]
    return traced
