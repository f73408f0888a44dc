# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenarios 1 to 4 again, each library writing through its C{ThreadedWriter}
around its file destination, as both manuals recommend for Twisted
programs: the same operations as L{bench._core} and L{bench._deferred}, run
for both libraries in one process per round, in turns (see
L{bench._threaded_child}).

The figure is the process's CPU time, every thread's, until every message
is written, per message, pair or action; the caller-side wall time of the
logging loop is reported beside it.
"""

from __future__ import annotations

from typing import Dict, List

from ._core import ELIOT, THREADED
from ._harness import Row, Settings, Workdir, compare, unavailable
from ._writer import medians, rotated, run_child

#: Messages per timed burst: well below txcausal's default queue bound (64 MiB).
MESSAGES = 8_000
NOTE = "CPU of all threads until stopService fired"

#: Each scenario: its key in the child's figures, label, unit of work, target.
_SCENARIOS = [
    ("1", "1 standalone message", "message", 3.0),
    ("2", "2 message in action", "message", 3.0),
    ("3", "3 nested action pair", "pair (4 messages)", 3.0),
    ("4_overhead", "4 DeferredContext", "action", 2.0),
]


def _rows(figures: Dict[str, Dict[str, float]], quick: bool) -> List[Row]:
    """
    @return: For each scenario, the CPU row with its target and the
        caller-side wall-time row.
    """
    burst = f"{MESSAGES:,}-message bursts" if not quick else "tiny bursts"
    rows = []
    for key, label, unit, minimum in _SCENARIOS:
        scenario = f"{label}, {THREADED}"
        overhead = "overhead " if key == "4_overhead" else ""
        note = "over bare work; 3 callbacks + addActionFinish" if overhead else burst
        rows += [
            compare(scenario, f"CPU {overhead}per {unit} until written", "us",
                    figures[f"{key}_cpu_us"], ELIOT, minimum, note=f"{NOTE}; {note}"),
            compare(scenario, f"caller-side wall time {overhead}per {unit}", "us",
                    figures[f"{key}_wall_us"], ELIOT, note="the logging loop alone"),
        ]
    return rows


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenarios 1 to 4 through C{ThreadedWriter}, or report them
    unavailable without C{txcausal.logwriter} and C{txcausal.twisted}.
    """
    try:
        from txcausal.logwriter import ThreadedWriter  # noqa: F401
        from txcausal.twisted import DeferredContext  # noqa: F401
    except ImportError:
        return [unavailable(f"{label}, {THREADED}", "CPU until written")
                for _, label, _, _ in _SCENARIOS]
    messages = "40" if settings.quick else str(MESSAGES)
    runs = [run_child("bench._threaded_child",
                      [",".join(rotated(["txcausal", "eliot"], round_)), messages], workdir)
            for round_ in range(1 if settings.quick else settings.repeats)]
    samples = {name: [{key.split("/", 1)[1]: value for key, value in run.items()
                       if key.startswith(f"{library}/")} for run in runs]
               for library, name in (("txcausal", "txcausal"), ("eliot", ELIOT))}
    return _rows(medians(samples), settings.quick)
