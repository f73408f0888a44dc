# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 12: what tracing costs an HTTP request.  A treq client and a
twisted.web server on loopback, each in a process of its own, make the same
request plain (C{treq.get}, a C{twisted.web} resource) and traced
(C{txcausal.treq.get}, the resource in a C{TracingResource}), both processes
writing their messages with a C{FileDestination}, then through a
C{ThreadedWriter}; see L{bench._http_child}.  The figures are CPU time per
request, of the client, of the server and of both.
"""

from __future__ import annotations

from typing import Dict, List

from ._core import FILE, THREADED
from ._harness import Row, Settings, Workdir, compare
from ._writer import medians, rotated, run_child

SCENARIO = "12 traced HTTP request"
PLAIN = "plain treq + twisted.web"
#: The most tracing may add to a request's CPU time.
TARGET = 1.15
#: The configurations: each process writes its messages with a
#: FileDestination, or through a ThreadedWriter around one.
CONFIGS = {"file": FILE, "threaded": THREADED}


def _rows(config: str, runs: List[Dict[str, float]], note: str) -> List[Row]:
    """
    @return: The rows of one configuration: both sides, with the target;
        the client; the server.
    """
    for run_ in runs:
        for kind in ("plain", "traced"):
            run_[f"{kind}_total_us"] = run_[f"{kind}_client_us"] + run_[f"{kind}_server_us"]
    figures = medians({kind: [{side: run_[f"{kind}_{side}_us"]
                               for side in ("client", "server", "total")} for run_ in runs]
                       for kind in ("plain", "traced")})
    rows = []
    for side, label in (("total", "client + server"), ("client", "client"),
                        ("server", "server")):
        named: Dict[str, float] = {"txcausal": figures[side]["traced"],
                                   PLAIN: figures[side]["plain"]}
        target = side == "total"
        rows.append(compare(
            f"{SCENARIO}, {config}", f"CPU per request, {label}", "us", named, PLAIN,
            1 / TARGET if target else None, note=note if target else "",
            target=f"at most +{TARGET - 1:.0%} (>= {1 / TARGET:.2f}x)" if target else ""))
    return rows


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 12: for each configuration, rounds of a fresh server and
    client.
    """
    requests, blocks = ("20", "1") if settings.quick else ("200", "4")
    rounds = 1 if settings.quick else min(settings.repeats, 4)
    runs: Dict[str, List[Dict[str, float]]] = {config: [] for config in CONFIGS}
    for round_ in range(rounds):
        for config in rotated(list(CONFIGS), round_):
            runs[config].append(run_child("bench._http_child", [config, requests, blocks],
                                          workdir))
    note = (f"{int(requests) * int(blocks):,} requests of each kind a round, "
            f"{rounds} rounds, on loopback")
    return [row for config, name in CONFIGS.items() for row in _rows(name, runs[config], note)]
