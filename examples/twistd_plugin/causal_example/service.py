"""
The C{causal-example} twistd plugin's C{Options} and C{makeService}: a service
that logs a task on startup and an asynchronous action on shutdown.
"""

from twisted.application.service import IService, Service
from twisted.internet.task import deferLater

from txcausal import log_message, start_action, start_task
from txcausal.twistd import CausalLogOptions, withCausalLog
from txcausal.twisted import DeferredContext


class Options(CausalLogOptions):
    optParameters = [["count", "c", 10, "How many items to log on startup.", int]]


class ExampleService(Service):
    def __init__(self, count):
        self.count = count

    def startService(self):
        Service.startService(self)
        with start_task(action_type="example:startup", count=self.count):
            for n in range(self.count):
                log_message(message_type="example:item", n=n)

    def stopService(self):
        # Shutdown takes a little while; the writer waits for it.
        from twisted.internet import reactor

        Service.stopService(self)
        with start_action(action_type="example:shutdown").context():
            d = DeferredContext(deferLater(reactor, 0.05, lambda: None))
            d.addCallback(lambda _: log_message(message_type="example:goodbye"))
            return d.addActionFinish()


def makeService(options) -> IService:
    return withCausalLog(options, ExampleService(options["count"]))
