# -*- test-case-name: txcausal.test.test_view_failures,txcausal.test.test_view_builds -*-
"""
How the web view reports what fails while it answers a request (building a
task's page, answering the task list or one of its searches): each failure
logged once through twisted.logger (L{log_failure}), in the namespace
L{NAMESPACE}, at the C{critical} level, as twisted.web logs a failed
render.  C{txcausal web} prints them on standard error (L{txcausal._cli._web});
an application sees them in its own log, and until it begins
twisted.logger's logging, Twisted prints them on standard error (its
temporary observer prints the critical events).
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from ._view_index import QueryStopped

#: The namespace of the events the web view logs for its failures.
NAMESPACE = "txcausal.webview"
#: Where they are logged by default.
view_log = Logger(namespace=NAMESPACE)


def log_failure(failure: Failure, /, log: Logger, format: str, **fields: Any) -> Failure:
    """
    Log C{failure} once, with C{format} and C{fields} (see
    C{Logger.failure}), unless it is a stop (L{QueryStopped}: the server is
    stopping, or nobody waits for the answer), which is no failure.

    It is cleaned first (its traceback kept as text, its frames let go):
    the log may keep the event long (Twisted's keeps the latest 200 until
    logging begins, as C{txcausal web}'s does), and the frames of the work
    that failed hold what it worked on (a loaded task).

    @return: C{failure}, to be passed on (an errback that logs).
    """
    if not isinstance(failure.value, QueryStopped):
        cleaned: Any = failure  # Not annotated in Twisted.
        cleaned.cleanFailure()
        log.failure(format, failure=failure, level=LogLevel.critical, **fields)
    return failure
