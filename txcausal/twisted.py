# -*- test-case-name: txcausal.test.test_twisted -*-
"""
The Twisted layer of txcausal.

  - L{DeferredContext} runs a L{twisted.internet.defer.Deferred}'s callbacks inside an action and
    finishes the action when the chain fires; L{writeFailure} logs a
    L{twisted.python.failure.Failure} (usable as an errback).  C{inlineCallbacks} generators and
    C{async def} coroutines keep their action across C{yield} and C{await}
    with no help (L{inline_callbacks}, Eliot's wrapper, is kept for code
    that uses it).
  - L{TwistedDestination} sends txcausal messages to twisted.logger;
    L{CausalLogObserver} sends twisted.logger events to txcausal.
  - L{redirectLogsForTrial} puts messages in trial's C{test.log}.

Example::

    from txcausal import start_action
    from txcausal.twisted import DeferredContext, writeFailure

    def fetch(url):
        with start_action(action_type="app:fetch", url=url).context():
            d = DeferredContext(treq.get(url))
            d.addCallback(treq.content)
            return d.addActionFinish()
"""

from ._deferred import AlreadyFinished, DeferredContext, inline_callbacks, writeFailure
from ._trial import redirectLogsForTrial
from ._twistedlog import CausalLogObserver, TwistedDestination

__all__ = [
    # Deferreds
    "DeferredContext",
    "AlreadyFinished",
    "writeFailure",
    "inline_callbacks",
    # twisted.logger, both directions
    "TwistedDestination",
    "CausalLogObserver",
    # trial
    "redirectLogsForTrial",
]
