"""
Tests for the C{txcausal} pytest plugin (L{txcausal._pytest_plugin}).

A real pytest runs, once, in a subprocess on inner tests and on
C{examples/testing_pytest_example.py}; each test here checks some of its
outcomes.  (pytest-twisted tests start the reactor in a greenlet, which would
break later trial tests in this process: they run only in the inner pytest.)
"""

from __future__ import annotations

import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Dict, Tuple

from twisted.trial.unittest import SynchronousTestCase

from ._helpers import examples_dir, run_python

INNER_PYTEST = '''
import threading
import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase
from txcausal import Message, MessageType, fields, log_message, start_action, write_traceback
from txcausal.testing import assertHasMessage, capture_logging, validate_logging

def boom():
    try:
        raise ValueError("kaboom")
    except ValueError:
        write_traceback()

def test_captures(causal_logger):
    log_message("inner:x", a=1)
    assert [m["a"] for m in causal_logger.messages] == [1]

def test_traceback(causal_logger):
    with start_action(action_type="inner:t"):
        boom()

def test_flushed(causal_logger):
    boom()
    assert len(causal_logger.flush_tracebacks(ValueError)) == 1

def test_threadTraceback(causal_logger):
    thread = threading.Thread(target=boom)
    thread.start()
    thread.join()

def test_invalid(causal_logger):
    MessageType("inner:typed", fields(n=int)).log(n="one")

def test_bodyFails(causal_logger):
    log_message("inner:before")
    assert 1 == 2

def test_withoutFixture():
    boom()

@pytest.fixture
def service(causal_logger):
    yield "svc"
    boom()

def test_teardownTraceback(service):
    assert service == "svc"

@pytest.fixture
def flushingService(causal_logger):
    yield
    boom()
    causal_logger.flush_tracebacks(ValueError)

def test_teardownFlushed(flushingService):
    pass

@pytest.fixture
def missingBackend(causal_logger):
    boom()
    pytest.skip("no backend")

def test_skippedInSetup(missingBackend):
    pass

@pytest.fixture
def brokenSetup(causal_logger):
    boom()
    raise RuntimeError("setup broke")

def test_setupFails(brokenSetup):
    pass

@pytest_twisted.inlineCallbacks
def test_inlineCallbacks(causal_logger):
    yield deferLater(reactor, 0, lambda: None)
    with start_action(action_type="inner:ic"):
        boom()

@pytest_twisted.ensureDeferred
async def test_ensureDeferredPasses(causal_logger):
    await deferLater(reactor, 0, lambda: None)
    with start_action(action_type="inner:ed"):
        log_message("inner:in")
    assert len(causal_logger.messages) == 3

@pytest_twisted.ensureDeferred
async def test_ensureDeferredThread(causal_logger):
    with start_action(action_type="inner:threaded"):
        await deferToThread(boom)

class DecoratedTests(SynchronousTestCase):
    @capture_logging(None)
    def test_decorated(self, logger):
        with start_action(action_type="inner:decorated"):
            boom()

    @capture_logging(None)
    def test_decoratedFlushInCleanup(self, logger):
        self.addCleanup(logger.flush_tracebacks, ValueError)
        boom()

def _selfAssertion(self, logger):
    self.assertEqual(len(logger.messages), 2)

class TestPlainClass:
    @capture_logging(_selfAssertion)
    def test_plainSelfAssertion(self, logger):
        log_message("inner:plainSelf")

    @capture_logging(assertHasMessage, "inner:plain", {"n": 1})
    def test_plainCaptures(self, logger):
        log_message("inner:plain", n=1)

    @capture_logging(assertHasMessage, "inner:missing")
    def test_plainAssertion(self, logger):
        log_message("inner:plain")

    @capture_logging(None)
    def test_plainFixtures(self, tmp_path, logger, causal_logger):
        log_message("inner:fixtures")
        assert tmp_path.is_dir() and len(logger.messages) == 1 and not causal_logger.messages

    @validate_logging(None)
    def test_plainValidates(self, logger):
        Message.new(message_type="inner:bad", n=object()).write(logger)

    @capture_logging(None)
    def test_plainTraceback(self, logger):
        with start_action(action_type="inner:plainTraceback"):
            boom()
'''

_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR) \S+?::(?:\w+::)?(\w+)", re.M)


