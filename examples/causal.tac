"""
A .tac recipe: a service whose causal log is written by a ThreadedWriter,
into a daily-rotated file ($TXCAUSAL_LOG_FILE, default txcausal.log).

    twistd -n --pidfile= -y causal.tac
"""

import os

from twisted.application.service import Application, Service
from twisted.python.logfile import DailyLogFile

from txcausal import FileDestination, log_message, start_action
from txcausal.logwriter import ThreadedWriter
from txcausal.twistd import LOG_FILE_ENVIRONMENT, CausalLogService


class Greeter(Service):
    def startService(self):
        Service.startService(self)
        with start_action(action_type="tac:startup"):
            log_message(message_type="tac:hello", pid=os.getpid())

    def stopService(self):
        Service.stopService(self)
        log_message(message_type="tac:goodbye")


path = os.environ.get(LOG_FILE_ENVIRONMENT, "txcausal.log")
writer = ThreadedWriter(FileDestination(DailyLogFile.fromFullPath(path)))

application = Application("causal-tac")
# The CausalLogService starts the writer before its children and stops it
# after them, so their startup and shutdown are both in the log.
logged = CausalLogService(writer)
logged.setServiceParent(application)
Greeter().setServiceParent(logged)
