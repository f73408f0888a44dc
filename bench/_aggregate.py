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

from attrs import NOTHING, evolve, frozen
from attrs import fields as attrs_fields

from ._harness import MOST_OF_ANY_RUN, Row, figure

#: A row's identity across runs: scenario, measure and peer.
Key = Tuple[str, str, str]


@frozen
class Aggregate:
    """
    One line of the aggregated table: one row of every run that has it.

    @ivar row: The runs' row aggregated: the first run's scenario, measure,
        unit, peer, target, C{met} and note (the note shown when the row has
        no ratio); txcausal's and the peer's figures the median of the runs'
        (their maximum if the measure is the most of any run,
        L{bench._harness.MOST_OF_ANY_RUN}), C{None} if no run has one; the
        ratio the median of the runs' ratios (each already "how many times
        better txcausal does"), C{None} if no run has one. The table shows
        L{met}, the count of runs that met the target, not the row's C{met}.
    @ivar low: The lowest of the runs' ratios.
    @ivar high: The highest of the runs' ratios.
    @ivar met: How many runs met the target.
    @ivar judged: How many runs have the row with a target.
    @ivar present: How many runs have the row.
    @ivar runs: How many runs were aggregated (a run without the row, its
        scenario failed say, did not meet the target).
    """

    row: Row
    low: Optional[float]
    high: Optional[float]
    met: int
    judged: int
    present: int
    runs: int


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
    for rows in grouped.values():
        ratios = [row.ratio for row in rows if row.ratio is not None]
        judged = [row for row in rows if row.target]
        combine = _maximum if MOST_OF_ANY_RUN in rows[0].measure else _median
        aggregated = evolve(rows[0], txcausal=combine([row.txcausal for row in rows]),
                            peer_value=combine([row.peer_value for row in rows]),
                            ratio=_median(ratios))
        result.append(Aggregate(
            aggregated, min(ratios) if ratios else None, max(ratios) if ratios else None,
            sum(1 for row in judged if row.met), len(judged), len(rows), len(runs)))
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
    for entry in aggregates:
        row = entry.row
        spread = ("-" if entry.low is None or entry.high is None
                  else f"{entry.low:.2f}–{entry.high:.2f}x")
        if entry.judged:
            met = f"{entry.met} of {entry.runs}"
        else:
            met = row.note if row.ratio is None else ""
        if entry.present < entry.runs:
            met = f"{met}; in {entry.present} runs of {entry.runs}" if met else (
                f"in {entry.present} runs of {entry.runs}")
        cells = [row.scenario, row.measure, figure(row.txcausal, row.unit), row.peer,
                 figure(row.peer_value, row.unit), _ratio(row.ratio), spread, row.target, met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: The fields of a row by the types of their values (a number may be
#: C{None}, and so may C{met}).
_TEXT_FIELDS = ("scenario", "measure", "unit", "peer", "target", "note")
_NUMBER_FIELDS = ("txcausal", "peer_value", "ratio")


def _row(fields: object, number: int) -> Row:
    """
    @return: The row of the JSON object C{fields}, the C{number}th of its file.
    @raise ValueError: If it is not one, saying why.
    """
    if not isinstance(fields, dict):
        raise ValueError(f"row {number} is not a JSON object")
    known = {field.name for field in attrs_fields(Row)}
    required = {field.name for field in attrs_fields(Row) if field.default is NOTHING}
    if fields.keys() - known or required - fields.keys():
        unknown = ", ".join(sorted(fields.keys() - known)) or "none"
        missing = ", ".join(sorted(required - fields.keys())) or "none"
        raise ValueError(f"row {number} is not a row (unknown fields: {unknown};"
                         f" missing: {missing})")
    for name, value in fields.items():
        if name in _TEXT_FIELDS:
            right = isinstance(value, str)
        elif name in _NUMBER_FIELDS:
            right = value is None or (
                isinstance(value, (int, float)) and not isinstance(value, bool))
        else:
            right = value is None or isinstance(value, bool)
        if not right:
            raise ValueError(f"row {number}: {name} is {json.dumps(value)[:40]}")
    return Row(**fields)


def load(path: str) -> List[Row]:
    """
    @return: The rows a run wrote with C{python -m bench --json PATH}.
    @raise OSError: If it cannot be read.
    @raise ValueError: If it is not JSON or not a list of rows, saying why.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        value = json.loads(data)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"not JSON ({e})") from None
    if not isinstance(value, list):
        raise ValueError("not a list of rows (the file python -m bench --json writes)")
    return [_row(fields, number) for number, fields in enumerate(value, 1)]


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
    runs = []
    for path in args.files:
        try:
            runs.append(load(path))
        except OSError as e:
            parser.error(f"{path}: {e.strerror or e}")
        except ValueError as e:
            parser.error(f"{path}: {e}")
    print(f"{len(runs)} runs: {', '.join(args.files)}\n")
    print(table(aggregate(runs)))
