"""
Tests whose actions are logged to trial's _trial_temp/test.log.
"""

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, start_action, write_traceback
from txcausal.twisted import DeferredContext, redirectLogsForTrial

# Once per test module (calling it again does no harm): under trial, every
# message is also written to twisted.logger, hence to test.log.
redirectLogsForTrial()


class Doomed(Exception):
    """
    What the doomed action raises.
    """


class DemoTests(SynchronousTestCase):
    """
    Logged work, successful and failing.
    """

    def test_loggedWork(self) -> None:
        """
        An action whose callbacks run later on a fake clock.
        """
        clock = Clock()
        with start_action(action_type="demo:work", item=1).context():
            d = DeferredContext(Deferred())
            d.addCallback(lambda n: log_message(message_type="demo:step", n=n))
            finished = d.addActionFinish()
        clock.callLater(1, d.result.callback, 7)
        clock.advance(1)
        self.assertIsNone(self.successResultOf(finished))

    def test_expectedFailure(self) -> None:
        """
        A test expecting its action to fail still passes: the failed action
        and the traceback are logged at error level, but are not errors of
        the test.
        """

        def doomed() -> None:
            with start_action(action_type="demo:doomed"):
                raise Doomed("as expected")

        self.assertRaises(Doomed, doomed)
        try:
            doomed()
        except Doomed:
            write_traceback()
