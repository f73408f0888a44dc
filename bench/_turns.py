# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenarios 11, 14 and 15: logging as a Twisted server does, not in bursts.

  - 11: one request per reactor turn (an action and one message in it);
  - 14: a low rate, one message every 100 ms, where waking a writer costs
    more than writing;
  - 15: requests made by 4 threads at once.

Each contender (txcausal and Eliot 1.18, each with its file destination and
with its C{ThreadedWriter} around it, and the same work with no logging)
runs in a fresh process of its own (L{bench._turns_child}), in rounds whose
order rotates.  The figure is CPU time per message until every message is
written, every thread's, minus the no-logging run of the same round; and
the reactor thread's alone, which is what the application pays.  At the
low rate the contenders of a round run at the same time (they are idle
almost always).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from ._core import ELIOT, FILE, THREADED
from ._harness import Row, Settings, Workdir, compare
from ._turns_child import REQUEST_MESSAGES
from ._writer import _ROOT, rotated, run_child

#: Each contender: its library and configuration.
CONTENDERS = [("txcausal", "file"), ("eliot", "file"), ("txcausal", "threaded"),
              ("eliot", "threaded"), ("none", "file")]
#: Scenarios 11 and 15 also run a minimal writer thread that always lingers
#: 5 ms after a wake-up (L{bench._turns_child.MinimalThread}: woken when its
#: buffer goes from empty to non-empty, idle otherwise; no bound, count or
#: report), to compare C{ThreadedWriter} with.
MINIMAL = ("txcausal", "minimal")
#: The peer name of txcausal's own FileDestination, against its ThreadedWriter.
TX_FILE = "txcausal, FileDestination"
TURN = "11 one request per reactor turn"
LOW = "14 low rate, 10 messages a second"
THREADS = "15 four threads logging at once"
MINIMAL_NAME = "a minimal writer thread, 5 ms linger"
#: Scenario 11 also runs txcausal's FileDestination beside a thread that
#: does nothing (L{bench._turns_child.IdleThread}): what a thread costs the
#: reactor thread whatever it does, against FileDestination alone.
IDLE = {("txcausal", "sleeping"): "FileDestination beside a thread that never wakes",
        ("txcausal", "waking"): "FileDestination beside a thread waking every 5 ms"}
CPU = "CPU per message until written, over no logging"
REACTOR = "reactor-thread CPU per message, over no logging"

Figures = Dict[Tuple[str, str], List[Dict[str, float]]]


