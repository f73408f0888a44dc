# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 6: memory per open action, measured with C{tracemalloc}: many
actions started and not finished (as many requests in flight would be),
alone and each with a C{DeferredContext} on an unfired L{Deferred}.

The messages go to a destination that discards them, so only what the
open actions keep is counted.  In the C{DeferredContext} case, what the
same unfired L{Deferred} and callback cost without logging is subtracted.
"""

from __future__ import annotations

import gc
import tracemalloc
from functools import partial
from importlib import import_module
from typing import Any, Callable, Dict, List

from twisted.internet.defer import Deferred

from ._core import ELIOT
from ._harness import Row, Settings, Workdir, compare, unavailable


def _discard(message: Dict[str, Any]) -> None:
    pass


def _bytes_per(count: int, make: Callable[[], Any]) -> float:
    """
    @return: The bytes traced per object kept alive, for C{count} calls of
        C{make}.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [make() for _ in range(count)]
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return (after - before) / count


def _callback(result: Any) -> Any:
    return result


def _with_deferred(start_action: Any, context_class: Any) -> Callable[[], Any]:
    def make() -> Any:
        action = start_action(action_type="bench:open")
        with action.context():
            d = context_class(Deferred())
            d.addCallback(_callback)
            return action, d.addActionFinish()

    return make


def _bare_deferred() -> Any:
    d: Deferred[Any] = Deferred()
    d.addCallback(_callback)
    d.addBoth(_callback)
    return d


def _library(name: str) -> Any:
    """
    @return: The library's module and its Twisted module (or C{None}), with a
        discarding destination added; and how to remove it.
    """
    lib = import_module("txcausal" if name == "txcausal" else "eliot")
    tw: Any
    try:
        tw = import_module(f"{lib.__name__}.twisted")
    except ImportError:
        tw = None
    lib.add_destinations(_discard)
    return lib, tw, lambda: lib.remove_destination(_discard)


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 6.
    """
    count = 200 if settings.quick else 10_000
    actions: Dict[str, float] = {}
    deferreds: Dict[str, float] = {}
    bare = _bytes_per(count, _bare_deferred)
    for name in ("txcausal", ELIOT):
        lib, tw, remove = _library(name)
        try:
            actions[name] = _bytes_per(count, partial(lib.start_action, action_type="bench:open"))
            if tw is not None:
                make = _with_deferred(lib.start_action, tw.DeferredContext)
                deferreds[name] = _bytes_per(count, make) - bare
        finally:
            remove()
    rows = [compare("6 memory", f"bytes per open action ({count:,})", "B", actions, ELIOT, 2)]
    if "txcausal" in deferreds:
        rows.append(compare("6 memory", "bytes per open action + DeferredContext", "B",
                            deferreds, ELIOT, 2, note="over a bare Deferred"))
    else:
        rows.append(unavailable("6 memory", "with DeferredContext"))
    return rows
