# -*- test-case-name: txcausal.test.test_bench -*-
"""
C{python -m bench --profile N}: txcausal's operation of scenario C{N} (1 to
4) under pyinstrument, printed as a plain-text call tree, to find where a
missed target's time goes.

The operations are those the timed scenarios run (L{bench._core} and
L{bench._deferred}), in either configuration:

  - C{file}: txcausal writes with its C{FileDestination}, as in
    L{bench._core};
  - C{threaded}: txcausal writes through a C{ThreadedWriter} around its
    C{FileDestination}, given an in-memory worker that the profiled loop
    drains itself every L{DRAIN_EVERY} operations.  pyinstrument samples one
    thread, so the writer's work shows in the same tree as the caller's.

The number of operations is calibrated so that the profiled loop does about
L{TARGET_SECONDS} of work (L{QUICK_SECONDS} with C{--quick}).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

from attrs import frozen

from . import _core, _deferred, _peers
from ._harness import Prepared

#: Configurations, in the order C{--config} lists them.
CONFIGURATIONS = ("file", "threaded")
#: pyinstrument's sampling interval, in seconds.
INTERVAL = 0.0001
#: Seconds of work to profile, and with C{--quick}.
TARGET_SECONDS, QUICK_SECONDS = 0.4, 0.05
#: Operations between two drains of the in-memory writer's work.
DRAIN_EVERY = 1_000
#: Operations timed, unprofiled, to choose how many to profile.
CALIBRATION = 300


@frozen
class Scenario:
    """
    txcausal's operation in one scenario.

    @ivar prepare: Given C{txcausal} and C{txcausal.twisted}, makes the
        operation and its teardown; runs once txcausal's destination is
        registered.
    """

    title: str
    prepare: Callable[[Any, Any], Prepared]


def _nothing() -> None:
    pass


SCENARIOS: Dict[int, Scenario] = {
    1: Scenario("standalone message", lambda tx, _: (_core.standalone(tx), _nothing)),
    2: Scenario("message in action", lambda tx, _: _core.in_action(tx)),
    3: Scenario("nested action pair", lambda tx, _: (_core.nested_pair(tx.start_action),
                                                     _nothing)),
    4: Scenario("DeferredContext", lambda tx, twisted: (
        _deferred.chain(tx.start_action, twisted.DeferredContext), _nothing)),
}


class _Immediate:
    """
    Enough of a reactor for C{ThreadedWriter.stopService} when its worker
    runs on this thread: C{callFromThread} calls at once.
    """

    def callFromThread(self, f: Callable[..., object], *args: object) -> None:
        f(*args)


def _drainer(perform: Callable[[], bool]) -> Callable[[], None]:
    def drain() -> None:
        while perform():
            pass

    return drain


def _threaded(directory: Path) -> Tuple[Callable[[], None], Callable[[], None]]:
    """
    Make a started C{ThreadedWriter}, around a C{FileDestination}, with an
    in-memory worker, the only txcausal destination.

    @return: Draining the writer's pending work on this thread, and stopping
        the writer and closing its file.
    """
    from txcausal import FileDestination
    from txcausal._writer import createMemoryWorker
    from txcausal.logwriter import ThreadedWriter

    file = open(directory / "txcausal.log", "wb")
    worker, perform = createMemoryWorker()
    writer = ThreadedWriter(FileDestination(file), _Immediate(),
                            createWorker=lambda: worker)
    writer.startService()
    drain = _drainer(perform)

    def teardown() -> None:
        writer.stopService()
        drain()
        file.close()

    return drain, teardown


def _file(directory: Path) -> Tuple[Callable[[], None], Callable[[], None]]:
    """
    Make a C{FileDestination} the only txcausal destination.

    @return: Nothing to drain, and the teardown.
    """
    _, teardown = _peers.txcausal_file(directory)
    return _nothing, teardown


def _run(op: Callable[[], None], drain: Callable[[], None], operations: int) -> None:
    """
    Call C{op} C{operations} times, and C{drain} every L{DRAIN_EVERY} calls
    and at the end.
    """
    done = 0
    while done < operations:
        batch = min(DRAIN_EVERY, operations - done)
        for _ in range(batch):
            op()
        drain()
        done += batch


def calibrate(op: Callable[[], None], drain: Callable[[], None], seconds: float) -> int:
    """
    Time L{CALIBRATION} operations (also a warm-up).

    @return: How many operations take about C{seconds}, in whole
        L{DRAIN_EVERY}s, at least one L{DRAIN_EVERY}.
    """
    start = time.perf_counter()
    _run(op, drain, CALIBRATION)
    each = (time.perf_counter() - start) / CALIBRATION
    return max(1, round(seconds / each / DRAIN_EVERY)) * DRAIN_EVERY


def header(number: int, configuration: str, operations: int) -> str:
    """
    @return: The line naming what the tree below it profiles.
    """
    how = ("FileDestination" if configuration == "file" else
           "ThreadedWriter around FileDestination, its in-memory worker drained on "
           f"this thread every {DRAIN_EVERY:,} operations")
    return (f"profile: scenario {number} ({SCENARIOS[number].title}), {how}; "
            f"{operations:,} operations, pyinstrument interval {INTERVAL} s")


def profile(number: int, configuration: str, directory: Path, quick: bool = False) -> str:
    """
    Profile txcausal's operation of scenario C{number} in C{configuration}.

    @return: The header line and pyinstrument's call tree, as plain text.
    """
    from pyinstrument import Profiler

    import txcausal
    from txcausal import twisted as txtwisted

    drain, close = (_file if configuration == "file" else _threaded)(directory)
    try:
        op, leave = SCENARIOS[number].prepare(txcausal, txtwisted)
        try:
            operations = calibrate(op, drain, QUICK_SECONDS if quick else TARGET_SECONDS)
            profiler = Profiler(interval=INTERVAL, async_mode="disabled")
            profiler.start()
            _run(op, drain, operations)
            profiler.stop()
        finally:
            leave()
    finally:
        close()
    tree = profiler.output_text(unicode=False, color=False)
    return header(number, configuration, operations) + "\n" + tree

