"""
pytest's settings for txcausal's own tests: the run leaves nothing behind.

The run gets a temporary directory of its own (C{TMPDIR} of the processes
it starts too); a test that leaves anything there fails the run, naming
what it left.  Trial's C{mktemp} makes its directories there too (not in the
current directory, which other runs and tools may write to meanwhile), and
they are removed after each test, as trial empties its C{_trial_temp}.
"""

from __future__ import annotations

import os
import shutil
from typing import Iterator, List

import pytest
from twisted.trial.unittest import SynchronousTestCase

from ._leftovers import left_in, own_temporary_directory, remove_made, trial_mktemp

#: How many of the paths left a report names.
_SHOWN = 40


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RUN] = _Run(own_temporary_directory(os.environ))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(_RUN, None)
    if run is None:
        return
    left = [f"{run.tmp}/{path}" for path in left_in(run.tmp)]
    shutil.rmtree(run.tmp, ignore_errors=True)
    if left:
        shown = "\n".join(left[:_SHOWN]) + (
            f"\n... and {len(left) - _SHOWN} more" if len(left) > _SHOWN else "")
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_sep("=", "the tests left these behind", red=True)
            reporter.write_line(shown)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    """
    Remove the run's temporary directory, also when no session ran
    (C{--help}, C{--markers}).
    """
    run = config.stash.get(_RUN, None)
    if run is not None:
        shutil.rmtree(run.tmp, ignore_errors=True)


@pytest.fixture(autouse=True)
def _removeTrialTemporaryDirectories(request: pytest.FixtureRequest) -> Iterator[None]:
    """
    Make trial's C{mktemp} directories in the run's temporary directory,
    and remove them once the test has run, passed or not.
    """
    case = request.instance
    if not isinstance(case, SynchronousTestCase):
        yield
        return
    made: List[str] = []
    tmp = request.config.stash[_RUN].tmp

    def recorded() -> str:
        path = trial_mktemp(case, tmp)
        made.append(path)
        return path

    case.mktemp = recorded  # type: ignore[method-assign]
    try:
        yield
    finally:
        remove_made(made)


class _Run:
    """
    The run's temporary directory.
    """

    def __init__(self, tmp: str) -> None:
        self.tmp = tmp


_RUN = pytest.StashKey[_Run]()
