# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 10: bursts through each library's C{ThreadedWriter} at its default
settings, each run in a process of its own (see L{bench._burst_child}):
100,000 and 1,000,000 messages, from one thread and from four at once, to a
real file, and 100,000 to a file taking 50,000 lines a second.  The figures
are the messages lost (with txcausal's, how many it reported: a loss it did
not report fails the run) and the growth of the process's peak RSS.
"""

from __future__ import annotations

import statistics
from typing import Dict, List, Tuple

from ._core import ELIOT
from ._harness import COUNT, MOST_OF_ANY_RUN, Row, Settings, Workdir, compare
from ._writer import rotated, run_child

#: Each burst: messages, threads, lines a second the file takes (0: as fast
#: as it can), and whether it is run once only (the longest).
Burst = Tuple[int, int, int, bool]

FULL: List[Burst] = [
    (100_000, 1, 0, False), (100_000, 4, 0, False),
    (1_000_000, 1, 0, True), (1_000_000, 4, 0, True),
    (100_000, 1, 50_000, True), (100_000, 4, 50_000, True),
]
QUICK: List[Burst] = [(2_000, 1, 0, True), (2_000, 4, 0, True), (2_000, 4, 50_000, True)]


def _name(count: int, threads: int, rate: int) -> str:
    who = "1 thread" if threads == 1 else f"{threads} threads"
    where = f", file at {rate:,} lines/s" if rate else ""
    return f"10 burst of {count:,}, {who}{where}"


def _runs(burst: Burst, rounds: int, workdir: Workdir) -> Dict[str, List[Dict[str, float]]]:
    """
    @return: Each library's figures, one dictionary a run.
    @raise RuntimeError: If txcausal lost a message it did not report.
    """
    count, threads, rate, once = burst
    runs: Dict[str, List[Dict[str, float]]] = {"txcausal": [], ELIOT: []}
    for round_ in range(1 if once else rounds):
        for library in rotated(["txcausal", "eliot"], round_):
            figures = run_child("bench._burst_child",
                                [library, str(count), str(threads), str(rate)], workdir)
            if library == "txcausal" and figures["lost"] != figures["reported"]:
                raise RuntimeError(f"{_name(count, threads, rate)}: txcausal lost "
                                   f"{figures['lost']}, reported {figures['reported']}")
            runs["txcausal" if library == "txcausal" else ELIOT].append(figures)
    return runs


def _rows(burst: Burst, runs: Dict[str, List[Dict[str, float]]]) -> List[Row]:
    """
    @return: The rows of one burst: the messages lost, the peak RSS growth.
    """
    name = _name(*burst[:3])
    lost = {library: max(run["lost"] for run in figures) for library, figures in runs.items()}
    rss = {library: statistics.median(run["rss_mib"] for run in figures)
           for library, figures in runs.items()}
    ranges = "; ".join(
        f"{library} {min(run['rss_mib'] for run in figures):.0f}-"
        f"{max(run['rss_mib'] for run in figures):.0f} MiB"
        for library, figures in runs.items() if len(figures) > 1)
    runs_note = f"median of {len(runs['txcausal'])} runs ({ranges})" if ranges else "one run"
    return [
        Row(name, f"messages lost {MOST_OF_ANY_RUN}", COUNT, lost["txcausal"], ELIOT,
            lost[ELIOT], None, "0", lost["txcausal"] == 0,
            "n/a (a count, no ratio); every loss is reported"),
        compare(name, "peak RSS growth", "MiB", rss, ELIOT, note=runs_note),
    ]


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 10.
    """
    rounds = min(settings.repeats, 3)
    rows: List[Row] = []
    for burst in QUICK if settings.quick else FULL:
        rows.extend(_rows(burst, _runs(burst, rounds, workdir)))
    return rows
