"""
How the web view logs its failures (L{log_failure}), and how C{txcausal web}
prints them on standard error (L{ViewFailures}).
"""

from __future__ import annotations

import io
from typing import List, cast

from twisted.logger import ILogObserver, LogEvent, Logger, LogLevel
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli._web import ViewFailures
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
        A failure is logged once, at the C{error} level, with the format
        and fields given, and passed on.
        """
        failure = failure_of(ValueError("a bad task"))
        self.assertIs(log_failure(failure, self.log, "doing {what} failed", what="x"), failure)
        [event] = self.events
        self.assertEqual((event["log_failure"], event["log_level"], event["log_format"],
                          event["what"], event["log_namespace"]),
                         (failure, LogLevel.error, "doing {what} failed", "x", NAMESPACE))

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

    def test_othersIgnored(self) -> None:
        """
        What others log (a failure in another namespace, an event without
        a failure) is not printed: Twisted's own log has its place.
        """
        other = Logger(namespace="app", observer=cast(ILogObserver, ViewFailures(self.stderr)))
        other.failure("app failed", failure_of(ValueError("x")), level=LogLevel.error)
        self.log.error("no failure here")
        self.assertEqual(self.stderr.getvalue(), "")
