"""
The manual's "Using Eliot with Twisted": DeferredContext (callbacks run in
the action, addActionFinish), writeFailure as an errback, inline_callbacks,
TwistedDestination (observers read the message under event["eliot"]), and
redirectLogsForTrial outside trial.
"""

import json
import sys

from eliot import Message, log_message, start_action, to_file, writeFailure
from eliot.twisted import (
    AlreadyFinished,
    DeferredContext,
    TwistedDestination,
    inline_callbacks,
    redirectLogsForTrial,
)
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import deferLater, react
from twisted.logger import globalLogPublisher

OUT = open(sys.argv[1], "ab")
to_file(OUT)


def gotResult(result, x):
    Message.log(message_type="app:got", result=result, x=x)
    return result + x


def go(d):
    with start_action(action_type="your_type").context():
        dc = DeferredContext(d)
        dc.addCallback(gotResult, x=1)
        dc.addCallbacks(gotResult, None, (10,), None, None, None)
        dc.addErrback(lambda f: 0)
        dc.addBoth(lambda r: r)
        result = dc.addActionFinish()
        try:
            dc.addCallback(gotResult, x=2)
        except AlreadyFinished:
            log_message(message_type="app:already_finished")
        return result


def writeFailureExample():
    with start_action(action_type="app:failing").context():
        d = DeferredContext(fail(ZeroDivisionError("no")))
        d.addErrback(writeFailure)
        d.addCallback(lambda _: fail(KeyError("later")))
        return d.addActionFinish().addErrback(lambda f: "handled")


@inline_callbacks
def coroutine(reactor):
    with start_action(action_type="app:inline"):
        yield deferLater(reactor, 0.01, lambda: None)
        log_message(message_type="app:after_yield")
        value = yield succeed(5)
    return value


def observe(event):
    if "eliot" in event:
        observed.append(event["eliot"].get("message_type", event["eliot"].get("action_type")))


observed = []


async def main(reactor):
    print("redirect:", redirectLogsForTrial())
    d = Deferred()
    result = go(d)
    reactor.callLater(0.01, d.callback, 1)
    print("go:", await result)
    print("failing:", await writeFailureExample())
    value = await coroutine(reactor)
    # Eliot 1.18's inline_callbacks loses the generator's return value.
    OUT.write(json.dumps({"shows": "inline_callbacks result",
                          "outcome": "returned" if value == 5 else value}).encode() + b"\n")
    OUT.flush()
    globalLogPublisher.addObserver(observe)
    from eliot import add_destinations, remove_destination
    destination = TwistedDestination()
    add_destinations(destination)
    with start_action(action_type="app:bridged"):
        log_message(message_type="app:to_twisted")
    remove_destination(destination)
    globalLogPublisher.removeObserver(observe)
    print("observed:", json.dumps(observed))


react(main, [])
