"""
Tests for the test suite's own harness, in L{txcausal.test}.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, List

from twisted.internet.task import Clock
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SkipTest, SynchronousTestCase

import txcausal
from txcausal import _output
from txcausal.logwriter import ThreadedWriter
from txcausal.test import closeReactorLoopAtExit

from ._helpers import IMPORT_ROOT, child_environment, run_python
from ._leftovers import left_in, own_temporary_directory, remove_made
from ._writer_harness import WriterHarness
from .test_logwriter_fork import _Forkable


class CloseReactorLoopAtExitTests(SynchronousTestCase):
    """
    Tests for L{closeReactorLoopAtExit}.
    """

    def test_asyncioReactor(self) -> None:
        """
        The event loop of an installed asyncio reactor is closed by the
        function registered for exit.
        """
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        registered: List[Callable[[], None]] = []
        reactor = SimpleNamespace(_asyncioEventloop=loop)
        closeReactorLoopAtExit({"twisted.internet.reactor": reactor}, registered.append)
        self.assertFalse(loop.is_closed())
        for function in registered:
            function()
        self.assertTrue(loop.is_closed())

    def test_otherReactors(self) -> None:
        """
        Nothing is registered for another reactor, nor when none is
        installed.
        """
        registered: List[Callable[[], None]] = []
        closeReactorLoopAtExit({"twisted.internet.reactor": Clock()}, registered.append)
        closeReactorLoopAtExit({}, registered.append)
        self.assertEqual(registered, [])


class RunPythonTests(SynchronousTestCase):
    """
    L{run_python} runs a child that imports the txcausal this process
    imports, with this process's import path.
    """

    def setUp(self) -> None:
        self.elsewhere = Path(self.mktemp()).absolute()
        self.elsewhere.mkdir(parents=True)

    def test_sameTxcausal(self) -> None:
        """
        The child, run in another directory, imports txcausal from the same
        file as this process: the checkout under test when the tests run
        from it through C{PYTHONPATH} (or from its root) while another copy
        is installed.
        """
        child = run_python(["-c", "import txcausal; print(txcausal.__file__)"],
                           cwd=self.elsewhere)
        self.assertEqual((child.returncode, child.stderr), (0, ""))
        self.assertEqual(child.stdout.strip(), os.path.abspath(txcausal.__file__))

    def test_pythonPathKept(self) -> None:
        """
        The child imports from this process's C{PYTHONPATH} too (after the
        directory holding this txcausal), relative entries made absolute;
        C{path} comes first.
        """
        extra = self.elsewhere / "extra"
        first = self.elsewhere / "first"
        for directory, text in ((extra, "where = 'extra'"), (first, "where = 'first'")):
            directory.mkdir()
            (directory / "txcausal_probe.py").write_text(text)
        relative = os.path.relpath(extra)
        self.patch(os, "environ", dict(os.environ, PYTHONPATH=relative))
        code = "import txcausal_probe; print(txcausal_probe.where)"
        self.assertEqual(run_python(["-c", code], cwd=self.elsewhere).stdout, "extra\n")
        self.assertEqual(run_python(["-c", code], cwd=self.elsewhere, path=[first]).stdout,
                         "first\n")
        self.assertEqual(child_environment(path=[first])["PYTHONPATH"].split(os.pathsep),
                         [str(first), IMPORT_ROOT, str(extra)])

    def test_pythonPathInEnv(self) -> None:
        """
        C{PYTHONPATH} among the variables given is refused, saying to give
        C{path}: it would silently replace the import path.
        """
        e = self.assertRaises(ValueError, child_environment, {"PYTHONPATH": "/x"})
        self.assertIn("path=", str(e))


class WriterHarnessTests(SynchronousTestCase):
    """
    The writers the harnesses make leave the process-wide destinations when
    their test ends, stopped or not: a stopped one left there reports the
    messages later tests log as refused.
    """

    def test_removed(self) -> None:
        """
        A writer of L{WriterHarness.started} or L{_Forkable.forkable} that a
        test switched to writing directly with C{stopThreading} (as at exit,
        which keeps it a destination) is no destination after the test.
        """
        writers: List[ThreadedWriter] = []

        class Stopped(WriterHarness, _Forkable, SynchronousTestCase):
            def test_started(self) -> None:
                writer, _, _ = self.started()
                writer.stopThreading()
                writers.append(writer)

            def test_forkable(self) -> None:
                writer, _, _, _ = self.forkable()
                writer.stopThreading()
                writers.append(writer)

        for name in ("test_started", "test_forkable"):
            result = TestResult()
            Stopped(name).run(result)
            self.assertTrue(result.wasSuccessful(), (result.errors, result.failures))
            self.assertFalse(_output._DESTINATIONS.has(writers[-1]), name)
        self.assertEqual(len(writers), 2)


_INNER = """
import os, tempfile
from twisted.trial.unittest import SynchronousTestCase

