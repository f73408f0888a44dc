"""
The real C{txcausal} command, in a subprocess, on trial's
C{_trial_temp/test.log} written by a real trial run: its text events and
tracebacks read directly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from txcausal.test._helpers import child_environment, examples_dir
from txcausal.test._reading import txcausal


class TrialLogTests(SynchronousTestCase):
    """
    trial's C{_trial_temp/test.log}, written by a real trial run, is read
    directly.
    """

    def test_trialLog(self) -> None:
        """
        C{tree} shows the tasks logged by the tests and trial's own events,
        every line read; C{--failed} the failing action.
        """
        cwd = Path(self.mktemp())
        cwd.mkdir()
        env = child_environment(path=[examples_dir() / "trial_redirect"])
        trial = subprocess.run([sys.executable, "-m", "twisted.trial", "redirect_demo"],
                               cwd=cwd, env=env, capture_output=True, timeout=120)
        self.assertEqual(trial.returncode, 0, trial.stdout + trial.stderr)
        result = txcausal("tree", "_trial_temp/test.log", cwd=cwd)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertIn("demo:work/1 ⇒ started", result.stdout)
        self.assertIn("demo:step/2", result.stdout)
        self.assertIn("log_text: --> redirect_demo.test_demo.DemoTests.test_loggedWork <--",
                      result.stdout)
        failed = txcausal("tree", "--failed", "_trial_temp/test.log", cwd=cwd).stdout
        self.assertIn("demo:doomed/2 ⇒ failed", failed)
        self.assertNotIn("demo:work", failed)


#: A test module whose tests fail, log a Twisted failure and leave a failed
#: Deferred unhandled: trial writes tracebacks of its own to test.log.
_FAILING_TESTS = """
import gc
from twisted.internet import defer
from twisted.logger import Logger
from twisted.trial.unittest import TestCase
from txcausal import start_action
from txcausal.twisted import redirectLogsForTrial

redirectLogsForTrial()

class T(TestCase):
    def test_errors(self):
        with start_action(action_type="t:errors", item=7):
            raise KeyError("boom")

    def test_loggedFailure(self):
        try:
            1 / 0
        except ZeroDivisionError:
            Logger().failure("Dividing {what}", what="things")

    def test_unhandled(self):
        defer.fail(ValueError("nobody handled me"))
        gc.collect()
"""


class TrialFailuresTests(SynchronousTestCase):
    """
    trial's C{test.log} after a run with errors: the failed actions and
    Twisted's own tracebacks are read as failures.
    """

    def test_failuresAndTracebacks(self) -> None:
        """
        C{tree --failed} shows the action that failed, the failure logged
        with Twisted's logger and the unhandled error in a Deferred, each
        with its exception; every line is read.
        """
        cwd = Path(self.mktemp())
        (cwd / "failing").mkdir(parents=True)
        (cwd / "failing" / "__init__.py").write_text("")
        (cwd / "failing" / "test_failing.py").write_text(_FAILING_TESTS)
        env = child_environment(path=[cwd])
        trial = subprocess.run([sys.executable, "-m", "twisted.trial", "failing"],
                               cwd=cwd, env=env, capture_output=True, timeout=120)
        self.assertIn(b"FAILED (errors=", trial.stdout, trial.stdout + trial.stderr)
        result = txcausal("tree", "--failed", "-l", "0", "_trial_temp/test.log", cwd=cwd)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertIn("t:errors/2 ⇒ failed", result.stdout)
        self.assertIn("exception: builtins.KeyError", result.stdout)
        self.assertRegex(result.stdout, r"exception: builtins.ZeroDivisionError\n.*\n"
                         r".*log_text: Dividing things\n")
        self.assertRegex(result.stdout, r"exception: builtins.ValueError\n(.*\n)*"
                         r".*reason: nobody handled me\n")
        self.assertNotIn("exception: Failure", result.stdout)
        self.assertNotIn("--> failing.", result.stdout)
