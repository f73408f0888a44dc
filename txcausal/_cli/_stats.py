# -*- test-case-name: txcausal.test.test_cli_stats -*-
"""
C{txcausal stats}: where the time goes.  Per action type: how many
actions, how many failed, their duration's median, 90th and 99th
percentiles, maximum and total, and the slowest instances with their task
UUIDs (to show with C{txcausal tree -u}).  See L{txcausal._stats}.
"""

from __future__ import annotations

import argparse
from typing import Any, Dict, List, Optional

from attrs import asdict

from .._parse import Parser
from .._stats import DEFAULT_SLOWEST, ActionStats, TypeStats
from ._common import (
    BatchWriter,
    Input,
    StrayReport,
    Streams,
    add_input_arguments,
    fewer_collections,
    is_terminal,
    non_negative,
    report_given_up,
    write_json_lines,
)
from ._text import clean, format_duration, format_level
from ._tree import add_max_open_argument

NAME = "stats"
HELP = "show, per action type, counts, failures and durations (p50/p90/p99/max)"

_COLUMNS = ["action type", "count", "failed", "p50", "p90", "p99", "max", "total"]


def _seconds(value: Optional[float]) -> str:
    """
    A duration as the tree shows it (L{format_duration}); C{-} if none.
    """
    return "-" if value is None else format_duration(value)


def _cells(row: TypeStats) -> List[str]:
    return [
        clean(row.action_type),
        str(row.count),
        str(row.failures),
        *(_seconds(v) for v in (row.p50, row.p90, row.p99, row.max, row.total)),
    ]


def stats_table(rows: List[TypeStats]) -> str:
    """
    The figures as a text table, each type followed by its slowest
    instances.
    """
    cells = [_COLUMNS] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    out = []
    for number, line in enumerate(cells):
        first = line[0].ljust(widths[0])
        rest = "  ".join(cell.rjust(widths[i]) for i, cell in enumerate(line) if i)
        out.append(f"{first}  {rest}".rstrip() + "\n")
        if number:
            for instance in rows[number - 1].slowest:
                where = f"{clean(instance.task_uuid)}{format_level(instance.task_level)}"
                out.append(f"  {_seconds(instance.duration):>9}  {where}\n")
    return "".join(out)


def _document(row: TypeStats) -> Dict[str, Any]:
    document = asdict(row, recurse=True)
    document["slowest"] = [
        {**asdict(instance), "task_level": list(instance.task_level)} for instance in row.slowest
    ]
    return document


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal stats}.
    """
    add_input_arguments(parser)
    parser.add_argument(
        "--slowest",
        type=non_negative,
        default=DEFAULT_SLOWEST,
        metavar="N",
        help=f"list the N slowest actions of each type (default {DEFAULT_SLOWEST})",
    )
    parser.add_argument(
        "--json", action="store_true", help="write one JSON document per action type"
    )
    add_max_open_argument(parser)


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal stats}.
    """
    source = Input(streams, args.files, None, args.max_line_bytes)
    left_out = StrayReport(source.reporter.note, "not counted")
    stats = ActionStats(args.slowest, left_out)
    parser = Parser(args.max_open)
    with fewer_collections():
        for task in parser.parse(source.messages()):
            stats.add_task(task)
    if left_out.count:
        source.reporter.note(left_out.summary("action message"))
    report_given_up(streams, parser.given_up, args.max_open, "counted in parts")
    rows = stats.summary()
    writer = BatchWriter(streams.stdout)
    if args.json:
        documents = (_document(row) for row in rows)
        write_json_lines(documents, writer, source.reporter.note, is_terminal(streams.stdout))
    else:
        writer.parts.append(stats_table(rows))
        writer.flush()
    return source.finish()
