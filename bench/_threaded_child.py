# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenarios 1 to 4 for txcausal and Eliot, each writing through its
C{ThreadedWriter} around its file destination, in one process (a reactor runs
once per process): C{python -m bench._threaded_child ORDER MESSAGES
DIRECTORY}, where C{ORDER} is C{txcausal,eliot} or C{eliot,txcausal}, prints
one JSON object.

Both libraries run in the same process, scenario by scenario in C{ORDER}, so
that both see the same state of a shared machine; their registries are
separate, so only the writer of the library being timed receives messages.
Each scenario logs a burst of C{MESSAGES} messages (fewer than txcausal's
default queue bound, so none may be refused) to a fresh file, after a
warm-up written by a writer of its own.  Its figures, for each library:

  - C{<library>/<scenario>_cpu_us}: the process's CPU time, every thread's
    (the one logging and the writer's), per operation, from the first call
    until C{stopService} says every message is written;
  - C{<library>/<scenario>_wall_us}: the caller-side wall-clock time of the
    loop alone, per operation.

Scenario C{4} also gets C{4_overhead_*}: over the same work unlogged, timed
in the same process.  A run whose file does not hold every message fails.
Every writer stops through a thread pool of its own, joined after it has
stopped, so that every library is timed with no thread but its writer's.
"""

from __future__ import annotations

import gc
import sys
import time
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Dict, Generator, Tuple

import orjson
from attrs import frozen
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import react

from . import _core, _deferred
from ._harness import Prepared
from ._writer_child import PrivatePool, report, start_writer

#: Operations run before timing, at most.
WARMUP = 200


def _nothing() -> None:
    pass


@frozen
class Scenario:
    """
    What one scenario runs, given the library's name.

    @ivar prepare: Makes the operation to time and its teardown; runs once
        the library's writer is registered.
    @ivar messages: Messages each operation logs.
    @ivar framing: Messages logged by C{prepare}, and again by the teardown.
    """

    key: str
    prepare: Callable[[str], Prepared]
    messages: int
    framing: int = 0


def _chain(library: str) -> Prepared:
    """
    Scenario 4: L{bench._deferred.chain} with the library's
    C{DeferredContext}.
    """
    context_class = import_module(f"{library}.twisted").DeferredContext
    return _deferred.chain(import_module(library).start_action, context_class), _nothing


SCENARIOS = [
    Scenario("1", lambda library: (_core.standalone(import_module(library)), _nothing), 1),
    Scenario("2", lambda library: _core.in_action(import_module(library)), 1, framing=1),
    Scenario("3", lambda library: (_core.nested_pair(import_module(library).start_action),
                                   _nothing), 4),
    Scenario("4", _chain, 2),
]


def _loop(op: Callable[[], None], operations: int) -> Tuple[float, float]:
    """
    Call C{op} C{operations} times, with the garbage collected first.

    @return: The process time when the loop started, and its wall time.
    """
    gc.collect()
    start, wall = time.process_time(), time.perf_counter()
    for _ in range(operations):
        op()
    return start, time.perf_counter() - wall


def check_written(path: Path, writer: Any, expected: int) -> None:
    """
    @raise RuntimeError: If the file at C{path} does not hold C{expected}
        lines, each a JSON object, or C{writer} counted dropped messages.
    """
    lines = path.read_bytes().splitlines()
    dropped = getattr(writer, "dropped", 0)
    if len(lines) != expected or dropped:
        raise RuntimeError(f"{path.name}: {len(lines)} lines written, {expected} expected; "
                           f"{dropped} dropped")
    for number, line in enumerate(lines, 1):
        try:
            if not isinstance(orjson.loads(line), dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise RuntimeError(f"{path.name}: line {number} is not a JSON object ({e})") from e


@inlineCallbacks
def timed(reactor: Any, library: str, scenario: Scenario, messages: int,
          directory: Path) -> Generator[Any, Any, Dict[str, float]]:
    """
    Warm up with one writer, then time a burst through a fresh one until it
    has written everything.
    """
    operations = max(1, messages // scenario.messages)
    warmup = min(operations, WARMUP)
    path = directory / f"scenario{scenario.key}.log"
    with open(path, "wb") as file:
        # Each writer gets a thread pool of its own, joined once it has
        # stopped: Eliot's stops through the reactor's pool, whose thread
        # would otherwise outlive it, so that every later timing (the other
        # library's included) would run beside one more thread.
        pool = PrivatePool(reactor)
        writer = start_writer(library, file, pool)
        op, teardown = scenario.prepare(library)
        for _ in range(warmup):
            op()
        yield writer.stopService()
        pool.close()
        pool = PrivatePool(reactor)
        writer = start_writer(library, file, pool)
        start, wall = _loop(op, operations)
        teardown()
        yield writer.stopService()
        cpu = time.process_time() - start
        pool.close()
    check_written(path, writer, (warmup + operations) * scenario.messages + 2 * scenario.framing)
    key = scenario.key
    return {f"{key}_cpu_us": cpu / operations * 1e6, f"{key}_wall_us": wall / operations * 1e6}


def bare(messages: int) -> Dict[str, float]:
    """
    Time L{bench._deferred.bare_chain} as many times as scenario 4 runs its
    chain, with no writer.
    """
    operations = max(1, messages // 2)
    for _ in range(min(operations, WARMUP)):
        _deferred.bare_chain()
    start, wall = _loop(_deferred.bare_chain, operations)
    cpu = time.process_time() - start
    return {"bare_cpu_us": cpu / operations * 1e6, "bare_wall_us": wall / operations * 1e6}


@inlineCallbacks
def main(reactor: Any, order: str, messages: str,
         directory: str) -> Generator[Any, Any, None]:
    """
    Run every scenario for both libraries, in C{order}, and print the
    figures.
    """
    libraries = order.split(",")
    if sorted(libraries) != ["eliot", "txcausal"]:
        raise ValueError(f"order must name txcausal and eliot once each, not {order!r}")
    count = int(messages)
    figures: Dict[str, float] = {}
    for library in libraries:
        (Path(directory) / library).mkdir()
    for scenario in SCENARIOS:
        for library in libraries:
            timing = yield timed(reactor, library, scenario, count,
                                 Path(directory) / library)
            figures.update((f"{library}/{name}", value) for name, value in timing.items())
    # Right after scenario 4, the last: the same work unlogged.
    unlogged = bare(count)
    for kind in ("cpu", "wall"):
        for library in libraries:
            figures[f"{library}/4_overhead_{kind}_us"] = (
                figures[f"{library}/4_{kind}_us"] - unlogged[f"bare_{kind}_us"])
    report(figures)


if __name__ == "__main__":
    react(main, sys.argv[1:])
