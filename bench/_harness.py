# -*- test-case-name: txcausal.test.test_bench -*-
"""
The measuring machinery: contenders timed in interleaved repeats, medians,
rows of the result table, and the description of the machine.
"""

from __future__ import annotations

import gc
import os
import platform
import shutil
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import orjson
from attrs import define, field, frozen

#: The clock of in-process timings: this process's CPU time, which other
#: load on a shared machine disturbs far less than wall-clock time (the
#: scenarios timed with it run on one thread).
CLOCK = time.process_time

#: In a measure's name, what makes the aggregate of several runs
#: (L{bench._aggregate}) the maximum of their figures, not their median
#: (scenario 10's messages lost).
MOST_OF_ANY_RUN = "(most of any run)"

#: What a contender's setup returns: the operation to time, and its teardown.
Prepared = Tuple[Callable[[], None], Callable[[], None]]
#: A contender's setup: given a fresh directory, prepare one timing run.
Setup = Callable[[Path], Prepared]


@frozen
class Settings:
    """
    How much work each scenario does.

    @ivar quick: Smoke-test mode: a handful of iterations, tiny inputs.
    @ivar repeats: Timing runs per contender; the median is reported.
    """

    quick: bool = False
    repeats: int = 9

    def iterations(self, full: int) -> int:
        """
        @return: C{full} iterations, or a handful in quick mode.
        """
        return 5 if self.quick else full


@frozen
class Contender:
    """
    One library doing a scenario's work.

    @ivar lines: The lines each call writes to each file the contender
        writes in its directory (its subdirectories included); 0 for one
        that writes no file (its directory must then hold none).
    @ivar extra: The lines its setup and teardown write to each file
        besides (an action's start and finish).
    @ivar files: How many files it writes, if it writes any.
    """

    name: str
    setup: Setup
    lines: int = 0
    extra: int = 0
    files: int = 1


def check_lines(contender: Contender, directory: Path, calls: int) -> None:
    """
    Check, after a timing run's teardown, that the contender wrote what
    C{calls} calls log: C{files} files in C{directory}, each holding C{calls
    * lines + extra} lines, each a JSON object (after twisted.logger's
    record separator, if any) ending in a newline.

    @raise RuntimeError: Otherwise, naming the contender and the file, so
        that a contender that wrote nothing, or not whole messages, gets no
        figure.
    """
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    expected = calls * contender.lines + contender.extra
    if not contender.lines:
        if files:
            raise RuntimeError(f"{contender.name}: wrote {files[0].name}, but is declared to "
                               f"write no file")
        return
    if not files:
        raise RuntimeError(f"{contender.name}: wrote no file, {expected} lines expected")
    if len(files) != contender.files:
        names = ", ".join(str(path.relative_to(directory)) for path in files)
        plural = "s" if len(files) > 1 else ""
        raise RuntimeError(f"{contender.name}: wrote {len(files)} file{plural} ({names}), "
                           f"{contender.files} expected")
    for path in files:
        _check_file(contender.name, path, directory, expected, calls)


def _check_file(name: str, path: Path, directory: Path, expected: int, calls: int) -> None:
    """
    Check one file of L{check_lines}.
    """
    where = f"{name}: {path.relative_to(directory)}"
    lines = path.read_bytes().split(b"\n")
    cut = lines.pop() != b""
    if cut:
        lines.append(b"")
    if len(lines) != expected:
        raise RuntimeError(f"{where} holds {len(lines)} lines, {expected} expected "
                           f"({calls} calls)")
    if cut:
        raise RuntimeError(f"{where} line {len(lines)} does not end in a newline")
    for number, line in enumerate(lines, 1):
        if line.startswith(b"\x1e"):
            line = line[1:]
        if not line:
            raise RuntimeError(f"{where} line {number} is empty")
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise RuntimeError(f"{where} line {number} is not JSON") from None
        if not isinstance(value, dict):
            raise RuntimeError(f"{where} line {number} is not a JSON object")


@frozen
class Row:
    """
    One line of the table: txcausal against one peer in one scenario.

    @ivar ratio: How many times better txcausal does (peer's figure over
        txcausal's for costs), C{None} when not measurable.
    @ivar met: Whether the target is met, C{None} when there is no target
        or no ratio to judge it by.
    """

    scenario: str
    measure: str
    unit: str
    txcausal: Optional[float]
    peer: str
    peer_value: Optional[float]
    ratio: Optional[float]
    target: str = ""
    met: Optional[bool] = None
    note: str = ""


