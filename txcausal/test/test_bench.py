"""
Tests for the benchmark suite in C{bench/}: a quick run, so that the bench
code never rots.  Nothing here asserts a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Tuple

from twisted.trial.unittest import SkipTest, SynchronousTestCase

import txcausal

from ._helpers import run_python

#: Every scenario must have at least one row in the table.
SCENARIOS = ["1 ", "2 ", "3 ", "4 ", "5 ", "6 ", "7 ", "8 "]
HEADER = "| scenario | measure | txcausal | peer | peer figure | ratio | target | verdict |"


def bench_root() -> Path:
    """
    Find the repository root holding C{bench/}: C{$TXCAUSAL_BENCH_ROOT}, the
    current directory, or beside the package (editable installs).

    @raise SkipTest: If there is none (an installed copy run elsewhere).
    """
    candidates = [os.environ.get("TXCAUSAL_BENCH_ROOT"), Path.cwd(),
                  Path(txcausal.__file__).resolve().parent.parent]
    for candidate in candidates:
        if candidate and (Path(candidate) / "bench" / "_harness.py").exists():
            return Path(candidate)
    raise SkipTest("bench/ not found: run from the repository root or set TXCAUSAL_BENCH_ROOT")


@lru_cache(maxsize=None)
def quick_run() -> Tuple["subprocess.CompletedProcess[str]", List[Dict[str, Any]]]:
    """
    Run C{python -m bench --quick} once for all the tests of this module.

    @return: The finished process and the rows it wrote as JSON.
    """
    root = bench_root()
    with tempfile.TemporaryDirectory(prefix="txcausal-test-bench-") as directory:
        json_path = Path(directory) / "rows.json"
        result = run_python(["-m", "bench", "--quick", "--json", str(json_path)],
                            cwd=root, timeout=300)
        rows = json.loads(json_path.read_text()) if json_path.exists() else []
    return result, rows


class ThreadedChildTests(SynchronousTestCase):
    """
    The C{ThreadedWriter} benchmark checks that every message was written.
    """

    def test_missingLinesFailTheRun(self) -> None:
        """
        L{bench._threaded_child.check_written} raises when the file holds
        fewer lines than messages logged, so a run that loses messages fails
        instead of reporting a figure.
        """
        code = (
            "import pathlib, sys\n"
            "from bench._threaded_child import check_written\n"
            "path = pathlib.Path(sys.argv[1])\n"
            "path.write_bytes(b'{}\\n' * 3)\n"
            "check_written(path, object(), 3)\n"
            "try:\n"
            "    check_written(path, object(), 4)\n"
            "except RuntimeError as e:\n"
            "    print('refused:', e)\n"
        )
        with tempfile.TemporaryDirectory(prefix="txcausal-test-bench-") as directory:
            result = run_python(["-c", code, str(Path(directory) / "lines.log")],
                                cwd=bench_root(), timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("refused: lines.log: 3 lines written, 4 expected", result.stdout)


class QuickBenchTests(SynchronousTestCase):
    """
    C{python -m bench --quick} runs every scenario and prints the table.
    """

    def setUp(self) -> None:
        self.result, self.rows = quick_run()

    def table_lines(self) -> list[str]:
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        return [line for line in self.result.stdout.splitlines() if line.startswith("|")]

    def test_tableHasRatioColumn(self) -> None:
        """
        The table's header names a ratio column, besides the figure of
        txcausal and of the peer.
        """
        self.assertEqual(self.table_lines()[0], HEADER)

    def test_everyScenarioHasARow(self) -> None:
        """
        Every scenario, 1 to 8, has at least one row.
        """
        scenarios = [line.split("|")[1].strip() + " " for line in self.table_lines()[2:]]
        for number in SCENARIOS:
            self.assertTrue(any(s.startswith(number) for s in scenarios),
                            f"no row for scenario {number.strip()}:\n{self.result.stdout}")

    def test_rowsHaveARatioOrSayWhyNot(self) -> None:
        """
        Every row has a ratio, or says why the scenario is not available; no
        scenario crashed.
        """
        self.assertTrue(self.rows, self.result.stderr)
        for row in self.rows:
            if row["ratio"] is None:
                self.assertIn("n/a (not available)", row["note"], row)
            else:
                self.assertGreater(row["ratio"], 0, row)
        self.assertNotIn("Traceback", self.result.stderr)

    def test_bothConfigurationsOfScenariosOneToFour(self) -> None:
        """
        Scenarios 1 to 4 each have a row against Eliot with a target for the
        synchronous C{FileDestination} and for C{ThreadedWriter}.
        """
        self.assertNotIn("Traceback", self.result.stderr)
        for number in "1234":
            for configuration in ("FileDestination", "ThreadedWriter"):
                targets = [row for row in self.rows
                           if row["scenario"].startswith(f"{number} ")
                           and row["scenario"].endswith(f", {configuration}")
                           and row["peer"] == "eliot 1.18" and row["target"]]
                self.assertTrue(targets, f"no {configuration} target row for {number}")

    def test_versionsAndMachinePrinted(self) -> None:
        """
        The output names the command, the versions compared and the machine.
        """
        out = self.result.stdout
        self.assertIn("command: python -m bench --quick", out)
        self.assertIn("eliot 1.18", out)
        self.assertIn("structlog", out)
        self.assertIn("machine:", out)
