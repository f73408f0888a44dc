# -*- test-case-name: txcausal.test.test_twistd,txcausal.test.test_twistd_late -*-
"""
txcausal under C{twistd}.

  - L{causalLogObserver}: C{twistd --logger txcausal.twistd.causalLogObserver}
    writes causal JSON lines, Twisted's own events included, to the file
    named by C{$TXCAUSAL_LOG_FILE} (default C{txcausal.log});
    L{causalLogObserverFor} makes such a factory for a writer of your own.
  - L{CausalLogOptions} and L{withCausalLog}: give a twistd plugin a
    C{--causal-log FILE} option::

        class Options(CausalLogOptions):
            optParameters = [["port", "p", 8080, "Port to listen on.", int]]

        def makeService(options):
            return withCausalLog(options, MyService(options["port"]))

  - L{CausalLogService}: the service that owns a
    L{txcausal.logwriter.ThreadedWriter}, for C{.tac} files.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Mapping, Optional

from twisted.application.service import IService, MultiService
from twisted.internet.defer import Deferred
from twisted.logger import ILogObserver
from twisted.python import usage
from twisted.python.logfile import LogFile

from . import _twistedlog
from ._file import FileDestination
from .logwriter import ThreadedWriter

#: The environment variable naming the file of L{causalLogObserver}.
LOG_FILE_ENVIRONMENT = "TXCAUSAL_LOG_FILE"
#: The file of L{causalLogObserver} when that variable is not set.
DEFAULT_LOG_FILE = "txcausal.log"
#: The option L{CausalLogOptions} adds.
CAUSAL_LOG_OPTION = "causal-log"


def fileWriter(path: str, reactor: Any = None) -> ThreadedWriter:
    """
    A L{ThreadedWriter} appending JSON lines to the file at C{path}.

    The file is a L{LogFile} that is never rotated by size; call its
    C{rotate} (C{writer.destination.file.rotate()}) to rotate it, or build
    your own writer around a L{twisted.python.logfile.DailyLogFile}.

    @param reactor: Given to the L{ThreadedWriter}.
    @raise OSError: If the file cannot be opened.
    """
    return ThreadedWriter(FileDestination(_openLogFile(path)), reactor)


def _openLogFile(path: str) -> Any:
    """
    Open the file at C{path} as L{fileWriter} writes it, and as
    L{CausalLogOptions} checks it.

    @return: A C{LogFile} never rotated by size.
    @raise OSError: If it cannot be opened (or, a pipe, seeked in).
    """
    return LogFile.fromFullPath(path, rotateLength=None)  # type: ignore[no-untyped-call]


def causalLogObserver(environ: Mapping[str, str] = os.environ,
                      reactor: Any = None) -> ILogObserver:
    """
    Start writing causal JSON lines to C{$TXCAUSAL_LOG_FILE} (default
    C{txcausal.log} in the current directory) and return the observer that
    brings Twisted's own events into them.  For
    C{twistd --logger txcausal.twistd.causalLogObserver}, which calls it
    with no arguments.

    The writer is not a service.  When the reactor shuts down, it first
    writes what is queued (a C{before} shutdown trigger, as services stop),
    so a backlog is written however long it takes while the file makes
    progress; once the reactor has stopped it writes directly (see
    L{ThreadedWriter.stopThreading}), so twistd's last events ("Main loop
    terminated.", "Server Shut Down.") are written before the process
    exits, even when it exits by re-raising C{SIGTERM}.

    @param environ: Where to look up the file name.
    @param reactor: The reactor twistd runs; default: the global one.
    @return: A L{txcausal.twisted.CausalLogObserver}.
    @raise SystemExit: If the file cannot be opened, with one line naming
        it and why, which twistd prints before it exits with 1.
    """
    path = environ.get(LOG_FILE_ENVIRONMENT) or DEFAULT_LOG_FILE
    try:
        writer = fileWriter(path, reactor)
    except OSError as e:
        raise SystemExit(f"Cannot open ${LOG_FILE_ENVIRONMENT} {path!r}: {e.strerror}") from e
    return causalLogObserverFor(writer, reactor)


def causalLogObserverFor(writer: ThreadedWriter, reactor: Any = None) -> ILogObserver:
    """
    Start C{writer} for the rest of the process, as L{causalLogObserver}
    starts its own, and return the observer that brings Twisted's events
    into it: for a C{twistd --logger} factory of your own, say one writing
    to a C{DailyLogFile}::

        def dailyLogObserver():
            path = os.environ.get(LOG_FILE_ENVIRONMENT, DEFAULT_LOG_FILE)
            writer = ThreadedWriter(FileDestination(DailyLogFile.fromFullPath(path)))
            return causalLogObserverFor(writer)

    The writer writes out its queue as the reactor shuts down, then writes
    directly (see L{causalLogObserver}).  twistd sends what is written to
    standard error into its log, which this writer writes: the reports of
    messages it could not write, which no other destination takes, go to
    the standard error of when this is called instead (twistd calls the
    factory before it redirects standard error).

    @param writer: The writer, not started.
    @param reactor: The reactor twistd runs; default: the global one.
    @return: A L{txcausal.twisted.CausalLogObserver}.
    """
    if reactor is None:
        from twisted.internet import reactor
    writer._standardError = sys.stderr
    writer.startService()
    reactor.addSystemEventTrigger("before", "shutdown", writer.flush)
    reactor.addSystemEventTrigger("after", "shutdown", writer.stopThreading)
    return _twistedlog.CausalLogObserver()


if not TYPE_CHECKING:
    def __getattr__(name: str) -> Any:
        """
        Say what to use instead of the observer class, which C{twistd
        --logger txcausal.twistd.CausalLogObserver} would otherwise take
        for a logger that writes nothing.
        """
        if name == "CausalLogObserver":
            raise AttributeError(_twistedlog.NOT_A_TWISTD_LOGGER)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CausalLogService(MultiService):
    """
    A L{MultiService} that owns a L{ThreadedWriter}: the writer starts before
    the child services and stops only once they all have, so what they log
    while starting and stopping, even after their C{stopService} returned a
    L{Deferred}, is written.

    @ivar writer: The writer.
    """

    def __init__(self, writer: ThreadedWriter) -> None:
        """
        @param writer: The writer, not started.
        @raise TypeError: If C{writer} is not a L{ThreadedWriter}.
        """
        if not isinstance(writer, ThreadedWriter):
            raise TypeError(f"CausalLogService needs a ThreadedWriter, not {writer!r}")
        MultiService.__init__(self)  # type: ignore[no-untyped-call]
        self.writer = writer

    def startService(self) -> None:
        """
        Start the writer, then the child services.
        """
        self.writer.startService()
        MultiService.startService(self)  # type: ignore[no-untyped-call]

    def stopService(self) -> "Deferred[None]":
        """
        Stop the child services, then the writer.

        @return: A L{Deferred} that fires once the writer has written
            everything.
        """
        stopped: "Deferred[Any]" = MultiService.stopService(self)  # type: ignore[no-untyped-call]
        return stopped.addCallback(lambda _: self.writer.stopService())


class CausalLogOptions(usage.Options):
    """
    Options with C{--causal-log FILE}; subclass it for a twistd plugin's
    C{Options} and give the result to L{withCausalLog}.  A subclass that
    has a C{postOptions} of its own calls this one's.
    """

    optParameters = [
        [CAUSAL_LOG_OPTION, None, None,
         "Write causal logs, as JSON lines, to this file."],
    ]

    def postOptions(self) -> None:
        """
        Check that the C{--causal-log} file, if given, can be opened as
        L{fileWriter} opens it (creating it), so that twistd reports a bad
        one (a directory, a pipe) as a usage error, before it starts
        anything.

        @raise usage.UsageError: If the name is empty, or the file cannot
            be opened.
        """
        path: Optional[str] = self[CAUSAL_LOG_OPTION]
        if path is None:
            return
        if not path:
            raise usage.UsageError(f"--{CAUSAL_LOG_OPTION} needs a file name, not ''")
        try:
            _openLogFile(path).close()
        except OSError as e:
            raise usage.UsageError(
                f"Cannot open --{CAUSAL_LOG_OPTION} {path!r}: {e.strerror}") from e


def withCausalLog(options: Mapping[str, Any], service: IService,
                  reactor: Any = None) -> IService:
    """
    Wrap a plugin's service so that it logs to the C{--causal-log} file.

    @param options: The parsed L{CausalLogOptions}.
    @param service: The plugin's service.
    @param reactor: Given to the L{ThreadedWriter}.
    @return: C{service} itself without C{--causal-log}; otherwise a
        L{CausalLogService} with C{service} as its child.
    @raise usage.UsageError: If the file cannot be opened (or its name is
        empty); L{CausalLogOptions} checks that already, when twistd
        parses the options, where the error reads best.
    """
    path: Optional[str] = options.get(CAUSAL_LOG_OPTION)
    if path is None:
        return service
    try:
        writer = fileWriter(path, reactor)
    except OSError as e:
        raise usage.UsageError(f"Cannot open --{CAUSAL_LOG_OPTION} {path!r}: {e}") from e
    logged = CausalLogService(writer)
    service.setServiceParent(logged)  # type: ignore[no-untyped-call]
    return logged


__all__ = [
    "causalLogObserver",
    "causalLogObserverFor",
    "CausalLogOptions",
    "CausalLogService",
    "withCausalLog",
    "fileWriter",
    "LOG_FILE_ENVIRONMENT",
    "DEFAULT_LOG_FILE",
]
