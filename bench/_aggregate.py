# -*- test-case-name: txcausal.test.test_bench_aggregate -*-
"""
The published table: several full runs aggregated row by row, each row the
median of the runs' figures for txcausal and the peer, the median of their
ratios and their range, and in how many runs the target was met.

C{python -m bench --runs N} makes it after N runs in a row;
C{python -m bench.aggregate FILE...} makes it from the C{--json} files of
runs made before.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from attrs import frozen

from ._harness import MOST_OF_ANY_RUN, Row, figure

#: A row's identity across runs: scenario, measure and peer.
Key = Tuple[str, str, str]


@frozen
class Aggregate:
    """
    One line of the aggregated table: one row of every run that has it.

    @ivar txcausal: The median of txcausal's figures, C{None} if no run has
        one; their maximum if the measure is the most of any run
        (L{bench._harness.MOST_OF_ANY_RUN}).
    @ivar peer_value: The median of the peer's figures (or their maximum).
    @ivar ratio: The median of the runs' ratios (each already "how many
        times better txcausal does"), C{None} if no run has one.
    @ivar low: The lowest of the runs' ratios.
    @ivar high: The highest of the runs' ratios.
    @ivar met: How many runs met the target.
    @ivar judged: How many runs have the row with a target.
    @ivar present: How many runs have the row.
    @ivar runs: How many runs were aggregated (a run without the row, its
        scenario failed say, did not meet the target).
    @ivar note: The first run's note, shown when the row has no ratio.
    """

    scenario: str
    measure: str
    unit: str
    txcausal: Optional[float]
    peer: str
    peer_value: Optional[float]
    ratio: Optional[float]
    low: Optional[float]
    high: Optional[float]
    target: str
    met: int
    judged: int
    present: int
    runs: int
    note: str = ""


def _median(values: Sequence[Optional[float]]) -> Optional[float]:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _maximum(values: Sequence[Optional[float]]) -> Optional[float]:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def aggregate(runs: Sequence[Sequence[Row]]) -> List[Aggregate]:
    """
    Aggregate the rows of several runs, matched by scenario, measure and
    peer, in the order they first appear.

    A run's ratio is taken as it is (the peer's figure over txcausal's for
    costs, the other way for throughput): it is never recomputed from the
    medians.  A run whose row has a target but no ratio (below the noise)
    counts as a run in which the target was not met, and so does a run
    without the row.  A measure that is the most of any run
    (L{bench._harness.MOST_OF_ANY_RUN}) keeps its meaning: its figures are the maximum of
    the runs', not their median.
    """
    grouped: Dict[Key, List[Row]] = {}
    for rows in runs:
        for row in rows:
            grouped.setdefault((row.scenario, row.measure, row.peer), []).append(row)
    result = []
    for (scenario, measure, peer), rows in grouped.items():
        ratios = [row.ratio for row in rows if row.ratio is not None]
        judged = [row for row in rows if row.target]
        combine = _maximum if MOST_OF_ANY_RUN in measure else _median
        result.append(Aggregate(
            scenario, measure, rows[0].unit, combine([row.txcausal for row in rows]), peer,
            combine([row.peer_value for row in rows]), _median(ratios),
            min(ratios) if ratios else None, max(ratios) if ratios else None,
            rows[0].target, sum(1 for row in judged if row.met), len(judged), len(rows),
            len(runs), rows[0].note))
    return result


def _ratio(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(aggregates: Sequence[Aggregate]) -> str:
    """
    @return: The aggregated rows as the Markdown table of
        C{docs/performance.md}.
    """
    header = ["scenario", "measure", "txcausal (median)", "peer", "peer (median)",
              "ratio median", "ratio range", "target", "met in"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in aggregates:
        spread = ("-" if row.low is None or row.high is None
                  else f"{row.low:.2f}–{row.high:.2f}x")
        if row.judged:
            met = f"{row.met} of {row.runs}"
        else:
            met = row.note if row.ratio is None else ""
        if row.present < row.runs:
            met = f"{met}; in {row.present} runs of {row.runs}" if met else (
                f"in {row.present} runs of {row.runs}")
        cells = [row.scenario, row.measure, figure(row.txcausal, row.unit), row.peer,
                 figure(row.peer_value, row.unit), _ratio(row.ratio), spread, row.target, met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load(path: str) -> List[Row]:
    """
    @return: The rows a run wrote with C{python -m bench --json PATH}.
    """
    with open(path) as f:
        return [Row(**fields) for fields in json.load(f)]


def main(argv: Optional[Sequence[str]] = None) -> None:
    """
    Print the aggregated table of the runs whose C{--json} files are named.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bench.aggregate",
        description="Aggregate the rows of several runs of python -m bench --json FILE into "
                    "the published table: medians, ratio median and range, met in.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="a run's --json file")
    args = parser.parse_args(argv)
    runs = [load(path) for path in args.files]
    print(f"{len(runs)} runs: {', '.join(args.files)}\n")
    print(table(aggregate(runs)))
