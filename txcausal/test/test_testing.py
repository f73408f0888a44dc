"""
Tests for L{txcausal.testing}, the public facade: its exports, and decorated
tests run by a real C{trial} in a subprocess (Deferred-returning and
C{async def} tests, and the trial example), whose outcomes and reports are
checked.

The other tests of the toolkit are in C{test_capture}, C{test_capture_async},
C{test_failure_tree}, C{test_loggedaction}, C{test_memory} and
C{test_pytest_plugin}.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Dict, Tuple

from twisted.trial.unittest import SynchronousTestCase

import txcausal
import txcausal.testing

from ._helpers import examples_dir, run_python


class ExportsTests(SynchronousTestCase):
    """
    L{txcausal.testing} exports its names.
    """

    def test_all(self) -> None:
        """
        Every name of C{__all__} resolves; the tree renderer is not one of
        them (the public one is C{txcausal tree}).
        """
        for name in txcausal.testing.__all__:
            self.assertIsNotNone(getattr(txcausal.testing, name))
        self.assertNotIn("render_messages", txcausal.testing.__all__)

    def test_swapLogger(self) -> None:
        """
        L{txcausal.testing.swap_logger} replaces the default logger that
        actions and messages created from now on write to, and returns the
        previous one (test harnesses written for Eliot use it).
        """
        logger = txcausal.testing.MemoryLogger()
        previous = txcausal.testing.swap_logger(logger)
        try:
            txcausal.log_message(message_type="test:swapped")
        finally:
            self.assertIs(txcausal.testing.swap_logger(previous), logger)
        self.assertEqual([m["message_type"] for m in logger.messages], ["test:swapped"])


INNER_TRIAL = '''
import threading
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from txcausal import start_action, write_traceback
from txcausal.testing import assertHasAction, capture_logging

def boom():
    try:
        raise ValueError("kaboom")
    except ValueError:
        write_traceback()

class InnerTests(TestCase):
    @capture_logging(assertHasAction, "inner:a", True)
    def test_deferredPasses(self, logger):
        action = start_action(action_type="inner:a")
        return deferLater(reactor, 0, action.finish)

    @capture_logging(None)
    def test_deferredTraceback(self, logger):
        def later():
            with start_action(action_type="inner:later"):
                boom()
        return deferLater(reactor, 0, later)

    @capture_logging(assertHasAction, "inner:a", False)
    async def test_asyncAssertion(self, logger):
        await deferLater(reactor, 0, lambda: None)
        with start_action(action_type="inner:a"):
            pass

    @capture_logging(None)
    async def test_asyncThreadTraceback(self, logger):
        with start_action(action_type="inner:threaded"):
            await deferToThread(boom)

    @capture_logging(None)
    def test_deferredError(self, logger):
        def later():
            with start_action(action_type="inner:deferred"):
                raise ValueError("nope")
        return deferLater(reactor, 0, later)

    @capture_logging(None)
    async def test_asyncError(self, logger):
        await deferLater(reactor, 0, lambda: None)
        with start_action(action_type="inner:async"):
            {}["missing"]

    @capture_logging(None)
    async def test_asyncBodyFails(self, logger):
        await deferLater(reactor, 0, lambda: None)
        with start_action(action_type="inner:body"):
            pass
        self.assertEqual(1, 2)
'''


@lru_cache(maxsize=None)
def _inner_trial() -> Tuple[Dict[str, str], str]:
    """
    Run a real C{trial} on inner tests and on C{examples/testing_trial_example.py}
    (once per process).

    @return: Each test's outcome by name (C{"OK"}, C{"FAIL"}, ...), and the
        whole output.
    """
    directory = Path(tempfile.mkdtemp(prefix="txcausal-trial-"))
    try:
        (directory / "inner_trial.py").write_text(INNER_TRIAL)
        shutil.copy(examples_dir() / "testing_trial_example.py", directory)
        result = run_python(["-m", "twisted.trial", "inner_trial", "testing_trial_example"],
                            cwd=directory, path=[directory])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    output = result.stdout + result.stderr
    outcomes = dict((m.group(1), m.group(2))
                    for m in re.finditer(r"^\s+(test_\w+) \.\.\.\s+\[(\w+)\]", output, re.M))
    return outcomes, output


def _report_for(output: str, test_id: str) -> str:
    """
    @return: The block of trial's summary that reports C{test_id}.
    """
    for block in output.split("=" * 79):
        if re.search(rf"^{re.escape(test_id)}$", block, re.M):
            return block
    raise AssertionError(f"No report for {test_id} in:\n{output}")


class RealTrialTests(SynchronousTestCase):
    """
    Decorated tests run by a real C{trial} (in a subprocess) pass or fail as
    they should, once their L{Deferred} or coroutine is done.
    """

    def test_outcomes(self) -> None:
        """
        Each inner test has the expected outcome.
        """
        outcomes, output = _inner_trial()
        # The checks are cleanups, as in Eliot, and trial reports a failing
        # cleanup as an error.
        self.assertEqual(outcomes, {
            "test_deferredPasses": "OK",
            "test_deferredTraceback": "ERROR",
            "test_asyncAssertion": "ERROR",
            "test_asyncThreadTraceback": "ERROR",
            "test_asyncBodyFails": "FAIL",
            "test_deferredError": "ERROR",
            "test_asyncError": "ERROR",
            "test_count": "OK",
            "test_empty": "OK",
            "test_unknown": "OK",
        }, output)

    def test_deferredTracebackReport(self) -> None:
        """
        A traceback logged when a test's L{Deferred} fires fails it, with the
        tree of the captured messages.
        """
        report = _report_for(_inner_trial()[1], "inner_trial.InnerTests.test_deferredTraceback")
        self.assertIn("1 unexpected traceback(s) logged", report)
        self.assertRegex(report,
                         r"`-- inner:later/1 => started [^\n]*\n    \|-- eliot:traceback/2 ")

    def test_threadTracebackReport(self) -> None:
        """
        A traceback logged in a worker thread during an C{async def} test
        fails it.
        """
        report = _report_for(_inner_trial()[1],
                             "inner_trial.InnerTests.test_asyncThreadTraceback")
        self.assertIn("ValueError: kaboom", report)
        self.assertIn("`-- inner:threaded/1 => started", report)

    def test_asyncReports(self) -> None:
        """
        The failing assertion of an C{async def} test, and a failure of the
        test itself, are reported with the tree.
        """
        output = _inner_trial()[1]
        report = _report_for(output, "inner_trial.InnerTests.test_asyncAssertion")
        self.assertIn("Action 'inner:a' succeeded", report)
        report = _report_for(output, "inner_trial.InnerTests.test_asyncBodyFails")
        self.assertIn("1 != 2\n\nCaptured log messages (2):", report)

    def test_errorReports(self) -> None:
        """
        A test whose L{Deferred} fails, or whose coroutine raises, with
        another exception than an assertion failure errors with the
        exception's type, message and traceback, then the tree.
        """
        output = _inner_trial()[1]
        report = _report_for(output, "inner_trial.InnerTests.test_deferredError")
        self.assertIn('raise ValueError("nope")', report)
        self.assertRegex(report, r"ErrorWithLog: builtins.ValueError: nope\n\n"
                                 r"Captured log messages \(2\):\n[^\n]+\n"
                                 r"`-- inner:deferred/1 => started ")
        report = _report_for(output, "inner_trial.InnerTests.test_asyncError")
        self.assertIn('{}["missing"]', report)
        self.assertRegex(report, r"ErrorWithLog: builtins.KeyError: 'missing'\n\n"
                                 r"Captured log messages \(2\):\n[^\n]+\n"
                                 r"`-- inner:async/1 => started ")