@lru_cache(maxsize=None)
def _inner_pytest() -> Tuple[Dict[str, str], str]:
    """
    Run a real pytest (once per process) on the inner tests and the pytest
    example, in a fresh directory.

    @return: Each test's outcome by name (C{"PASSED"}, C{"FAILED"}, ...),
        and the whole output.
    """
    directory = Path(tempfile.mkdtemp(prefix="txcausal-pytest-"))
    try:
        (directory / "pytest.ini").write_text("[pytest]\n")
        (directory / "test_inner.py").write_text(INNER_PYTEST)
        shutil.copy(examples_dir() / "testing_pytest_example.py", directory)
        result = run_python(
            ["-m", "pytest", "-rA", "-p", "no:cacheprovider", "--tb=short",
             "test_inner.py", "testing_pytest_example.py"],
            cwd=directory, env={"PYTEST_ADDOPTS": "", "PYTEST_PLUGINS": ""},
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    output = result.stdout + result.stderr
    return {m.group(2): m.group(1) for m in _OUTCOME.finditer(output)}, output


def _report_for(output: str, name: str) -> str:
    """
    @return: The failure report of test C{name}.
    """
    match = re.search(rf"^_+ (?:\w+\.)?{name} _+$(.*?)(?=^_{{3,}} |^=+ )", output, re.M | re.S)
    if match is None:
        raise AssertionError(f"No failure report for {name} in:\n{output}")
    return match.group(1)


class PytestPluginTests(SynchronousTestCase):
    """
    The C{causal_logger} fixture captures each test's logging and fails the
    test on unflushed tracebacks and invalid messages, in plain and
    pytest-twisted tests.
    """

    def test_outcomes(self) -> None:
        """
        Each inner test, and each test of the pytest example, has the
        expected outcome.
        """
        outcomes, output = _inner_pytest()
        self.assertEqual(outcomes, {
            "test_captures": "PASSED",
            "test_traceback": "FAILED",
            "test_flushed": "PASSED",
            "test_threadTraceback": "FAILED",
            "test_invalid": "FAILED",
            "test_bodyFails": "FAILED",
            "test_withoutFixture": "PASSED",
            "test_teardownTraceback": "ERROR",
            "test_teardownFlushed": "PASSED",
            "test_setupFails": "ERROR",
            "test_inlineCallbacks": "FAILED",
            "test_ensureDeferredPasses": "PASSED",
            "test_ensureDeferredThread": "FAILED",
            "test_decorated": "FAILED",
            "test_decoratedFlushInCleanup": "PASSED",
            "test_plainCaptures": "PASSED",
            "test_plainAssertion": "FAILED",
            "test_plainFixtures": "PASSED",
            "test_plainValidates": "FAILED",
            "test_plainTraceback": "FAILED",
            "test_plainSelfAssertion": "FAILED",
            "test_parsePort": "PASSED",
            "test_badLineIsLogged": "PASSED",
            "test_later": "PASSED",
        }, output)

    def test_tracebackReportShowsTree(self) -> None:
        """
        An unflushed traceback fails the test (as a failure of the test, not
        an error of its teardown) with the traceback and the tree.
        """
        output = _inner_pytest()[1]
        report = _report_for(output, "test_traceback")
        self.assertIn("1 unexpected traceback(s) logged", report)
        self.assertIn(", in boom\nValueError: kaboom\n", report)
        self.assertRegex(report, r"`-- inner:t/1 => started [^\n]*\n    \|-- eliot:traceback/2 ")
        self.assertNotIn("ERROR at teardown of test_traceback ", output)

    def test_teardownTraceback(self) -> None:
        """
        A traceback that a fixture depending on C{causal_logger} logs as it
        tears down, and does not flush, fails the teardown with the same
        report; one flushed there does not.  A test that failed on its own
        unflushed traceback is not failed again at teardown.
        """
        output = _inner_pytest()[1]
        report = _report_for(output, "ERROR at teardown of test_teardownTraceback")
        self.assertIn("1 unexpected traceback(s) logged", report)
        self.assertIn("ValueError: kaboom", report)
        self.assertEqual(output.count("ERROR at teardown"), 1, output)

    def test_setupNotCheckedAtTeardown(self) -> None:
        """
        A test skipped, or whose setup failed, in a fixture that depends on
        C{causal_logger} after that fixture logged a traceback, is not
        failed at teardown: the skip stands, and the failed setup is
        reported once.
        """
        output = _inner_pytest()[1]
        self.assertRegex(output, r"(?m)^SKIPPED .*: no backend$")
        self.assertNotIn("test_skippedInSetup", _inner_pytest()[0])
        self.assertIn("RuntimeError: setup broke",
                      _report_for(output, "ERROR at setup of test_setupFails"))
        self.assertNotIn("ERROR at teardown of test_s", output)

    def test_threadTracebacks(self) -> None:
        """
        Tracebacks logged in other threads, by a plain thread or by
        C{deferToThread} in a pytest-twisted test, fail the test.
        """
        output = _inner_pytest()[1]
        self.assertIn("ValueError: kaboom", _report_for(output, "test_threadTraceback"))
        report = _report_for(output, "test_ensureDeferredThread")
        self.assertIn("`-- inner:threaded/1 => started", report)

    def test_inlineCallbacksReport(self) -> None:
        """
        A C{pytest_twisted.inlineCallbacks} test is checked after its
        L{Deferred} fired.
        """
        report = _report_for(_inner_pytest()[1], "test_inlineCallbacks")
        self.assertIn("`-- inner:ic/1 => started", report)

    def test_invalidReport(self) -> None:
        """
        An invalid message fails the test, saying why.
        """
        report = _report_for(_inner_pytest()[1], "test_invalid")
        self.assertIn("Logged messages are invalid: ValidationError", report)

    def test_bodyFailureSection(self) -> None:
        """
        When a test using the fixture fails by itself, its report has a
        C{txcausal} section with the tree.
        """
        report = _report_for(_inner_pytest()[1], "test_bodyFails")
        self.assertIn("assert 1 == 2", report)
        self.assertRegex(report, r"Captured txcausal call -+\nCaptured log messages \(1\):")
        self.assertIn("`-- inner:before/1 ", report)

    def test_decoratorUnderPytest(self) -> None:
        """
        L{txcausal.testing.capture_logging} also works in a trial test case
        run by pytest, its checks running after the test's cleanups.
        """
        report = _report_for(_inner_pytest()[1], "test_decorated")
        self.assertIn("`-- inner:decorated/1 => started", report)

    def test_decoratorOnPlainClass(self) -> None:
        """
        L{txcausal.testing.capture_logging} and
        L{txcausal.testing.validate_logging} work on a method of a plain
        pytest class: C{logger} is not taken for a fixture, the method's
        fixtures (the plugin's too) are passed, and the checks run when the
        method returns, failing it with the tree.  The assertion helpers,
        given the plain instance, raise plain assertion failures.
        """
        output = _inner_pytest()[1]
        self.assertNotIn("fixture 'logger' not found", output)
        report = _report_for(output, "test_plainAssertion")
        self.assertIn("No message of type 'inner:missing' was logged", report)
        self.assertIn("`-- inner:plain/1 ", report)
        report = _report_for(output, "test_plainTraceback")
        self.assertIn("1 unexpected traceback(s) logged", report)
        self.assertIn("`-- inner:plainTraceback/1 => started", report)
        report = _report_for(output, "test_plainValidates")
        self.assertIn("Logged messages are invalid: TypeError", report)

    def test_assertionErrorOnPlainClass(self) -> None:
        """
        An assertion written for a test case (calling C{self.assertEqual})
        on a plain pytest class fails with its own exception and the tree,
        not as invalid messages, which are only what L{check_for_errors}
        finds.
        """
        report = _report_for(_inner_pytest()[1], "test_plainSelfAssertion")
        self.assertIn("AttributeError", report)
        self.assertIn("`-- inner:plainSelf/1", report)
        self.assertNotIn("Logged messages are invalid", report)

    def test_importIsCheap(self) -> None:
        """
        Loading the plugin imports neither the testing helpers nor Twisted's
        test runner: runs that do not use it pay nothing for them.
        """
        result = run_python(["-c", (
            "import sys, txcausal._pytest_plugin\n"
            "print(sorted(m for m in ('txcausal.testing', 'txcausal._capture', "
            "'twisted.trial') if m in sys.modules))"
        )])
        self.assertEqual((result.stdout.strip(), result.returncode), ("[]", 0), result.stderr)
