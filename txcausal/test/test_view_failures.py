"""
How the web view logs its failures (L{log_failure}), and how C{txcausal web}
prints them on standard error (L{ViewFailures}).
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from typing import List, cast

from twisted.logger import ILogObserver, LogBeginner, LogEvent, Logger, LogLevel, LogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli._web import ViewFailures, begin_logging
from txcausal._view_failures import NAMESPACE, log_failure, view_log
from txcausal._view_index import QueryStopped


def failure_of(error: Exception) -> Failure:
    """
    A failure of C{error}, raised, with its traceback.
    """
    try:
        raise error
    except Exception:
        return Failure()


class LogFailureTests(SynchronousTestCase):
    """
    L{log_failure}.
    """

    def setUp(self) -> None:
        self.events: List[LogEvent] = []
        self.log = Logger(namespace=NAMESPACE, observer=cast(ILogObserver, self.events.append))

    def test_logged(self) -> None:
        """
        A failure is logged once, at the C{critical} level (as twisted.web
        logs a failed render: Twisted prints it on standard error until the
        application begins logging), with the format and fields given, and
        passed on.
        """
        failure = failure_of(ValueError("a bad task"))
        self.assertIs(log_failure(failure, self.log, "doing {what} failed", what="x"), failure)
        [event] = self.events
        self.assertEqual((event["log_failure"], event["log_level"], event["log_format"],
                          event["what"], event["log_namespace"]),
                         (failure, LogLevel.critical, "doing {what} failed", "x", NAMESPACE))

    def test_stopNotLogged(self) -> None:
        """
        A stop (the server stops, or nobody waits for the answer) is no
        failure: not logged, passed on.
        """
        failure = failure_of(QueryStopped())
        self.assertIs(log_failure(failure, self.log, "doing it failed"), failure)
        self.assertEqual(self.events, [])

    def test_cleanedFirst(self) -> None:
        """
        The failure is cleaned (its frames let go) before it is logged.
        (Checked through the call: a test runner may have made
        C{cleanFailure} do nothing.)
        """
        order: List[str] = []
        self.patch(Failure, "cleanFailure", lambda failure: order.append("cleaned"))
        self.log.observer = cast(ILogObserver, lambda event: order.append("logged"))
        log_failure(failure_of(ValueError("a bad task")), self.log, "doing it failed")
        self.assertEqual(order, ["cleaned", "logged"])

    def test_seenBeforeLoggingBegins(self) -> None:
        """
        In a program that has not begun twisted.logger's logging (an
        application embedding the view), a failure logged by the view
        still reaches standard error, through Twisted's temporary
        observer.
        """
        code = ("from twisted.python.failure import Failure\n"
                "from txcausal._view_failures import log_failure, view_log\n"
                "try:\n    raise ValueError('a bad task')\n"
                "except ValueError:\n    failure = Failure()\n"
                "log_failure(failure, view_log, 'building the page of {page} failed',"
                " page='t')\n")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("building the page of t failed", result.stderr)
        self.assertIn("ValueError: a bad task", result.stderr)

    def test_viewNamespace(self) -> None:
        """
        The view's own logger logs in L{NAMESPACE}, which C{txcausal web}
        looks for.
        """
        self.assertEqual(view_log.namespace, NAMESPACE)


class ViewFailuresTests(SynchronousTestCase):
    """
    L{ViewFailures}: what C{txcausal web} prints of the failures the view
    logs.
    """

    def setUp(self) -> None:
        self.stderr = io.StringIO()
        self.log = Logger(namespace=NAMESPACE,
                          observer=cast(ILogObserver, ViewFailures(self.stderr)))

    def test_prefixed(self) -> None:
        """
        The report starts with C{txcausal web: }, as the command's other
        reports do, says what failed, and gives the traceback below,
        indented.
        """
        log_failure(failure_of(ValueError("a bad task")), self.log,
                    "building the page of {page} failed", page="task 't'")
        lines = self.stderr.getvalue().splitlines()
        self.assertEqual(lines[0], "txcausal web: building the page of task 't' failed")
        self.assertEqual(lines[1], "  Traceback (most recent call last):")
        self.assertEqual(lines[-1], "  builtins.ValueError: a bad task")
        self.assertEqual([line for line in lines[1:] if not line.startswith("  ")], [])
        self.assertTrue(self.stderr.getvalue().endswith("\n"))

    def test_escaped(self) -> None:
        """
        An error's text (which may hold what a log file holds) cannot
        drive the terminal nor forge a line of its own.
        """
        text = "bad \x1b[2J\rtxcausal web: serving http://evil/"
        log_failure(failure_of(ValueError(text)), self.log, "the task list's query failed")
        output = self.stderr.getvalue()
        self.assertNotIn("\x1b", output)
        self.assertNotIn("\r", output)
        self.assertIn("bad \\x1b[2J\\rtxcausal web: serving", output)
        starts = [line for line in output.splitlines() if line.startswith("txcausal web:")]
        self.assertEqual(starts, ["txcausal web: the task list's query failed"])

    def test_repeatedCounted(self) -> None:
        """
        A failure of the same kind (what failed, the error's type and
        message) is printed whole the first time only, then as one line
        with its count at its 1001st time, 2001st, and so on.
        """
        for _ in range(2001):
            log_failure(failure_of(ValueError("a bad task")), self.log,
                        "the task list's query failed")
        lines = self.stderr.getvalue().splitlines()
        reports = [line for line in lines if not line.startswith("  ")]
        self.assertEqual(reports, [
            "txcausal web: the task list's query failed",
            "txcausal web: the task list's query failed (ValueError: a bad task,"
            " 1001 times so far)",
            "txcausal web: the task list's query failed (ValueError: a bad task,"
            " 2001 times so far)",
        ])
        self.assertEqual(sum(line == "  Traceback (most recent call last):" for line in lines), 1)

    def test_kindsApart(self) -> None:
        """
        Failures that differ in what failed, the error's type or its
        message are each printed whole the first time.
        """
        for what, error in [("the task list's query failed", ValueError("a")),
                            ("the task list's query failed", ValueError("b")),
                            ("the task list's query failed", KeyError("a")),
                            ("building the page of {page} failed", ValueError("a")),
                            ("the task list's query failed", ValueError("a"))]:
            log_failure(failure_of(error), self.log, what, page="task 't'")
        lines = self.stderr.getvalue().splitlines()
        self.assertEqual(sum(line == "  Traceback (most recent call last):" for line in lines), 4)
        self.assertEqual(len([line for line in lines if not line.startswith("  ")]), 4)

    def _boundedTwo(self, errors: str) -> List[str]:
        """
        Report a failure for each letter of C{errors} (a C{ValueError} of
        that text) to a L{ViewFailures} that counts two kinds at most.

        @return: The lines it printed.
        """
        observer = ViewFailures(self.stderr, max_kinds=2)
        log = Logger(namespace=NAMESPACE, observer=cast(ILogObserver, observer))
        for text in errors:
            log_failure(failure_of(ValueError(text)), log, "the task list's query failed")
        return self.stderr.getvalue().splitlines()

    def test_kindsBounded(self) -> None:
        """
        The kinds counted are bounded (a failure naming each task would
        grow them without end): past the bound, the oldest is forgotten,
        and printed whole again if it comes back.
        """
        lines = self._boundedTwo("abca")
        self.assertEqual(sum(line == "  Traceback (most recent call last):" for line in lines), 4)

    def test_leastRecentForgotten(self) -> None:
        """
        Past the bound, the kind seen least recently is forgotten, not the
        one seen first: a kind that keeps coming back keeps its count, and
        is not printed whole again.
        """
        lines = self._boundedTwo("abaca")
        self.assertEqual(sum(line == "  Traceback (most recent call last):" for line in lines), 3)
        self.assertEqual([line for line in lines if line.startswith("  builtins.")],
                         ["  builtins.ValueError: a", "  builtins.ValueError: b",
                          "  builtins.ValueError: c"])

    def test_othersIgnored(self) -> None:
        """
        What others log (a failure in another namespace, an event without
        a failure) is not printed: Twisted's own log has its place.
        """
        other = Logger(namespace="app", observer=cast(ILogObserver, ViewFailures(self.stderr)))
        other.failure("app failed", failure_of(ValueError("x")), level=LogLevel.error)
        self.log.error("no failure here")
        self.assertEqual(self.stderr.getvalue(), "")


class _Warnings:
    """
    The C{warnings} module, as far as a L{LogBeginner} uses it.
    """

    showwarning = None


class BeginLoggingTests(SynchronousTestCase):
    """
    L{begin_logging}: C{txcausal web} prints each of the view's failures
    once, with its prefix, not also through Twisted's temporary observer.
    """

    def test_printedOnce(self) -> None:
        """
        A failure the view logs (at the critical level, which the temporary
        observer prints) is printed once, by L{ViewFailures}; another
        critical event is printed as the temporary observer printed it; an
        event below the critical level is not printed.
        """
        stderr, before = io.StringIO(), io.StringIO()
        publisher = LogPublisher()
        beginner = LogBeginner(publisher, before, sys, _Warnings())
        begin_logging(stderr, beginner)
        log = Logger(namespace=NAMESPACE, observer=publisher)
        log_failure(failure_of(ValueError("a bad task")), log, "the task list's query failed")
        other = Logger(namespace="app", observer=publisher)
        other.failure("Unhandled error", failure_of(KeyError("k")), level=LogLevel.critical)
        other.error("not printed")
        reports = [line for line in stderr.getvalue().splitlines()
                   if line and not line.startswith("  ")]
        self.assertEqual(reports[:2], ["txcausal web: the task list's query failed",
                                       "Unhandled error"])
        self.assertEqual(reports[-1], "builtins.KeyError: 'k'")
        self.assertNotIn("not printed", stderr.getvalue())
        self.assertEqual(before.getvalue(), "")

    def test_bufferNotPrintedAgain(self) -> None:
        """
        A critical event logged before logging began (which the temporary
        observer printed then) is not printed again when it begins.
        """
        stderr, before = io.StringIO(), io.StringIO()
        publisher = LogPublisher()
        beginner = LogBeginner(publisher, before, sys, _Warnings())
        other = Logger(namespace="app", observer=publisher)
        other.failure("Unhandled error", failure_of(KeyError("k")), level=LogLevel.critical)
        self.assertIn("Unhandled error", before.getvalue())
        begin_logging(stderr, beginner)
        other.critical("after")
        self.assertEqual(stderr.getvalue(), "after\n")

    def test_warningsKept(self) -> None:
        """
        Python's warnings are shown as before logging began, not sent to
        the log (where no observer prints them).
        """
        shown = warnings.showwarning
        self.addCleanup(setattr, warnings, "showwarning", shown)
        beginner = LogBeginner(LogPublisher(), io.StringIO(), sys, warnings)
        begin_logging(io.StringIO(), beginner)
        self.assertIs(warnings.showwarning, shown)
