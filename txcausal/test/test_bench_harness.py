"""
Tests for the benchmark's checks of what each in-process contender wrote
(C{bench._harness.check_lines}), and for the error exit of a run in which a
scenario failed.  Nothing here asserts a timing.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

from twisted.trial.unittest import SynchronousTestCase

from ._helpers import bench_root


def _writer(lines_per_call: int, extra: int = 0, name: str = "out.log", line: bytes = b"{}\n",
            last: bytes = b"") -> Callable[[Path], Tuple[Callable[[], None],
                                                         Callable[[], None]]]:
    """
    @return: A contender's setup writing C{lines_per_call} times C{line} each
        call to C{name} in its directory, C{extra} more at teardown, then
        C{last}.
    """
    def setup(directory: Path) -> Tuple[Callable[[], None], Callable[[], None]]:
        file = open(directory / name, "wb")

        def op() -> None:
            file.write(line * lines_per_call)

        def teardown() -> None:
            file.write(line * extra + last)
            file.close()

        return op, teardown

    return setup


def _nothing(directory: Path) -> Tuple[Callable[[], None], Callable[[], None]]:
    return (lambda: None), (lambda: None)


class CheckLinesTests(SynchronousTestCase):
    """
    L{bench._harness.measure} fails a run whose contender did not write
    every line it logged, instead of giving it a figure and a verdict.
    """

    def setUp(self) -> None:
        root = str(bench_root())
        sys.path.insert(0, root)
        self.addCleanup(sys.path.remove, root)
        from bench import _harness
        self.harness: Any = _harness
        self.workdir = _harness.Workdir()
        self.addCleanup(self.workdir.cleanup)

    def measure(self, *contenders: Any) -> Any:
        return self.harness.measure(contenders, self.workdir, 10, 2)

    def test_everyLineWritten(self) -> None:
        """
        Contenders that wrote every line (the warm-up's and the timed
        calls', and their setup's and teardown's) get their figures.
        """
        Contender = self.harness.Contender
        figures = self.measure(Contender("one", _writer(1), 1),
                               Contender("four", _writer(4), 4),
                               Contender("action", _writer(1, 2), 1, 2),
                               Contender("bare", _nothing))
        self.assertEqual(sorted(figures), ["action", "bare", "four", "one"])

    def test_nothingWritten(self) -> None:
        """
        A contender that wrote no file (its messages lost, say on a full
        disk) fails the run, with its name and what was expected.
        """
        Contender = self.harness.Contender
        error = self.assertRaises(RuntimeError, self.measure,
                                  Contender("one", _writer(1), 1),
                                  Contender("silent", _nothing, 1))
        # 10 timed calls after a warm-up of 10.
        self.assertEqual(str(error), "silent: wrote no file, 20 lines expected")

    def test_linesMissing(self) -> None:
        """
        A contender whose file holds fewer lines than it logged (or more)
        fails the run, naming the file.
        """
        Contender = self.harness.Contender
        error = self.assertRaises(RuntimeError, self.measure,
                                  Contender("short", _writer(1), 2))
        self.assertEqual(str(error), "short: out.log holds 20 lines, 40 expected (20 calls)")
        error = self.assertRaises(RuntimeError, self.measure,
                                  Contender("action", _writer(1), 1, 2))
        self.assertEqual(str(error), "action: out.log holds 20 lines, 22 expected (20 calls)")

    def test_everyFileCounted(self) -> None:
        """
        Every file in the contender's directory, in subdirectories too, must
        hold all the lines: one short file of several fails the run.
        """
        Contender = self.harness.Contender

        def two(directory: Path) -> Tuple[Callable[[], None], Callable[[], None]]:
            (directory / "sub").mkdir()
            full_op, full_close = _writer(1, name="sub/full.log")(directory)
            _, short_close = _writer(0, name="short.log")(directory)

            def teardown() -> None:
                full_close()
                short_close()

            return full_op, teardown

        error = self.assertRaises(RuntimeError, self.measure,
                                  Contender("two", two, 1, files=2))
        self.assertEqual(str(error), "two: short.log holds 0 lines, 20 expected (20 calls)")

    def test_filesCounted(self) -> None:
        """
        A contender declared to write several files that wrote fewer (or
        more) fails the run, even if each holds every line.
        """
        Contender = self.harness.Contender
        error = self.assertRaises(RuntimeError, self.measure,
                                  Contender("ten", _writer(1, name="tx0.log"), 1, files=10))
        self.assertEqual(str(error), "ten: wrote 1 file (tx0.log), 10 expected")

    def test_emptyLines(self) -> None:
        """
        Empty lines are not messages: a contender writing them fails the
        run.
        """
        Contender = self.harness.Contender
        error = self.assertRaises(RuntimeError, self.measure,
                                  Contender("empty", _writer(1, line=b"\n"), 1))
        self.assertEqual(str(error), "empty: out.log line 1 is empty")

    def test_lastLineCut(self) -> None:
        """
        A file whose last line lacks its newline (a message cut short)
        fails the run.
        """
        Contender = self.harness.Contender
        error = self.assertRaises(RuntimeError, self.measure,
                                  Contender("cut", _writer(1, 0, last=b'{"a":'), 1, 1))
        self.assertEqual(str(error), "cut: out.log line 21 does not end in a newline")

    def test_notAnObject(self) -> None:
        """
        Each line must be a JSON object: other JSON or no JSON fails the run.
        """
        Contender = self.harness.Contender
        for line, reason in [(b"[]\n", "not a JSON object"), (b"span\n", "not JSON")]:
            error = self.assertRaises(RuntimeError, self.measure,
                                      Contender("odd", _writer(1, line=line), 1))
            self.assertEqual(str(error), f"odd: out.log line 1 is {reason}")

    def test_recordSeparator(self) -> None:
        """
        twisted.logger's C{jsonFileLogObserver} starts each line with an
        ASCII record separator, which is not part of its JSON object.
        """
        Contender = self.harness.Contender
        figures = self.measure(Contender("twisted", _writer(1, line=b"\x1e{}\n"), 1))
        self.assertEqual(list(figures), ["twisted"])

    def test_undeclaredFile(self) -> None:
        """
        A contender declared to write nothing (a bare baseline) that writes
        a file fails the run: a contender must say what it writes.
        """
        Contender = self.harness.Contender
        error = self.assertRaises(RuntimeError, self.measure, Contender("bare", _writer(1)))
        self.assertEqual(str(error), "bare: wrote out.log, but is declared to write no file")


class ExitStatusTests(SynchronousTestCase):
    """
    C{python -m bench} (L{bench._main.main}) exits with an error when a
    scenario failed, so that a run whose contender wrote short files is not
    taken for a good one.
    """

    def setUp(self) -> None:
        root = str(bench_root())
        sys.path.insert(0, root)
        self.addCleanup(sys.path.remove, root)
        from bench import _main, _otel
        self.main: Any = _main.main
        self.patch(_otel, "run", self.scenario)
        self.error: Optional[Exception] = None
        output = io.StringIO()
        self.patch(sys, "stdout", output)
        self.patch(sys, "stderr", output)

    def scenario(self, settings: Any, workdir: Any) -> List[Any]:
        """
        Scenario 9, replaced: it raises L{error} if set, or makes no row.
        """
        if self.error is not None:
            raise self.error
        return []

    def test_failedScenario(self) -> None:
        """
        A scenario that raised (a contender's file short, say) makes the
        command exit with an error naming it, with C{--runs} too.
        """
        self.error = RuntimeError("txcausal: wrote no file, 20 lines expected")
        for argv in (["--quick", "--only", "9"], ["--quick", "--only", "9", "--runs", "2"]):
            raised = self.assertRaises(SystemExit, self.main, argv)
            self.assertEqual(raised.code, "failed: scenario 9 (see the tracebacks above)")

    def test_noFailure(self) -> None:
        """
        A run whose scenarios all ran exits normally.
        """
        self.assertIsNone(self.main(["--quick", "--only", "9"]))
