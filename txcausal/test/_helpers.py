"""
Helpers shared by txcausal's own tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import orjson
from twisted.internet.task import Clock
from twisted.trial.unittest import SkipTest

import txcausal
from txcausal import _output
from txcausal._memory import MemoryLogger


def _beside_package(name: str, marker: str, variable: str) -> Path:
    """
    Find a directory of the repository: C{$variable}, or C{name/} in the
    current directory or beside the package (editable installs), holding
    C{marker}.

    @raise SkipTest: If there is none (an installed copy run elsewhere), saying
        how to run the test.
    """
    candidates = [os.environ.get(variable), Path.cwd() / name,
                  Path(txcausal.__file__).resolve().parent.parent / name]
    for candidate in candidates:
        if candidate and (Path(candidate) / marker).exists():
            return Path(candidate)
    raise SkipTest(f"needs {name}/ from a txcausal checkout: run `tox` in the checkout, or set"
                   f" {variable}=/path/to/checkout/{name}")


def examples_dir() -> Path:
    """
    Find the repository's C{examples/} directory (C{$TXCAUSAL_EXAMPLES}
    names it).

    @raise SkipTest: If there is none.
    """
    return _beside_package("examples", "actions_tree.py", "TXCAUSAL_EXAMPLES")


def docs_dir() -> Path:
    """
    Find the repository's C{docs/} directory (C{$TXCAUSAL_DOCS} names it).

    @raise SkipTest: If there is none.
    """
    return _beside_package("docs", "quickstart.md", "TXCAUSAL_DOCS")


def bench_root() -> Path:
    """
    Find the repository root holding C{bench/}: C{$TXCAUSAL_BENCH_ROOT}, the
    current directory, or beside the package (editable installs).

    @raise SkipTest: If there is none (an installed copy run elsewhere), saying
        how to run the test.
    """
    candidates = [os.environ.get("TXCAUSAL_BENCH_ROOT"), Path.cwd(),
                  Path(txcausal.__file__).resolve().parent.parent]
    for candidate in candidates:
        if candidate and (Path(candidate) / "bench" / "_harness.py").exists():
            return Path(candidate)
    raise SkipTest("needs bench/ from a txcausal checkout: run `tox` in the checkout, or set"
                   " TXCAUSAL_BENCH_ROOT=/path/to/checkout")


#: The directory this process imports txcausal from (a checkout, or
#: C{site-packages}).
IMPORT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(txcausal.__file__)))


def child_environment(
    env: Optional[Mapping[str, str]] = None,
    path: Sequence[Union[str, Path]] = (),
) -> Dict[str, str]:
    """
    This process's environment for a Python child that imports the txcausal
    this process imports, wherever it runs: a checkout run through
    C{PYTHONPATH} (or by pytest from the checkout) as well as an installed
    copy.  Its C{PYTHONPATH} is C{path}, then L{IMPORT_ROOT}, then this
    process's own C{PYTHONPATH}, each entry made absolute.

    @param env: Variables to set or replace, but C{PYTHONPATH} (give C{path}).
    @param path: Directories the child imports from first.
    @raise ValueError: If C{env} names C{PYTHONPATH}.
    """
    if env and "PYTHONPATH" in env:
        raise ValueError("give the child's import path as path=, not env['PYTHONPATH']")
    inherited = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    entries: List[str] = []
    for entry in [*map(str, path), IMPORT_ROOT, *inherited]:
        entry = os.path.abspath(entry)
        if entry not in entries:
            entries.append(entry)
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = os.pathsep.join(entries)
    return full_env


def run_python(
    args: List[str],
    cwd: Optional[Path] = None,
    timeout: float = 120,
    env: Optional[Dict[str, str]] = None,
    path: Sequence[Union[str, Path]] = (),
    **kwargs: Any,
) -> "subprocess.CompletedProcess[str]":
    """
    Run C{python args...} with this interpreter and this txcausal (see
    L{child_environment}), capturing text output.

    @param env: Variables to set or replace in the child's environment.
    @param path: Directories the child imports from first.
    """
    return subprocess.run([sys.executable, *args], cwd=cwd, timeout=timeout,
                          env=child_environment(env, path), capture_output=True, text=True,
                          **kwargs)


def run_example(name: str, *args: str, cwd: Optional[Path] = None,
                timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    """
    Run C{examples/<name>} as a script and check it exits 0.

    @raise AssertionError: With its output, if it fails.
    """
    result = run_python([str(examples_dir() / name), *args], cwd=cwd, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"{name} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def read_json_lines(path: Path) -> List[Dict[str, Any]]:
    """
    @return: The messages of a JSON-lines log file.
    """
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


class ImmediateReactor(Clock):
    """
    A L{Clock} that runs C{callFromThread} calls at once, for writers driven
    by a memory worker on the test's own thread.
    """

    def callFromThread(self, f: Callable[..., object], *args: Any) -> None:
        f(*args)


def flush_early_buffer() -> None:
    """
    Hand the process-wide early buffer to a throwaway destination, so a
    destination added by a test receives only what the test logs.
    """

    def discard(message: Dict[str, Any]) -> None:
        pass

    txcausal.add_destinations(discard)
    txcausal.remove_destination(discard)


def removed_at_end(case: Any, destination: Callable[[Dict[str, Any]], None]) -> None:
    """
    Remove C{destination} from the process-wide destinations when the test
    C{case} ends, if it is still there: a writer that a test stopped with
    C{stopThreading} (as at exit) stays a destination, and would report
    what later tests log as refused.
    """

    def remove() -> None:
        try:
            txcausal.remove_destination(destination)
        except ValueError:
            pass

    case.addCleanup(remove)


class CapturingMixin:
    """
    For trial test cases: L{capture} swaps the default logger for a
    L{MemoryLogger} until the test ends.
    """

    def capture(self) -> MemoryLogger:
        logger = MemoryLogger()
        previous = _output.swap_logger(logger)
        self.addCleanup(_output.swap_logger, previous)  # type: ignore[attr-defined]
        return logger


class IsolatedOutputMixin:
    """
    For trial test cases: L{isolate} gives the test its own destination
    registry, standing in for the process-wide one until the test ends.
    """

    def isolate(self) -> "_output.Destinations":
        destinations = _output.Destinations()
        patch = self.patch  # type: ignore[attr-defined]
        patch(_output, "_DESTINATIONS", destinations)
        patch(_output, "_DEFAULT_LOGGER", _output.Logger(destinations))
        return destinations

    def collect(self) -> List[Dict[str, Any]]:
        """
        Isolate the output and add a destination collecting messages.

        @return: The list the messages are appended to.
        """
        messages: List[Dict[str, Any]] = []
        self.isolate().add(messages.append)
        return messages


def linecache_looks(case: Any) -> List[str]:
    """
    Make every C{linecache} function that reads or checks a source file
    record its name instead, for the rest of C{case}'s test.

    @param case: The test case, whose C{patch} undoes this at its end.
    @return: The list each such call appends its function's name to.
    """
    import linecache

    looked: List[str] = []

    def reader(name: str) -> Callable[..., Any]:
        def read(*args: Any, **kwargs: Any) -> Any:
            looked.append(name)
            return [] if name != "getline" else ""
        return read

    for name in ("getline", "getlines", "updatecache", "checkcache"):
        case.patch(linecache, name, reader(name))
    return looked