def _parallel(arguments: Sequence[Sequence[str]], workdir: Workdir) -> List[Dict[str, float]]:
    """
    Run C{python -m bench._turns_child ARGUMENTS... DIRECTORY} for each
    list of arguments, all at once.

    @return: What each printed, in order.
    @raise RuntimeError: If one fails.
    """
    children = [subprocess.Popen([sys.executable, "-m", "bench._turns_child", *args,
                                  str(workdir.fresh())], cwd=_ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for args in arguments]
    results = []
    for args, child in zip(arguments, children, strict=True):
        out, err = child.communicate(timeout=120)
        if child.returncode != 0 or not out.strip():
            raise RuntimeError(f"bench._turns_child {' '.join(args)} failed:\n{out}\n{err}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _over_baseline(figures: Figures, name: str, per: int) -> Dict[Tuple[str, str], float]:
    """
    @return: For each contender but the baseline, the median over rounds of
        its figure C{name} minus the baseline's of the same round, per
        message (an operation logs C{per}).
    """
    baseline = figures[("none", "file")]
    return {contender: statistics.median(
                (run[name] - base[name]) / per for run, base in zip(runs, baseline, strict=True))
            for contender, runs in figures.items() if contender[0] != "none"}


def _named(figures: Dict[Tuple[str, str], float], config: str) -> Dict[str, float]:
    """
    @return: The figures of C{config}, under the names the rows use
        (txcausal's file destination as L{TX_FILE} too).
    """
    named = {"txcausal" if library == "txcausal" else ELIOT: value
             for (library, kind), value in figures.items() if kind == config}
    named[TX_FILE] = figures[("txcausal", "file")]
    return named


def _rows(scenario: str, cpu: Dict[Tuple[str, str], float],
          reactor: Optional[Dict[Tuple[str, str], float]], targets: bool,
          note: str) -> List[Row]:
    """
    @param reactor: The reactor thread's figures, if it is the one logging.
    @return: The rows of one scenario: with C{FileDestination}, then with
        C{ThreadedWriter} against Eliot's and against txcausal's
        C{FileDestination}, then the reactor thread's share; with the
        targets of scenario 11 if C{targets}.
    """
    file, threaded = _named(cpu, "file"), _named(cpu, "threaded")
    rows = [
        compare(f"{scenario}, {FILE}", CPU, "us", file, ELIOT, note=note),
        compare(f"{scenario}, {THREADED}", CPU, "us", threaded, ELIOT,
                3.0 if targets else None, note=note),
        compare(f"{scenario}, {THREADED}", CPU, "us", threaded, TX_FILE,
                1.0 if targets else None, note="ThreadedWriter against FileDestination"),
    ]
    if MINIMAL in cpu:
        rows.append(compare(f"{scenario}, {MINIMAL_NAME}", CPU, "us",
                            {"txcausal": cpu[MINIMAL], TX_FILE: file[TX_FILE]}, TX_FILE,
                            note="no bound, count or report"))
    for contender, name in IDLE.items():
        if contender in cpu:
            rows.append(compare(f"{scenario}, {name}", CPU, "us",
                                {"txcausal": cpu[contender], TX_FILE: file[TX_FILE]}, TX_FILE,
                                note="a thread that does nothing"))
    if reactor is not None:
        rows.append(compare(f"{scenario}, {THREADED}", REACTOR, "us",
                            _named(reactor, "threaded"), ELIOT, 2.0 if targets else None,
                            note="what the application pays"))
    return rows


def _turns(settings: Settings, workdir: Workdir) -> Tuple[Figures, str]:
    """
    Run every contender, one at a time, in L{Settings.repeats} rounds.
    """
    # 20,000 requests take about 0.2 s: long enough for the steady state a
    # server is in, where 3,000 (30 ms, some six rounds of the writer's
    # thread) weighed the writer's start and stop and its first rounds.
    requests = "120" if settings.quick else "20000"
    contenders = [*CONTENDERS, MINIMAL, *IDLE]
    figures: Figures = {contender: [] for contender in contenders}
    for round_ in range(1 if settings.quick else settings.repeats):
        for library, config in rotated(contenders, round_):
            figures[(library, config)].append(
                run_child("bench._turns_child", [library, config, "turns", requests],
                          workdir))
    return figures, f"{int(requests):,} requests"


def _slow(settings: Settings, workdir: Workdir) -> Tuple[Figures, str]:
    """
    Run every contender of a round at once, at the low rate.
    """
    seconds = "0.3" if settings.quick else "4"
    figures: Figures = {contender: [] for contender in CONTENDERS}
    for _ in range(1 if settings.quick else min(settings.repeats, 3)):
        results = _parallel([[library, config, "slow", seconds]
                             for library, config in CONTENDERS], workdir)
        for contender, result in zip(CONTENDERS, results, strict=True):
            figures[contender].append(result)
    return figures, f"{float(seconds) * 10:.0f} messages"


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenarios 11, 15 and 14.
    """
    turns, requests = _turns(settings, workdir)
    slow, messages = _slow(settings, workdir)
    return [
        *_rows(TURN, _over_baseline(turns, "turns_cpu_us", REQUEST_MESSAGES),
               _over_baseline(turns, "turns_reactor_us", REQUEST_MESSAGES), True,
               f"{requests}, an action and a message each"),
        *_rows(LOW, _over_baseline(slow, "slow_cpu_us", 1),
               _over_baseline(slow, "slow_reactor_us", 1), False, messages),
        # The reactor thread only waits for the four threads.
        *_rows(THREADS, {contender: figure for contender, figure in
                         _over_baseline(turns, "threads_cpu_us", REQUEST_MESSAGES).items()
                         if contender not in IDLE}, None, False,
               f"{requests} in all"),
    ]
