# -*- test-case-name: txcausal.test.test_dask -*-
"""
Tracing a Dask graph: every task of a graph, as Dask is about to run it
(optimised, in Dask's task spec), is replaced by one that runs the original
inside an C{eliot:remote_task} action continuing the computation's action,
after a C{dask:task} message naming its key and dependencies.

Imported by L{txcausal.dask} only: it imports Dask.
"""

from __future__ import annotations

import copyreg
import types
from collections.abc import Mapping
from typing import Any, Dict, Hashable, List, Tuple

import cloudpickle
from dask._expr import LLGExpr
from dask._task_spec import Alias, GraphNode, Task, TaskRef, convert_legacy_graph

from ._action import Action
from ._message import log_message

Key = Hashable
Graph = Dict[Key, GraphNode]


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

    __slots__ = ("task_id", "key", "dependencies", "node", "inputs")

    def __init__(self, task_id: str, key: str, dependencies: List[str], node: GraphNode,
                 inputs: Tuple[Key, ...]) -> None:
        """
        @param task_id: Where the task continues the computation's action.
        @param key: The task's key, as logged.
        @param dependencies: The keys of the tasks it depends on, as logged.
        @param node: The task as Dask made it.
        @param inputs: The keys of the values given to L{__call__}, in order.
        """
        self.task_id = task_id
        self.key = key
        self.dependencies = dependencies
        self.node = node
        self.inputs = inputs

    def __getstate__(self) -> Tuple[Any, ...]:
        node: Any = self.node
        if types.MethodType in copyreg.dispatch_table:
            # A program replaced Python's pickling of methods: Twisted's
            # (twisted.persisted.styles) writes class methods, which
            # DataFrame graphs hold, in a form that cannot be loaded.
            # cloudpickle pickles methods itself.
            node = cloudpickle.dumps(node)
        return (self.task_id, self.key, self.dependencies, node, self.inputs)

    def __setstate__(self, state: Tuple[Any, ...]) -> None:
        self.task_id, self.key, self.dependencies, node, self.inputs = state
        self.node = cloudpickle.loads(node) if isinstance(node, bytes) else node

    def __dask_tokenize__(self) -> Tuple[str, str, str]:
        return ("txcausal.TracedCall", self.task_id, self.key)

    def __call__(self, *values: Any) -> Any:
        with Action.continue_task(task_id=self.task_id):
            log_message(message_type="dask:task", key=self.key, dependencies=self.dependencies)
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


def _traced_task(graph: Graph, key: Key, action: Action) -> GraphNode:
    """
    @return: The task of C{key}, run inside C{action}.
    """
    node = graph[key]
    inputs = tuple(sorted(node.dependencies, key=_sort_key))
    call = TracedCall(action.serialize_task_id().decode("ascii"), key_text(key),
                      [key_text(_producer(graph, d)) for d in inputs], node, inputs)
    return Task(key, call, *(TaskRef(k) for k in inputs), _data_producer=node.data_producer)


def trace_graph(dsk: Any, action: Action) -> Any:
    """
    Trace every task of a graph inside C{action}; aliases and data are
    left as they are, and so are coroutine tasks (run by the distributed
    scheduler's event loop, not called).

    @param dsk: A graph, or an expression with one, as Dask gives it to a
        scheduler.
    @return: The traced graph: a dictionary, or a L{TracedGraph} keeping
        the original's annotations.
    """
    annotations: Dict[str, Dict[Key, Any]] = {}
    if not isinstance(dsk, Mapping):
        annotations = dsk.__dask_annotations__()
        dsk = dsk.__dask_graph__()
    graph: Graph = convert_legacy_graph(dsk)
    traced = {
        key: _traced_task(graph, key, action)
        if isinstance(graph[key], Task) and not graph[key].is_coro
        else graph[key]
        for key in _topological(graph)
    }
    if annotations:
        return TracedGraph(traced, annotations)  # type: ignore[no-untyped-call]
    return traced
