# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 5: C{ThreadedWriter}, txcausal's against Eliot's, each run in
processes of its own (see L{bench._writer_child}): the caller-side cost per
message and the throughput to a real file, and the reactor's loop lag
while the file takes 20 ms per write.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence, TypeVar

from ._core import ELIOT
from ._harness import Row, Settings, Workdir, compare, unavailable

_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
LAG_TARGET_MS = 5.0


def run_child(module: str, arguments: Sequence[str], workdir: Workdir) -> Dict[str, float]:
    """
    Run C{python -m module arguments... DIRECTORY} in a fresh process, with a
    fresh directory, and read the JSON object it prints last.

    @raise RuntimeError: If it fails.
    """
    result = subprocess.run(
        [sys.executable, "-m", module, *arguments, str(workdir.fresh())],
        cwd=_ROOT, capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise RuntimeError(f"{module} {' '.join(arguments)} failed:\n"
                           f"{result.stdout}\n{result.stderr}")
    figures: Dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def _child(library: str, mode: str, amount: str, workdir: Workdir) -> Dict[str, float]:
    return run_child("bench._writer_child", [library, mode, amount], workdir)


def medians(samples: Dict[str, List[Dict[str, float]]]) -> Dict[str, Dict[str, float]]:
    """
    @param samples: For each library, the figures of each of its runs.
    @return: For each figure name, each library's median.
    """
    names = next(iter(samples.values()))[0].keys()
    return {name: {library: statistics.median(run[name] for run in runs)
                   for library, runs in samples.items()} for name in names}


def rotated(items: Sequence[T], round_: int) -> List[T]:
    """
    @return: C{items} rotated by C{round_}, so none always runs first.
    """
    shift = round_ % len(items)
    return [*items[shift:], *items[:shift]]


def _lag_row(measure: str, figures: Dict[str, float], target: bool) -> Row:
    row = compare("5 ThreadedWriter", measure, "ms", figures, ELIOT,
                  note="slow file, 20 ms per write; 1,000 messages/s")
    if not target:
        return row
    met = figures["txcausal"] < LAG_TARGET_MS
    return Row(row.scenario, row.measure, row.unit, row.txcausal, row.peer, row.peer_value,
               row.ratio, f"< {LAG_TARGET_MS:g} ms", met, row.note)


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 5, or report it unavailable without C{txcausal.logwriter}.
    """
    try:
        from txcausal.logwriter import ThreadedWriter  # noqa: F401
    except ImportError:
        return [unavailable("5 ThreadedWriter", "caller cost, throughput, loop lag")]
    count = "200" if settings.quick else "20000"
    seconds = "0.2" if settings.quick else "2.0"
    libraries = ["txcausal", "eliot"]
    fast: Dict[str, List[Dict[str, float]]] = {"txcausal": [], ELIOT: []}
    slow: Dict[str, List[Dict[str, float]]] = {"txcausal": [], ELIOT: []}
    for round_ in range(1 if settings.quick else min(settings.repeats, 3)):
        for library in rotated(libraries, round_):
            name = "txcausal" if library == "txcausal" else ELIOT
            fast[name].append(_child(library, "fast", count, workdir))
            slow[name].append(_child(library, "slow", seconds, workdir))
    quick_figures, lag = medians(fast), medians(slow)
    return [
        compare("5 ThreadedWriter", "caller-side cost per message", "us",
                quick_figures["caller_us"], ELIOT, note="real file"),
        compare("5 ThreadedWriter", f"throughput, {int(count):,} messages", "msg/s",
                quick_figures["throughput"], ELIOT, higher=True, note="until all written"),
        _lag_row("reactor loop lag p50", lag["p50_ms"], False),
        _lag_row("reactor loop lag p99", lag["p99_ms"], True),
        _lag_row("reactor loop lag max", lag["max_ms"], False),
    ]
