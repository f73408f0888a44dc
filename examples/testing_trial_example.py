"""
Unit testing what code logs, with trial: a Deferred-returning test and an
async def test, both checked by capture_logging.  Run it with:

    cd examples && python -m twisted.trial testing_trial_example
"""

from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from txcausal import ActionType, MessageType, fields
from txcausal.testing import LoggedAction, LoggedMessage, assertHasAction, capture_logging
from txcausal.twisted import writeFailure

LOOKUP = ActionType("stock:lookup", fields(sku=str), fields(count=int), "Count one item.")
EMPTY = MessageType("stock:empty", fields(sku=str), "An item ran out.")


def count(clock, stock, sku):
    """Count C{sku} in C{stock} after a (simulated) round trip."""
    action = LOOKUP(sku=sku)

    def found(n):
        if n == 0:
            action.run(EMPTY.log, sku=sku)
        action.add_success_fields(count=n)
        action.finish()
        return n

    def failed(reason):
        action.run(writeFailure, reason)
        action.finish(reason.value)
        return -1

    return deferLater(clock, 0, stock.__getitem__, sku).addCallbacks(found, failed)


class CountTests(TestCase):
    @capture_logging(assertHasAction, LOOKUP, True, {"sku": "pear"}, {"count": 3})
    def test_count(self, logger):
        from twisted.internet import reactor

        return count(reactor, {"pear": 3}, "pear").addCallback(self.assertEqual, 3)

    @capture_logging(None)
    async def test_empty(self, logger):
        from twisted.internet import reactor

        self.assertEqual(await count(reactor, {"plum": 0}, "plum"), 0)
        [action] = LoggedAction.of_type(logger.messages, LOOKUP)
        self.assertEqual(action.children, LoggedMessage.of_type(logger.messages, EMPTY))

    @capture_logging(None)
    async def test_unknown(self, logger):
        from twisted.internet import reactor

        self.assertEqual(await count(reactor, {}, "kiwi"), -1)
        assertHasAction(self, logger, LOOKUP, False, endFields={"exception": "builtins.KeyError"})
        self.assertEqual(len(logger.flush_tracebacks(KeyError)), 1)
