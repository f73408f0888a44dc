"""
L{Builds} itself: how a build's end answers the requests waiting for it,
and how a build's failure is logged.
"""

from __future__ import annotations

from typing import Any, List, cast

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import ILogObserver, LogEvent, Logger
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from txcausal._view_builds import Builds
from txcausal._view_index import QueryStopped


class BuildsTests(SynchronousTestCase):
    """
    L{Builds} with builds whose end the test decides.
    """

    def setUp(self) -> None:
        self.events: List[LogEvent] = []
        self.builds = Builds(lambda: False, Logger(observer=cast(ILogObserver,
                                                                 self.events.append)))
        self.job: Deferred[Any] = Deferred()

    def wait(self, count: int) -> List["Deferred[Any]"]:
        """
        C{count} requests for the same build, which C{self.job} ends.
        """
        return [self.builds.build("k", 1, lambda stop: self.job) for _ in range(count)]

    def test_cancelledWhileAnswered(self) -> None:
        """
        A request that goes away while another is answered (its answer
        lost its connection) is left alone: the requests after it are
        answered.
        """
        first, second, third = self.wait(3)
        first.addCallback(lambda _: second.cancel())
        self.job.callback("page")
        self.failureResultOf(second, CancelledError)
        self.assertEqual(self.successResultOf(third), "page")

    def test_failureLoggedOnce(self) -> None:
        """
        A build that fails is logged once, with its failure, however many
        requests waited for it; each gets the failure.
        """
        waiting = self.wait(3)
        self.job.errback(ValueError("a bad task"))
        for waiter in waiting:
            self.failureResultOf(waiter, ValueError)
        [event] = self.events
        self.assertEqual((event["log_failure"].value.args, event["key"]), (("a bad task",), "k"))

    def test_failureLoggedWithoutItsFrames(self) -> None:
        """
        The failure is cleaned (its traceback kept as text, its frames let
        go) before it is logged: the log may keep the event long (Twisted's
        keeps the latest 200 until logging begins), and the build's frames
        hold the task loaded.  (Checked through the call: a test
        runner may have made C{cleanFailure} do nothing.)
        """
        order: List[str] = []

        def cleanFailure(failure: Failure) -> None:
            order.append(f"cleaned {failure.getErrorMessage()}")

        self.patch(Failure, "cleanFailure", cleanFailure)
        self.builds._log.observer = cast(ILogObserver, lambda event: order.append("logged"))
        [waiter] = self.wait(1)
        self.job.errback(ValueError("a bad task"))
        self.failureResultOf(waiter, ValueError)
        self.assertEqual(order[:2], ["cleaned a bad task", "logged"])

    def test_failureLoggedWithNobodyWaiting(self) -> None:
        """
        A build that fails after every request for it went away is
        logged.
        """
        for waiter in self.wait(2):
            waiter.cancel()
            self.failureResultOf(waiter, CancelledError)
        self.job.errback(ValueError("a bad task"))
        self.assertEqual([event["log_failure"].type for event in self.events], [ValueError])

    def test_stopNotLogged(self) -> None:
        """
        A build that stopped (the server stops, or nobody waits) is not a
        failure to log.
        """
        waiting = self.wait(2)
        self.job.errback(QueryStopped())
        for waiter in waiting:
            self.failureResultOf(waiter, QueryStopped)
        self.assertEqual(self.events, [])