def ratio_of(peer: Optional[float], ours: Optional[float]) -> Optional[float]:
    """
    @return: C{peer / ours}, or C{None} if either is missing, zero or
        negative (a difference of two measurements lost in their noise).
    """
    if peer is None or ours is None or ours <= 0 or peer <= 0:
        return None
    return peer / ours


def compare(scenario: str, measure: str, unit: str, figures: Dict[str, float],
            peer: str, minimum: Optional[float] = None, ours: str = "txcausal",
            note: str = "", target: str = "", higher: bool = False) -> Row:
    """
    Make a row comparing C{figures[ours]} with C{figures[peer]}.

    @param minimum: The target ratio, if any.
    @param higher: Higher figures are better (throughput), so the ratio is
        ours over the peer's.
    """
    if higher:
        ratio = ratio_of(figures.get(ours), figures.get(peer))
    else:
        ratio = ratio_of(figures.get(peer), figures.get(ours))
    met = None if minimum is None or ratio is None else ratio >= minimum
    if ratio is None and figures.get(ours) is not None and figures.get(peer) is not None:
        # A figure at or below zero: the work is smaller than the run-to-run
        # noise (quick mode times a handful of iterations), so no ratio is honest.
        note = f"n/a (below the noise){'; ' + note if note else ''}"
    if minimum is not None and not target:
        target = f">= {minimum:g}x"
    return Row(scenario, measure, unit, figures.get(ours), peer, figures.get(peer), ratio,
               target, met, note)


def unavailable(scenario: str, measure: str, why: str = "not available") -> Row:
    """
    A row for a scenario that cannot run here.
    """
    return Row(scenario, measure, "", None, "-", None, None, "", None, f"n/a ({why})")


@define
class Workdir:
    """
    A temporary directory handing out fresh subdirectories.
    """

    root: Path = field(factory=lambda: Path(tempfile.mkdtemp(prefix="txcausal-bench-")))
    _count: int = 0

    def fresh(self) -> Path:
        self._count += 1
        path = self.root / f"run{self._count}"
        path.mkdir()
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _time_once(contender: Contender, workdir: Workdir, iterations: int) -> float:
    """
    Set up, warm up, time C{iterations} calls, tear down, and check what
    the contender wrote (L{check_lines}).

    @return: Microseconds (of L{CLOCK}) per call.
    """
    directory = workdir.fresh()
    op, teardown = contender.setup(directory)
    warmup = min(iterations, 200)
    try:
        for _ in range(warmup):
            op()
        gc.collect()
        start = CLOCK()
        for _ in range(iterations):
            op()
        elapsed = CLOCK() - start
    finally:
        teardown()
    check_lines(contender, directory, warmup + iterations)
    return elapsed / iterations * 1e6


def measure(contenders: Sequence[Contender], workdir: Workdir, iterations: int,
            repeats: int) -> Dict[str, float]:
    """
    Time every contender C{repeats} times, interleaved (the order rotates
    each round so none always runs first).

    @return: The median microseconds per call of each contender.
    """
    samples: Dict[str, List[float]] = {c.name: [] for c in contenders}
    for round_ in range(repeats):
        shift = round_ % len(contenders)
        for contender in [*contenders[shift:], *contenders[:shift]]:
            samples[contender.name].append(_time_once(contender, workdir, iterations))
    return {name: statistics.median(values) for name, values in samples.items()}


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> List[Tuple[str, str]]:
    """
    @return: What the figures depend on: versions and machine.
    """
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("txcausal", "eliot", "eliot-tree", "structlog", "twisted", "orjson",
                     "opentelemetry-sdk")
    )
    return [
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", versions),
        ("machine", f"{platform.system()} {platform.release()} {platform.machine()}, "
                    f"{_cpu()}, {os.cpu_count()} CPUs"),
    ]


#: The unit of a count (messages lost), shown as a whole number.
COUNT = "msgs"


def figure(value: Optional[float], unit: str) -> str:
    """
    @return: C{value} in C{unit} as the tables show it (a L{COUNT} as a whole
        number), C{-} if missing.
    """
    if value is None:
        return "-"
    if value >= 100 or unit == COUNT:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.2f} {unit}".strip()


def _verdict(row: Row) -> str:
    if row.met is None:
        return row.note or ""
    text = "met" if row.met else "**missed**"
    return f"{text}; {row.note}" if row.note else text


def table(rows: Sequence[Row]) -> str:
    """
    @return: The rows as a Markdown table.
    """
    header = ["scenario", "measure", "txcausal", "peer", "peer figure", "ratio", "target",
              "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        cells = [row.scenario, row.measure, figure(row.txcausal, row.unit), row.peer,
                 figure(row.peer_value, row.unit), ratio, row.target, _verdict(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
