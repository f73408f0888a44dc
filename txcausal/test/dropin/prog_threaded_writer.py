"""
The manual's "Non-blocking Destinations": ThreadedWriter writes to a
FileDestination from its own thread, as a service, and writeFailure logs
a Failure.
"""

import sys

from eliot import FileDestination, Message, start_action
from eliot.logwriter import ThreadedWriter
from eliot.twisted import DeferredContext
from twisted.internet.task import react


def main(reactor):
    logWriter = ThreadedWriter(FileDestination(file=open(sys.argv[1], "ab")), reactor)
    print("service name set:", bool(logWriter.name))
    logWriter.startService()
    Message.log(value="hello", another=1)
    with start_action(action_type="app:work", n=3) as action:
        for i in range(3):
            Message.log(message_type="app:step", i=i)
        action.add_success_fields(done=True)
    with start_action(action_type="app:deferred").context():
        d = DeferredContext(reactor_ready(reactor))
        d.addCallback(lambda _: Message.log(message_type="app:fired"))
        d = d.addActionFinish()
    return d.addCallback(lambda _: logWriter.stopService())


def reactor_ready(reactor):
    from twisted.internet.task import deferLater
    return deferLater(reactor, 0.01, lambda: None)


react(main, [])
