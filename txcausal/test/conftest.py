"""
pytest's settings for txcausal's own tests: the run leaves nothing behind.

The run gets a temporary directory of its own (C{TMPDIR} of the processes
it starts too); a test that leaves anything there, or in the current
directory, fails the run, naming what it left.  The directories trial's
C{mktemp} makes in the current directory are removed after each test, as
trial empties its C{_trial_temp}.
"""

from __future__ import annotations

import os
import shutil
from typing import Iterator, List

import pytest
from twisted.trial.unittest import SynchronousTestCase

from ._leftovers import left_in, own_temporary_directory, remove_made

#: How many of the paths left a report names.
_SHOWN = 40


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RUN] = _Run(own_temporary_directory(os.environ), os.getcwd(),
                              os.listdir(os.getcwd()))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(_RUN, None)
    if run is None:
        return
    left = [f"{run.tmp}/{path}" for path in left_in(run.tmp)]
    left += [os.path.join(run.cwd, path) for path in left_in(run.cwd, run.before)]
    shutil.rmtree(run.tmp, ignore_errors=True)
    if left:
        shown = "\n".join(left[:_SHOWN]) + (
            f"\n... and {len(left) - _SHOWN} more" if len(left) > _SHOWN else "")
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "the tests left these behind", red=True)
            reporter.write_line(shown)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _removeTrialTemporaryDirectories(request: pytest.FixtureRequest) -> Iterator[None]:
    """
    Remove what trial's C{mktemp} made for the test once it has run,
    passed or not.
    """
    case = request.instance
    if not isinstance(case, SynchronousTestCase):
        yield
        return
    made: List[str] = []
    mktemp = case.mktemp

    def recorded() -> str:
        path: str = mktemp()
        made.append(os.path.abspath(path))
        return path

    case.mktemp = recorded  # type: ignore[method-assign]
    try:
        yield
    finally:
        remove_made(made)


class _Run:
    """
    The run's temporary directory, and its current directory with the
    names it held at the start.
    """

    def __init__(self, tmp: str, cwd: str, before: List[str]) -> None:
        self.tmp = tmp
        self.cwd = cwd
        self.before = before


_RUN = pytest.StashKey[_Run]()
