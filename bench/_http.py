# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 12: what tracing costs an HTTP request.  A treq client and a
twisted.web server on loopback, each in a process of its own, make the same
request plain (C{treq.get}, a C{twisted.web} resource) and traced
(C{txcausal.treq.get}, the resource in a C{TracingResource}, both processes
writing their messages with a C{FileDestination}); see
L{bench._http_child}.  The figures are CPU time per request, of the client,
of the server and of both.
"""

from __future__ import annotations

from typing import Dict, List

from ._harness import Row, Settings, Workdir, compare
from ._writer import medians, run_child

SCENARIO = "12 traced HTTP request"
PLAIN = "plain treq + twisted.web"
#: The most tracing may add to a request's CPU time.
TARGET = 1.15


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 10: rounds of a fresh server and client.
    """
    requests, blocks = ("20", "1") if settings.quick else ("300", "4")
    runs = [run_child("bench._http_child", [requests, blocks], workdir)
            for _ in range(1 if settings.quick else min(settings.repeats, 5))]
    for run_ in runs:
        for kind in ("plain", "traced"):
            run_[f"{kind}_total_us"] = run_[f"{kind}_client_us"] + run_[f"{kind}_server_us"]
    figures = medians({kind: [{side: run_[f"{kind}_{side}_us"]
                               for side in ("client", "server", "total")} for run_ in runs]
                       for kind in ("plain", "traced")})
    count = f"{int(requests) * int(blocks):,} requests of each kind a round, on loopback"
    rows = []
    for side, label in (("total", "client + server"), ("client", "client"),
                        ("server", "server")):
        named: Dict[str, float] = {"txcausal": figures[side]["traced"],
                                   PLAIN: figures[side]["plain"]}
        target = side == "total"
        rows.append(compare(
            SCENARIO, f"CPU per request, {label}", "us", named, PLAIN,
            1 / TARGET if target else None, note=count if target else "",
            target=f"at most +{TARGET - 1:.0%} (>= {1 / TARGET:.2f}x)" if target else ""))
    return rows
