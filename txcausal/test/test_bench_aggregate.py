"""
Tests for the benchmark's aggregated table (C{bench._aggregate}: C{python
-m bench --runs N} and C{python -m bench.aggregate}), with hand-made rows:
nothing here times anything.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, List, Optional

from twisted.trial.unittest import SynchronousTestCase

from ._helpers import bench_root, run_python

SCENARIO = "2 message in action, FileDestination, binary file"
MEASURE = "time per message"


class AggregateTests(SynchronousTestCase):
    """
    L{bench._aggregate.aggregate} and its table.
    """

    def setUp(self) -> None:
        root = str(bench_root())
        sys.path.insert(0, root)
        self.addCleanup(sys.path.remove, root)
        from bench import _aggregate, _harness, _main
        self.aggregate: Any = _aggregate
        self.harness: Any = _harness
        self.main: Any = _main

    def cost(self, ours: Optional[float], eliot: Optional[float], minimum: Optional[float] = 1.8,
             peer: str = "eliot 1.18") -> Any:
        """
        @return: A row of a cost (lower is better) against C{peer}, as a run
            makes it.
        """
        figures = {name: value for name, value in (("txcausal", ours), (peer, eliot))
                   if value is not None}
        return self.harness.compare(SCENARIO, MEASURE, "us", figures, peer, minimum)

    def test_mediansAndRange(self) -> None:
        """
        Each figure is the median of the runs' figures and the ratio the
        median of their ratios (not the ratio of the medians), with its
        lowest and highest; "met in" counts the runs at or above the target.
        The aggregated row is a row as a run makes it, with those medians; its
        own C{met}, as its target, is the first run's (a row with a target
        and a ratio is judged, as L{bench._harness.Row} says).
        """
        runs = [[self.cost(1.0, 2.0)], [self.cost(2.0, 3.0)], [self.cost(4.0, 10.0)]]
        [line] = self.aggregate.aggregate(runs)
        self.assertEqual(line.row, self.harness.Row(SCENARIO, MEASURE, "us", 2.0, "eliot 1.18",
                                                    3.0, 2.0, ">= 1.8x", True, ""))
        [missed] = self.aggregate.aggregate([runs[1], runs[0], runs[2]])
        self.assertEqual((missed.row.met, missed.met), (False, 2))
        self.assertEqual((line.low, line.high), (1.5, 2.5))
        self.assertEqual((line.met, line.runs), (2, 3))
        self.assertEqual(self.aggregate.table([line]).splitlines()[2],
                         f"| {SCENARIO} | {MEASURE} | 2.00 us | eliot 1.18 | 3.00 us | 2.00x "
                         "| 1.50–2.50x | >= 1.8x | 2 of 3 |")

    def test_evenNumberOfRuns(self) -> None:
        """
        With an even number of runs, the median is the mean of the middle
        two, as C{statistics.median} makes it.
        """
        runs = [[self.cost(1.0, 2.0)], [self.cost(1.0, 4.0)]]
        [line] = self.aggregate.aggregate(runs)
        self.assertEqual((line.row.txcausal, line.row.peer_value, line.row.ratio),
                         (1.0, 3.0, 3.0))
        self.assertEqual((line.met, line.runs), (2, 2))

    def test_ratioDirection(self) -> None:
        """
        A run's ratio is kept as the run made it: for a throughput (higher
        is better), txcausal's figure over the peer's, not inverted.
        """
        runs = [[self.harness.compare("5 ThreadedWriter", "throughput", "msg/s",
                                      {"txcausal": ours, "eliot 1.18": 100.0}, "eliot 1.18", 4,
                                      higher=True)]
                for ours in (500.0, 300.0, 400.0)]
        [line] = self.aggregate.aggregate(runs)
        self.assertEqual((line.row.txcausal, line.row.peer_value), (400.0, 100.0))
        self.assertEqual((line.row.ratio, line.low, line.high), (4.0, 3.0, 5.0))
        self.assertEqual(line.met, 2)
        cost = [[self.cost(1.0, 3.0)]]
        self.assertEqual(self.aggregate.aggregate(cost)[0].row.ratio, 3.0)

    def test_rowsMatchedByScenarioMeasureAndPeer(self) -> None:
        """
        Rows are matched across runs by scenario, measure and peer, whatever
        their order in each run, and keep the order of their first run.
        """
        runs = [[self.cost(1.0, 2.0), self.cost(1.0, 5.0, None, "structlog")],
                [self.cost(1.0, 6.0, None, "structlog"), self.cost(1.0, 4.0)]]
        eliot, structlog = self.aggregate.aggregate(runs)
        self.assertEqual((eliot.row.peer, eliot.row.ratio, eliot.met), ("eliot 1.18", 3.0, 2))
        self.assertEqual((structlog.row.peer, structlog.row.ratio, structlog.judged),
                         ("structlog", 5.5, 0))
        self.assertEqual(self.aggregate.table([structlog]).splitlines()[2].rsplit("|", 3)[1:],
                         ["  ", "  ", ""])

    def test_runsWithoutARatioOrTheRow(self) -> None:
        """
        A run whose ratio is below the noise, or that lacks the row (its
        scenario failed), did not meet the target; a row never measured
        says why.
        """
        runs: List[List[Any]] = [[self.cost(1.0, 2.0)], [self.cost(-0.1, 2.0)], []]
        [line] = self.aggregate.aggregate(runs)
        self.assertEqual((line.row.ratio, line.low, line.high), (2.0, 2.0, 2.0))
        self.assertEqual((line.met, line.judged, line.present, line.runs), (1, 2, 2, 3))
        self.assertTrue(self.aggregate.table([line]).endswith("| 1 of 3; in 2 runs of 3 |"))
        unmeasured = self.harness.unavailable("9 spans", "CPU per action", "not installed")
        [line] = self.aggregate.aggregate([[unmeasured], [unmeasured]])
        self.assertEqual(self.aggregate.table([line]).splitlines()[2],
                         "| 9 spans | CPU per action | - | - | - | - | - |  "
                         "| n/a (not installed) |")

    def test_mostOfAnyRun(self) -> None:
        """
        A row whose measure is the most of any run (scenario 10's messages
        lost) is aggregated with the maximum over the runs, not the median,
        so that one run's loss is not hidden by the others.
        """
        def lost(ours: int, eliot: int) -> Any:
            return self.harness.Row(
                "10 burst", "messages lost (most of any run)", "msgs", float(ours),
                "eliot 1.18", float(eliot), None, "0", ours == 0, "n/a (a count, no ratio)")

        runs = [[lost(0, 3)], [lost(7, 0)], [lost(0, 0)], [lost(0, 5)], [lost(0, 0)]]
        [line] = self.aggregate.aggregate(runs)
        self.assertEqual((line.row.txcausal, line.row.peer_value), (7.0, 5.0))
        self.assertEqual((line.met, line.judged, line.runs), (4, 5, 5))
        cells = self.aggregate.table([line]).splitlines()[2].split(" | ")
        self.assertEqual(cells[2:5], [self.harness.figure(7.0, "msgs"), "eliot 1.18",
                                      self.harness.figure(5.0, "msgs")])

    def test_countsAsWholeNumbers(self) -> None:
        """
        A count of messages is shown as a whole number, as every run's
        figure is one, and the aggregated table shows it so too.
        """
        figure = self.harness.figure
        self.assertEqual([figure(0.0, "msgs"), figure(7.0, "msgs"), figure(1234.0, "msgs")],
                         ["0 msgs", "7 msgs", "1,234 msgs"])
        self.assertEqual(figure(2.5, "us"), "2.50 us")

    def test_jsonPaths(self) -> None:
        """
        With C{--runs N}, each run writes its C{--json} rows to a file of its
        own, the run's number before the suffix.
        """
        path = self.main._json_path
        self.assertEqual(path("rows.json", 1, 1), "rows.json")
        self.assertEqual(path("out/rows.json", 2, 5), "out/rows.2.json")
        self.assertEqual(path("out.d/rows", 3, 5), "out.d/rows.3")
        self.assertEqual(self.main._parse(["--runs", "5"]).runs, 5)
        self.assertRaises(SystemExit, self.main._parse, ["--runs", "0"])
        self.assertRaises(SystemExit, self.main._parse, ["--profile", "1", "--runs", "2"])

    def test_fromJSONFiles(self) -> None:
        """
        C{python -m bench.aggregate FILE...} reads the rows that runs wrote
        with C{--json} and prints the aggregated table.
        """
        import attrs
        with tempfile.TemporaryDirectory(prefix="txcausal-test-bench-") as directory:
            paths = []
            for number, eliot in enumerate((2.0, 3.0, 4.0), 1):
                path = Path(directory) / f"rows.{number}.json"
                path.write_text(json.dumps([attrs.asdict(self.cost(1.0, eliot))]))
                paths.append(str(path))
            result = run_python(["-m", "bench.aggregate", *paths], cwd=bench_root(),
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"| {SCENARIO} | {MEASURE} | 1.00 us | eliot 1.18 | 3.00 us | 3.00x "
                      "| 2.00–4.00x | >= 1.8x | 3 of 3 |", result.stdout)

    def test_unreadableJSONFiles(self) -> None:
        """
        A C{--json} file that is missing or unreadable, is not JSON, or is
        not a list of rows is refused with a one-line error naming it and
        what is wrong (exit status 2), not a traceback.
        """
        import io
        from contextlib import redirect_stderr

        import attrs
        row = attrs.asdict(self.cost(1.0, 2.0))
        with tempfile.TemporaryDirectory(prefix="txcausal-test-bench-") as directory:
            good = Path(directory) / "good.json"
            good.write_text(json.dumps([row]))
            cases = [("missing.json", None, "No such file"), ("empty.json", "", "not JSON"),
                     ("bad.json", "{", "not JSON"), ("object.json", "{}", "not a list of rows"),
                     ("numbers.json", "[1]", "row 1 is not a JSON object"),
                     ("binary.json", b"\xff[]", "not JSON"),
                     ("fields.json", json.dumps([row, {"scenario": "x"}]), "row 2"),
                     ("extra.json", json.dumps([dict(row, colour="red")]), "row 1"),
                     ("typed.json", json.dumps([dict(row, txcausal="fast")]), "txcausal"),
                     ("directory", None, "directory")]
            (Path(directory) / "directory").mkdir()
            for name, content, why in cases:
                path = Path(directory) / name
                if isinstance(content, bytes):
                    path.write_bytes(content)
                elif content is not None:
                    path.write_text(content)
                stderr = io.StringIO()
                with redirect_stderr(stderr), self.assertRaises(SystemExit) as raised:
                    self.aggregate.main([str(good), str(path)])
                self.assertEqual(raised.exception.code, 2, name)
                [usage, error] = stderr.getvalue().splitlines()
                self.assertTrue(usage.startswith("usage: python -m bench.aggregate"), usage)
                self.assertTrue(error.startswith(f"python -m bench.aggregate: error: {path}: "),
                                error)
                self.assertIn(why, error, name)
            result = run_python(["-m", "bench.aggregate", str(good),
                                 str(Path(directory) / "missing.json")], cwd=bench_root(),
                                timeout=60)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(result.stdout, "")
