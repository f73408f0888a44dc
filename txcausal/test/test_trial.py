"""
Tests for L{txcausal._trial}: L{redirectLogsForTrial}.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import orjson
from twisted.internet.defer import Deferred
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from txcausal import _trial, add_destinations
from txcausal._trial import TrialRedirector, isTrialProgram, redirectLogsForTrial
from txcausal._twistedlog import TwistedDestination
from txcausal.test._helpers import child_environment, examples_dir


class IsTrialProgramTests(SynchronousTestCase):
    """
    Tests for L{isTrialProgram}.
    """

    def test_trial(self) -> None:
        """
        The C{trial} script, C{python -m twisted.trial} and a C{trial -j}
        worker are trial.
        """
        for argv0 in ["/venv/bin/trial", "trial", r"C:\venv\Scripts\trial.exe",
                      "/venv/lib/python3.11/site-packages/twisted/trial/__main__.py",
                      "/venv/lib/python3.11/site-packages/twisted/trial/_dist/workertrial.py"]:
            self.assertTrue(isTrialProgram(argv0), argv0)

    def test_versionedScript(self) -> None:
        """
        The script under a name with Python's version, as distributions
        install it (Debian's C{trial3}; C{trial-3.11}), is trial too.
        """
        for argv0 in ["/usr/bin/trial3", "trial3", "/usr/bin/trial-3", "/usr/bin/trial3.11",
                      "/usr/bin/trial-3.11", r"C:\Python\Scripts\trial3.exe"]:
            self.assertTrue(isTrialProgram(argv0), argv0)

    def test_notTrial(self) -> None:
        """
        pytest, Python's own C{-c}, a server, and look-alikes are not trial.
        """
        for argv0 in ["/venv/bin/pytest", "/venv/lib/site-packages/pytest/__main__.py", "-c",
                      "", "/venv/bin/twistd", "/srv/app/__main__.py", "/srv/trial.py",
                      "/srv/mytrial", "/srv/trial/__main__.py", "/srv/trial3.py",
                      "/srv/trials", "/srv/trial-x", "/srv/trial3.", "/srv/mytrial3"]:
            self.assertFalse(isTrialProgram(argv0), argv0)


class TrialRedirectorTests(SynchronousTestCase):
    """
    Tests for L{TrialRedirector}, with injected C{argv} and registry.
    """

    def redirector(self, argv: Sequence[str]) -> Tuple[TrialRedirector, List[Any]]:
        added: List[Any] = []
        events: List[Dict[str, Any]] = []
        return TrialRedirector(lambda: argv, events.append, added.append), added

    def test_underTrialAddsATwistedDestination(self) -> None:
        """
        Under trial, a L{TwistedDestination} emitting to the given publisher
        is added and returned.
        """
        redirector, added = self.redirector(["/venv/bin/trial", "pkg"])
        destination = redirector.redirect()
        self.assertIsInstance(destination, TwistedDestination)
        self.assertEqual(added, [destination])

    def test_idempotent(self) -> None:
        """
        Redirecting twice adds one destination and returns it both times.
        """
        redirector, added = self.redirector(["trial"])
        first = redirector.redirect()
        self.assertIs(redirector.redirect(), first)
        self.assertEqual(len(added), 1)

    def test_notUnderTrial(self) -> None:
        """
        Under pytest, or with an empty C{argv}, nothing is added.
        """
        for argv in [["/venv/bin/pytest"], []]:
            redirector, added = self.redirector(argv)
            self.assertIsNone(redirector.redirect())
            self.assertEqual(added, [])

    def test_globalRedirector(self) -> None:
        """
        L{redirectLogsForTrial} uses a redirector looking at C{sys.argv},
        emitting to twisted.logger's global publisher and adding to the
        global destinations.
        """
        self.assertIs(_trial._REDIRECTOR._argv(), sys.argv)
        self.assertIs(_trial._REDIRECTOR._publisher, globalLogPublisher)
        self.assertIs(_trial._REDIRECTOR._addDestination, add_destinations)
        redirector, added = self.redirector(["trial"])
        self.patch(_trial, "_REDIRECTOR", redirector)
        self.assertEqual([redirectLogsForTrial()], added)


def _messagesIn(tempDir: Path) -> List[Dict[str, Any]]:
    """
    @return: The JSON messages of every C{test.log} under C{tempDir}, with
        or without trial's timestamp prefix.
    """
    messages = []
    for log in sorted(tempDir.rglob("test.log")):
        for line in log.read_text().splitlines():
            start = line.find("{")
            if start != -1:
                messages.append(orjson.loads(line[start:]))
    return messages


class RealTrialTests(TestCase):
    """
    A real trial subprocess over C{examples/trial_redirect} logs its
    messages to C{_trial_temp/test.log}, and the test expecting a failed
    action passes.
    """

    def runTrial(self, *command: str) -> "Deferred[None]":
        from twisted.internet import reactor
        from twisted.internet.utils import getProcessOutputAndValue

        package = examples_dir() / "trial_redirect"
        cwd = Path(self.mktemp())
        cwd.mkdir()
        env = child_environment(path=[package])
        d = getProcessOutputAndValue(command[0], command[1:], env=env, path=str(cwd),
                                     reactor=reactor)
        return d.addCallback(self.checkRun, cwd / "_trial_temp")  # type: ignore[no-any-return]

    def checkRun(self, result: Tuple[bytes, bytes, int], tempDir: Path) -> None:
        out, err, code = result
        output = (out + err).decode("utf-8", "replace")
        self.assertEqual(code, 0, output)
        self.assertIn("PASSED (successes=2)", output)
        messages = _messagesIn(tempDir)
        summary = [(m.get("action_type") or m.get("message_type"), m.get("action_status"))
                   for m in messages]
        for expected in [("demo:work", "started"), ("demo:step", None),
                         ("demo:work", "succeeded"), ("demo:doomed", "failed"),
                         ("eliot:traceback", None)]:
            self.assertIn(expected, summary)

    def trialScript(self) -> str:
        script = Path(sys.executable).parent / "trial"
        if not script.exists():
            raise SkipTest(f"no trial script beside {sys.executable}")
        return str(script)

    def test_trialScript(self) -> "Deferred[None]":
        """
        C{trial redirect_demo}.
        """
        return self.runTrial(self.trialScript(), "redirect_demo")

    def test_pythonDashM(self) -> "Deferred[None]":
        """
        C{python -m twisted.trial redirect_demo}.
        """
        return self.runTrial(sys.executable, "-m", "twisted.trial", "redirect_demo")

    def test_distributedWorkers(self) -> "Deferred[None]":
        """
        C{trial -j 2 redirect_demo}: the workers log too.
        """
        return self.runTrial(self.trialScript(), "-j", "2", "redirect_demo")
