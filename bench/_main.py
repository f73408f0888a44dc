# -*- test-case-name: txcausal.test.test_bench,txcausal.test.test_bench_profile -*-
"""
The command line: run every scenario, print the versions, the machine and
the table; or, with C{--profile N}, profile txcausal's operation of scenario
C{N} instead (L{bench._profile}).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from typing import Callable, FrozenSet, List, Optional, Sequence, Tuple

import attrs

from . import _aggregate
from ._harness import Row, Settings, Workdir, environment, table, unavailable

Scenario = Callable[[Settings, Workdir], List[Row]]
#: Why a scenario that crashed (or found a contender's file short) has no figure.
FAILED = "failed; see the traceback above"


def _scenarios() -> List[Tuple[str, str, Scenario]]:
    """
    @return: Each scenario group: its numbers, a title, and its runner.
    """
    from . import (
        _burst,
        _core,
        _deferred,
        _fanout,
        _http,
        _memory,
        _otel,
        _threaded,
        _tree,
        _turns,
        _writer,
    )

    return [
        ("1 2 3 8", "messages and actions, FileDestination", _core.run),
        ("4", "DeferredContext, inlineCallbacks, async def, FileDestination", _deferred.run),
        ("1 2 3 4", "messages, actions and DeferredContext, ThreadedWriter", _threaded.run),
        ("5", "ThreadedWriter", _writer.run),
        ("6", "memory per open action", _memory.run),
        ("7", "parsing and tree rendering", _tree.run),
        ("9", "actions as OpenTelemetry spans", _otel.run),
        ("10", "bursts through ThreadedWriter: messages lost, peak RSS", _burst.run),
        ("11 14 15", "one request per reactor turn, a low rate, four threads", _turns.run),
        ("12", "traced HTTP requests", _http.run),
        ("13", "several destinations", _fanout.run),
    ]


def _run_one(numbers: str, title: str, scenario: Scenario, settings: Settings,
             workdir: Workdir) -> List[Row]:
    """
    Run one scenario group; a crash becomes an "n/a" row, not a lost table.
    """
    try:
        return scenario(settings, workdir)
    except Exception:
        traceback.print_exc()
        return [unavailable(number, title, FAILED) for number in numbers.split()]


def _numbers(text: str) -> FrozenSet[str]:
    """
    The value of C{--only}: scenario numbers, separated by commas or spaces.

    @raise argparse.ArgumentTypeError: If one is not a number.
    """
    numbers = frozenset(text.replace(",", " ").split())
    if not numbers or not all(number.isdigit() for number in numbers):
        raise argparse.ArgumentTypeError(f"not scenario numbers: {text!r}")
    return frozenset(str(int(number)) for number in numbers)


def _selected(scenarios: List[Tuple[str, str, Scenario]],
              args: argparse.Namespace) -> List[Tuple[str, str, Scenario]]:
    """
    @return: The groups to run: those holding a scenario C{--only} names,
        or all of them.
    """
    if args.only is None:
        return scenarios
    return [group for group in scenarios if args.only & set(group[0].split())]


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a handful of iterations per scenario (smoke test)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timing runs per contender (default 9, or 2 with --quick)")
    parser.add_argument("--only", default=None, type=_numbers,
                        help="run only the groups holding these scenarios, by number, "
                             "separated by commas: e.g. 1,5 or 10")
    parser.add_argument("--json", default=None,
                        help="also write the rows to this JSON file (with --runs, one file "
                             "a run: PATH with the run's number before its suffix)")
    parser.add_argument("--runs", type=int, default=1, metavar="N",
                        help="N full runs in a row, each printing its table, then the table "
                             "aggregated over them (medians, ratio range, met in N)")
    parser.add_argument("--profile", type=int, choices=[1, 2, 3, 4], default=None, metavar="N",
                        help="instead of the timed run, profile txcausal's operation of "
                             "scenario N (1 to 4) with pyinstrument and print the call tree")
    parser.add_argument("--config", choices=["file", "threaded"], default=None,
                        help="with --profile: only FileDestination (file) or only "
                             "ThreadedWriter (threaded); default both")
    args = parser.parse_args(argv)
    if args.profile is None and args.config is not None:
        parser.error("--config applies only with --profile")
    if args.runs < 1:
        parser.error("--runs: at least 1")
    if args.profile is not None and (any(
            option is not None for option in (args.only, args.json, args.repeats))
            or args.runs != 1):
        parser.error("--profile runs no timed scenario: --only, --json, --repeats and --runs "
                     "do not apply")
    if args.only is not None:
        known = {number for numbers, _, _ in _scenarios() for number in numbers.split()}
        unknown = sorted(args.only - known, key=int)
        if unknown:
            parser.error(f"--only: no scenario {', '.join(unknown)} (there are "
                         f"{', '.join(sorted(known, key=int))})")
    return args


def _run_profiles(args: argparse.Namespace) -> None:
    """
    Profile one scenario in the configurations asked for, printing each
    tree as it is done.
    """
    from . import _profile

    workdir = Workdir()
    try:
        for configuration in [args.config] if args.config else _profile.CONFIGURATIONS:
            print(_profile.profile(args.profile, configuration, workdir.fresh(), args.quick),
                  flush=True)
    finally:
        workdir.cleanup()


def _json_path(path: str, run: int, runs: int) -> str:
    """
    @return: Where run C{run} (from 1) of C{runs} writes its rows: C{path},
        or with several runs C{path} with the run's number before its
        suffix (C{rows.json}: C{rows.1.json}, C{rows.2.json}...).
    """
    if runs == 1:
        return path
    stem, dot, suffix = path.rpartition(".")
    if not dot or "/" in suffix:
        return f"{path}.{run}"
    return f"{stem}.{run}.{suffix}"


def _run(args: argparse.Namespace, argv: Optional[Sequence[str]], run: int) -> List[Row]:
    """
    Make one full run: every scenario chosen, then its header and table.

    @return: Its rows.
    """
    repeats = args.repeats or (2 if args.quick else 9)
    settings = Settings(quick=args.quick, repeats=repeats)
    workdir = Workdir()
    started = time.monotonic()
    rows: List[Row] = []
    try:
        for numbers, title, scenario in _selected(_scenarios(), args):
            print(f"running {numbers}: {title}...", file=sys.stderr, flush=True)
            rows.extend(_run_one(numbers, title, scenario, settings, workdir))
    finally:
        workdir.cleanup()
    if args.runs > 1:
        print(f"run {run} of {args.runs}")
    print("command: python -m bench " + " ".join(sys.argv[1:] if argv is None else argv))
    for name, value in environment():
        print(f"{name}: {value}")
    print(f"repeats: {repeats} (medians), quick: {args.quick}, "
          f"wall time: {time.monotonic() - started:.0f} s\n")
    print(table(rows), flush=True)
    if args.json:
        with open(_json_path(args.json, run, args.runs), "w") as f:
            json.dump([attrs.asdict(row) for row in rows], f, indent=1)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> None:
    """
    Run the suite and print the table to standard output (with C{--runs
    N}, N times, then the table aggregated over them), or profile one
    scenario (C{--profile}).
    """
    args = _parse(argv)
    if args.profile is not None:
        _run_profiles(args)
        return
    runs = []
    for run in range(1, args.runs + 1):
        if run > 1:
            print()
        runs.append(_run(args, argv, run))
    if args.runs > 1:
        print(f"\naggregated over {args.runs} runs: the median of the runs' figures and "
              f"ratios, the ratios' range, the runs that met the target\n")
        print(_aggregate.table(_aggregate.aggregate(runs)))
    failed = sorted({row.scenario for rows in runs for row in rows
                     if row.note == f"n/a ({FAILED})"}, key=int)
    if failed:
        sys.exit(f"failed: scenario {', '.join(failed)} (see the tracebacks above)")
