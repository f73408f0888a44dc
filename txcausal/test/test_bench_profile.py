"""
Tests for C{python -m bench --profile}: the call trees of txcausal's
operations under pyinstrument, and the options it refuses.  Nothing here
asserts a timing.
"""

from __future__ import annotations

import subprocess
from typing import List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from ._helpers import bench_root, run_python


def bench_run(*args: str) -> "subprocess.CompletedProcess[str]":
    """
    Run C{python -m bench --quick ...} from the repository root.
    """
    return run_python(["-m", "bench", "--quick", *args], cwd=bench_root(), timeout=60)


def profile_run(*args: str) -> "subprocess.CompletedProcess[str]":
    """
    Run C{python -m bench --quick --profile ...} from the repository root.
    """
    return bench_run("--profile", *args)


def profiles(output: str) -> List[Tuple[str, str]]:
    """
    Split the output of C{--profile} into its profiles.

    @return: Each profile's header line and the call tree below it.
    """
    sections = []
    for section in output.split("profile: ")[1:]:
        header, _, tree = section.partition("\n")
        sections.append(("profile: " + header, tree))
    return sections


class ProfileTests(SynchronousTestCase):
    """
    C{python -m bench --profile N} profiles txcausal's operation of scenario
    C{N} with pyinstrument instead of running the timed scenarios.
    """

    def assertUsageError(self, result: "subprocess.CompletedProcess[str]",
                         message: str) -> None:
        """
        Assert that C{result} is a usage error saying C{message}, with
        nothing on standard output.
        """
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(message, result.stderr)
        self.assertIn("usage: python -m bench", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_fileDestinationTree(self) -> None:
        """
        C{--profile 2 --config file} prints a header naming the scenario as
        the table does, the configuration, the operations, the interval and
        the share under which frames are hidden, then a plain-text call tree
        reaching down from txcausal's C{log_message} to C{FileDestination},
        and no table.
        """
        result = profile_run("2", "--config", "file")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertRegex(lines[0], r"^profile: 2 message in action, "
                                   r"FileDestination; [\d,]+ operations, "
                                   r"pyinstrument interval 0\.0001 s, "
                                   r"frames under 0\.2% of the total hidden$")
        self.assertIn("log_message  txcausal/_message.py", result.stdout)
        self.assertIn("FileDestination.__call__", result.stdout)
        self.assertNotIn("ThreadedWriter", result.stdout)
        self.assertNotIn("\x1b[", result.stdout)
        self.assertNotIn("| scenario |", result.stdout)

    def test_threadedWriterTree(self) -> None:
        """
        C{--profile 1 --config threaded} says the C{ThreadedWriter}'s
        in-memory worker is drained on the profiled thread, and the tree
        holds both the caller's side (C{ThreadedWriter.__call__}) and the
        writer's (the in-memory worker's C{perform}, called by the profiled
        loop's C{drain}, a few percent of the total, which pyinstrument's
        default 1% threshold could hide in a short run).
        """
        result = profile_run("1", "--config", "threaded")
        self.assertEqual(result.returncode, 0, result.stderr)
        header = result.stdout.splitlines()[0]
        self.assertIn("profile: 1 standalone message, ThreadedWriter", header)
        self.assertIn("in-memory worker drained on this thread", header)
        self.assertIn("log_message  txcausal/_message.py", result.stdout)
        self.assertIn("ThreadedWriter.__call__", result.stdout)
        self.assertIn("drain  bench/_profile.py", result.stdout)
        self.assertIn("perform  txcausal/_writer.py", result.stdout)

    def test_bothConfigurationsByDefault(self) -> None:
        """
        Without C{--config}, scenario 3 is profiled with C{FileDestination},
        then with C{ThreadedWriter}; each tree runs scenario 3's operation:
        txcausal's C{start_action} and C{Action.__exit__}, which calls
        C{Action.finish}, and no C{DeferredContext}.
        """
        result = profile_run("3")
        self.assertEqual(result.returncode, 0, result.stderr)
        sections = profiles(result.stdout)
        self.assertEqual(len(sections), 2, result.stdout)
        self.assertIn("profile: 3 nested action pair, FileDestination;", sections[0][0])
        self.assertIn("profile: 3 nested action pair, ThreadedWriter", sections[1][0])
        for _, tree in sections:
            self.assertIn("start_action  txcausal/_action.py", tree)
            self.assertIn("Action.__exit__  txcausal/_action.py", tree)
            self.assertIn("Action.finish  txcausal/_action.py", tree)
            self.assertNotIn("DeferredContext", tree)

    def test_deferredContextTree(self) -> None:
        """
        C{--profile 4 --config file} runs scenario 4's operation: a
        C{DeferredContext} chain, its callbacks added with
        C{DeferredContext.addCallback} and its action finished with
        C{DeferredContext.addActionFinish}.
        """
        result = profile_run("4", "--config", "file")
        self.assertEqual(result.returncode, 0, result.stderr)
        sections = profiles(result.stdout)
        self.assertEqual(len(sections), 1, result.stdout)
        self.assertIn("profile: 4 DeferredContext, FileDestination;", sections[0][0])
        self.assertIn("DeferredContext.addCallback  txcausal/_deferred.py", sections[0][1])
        self.assertIn("DeferredContext.addActionFinish  txcausal/_deferred.py",
                      sections[0][1])

    def test_profilerStoppedWhenTheLoopRaises(self) -> None:
        """
        When the profiled operation raises, the exception reaches the caller
        and pyinstrument no longer profiles the thread.
        """
        code = (
            "import sys\n"
            "from bench import _profile\n"
            "def op():\n"
            "    raise ZeroDivisionError('op failed')\n"
            "try:\n"
            "    _profile._profiled(op, lambda: None, 10)\n"
            "except ZeroDivisionError as e:\n"
            "    print('raised:', e)\n"
            "print('profiler after:', sys.getprofile())\n"
        )
        result = run_python(["-c", code], cwd=bench_root(), timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "raised: op failed\nprofiler after: None\n")

    def test_badScenario(self) -> None:
        """
        A scenario other than 1 to 4 is refused with a usage error naming
        the choices.
        """
        result = profile_run("5")
        self.assertUsageError(result, "argument --profile: invalid choice: 5")
        self.assertIn("1, 2, 3, 4", result.stderr)

    def test_badConfiguration(self) -> None:
        """
        A configuration other than C{file} or C{threaded} is refused with a
        usage error.
        """
        self.assertUsageError(profile_run("1", "--config", "thread"),
                              "argument --config: invalid choice: 'thread'")

    def test_configWithoutProfile(self) -> None:
        """
        C{--config} without C{--profile} is refused with a usage error.
        (C{--only 0}, no scenario's number, is refused after it, so that the
        test stays short should the check be missing.)
        """
        self.assertUsageError(bench_run("--only", "0", "--config", "file"),
                              "--config applies only with --profile")

    def test_profileRefusesTimedRunOptions(self) -> None:
        """
        C{--profile} with C{--only}, C{--json}, C{--repeats} or C{--runs},
        options of the timed run, is refused with a usage error.
        """
        for option in (["--only", "1"], ["--json", "rows.json"], ["--repeats", "3"],
                       ["--runs", "2"]):
            self.assertUsageError(
                profile_run("1", "--config", "file", *option),
                "--profile runs no timed scenario: --only, --json, --repeats and --runs "
                "do not apply")
