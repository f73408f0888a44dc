# -*- test-case-name: txcausal.test.test_bench_profile -*-
"""
C{python -m bench --profile N}: txcausal's operation of scenario C{N} (1 to
4) under pyinstrument, printed as a plain-text call tree, to find where a
missed target's time goes.

The operations are those the timed scenarios run, taken from
L{bench._threaded_child.SCENARIOS} (themselves L{bench._core}'s and
L{bench._deferred}'s), and the titles are the table's
(L{bench._threaded}), in either configuration:

  - C{file}: txcausal writes with its C{FileDestination}, as in
    L{bench._core};
  - C{threaded}: txcausal writes through a C{ThreadedWriter} around its
    C{FileDestination}, given an in-memory worker that the profiled loop
    drains itself every L{DRAIN_EVERY} operations.  pyinstrument samples one
    thread, so the writer's work shows in the same tree as the caller's.

The number of operations is calibrated so that the profiled loop does about
L{TARGET_SECONDS} of work (L{QUICK_SECONDS} with C{--quick}).  The tree
hides frames under L{FILTER_THRESHOLD} of the total (pyinstrument's default
is 1%), so that the in-memory writer's work stays visible even in a short
profile.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Tuple

from twisted.internet.task import Clock

from . import _peers, _threaded, _threaded_child

#: Configurations, in the order C{--config} lists them.
CONFIGURATIONS = ("file", "threaded")
#: pyinstrument's sampling interval, in seconds.
INTERVAL = 0.0001
#: Seconds of work to profile, and with C{--quick}.
TARGET_SECONDS, QUICK_SECONDS = 0.4, 0.05
#: The share of the total under which pyinstrument hides a frame.
FILTER_THRESHOLD = 0.002
#: Operations between two drains of the in-memory writer's work.
DRAIN_EVERY = 1_000
#: Operations timed, unprofiled, to choose how many to profile.
CALIBRATION = 300


def title(number: int) -> str:
    """
    @return: Scenario C{number}'s label in the table, e.g. C{"1 standalone
        message"}.
    """
    return _threaded._SCENARIOS[number - 1][1]


class _Immediate(Clock):
    """
    Enough of a reactor for C{ThreadedWriter.stopService} when its worker
    runs on this thread: C{callFromThread} calls at once, and time stands
    still (the stop is never timed out).
    """

    def callFromThread(self, f: Callable[..., object], *args: object) -> None:
        f(*args)


def _drainer(perform: Callable[[], bool]) -> Callable[[], None]:
    """
    @return: Running C{perform} until it says no work is left.
    """

    def drain() -> None:
        while perform():
            pass

    return drain


def _threaded_writer(directory: Path) -> Tuple[Callable[[], None], Callable[[], None]]:
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
    return _threaded_child._nothing, teardown


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
    return (f"profile: {title(number)}, {how}; {operations:,} operations, "
            f"pyinstrument interval {INTERVAL} s, frames under "
            f"{FILTER_THRESHOLD:.1%} of the total hidden")


def _profiled(op: Callable[[], None], drain: Callable[[], None],
              operations: int) -> str:
    """
    Run L{_run} under pyinstrument, stopped whether or not it raises.

    @return: The call tree, as plain text.
    """
    from pyinstrument import Profiler

    profiler = Profiler(interval=INTERVAL, async_mode="disabled")
    profiler.start()
    try:
        _run(op, drain, operations)
    finally:
        profiler.stop()
    return profiler.output_text(unicode=False, color=False,
                                processor_options={"filter_threshold": FILTER_THRESHOLD})


def profile(number: int, configuration: str, directory: Path, quick: bool = False) -> str:
    """
    Profile txcausal's operation of scenario C{number} in C{configuration}.

    @return: The header line and pyinstrument's call tree, as plain text.
    """
    drain, close = (_file if configuration == "file" else _threaded_writer)(directory)
    try:
        op, leave = _threaded_child.SCENARIOS[number - 1].prepare("txcausal")
        try:
            operations = calibrate(op, drain, QUICK_SECONDS if quick else TARGET_SECONDS)
            tree = _profiled(op, drain, operations)
        finally:
            leave()
    finally:
        close()
    return header(number, configuration, operations) + "\n" + tree

