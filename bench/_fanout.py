# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 13: several destinations.  Scenario 2's message (inside an action
that is current) sent to 1, 3 and 10 file destinations, each on a file of
its own, by txcausal and by Eliot 1.18, timed in-process as L{bench._core}
does; and the floor for as many files: the message encoded once with orjson
and written to each file with one system call.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import attrs
from orjson import OPT_APPEND_NEWLINE, dumps

from . import _core, _peers
from ._core import ELIOT, FLOOR
from ._harness import Contender, Prepared, Row, Settings, Workdir, compare, measure
from ._peers import FIELDS, MESSAGE_TYPE

#: How many destinations each run sends every message to.
COUNTS = (1, 3, 10)
#: The most txcausal may cost, in times the floor's cost, with several
#: destinations (as with one, scenario 8).
FLOOR_TARGET = 2.0


def _files(directory: Path, count: int, name: str) -> List[Any]:
    return [open(directory / f"{name}{i}.log", "wb") for i in range(count)]


def _txcausal(count: int) -> Callable[[Path], Prepared]:
    def setup(directory: Path) -> Prepared:
        import txcausal

        files = _files(directory, count, "txcausal")
        destinations = [txcausal.to_file(file) for file in files]
        op, leave = _core.in_action(txcausal)

        def teardown() -> None:
            leave()
            for destination, file in zip(destinations, files, strict=True):
                txcausal.remove_destination(destination)
                file.close()

        return op, teardown

    return setup


def _eliot(count: int) -> Callable[[Path], Prepared]:
    def setup(directory: Path) -> Prepared:
        import eliot

        closes = []
        for i in range(count):
            # Each in a directory of its own: eliot_file names its file.
            (directory / f"eliot{i}").mkdir()
            closes.append(_peers.eliot_file(directory / f"eliot{i}")[1])
        op, leave = _core.in_action(eliot)

        def teardown() -> None:
            leave()
            for close in closes:
                close()

        return op, teardown

    return setup


def _floor(count: int) -> Callable[[Path], Prepared]:
    def setup(directory: Path) -> Prepared:
        files = _files(directory, count, "floor")
        writes = [file.raw.write for file in files]
        message = {**FIELDS, "message_type": MESSAGE_TYPE, "task_level": [2],
                   "task_uuid": "5f0e8e8a-3c1b-4d57-9d0e-7a3c4f1b2e6d",
                   "timestamp": time.time()}

        def op() -> None:
            data = dumps(message, option=OPT_APPEND_NEWLINE)
            for write in writes:
                write(data)

        def teardown() -> None:
            for file in files:
                file.close()

        return op, teardown

    return setup


def _measure(settings: Settings, workdir: Workdir, count: int) -> Dict[str, float]:
    return measure([
        # One message a call in every file, and the action's start and finish
        # (at setup and teardown) for txcausal and Eliot.
        Contender("txcausal", _txcausal(count), 1, 2, count),
        Contender(ELIOT, _eliot(count), 1, 2, count), Contender(FLOOR, _floor(count), 1, 0, count),
    ], workdir, settings.iterations(20_000 // count), settings.repeats)


def _rows(count: int, figures: Dict[str, float]) -> Tuple[Row, Row]:
    scenario = f"13 several destinations, {_core.FILE}"
    files = f"{count} file" + ("s" if count > 1 else "")
    measure_ = f"time per message, {files}"
    floor = compare(scenario, f"{measure_}, against the floor", "us", figures, FLOOR,
                    1 / FLOOR_TARGET if count > 1 else None,
                    target=f"within {FLOOR_TARGET:g}x (>= {1 / FLOOR_TARGET:.2f}x)"
                    if count > 1 else "")
    if floor.ratio:
        floor = attrs.evolve(floor, note=f"txcausal costs {1 / floor.ratio:.2f}x the floor")
    return compare(scenario, measure_, "us", figures, ELIOT), floor


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 11.
    """
    rows: List[Row] = []
    for count in COUNTS:
        rows += _rows(count, _measure(settings, workdir, count))
    return rows
