"""
What the test suite leaves behind: a temporary directory of the run's own,
the names left in it at the end, and the removal of the directories trial's
C{mktemp} makes (under trial they live in C{_trial_temp}, which trial
empties; under pytest they are made in the run's temporary directory).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from typing import List, MutableMapping, Sequence

from twisted.trial.unittest import SynchronousTestCase

#: What may stay: pytest's own temporary directories (C{tmp_path}), which
#: pytest keeps and prunes itself, and the caches of Python, pytest and
#: Hypothesis.
KEPT = ("pytest-of-*", "__pycache__", ".pytest_cache", ".hypothesis")
#: How much of a module, class or test name trial's C{mktemp} keeps.
_MAX_FILENAME = 32


def own_temporary_directory(environ: MutableMapping[str, str]) -> str:
    """
    Make a directory of this run's own in the temporary directory, and make
    it the temporary directory of this process (C{tempfile}) and of the
    processes it starts (C{TMPDIR}), so that what the run leaves there is
    its own, whatever else uses the machine's temporary directory.

    @param environ: The environment to set C{TMPDIR} in.
    @return: The directory.
    """
    directory = tempfile.mkdtemp(prefix="txcausal-tests-")
    environ["TMPDIR"] = directory
    tempfile.tempdir = directory
    return directory


def left_in(directory: str, before: Sequence[str] = (), depth: int = 3) -> List[str]:
    """
    @param before: Names that were there before the run (left alone).
    @param depth: How deep to list what is left (C{tmpXXXX/logs/1234.log}),
        for a report that points at the test to blame; a deeper directory
        is named, not listed.
    @return: What is left in C{directory} but L{KEPT} and C{before}, as
        paths relative to it (directories that end the listing with a
        C{/}), sorted.
    """
    return [found for name in sorted(os.listdir(directory))
            if name not in before and not any(fnmatch.fnmatch(name, k) for k in KEPT)
            for found in _listed(directory, name, depth - 1)]


def _listed(top: str, relative: str, depth: int) -> List[str]:
    path = os.path.join(top, relative)
    if os.path.islink(path) or not os.path.isdir(path):
        return [relative]
    names = sorted(os.listdir(path))
    if not names or depth <= 0:
        return [relative + "/"]
    return [found for name in names
            for found in _listed(top, os.path.join(relative, name), depth - 1)]


def trial_mktemp(case: SynchronousTestCase, top: str) -> str:
    """
    Trial's C{mktemp}, in C{top} rather than the current directory.

    @param case: The test asking.
    @param top: The directory to make the path in.
    @return: An absolute path C{<top>/<module>/<class>/<test>/<random>/temp}
        whose parent exists, the path itself not.
    """
    base = os.path.join(top, *(name[:_MAX_FILENAME] for name in (
        type(case).__module__, type(case).__name__, case._testMethodName)))
    os.makedirs(base, exist_ok=True)
    return os.path.join(os.path.abspath(tempfile.mkdtemp("", "", base)), "temp")


def remove_made(made: Sequence[str]) -> None:
    """
    Remove the directories trial's C{mktemp} made: C{<random>} of each
    absolute path C{<module>/<class>/<test>/<random>/temp} it returned,
    whatever it holds, then each of its three parents left empty.
    """
    for path in made:
        directory = os.path.dirname(path)
        shutil.rmtree(directory, ignore_errors=True)
        for _ in range(3):
            directory = os.path.dirname(directory)
            try:
                os.rmdir(directory)
            except OSError:
                break
