# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 12: what tracing costs an HTTP request.  A treq client and a
twisted.web server on loopback, each in a process of its own, make the same
request plain (C{treq.get}, a C{twisted.web} resource) and traced
(C{txcausal.treq.get}, the resource in a C{TracingResource}), both processes
writing their messages with a C{FileDestination}, then through a
C{ThreadedWriter}; see L{bench._http_child}.  The figures are CPU time per
request, of the client, of the server and of both.

A third kind of request traces by hand (L{bench._http_floor}): the same
headers and lines with no library, each line written at once in both
configurations.  Against the plain request, it is what the headers and lines
cost at the least: the floor of the target; txcausal's traced request
against it is txcausal's own part.
"""

from __future__ import annotations

from typing import Dict, List

from ._core import FILE, THREADED
from ._harness import Row, Settings, Workdir, compare
from ._writer import medians, rotated, run_child

SCENARIO = "12 traced HTTP request"
#: The scenario of the hand-written tracing's own row, its figure in the
#: column otherwise txcausal's.
FLOOR_SCENARIO = "12 hand-written tracing (no txcausal)"
PLAIN = "plain treq + twisted.web"
#: The hand-written tracing, as the table names it.
FLOOR = "hand-written tracing: same headers and lines, a write each, no library"
#: The kinds of request, as L{bench._http_child} names them.
KINDS = ("plain", "traced", "floor")
#: The most tracing may add to a request's CPU time.
TARGET = 1.15
#: The configurations: each process writes its messages with a
#: FileDestination, or through a ThreadedWriter around one.
CONFIGS = {"file": FILE, "threaded": THREADED}
#: Blocks of each kind a round: six, so that a round makes the kinds in each
#: of their orders once (L{bench._http_child.order}).
BLOCKS = 6


def _rows(config: str, runs: List[Dict[str, float]], note: str) -> List[Row]:
    """
    @return: The rows of one configuration: both sides, with the target;
        the client; the server; then the hand-written tracing against the
        plain request (both sides, in a scenario of its own naming it), and
        txcausal's against the hand-written (both sides, the client, the
        server).
    """
    for run_ in runs:
        for kind in KINDS:
            run_[f"{kind}_total_us"] = run_[f"{kind}_client_us"] + run_[f"{kind}_server_us"]
    figures = medians({kind: [{side: run_[f"{kind}_{side}_us"]
                               for side in ("client", "server", "total")} for run_ in runs]
                       for kind in KINDS})
    scenario = f"{SCENARIO}, {config}"
    labels = {"total": "client + server", "client": "client", "server": "server"}
    rows = []
    for side, label in labels.items():
        named: Dict[str, float] = {"txcausal": figures[side]["traced"],
                                   PLAIN: figures[side]["plain"]}
        target = side == "total"
        rows.append(compare(
            scenario, f"CPU per request, {label}", "us", named, PLAIN,
            1 / TARGET if target else None, note=note if target else "",
            target=f"at most +{TARGET - 1:.0%} (>= {1 / TARGET:.2f}x)" if target else ""))
    rows.append(compare(
        f"{FLOOR_SCENARIO}, {config}", "CPU per request, client + server", "us",
        {FLOOR: figures["total"]["floor"], PLAIN: figures["total"]["plain"]}, PLAIN, ours=FLOOR,
        note="the figure is the hand-written tracing's, not txcausal's: the floor of the "
             "target, what the headers and lines cost with no library"))
    for side, label in labels.items():
        rows.append(compare(
            scenario, f"CPU per request, {label}, against hand-written tracing", "us",
            {"txcausal": figures[side]["traced"], FLOOR: figures[side]["floor"]}, FLOOR,
            note="txcausal's own part" if side == "total" else ""))
    return rows


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 12: for each configuration, rounds of a fresh server and
    client.
    """
    requests, blocks = ("20", "1") if settings.quick else ("150", str(BLOCKS))
    rounds = 1 if settings.quick else min(settings.repeats, 4)
    runs: Dict[str, List[Dict[str, float]]] = {config: [] for config in CONFIGS}
    for round_ in range(rounds):
        for config in rotated(list(CONFIGS), round_):
            runs[config].append(run_child("bench._http_child", [config, requests, blocks],
                                          workdir))
    note = (f"{int(requests) * int(blocks):,} requests of each kind a round, "
            f"{rounds} rounds, on loopback")
    return [row for config, name in CONFIGS.items() for row in _rows(name, runs[config], note)]
