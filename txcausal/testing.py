# -*- test-case-name: txcausal.test.test_testing -*-
"""
Helpers for testing what your code logs, with trial, unittest or pytest.

Decorate a test method with L{capture_logging}: it gets a
L{MemoryLogger} holding everything the test logged, the assertion you give
runs when the test's work is done (also for a test returning a L{twisted.internet.defer.Deferred}
or written as C{async def}), every message is validated, and the test fails
if a traceback was logged and not flushed::

    from twisted.trial.unittest import TestCase
    from txcausal.testing import assertHasAction, capture_logging

    class CheckoutTests(TestCase):
        @capture_logging(assertHasAction, "app:checkout", True, {"cart": 42})
        def test_checkout(self, logger):
            return checkout(42)

With pytest, use the C{causal_logger} fixture of the C{txcausal} plugin
(registered on install).  A failure report shows the captured messages as a
tree, drawn like C{txcausal tree} draws a log file.  Production code should
never import this module.
"""

from ._capture import (
    ErrorWithLog,
    UnflushedTracebacks,
    capture_logging,
    check_for_errors,
    validate_logging,
)
from ._loggedaction import (
    LoggedAction,
    LoggedMessage,
    assertContainsFields,
    assertHasAction,
    assertHasMessage,
)
from ._memory import MemoryLogger
from ._output import swap_logger

__all__ = [
    # Capturing
    "MemoryLogger",
    "capture_logging",
    "validate_logging",
    "check_for_errors",
    "swap_logger",
    "UnflushedTracebacks",
    "ErrorWithLog",
    # Navigating
    "LoggedAction",
    "LoggedMessage",
    # Asserting
    "assertContainsFields",
    "assertHasMessage",
    "assertHasAction",
]
