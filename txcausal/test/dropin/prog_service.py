"""
A Twisted project's logging service over Eliot: a MultiService with a
ThreadedWriter per destination (a FileDestination on a rotating LogFile,
with a JSON encoder of the project's), which relays standard library
records (with their tracebacks) and twisted.logger events as untyped
messages while it runs.  Eliot's warning for C{encoder=} is silenced.
"""

import logging
import sys
import warnings
from json import JSONEncoder, loads
from pathlib import Path

from eliot import FileDestination, Message, write_traceback
from eliot.logwriter import ThreadedWriter
from twisted.application.service import MultiService
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import react
from twisted.logger import Logger, eventAsJSON, globalLogPublisher
from twisted.python.logfile import LogFile

warnings.simplefilter("ignore", DeprecationWarning)


class BytesEncoder(JSONEncoder):
    def default(self, o):
        if isinstance(o, bytes):
            return o.decode("utf-8", "backslashreplace")
        return JSONEncoder.default(self, o)


class StdlibToEliot(logging.Handler):
    def emit(self, record):
        Message.new(message_type="eliot:stdlib", log_level=record.levelname,
                    logger=record.name, message=record.getMessage()).write(None)
        if record.exc_info:
            write_traceback(logger=None, exc_info=record.exc_info)


def twisted_to_eliot(event):
    flattened = loads(eventAsJSON(event))
    flattened.pop("log_time")
    flattened.pop("log_logger", None)
    Message.new(message_type="eliot:twisted", **flattened).write(None)


class EliotLogging(MultiService):
    def __init__(self, destinations, reactor):
        MultiService.__init__(self)
        for destination in destinations:
            ThreadedWriter(destination, reactor).setServiceParent(self)

    def startService(self):
        self.handler = StdlibToEliot()
        logging.getLogger().addHandler(self.handler)
        globalLogPublisher.addObserver(twisted_to_eliot)
        return MultiService.startService(self)

    def stopService(self):
        globalLogPublisher.removeObserver(twisted_to_eliot)
        logging.getLogger().removeHandler(self.handler)
        return MultiService.stopService(self)


async def main(reactor):
    output = Path(sys.argv[1])
    logfile = LogFile(output.name, str(output.parent), rotateLength=1024 ** 3, maxRotatedFiles=10)
    destination = FileDestination(logfile, encoder=BytesEncoder)
    print("file kept:", destination.file is logfile)
    service = EliotLogging([destination], reactor)
    service.startService()
    logging.getLogger("app").warning("disk %s%% full", 91)
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("app").exception("lookup failed")
    Logger(namespace="app.web").info("served {path}", path="/index")
    Message.log(message_type="app:bytes", raw=b"caf\xc3\xa9", bad=b"\xff")
    await service.stopService()
    collected = []
    service = EliotLogging([collected.append], reactor)
    service.startService()
    Logger(namespace="app.web").critical("oh no")
    await service.stopService()
    print("collected:", [(m["message_type"], m.get("log_format")) for m in collected])


react(lambda reactor: ensureDeferred(main(reactor)))