class Inner(SynchronousTestCase):
    def test_mktemp(self):
        os.makedirs(self.mktemp())

    def test_leaves(self):
        if os.environ["LEAVE"]:
            open(os.path.join(tempfile.gettempdir(), "left.log"), "w").close()
        if os.environ.get("OTHER"):
            open("another-run.log", "w").close()


def test_interrupted():
    if os.environ.get("INTERRUPT"):
        raise KeyboardInterrupt()
"""


class LeftoversTests(SynchronousTestCase):
    """
    What the run leaves in its temporary or current directory is found, and
    what trial's C{mktemp} made is removed.
    """

    def setUp(self) -> None:
        self.top = Path(self.mktemp()).absolute()
        self.top.mkdir(parents=True)

    def test_ownTemporaryDirectory(self) -> None:
        """
        The run's temporary directory is a new, empty one in the temporary
        directory, made this process's and its children's.
        """
        self.patch(tempfile, "tempdir", str(self.top))
        environ = {"TMPDIR": "/elsewhere"}
        directory = own_temporary_directory(environ)
        self.assertEqual((os.path.dirname(directory), os.listdir(directory)),
                         (str(self.top), []))
        self.assertEqual((environ["TMPDIR"], tempfile.gettempdir()), (directory, directory))

    def test_nothingLeft(self) -> None:
        """
        An empty directory has nothing left; pytest's own temporary
        directories and the names there before do not count.
        """
        self.assertEqual(left_in(str(self.top)), [])
        (self.top / "pytest-of-root" / "pytest-0").mkdir(parents=True)
        (self.top / "checkout.txt").write_text("")
        self.assertEqual(left_in(str(self.top), ["checkout.txt"]), [])

    def test_left(self) -> None:
        """
        Files left are named by their path, down to C{depth}; an empty
        directory, or one deeper, by its own with a C{/}.
        """
        (self.top / "tmpabc" / "logs").mkdir(parents=True)
        (self.top / "tmpabc" / "logs" / "123.log").write_text("")
        (self.top / "empty").mkdir()
        (self.top / "a.log").write_text("")
        (self.top / "deep" / "er" / "still").mkdir(parents=True)
        self.assertEqual(left_in(str(self.top)),
                         ["a.log", "deep/er/still/", "empty/", "tmpabc/logs/123.log"])
        self.assertEqual(left_in(str(self.top), depth=1),
                         ["a.log", "deep/", "empty/", "tmpabc/"])

    def test_removeMade(self) -> None:
        """
        What C{mktemp} made is removed, with its parents when left empty;
        another test's directory stays.
        """
        made = [str(self.top / "mod" / "Case" / "test_a" / n / "temp") for n in ("x", "y")]
        other = self.top / "mod" / "Case" / "test_b" / "z"
        for path in [*made, str(other)]:
            Path(path).mkdir(parents=True)
            (Path(path) / "file").write_text("")
        remove_made(made)
        self.assertEqual([p.relative_to(self.top).as_posix() for p in self.top.rglob("*")],
                         ["mod", "mod/Case", "mod/Case/test_b", "mod/Case/test_b/z",
                          "mod/Case/test_b/z/file"])
        remove_made([str(other / "temp")])
        self.assertEqual(list(self.top.iterdir()), [])

    def test_mktempRemovedUnderPytest(self) -> None:
        """
        Under pytest, a directory C{mktemp} made for an earlier test of
        this class is gone (under trial, C{_trial_temp} is emptied by the
        next run instead).
        """
        if "PYTEST_CURRENT_TEST" not in os.environ:
            raise SkipTest("runs under pytest only")
        self.assertEqual([p.name for p in self.top.parent.parent.parent.iterdir()],
                         ["test_mktempRemovedUnderPytest"])

    def test_mktempInRunDirectory(self) -> None:
        """
        Under pytest, C{mktemp} makes its directories in the run's temporary
        directory, not the current directory another run may share.
        """
        if "PYTEST_CURRENT_TEST" not in os.environ:
            raise SkipTest("runs under pytest only")
        path = os.path.abspath(self.mktemp())
        self.assertEqual(os.path.commonpath([path, tempfile.gettempdir()]),
                         tempfile.gettempdir())

    def runInner(self, leave: str, *args: str,
                 **env: str) -> "subprocess.CompletedProcess[str]":
        """
        Run a real pytest with C{txcausal.test.conftest} as a plugin, on
        tests that use C{mktemp} and leave C{left.log} in the temporary
        directory if C{leave}; C{args} are pytest's, C{env} more variables.
        """
        self.cwd, self.tmp = self.top / "cwd", self.top / "tmp"
        self.cwd.mkdir(exist_ok=True)
        self.tmp.mkdir(exist_ok=True)
        (self.cwd / "pytest.ini").write_text("[pytest]\n")
        (self.cwd / "test_inner.py").write_text(_INNER)
        return run_python(
            ["-m", "pytest", "-p", "no:cacheprovider", "-p", "txcausal.test.conftest",
             "test_inner.py", *args],
            cwd=self.cwd, env={"TMPDIR": str(self.tmp), "LEAVE": leave, "PYTEST_ADDOPTS": "",
                               "PYTEST_PLUGINS": "", **env})

    def test_runClean(self) -> None:
        """
        A run whose tests leave nothing passes, and leaves nothing: its
        temporary directory is removed, and what C{mktemp} made too.
        """
        result = self.runInner("")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("left these behind", result.stdout)
        self.assertEqual((sorted(set(os.listdir(self.cwd)) - {"__pycache__"}),
                          os.listdir(self.tmp)),
                         (["pytest.ini", "test_inner.py"], []))

    def test_runLeaving(self) -> None:
        """
        A run whose tests pass but leave a file in the temporary directory
        fails, naming the file.
        """
        result = self.runInner("1")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("3 passed", result.stdout)
        self.assertRegex(result.stdout, r"the tests left these behind =+\n\S+/txcausal-tests-"
                                        r"\w+/left\.log\n")
        self.assertEqual(os.listdir(self.tmp), [])

    def test_runInterruptedLeaving(self) -> None:
        """
        An interrupted run that leaves a file keeps pytest's exit code for
        an interruption, and still names the file, on a line of its own.
        """
        result = self.runInner("1", INTERRUPT="1")
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"(^|\n)=+ the tests left these behind =+\n\S+/left\.log\n")
        self.assertEqual(os.listdir(self.tmp), [])

    def test_otherFilesInCurrentDirectory(self) -> None:
        """
        Files that appear in the current directory meanwhile (another run's,
        a linter's cache) do not fail the run.
        """
        result = self.runInner("", OTHER="1")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("left these behind", result.stdout)

    def test_noSession(self) -> None:
        """
        C{--help} and C{--markers}, which end before a session, leave no
        temporary directory either.
        """
        for option in ("--help", "--markers"):
            result = self.runInner("", option)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(os.listdir(self.tmp), [], option)
