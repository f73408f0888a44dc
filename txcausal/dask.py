# -*- test-case-name: txcausal.test.test_dask -*-
"""
Tracing Dask computations: replace C{dask.compute(...)} with
L{compute_with_trace} (and C{dask.persist} with L{persist_with_trace}) and
every task of the graph logs inside the computation's action, in whichever
thread or process runs it::

    from txcausal import log_call
    from txcausal.dask import compute_with_trace

    @log_call
    def multiply(x, y=7):
        return x * y

    [result] = compute_with_trace(dask.bag.from_sequence([1, 2, 3]).map(multiply).sum())

With the distributed scheduler, each worker process must have a
destination (C{client.run(start_logging)}); L{CausalSchedulerPlugin} adds
the scheduler's own story (task transitions and C{log_event} events) to the
log, and L{get_events} reads those events back from the log files.

In a Twisted program that imported C{twisted.persisted.styles} (as
twisted.web.server, twistd and trial do), the traced tasks are pickled
with cloudpickle: Twisted's pickler of methods fails the class methods of
DataFrame graphs.  C{dask.compute} itself still fails there on DataFrames:
see the Dask page of the documentation.

Needs C{pip install txcausal[dask]}.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union, overload

from dask.base import compute, get_annotations, get_scheduler, persist, unpack_collections
from distributed import Client

from ._action import Action, start_action
from ._dask_graph import trace_graph
from ._dask_plugin import EVENT_FIELD, CausalSchedulerPlugin
from ._wire import MESSAGE_TYPE_FIELD, TIMESTAMP_FIELD
from .parse import read_messages

Event = Tuple[float, Any]


class _TracingScheduler:
    """
    A Dask scheduler function that traces the graph it is given, then
    hands it to the scheduler Dask would have used.
    """

    def __init__(self, get: Callable[..., Any], action: Action, persisting: bool) -> None:
        """
        @param get: The scheduler function Dask would use.
        @param action: The action the tasks continue.
        @param persisting: Whether Dask persists the results.
        """
        self._get = get
        self._action = action
        self._distributed = isinstance(getattr(get, "__self__", None), Client)
        # The distributed client keeps persisted results on the cluster.
        self._futures = persisting and self._distributed

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        if self._futures:
            kwargs["sync"] = False
        retries = None
        if self._distributed:
            # As Client.get merges them: its argument over the annotations
            # in effect; a task's own annotation comes first (trace_graph).
            retries = kwargs.get("retries") or get_annotations().get("retries") or 0
        return self._get(trace_graph(dsk, self._action, retries), keys, **kwargs)


def _traced(run: Callable[..., Any], action_type: str, args: Tuple[Any, ...],
            kwargs: Dict[str, Any]) -> Any:
    """
    Run C{dask.compute} or C{dask.persist} inside an action, with the
    scheduler it would use tracing the graph.
    """
    collections, _ = unpack_collections(  # type: ignore[no-untyped-call]
        *args, traverse=kwargs.get("traverse", True))
    get = get_scheduler(  # type: ignore[no-untyped-call]
        scheduler=kwargs.pop("scheduler", None), collections=collections)
    with start_action(action_type=action_type) as action:
        scheduler = _TracingScheduler(get, action, persisting=run is persist)
        return run(*args, scheduler=scheduler, **kwargs)


def compute_with_trace(*args: Any, **kwargs: Any) -> Tuple[Any, ...]:
    """
    Compute Dask collections as C{dask.compute} does, inside a
    C{dask:compute} action: each task runs inside an C{eliot:remote_task}
    action continuing it, after a C{dask:task} message with its C{key} and
    C{dependencies} (and on the distributed scheduler its C{retries}, if
    any), so what tasks log lands in one tree.

    @param args: Collections (and other values), as C{dask.compute} takes.
    @param kwargs: C{dask.compute}'s options (C{scheduler}, C{traverse},
        ...) and the scheduler's.
    @return: What C{dask.compute} returns.
    """
    result: Tuple[Any, ...] = _traced(compute, "dask:compute", args, kwargs)
    return result


def persist_with_trace(*args: Any, **kwargs: Any) -> Tuple[Any, ...]:
    """
    Persist Dask collections as C{dask.persist} does, inside a
    C{dask:persist} action, each task traced as in L{compute_with_trace}.
    With the distributed scheduler the action finishes when the graph is
    submitted, and the tasks log as they run.

    @return: What C{dask.persist} returns.
    """
    result: Tuple[Any, ...] = _traced(persist, "dask:persist", args, kwargs)
    return result


@overload
def get_events(sources: Iterable[Any], topic: str) -> Tuple[Event, ...]: ...


@overload
def get_events(sources: Iterable[Any], topic: None = None) -> Dict[str, Tuple[Event, ...]]: ...


def get_events(
    sources: Iterable[Any], topic: Optional[str] = None
) -> Union[Tuple[Event, ...], Dict[str, Tuple[Event, ...]]]:
    """
    Read back from log files the events L{CausalSchedulerPlugin} logged,
    as C{Client.get_events} returns them while the cluster runs.

    @param sources: Log files (paths or open files), as
        L{txcausal.parse.read_messages} takes.
    @param topic: A topic, or C{None} for every topic.
    @return: For a topic, a tuple of C{(timestamp, msg)}, oldest first; for
        C{None}, a dictionary of them by topic.
    """
    events: Dict[str, List[Event]] = {}
    for message in read_messages(sources):
        if EVENT_FIELD in message and isinstance(message.get(MESSAGE_TYPE_FIELD), str):
            events.setdefault(message[MESSAGE_TYPE_FIELD], []).append(
                (message.get(TIMESTAMP_FIELD, 0.0), message[EVENT_FIELD]))
    by_topic = {name: tuple(sorted(found, key=lambda e: e[0])) for name, found in events.items()}
    if topic is not None:
        return by_topic.get(topic, ())
    return by_topic


__all__ = ["compute_with_trace", "persist_with_trace", "CausalSchedulerPlugin", "get_events"]
