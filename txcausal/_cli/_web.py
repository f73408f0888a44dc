# -*- test-case-name: txcausal.test.test_webview_cli -*-
"""
C{txcausal web [FILE...]}: serve a live browser view of the tasks of log
files, following them as they grow.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any, Dict, List, Optional, Sequence, cast

from .._source import _GZIP_MAGIC
from ._common import Streams, add_input_arguments, non_negative, report_due
from ._text import clean, clean_lines

NAME = "web"
HELP = "serve a live browser view of the tasks of log files (loopback only by default)"
#: The file descriptors the view needs besides one per file it follows and
#: the rotated files it still reads: the reactor's, the connections.
SPARE_DESCRIPTORS = 64
#: The descriptors a compressed file (or standard input) takes while it is
#: followed: its own, and its decompressed copy's two, with one to spare.
COMPRESSED_DESCRIPTORS = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal web}.
    """
    add_input_arguments(parser)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1; the view has no authentication)",
    )
    parser.add_argument(
        "--port",
        type=non_negative,
        default=8080,
        help="the port (default 8080; 0 picks a free one)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        type=_allowed_host,
        metavar="NAME",
        help="answer requests naming this host too, on any port (a proxy's name, this machine's"
        " name or address, without a port): by default only the address listened on, and on"
        " loopback or every interface (0.0.0.0, ::) localhost (repeatable)",
    )


def _allowed_host(text: str) -> str:
    from .._view_hosts import allowed_name

    try:
        return allowed_name(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _descriptors(name: str) -> int:
    """
    @return: How many descriptors following the file C{name} takes: one,
        or L{COMPRESSED_DESCRIPTORS} for a compressed file (told by its
        first bytes, as the view tells it).
    """
    if name == "-":
        return COMPRESSED_DESCRIPTORS
    try:
        with open(name, "rb") as file:
            return COMPRESSED_DESCRIPTORS if file.read(2) == _GZIP_MAGIC else 1
    except OSError:
        return 1


def make_room(files: Sequence[str], limits: Any = None) -> Optional[str]:
    """
    Make sure the view may keep every file open (one descriptor each,
    L{COMPRESSED_DESCRIPTORS} for a compressed one, plus
    L{MAX_RETIRED<txcausal._view_files.MAX_RETIRED>} and
    L{SPARE_DESCRIPTORS}): raise the soft limit on open files
    (C{RLIMIT_NOFILE}) toward the hard limit if it is lower.

    @param limits: The C{resource} module, or a fake.
    @return: Why the view cannot follow so many files, if even the hard
        limit is too low; else C{None}.
    """
    if limits is None:
        try:
            import resource as limits
        except ImportError:  # pragma: no cover - not POSIX
            return None
    from .._view_files import MAX_RETIRED

    spare = MAX_RETIRED + SPARE_DESCRIPTORS
    soft, hard = limits.getrlimit(limits.RLIMIT_NOFILE)
    if soft == limits.RLIM_INFINITY or soft >= COMPRESSED_DESCRIPTORS * len(files) + spare:
        return None
    needed = sum(_descriptors(name) for name in files) + spare
    if soft >= needed:
        return None
    why = (f"{len(files)} files need about {needed} open file descriptors (one each,"
           f" {COMPRESSED_DESCRIPTORS} a compressed one, and {spare} more), beyond the limit of")
    if hard != limits.RLIM_INFINITY and hard < needed:
        return f"{why} {hard} (ulimit -Hn): give fewer files, or raise the limit"
    try:
        limits.setrlimit(limits.RLIMIT_NOFILE, (needed, hard))
    except (ValueError, OSError) as e:
        # macOS: an unlimited hard limit, but none past OPEN_MAX.
        return f"{why} this system ({e}): give fewer files"
    return None


#: What Twisted logs when it cannot accept a connection (Port.doRead).
_ACCEPT_FAILED = "Could not accept new connection ({acceptError})"


#: How many kinds of report a L{_Counts} keeps (the oldest forgotten past it).
MAX_KINDS = 1000


class _Counts:
    """
    How often each kind of a repeated report was seen, and whether it is
    due (L{report_due}: the first, then every 1000th), for the reports
    that a failure repeating without end would make flood standard error.
    At most C{max_kinds} kinds are kept, the one seen least recently
    forgotten first (then reported again as new).
    """

    def __init__(self, max_kinds: int = MAX_KINDS) -> None:
        self._seen: Dict[str, int] = {}
        self._max = max_kinds

    def count(self, kind: str) -> Optional[int]:
        """
        Count one more C{kind}.

        @return: How many times it was seen, when a report is due; else
            C{None}.
        """
        seen = self._seen.pop(kind, 0) + 1
        self._seen[kind] = seen
        if len(self._seen) > self._max:
            del self._seen[next(iter(self._seen))]
        return seen if report_due(seen - 1, seen) else None


class AcceptErrors:
    """
    A Twisted log observer that reports, on standard error, the
    connections the view could not accept (EMFILE: out of descriptors),
    which Twisted only logs: the first of each error, then every 1000th.
    """

    def __init__(self, stderr: Any) -> None:
        self._stderr = stderr
        self._counts = _Counts()

    def __call__(self, event: Dict[str, Any]) -> None:
        if event.get("log_format") != _ACCEPT_FAILED:
            return
        error = str(event.get("acceptError"))
        seen = self._counts.count(error)
        if seen is not None:
            self._stderr.write(f"txcausal web: could not accept a connection ({error}, {seen}"
                               " times so far): too many open files? (ulimit -n)\n")
            self._stderr.flush()


#: How the lines after the first of a failure's report are joined.
_INDENTED = "\n  "


class ViewFailures:
    """
    A Twisted log observer that prints, on standard error, the failures the
    view logs (building a task's page, answering the task list or a search:
    see L{log_failure<txcausal._view_failures.log_failure>}), as the
    command's other reports are: C{txcausal web: } and what failed, then
    the traceback, indented, its control characters escaped (an error's
    text may hold what a log file holds).

    A failure that repeats (a page asked again at each change) does not
    flood standard error: each kind (what failed, the error's type and
    message) is printed whole the first time, then as one line with its
    count at its 1001st time, 2001st, and so on (as L{AcceptErrors}).
    """

    def __init__(self, stderr: Any, max_kinds: int = MAX_KINDS) -> None:
        from .._view_failures import NAMESPACE

        self._stderr = stderr
        self._namespace = NAMESPACE
        self._counts = _Counts(max_kinds)

    def prints(self, event: Dict[str, Any]) -> bool:
        """
        Whether C{event} is one of the view's failures, which it prints.
        """
        return event.get("log_namespace") == self._namespace and "log_failure" in event

    def __call__(self, event: Dict[str, Any]) -> None:
        if not self.prints(event):
            return
        from twisted.logger import eventAsText, formatEvent

        failure = event["log_failure"]
        what = clean(formatEvent(event))
        error = clean_lines(f"{failure.type.__name__}: {failure.getErrorMessage()}", " ")
        seen = self._counts.count(f"{what}\n{error}")
        if seen == 1:
            text = eventAsText(event, includeTimestamp=False, includeSystem=False)
            self._stderr.write(f"txcausal web: {clean_lines(text, _INDENTED)}\n")
        elif seen is not None:
            self._stderr.write(f"txcausal web: {what} ({error}, {seen} times so far)\n")
        else:
            return
        self._stderr.flush()


class _Critical:
    """
    A Twisted log observer that prints the other critical events (an
    unhandled error, a failed render) on standard error, as Twisted's
    temporary observer does until logging begins.
    """

    def __init__(self, stderr: Any, printed: ViewFailures) -> None:
        self._stderr = stderr
        self._printed = printed

    def __call__(self, event: Dict[str, Any]) -> None:
        from twisted.logger import LogLevel, eventAsText

        if event.get("log_level") != LogLevel.critical or self._printed.prints(event):
            return
        self._stderr.write(eventAsText(event, includeTimestamp=False, includeSystem=False)
                           + "\n")
        self._stderr.flush()


def begin_logging(stderr: Any, beginner: Any = None) -> None:
    """
    Begin twisted.logger's logging to the command's observers: the
    connections not accepted (L{AcceptErrors}), the view's failures
    (L{ViewFailures}, each printed once, with the command's prefix, and not
    also by Twisted's temporary observer, which this ends), and the other
    critical events (printed as that observer did).  Standard output and
    error are not redirected, nor are Python's warnings.

    @param beginner: C{globalLogBeginner}, or a fake.
    """
    import warnings

    from twisted.logger import ILogObserver, globalLogBeginner

    if beginner is None:
        beginner = globalLogBeginner
    failures = ViewFailures(stderr)
    observers = [AcceptErrors(stderr), failures, _Critical(stderr, failures)]
    shown = warnings.showwarning
    # Its buffer's critical events were printed already (by that observer).
    beginner.beginLoggingTo([cast(ILogObserver, observer) for observer in observers],
                            discardBuffer=True, redirectStandardIO=False)
    warnings.showwarning = shown


def serve(args: argparse.Namespace, streams: Streams, reactor: Any) -> Any:
    """
    Start serving on C{reactor}: index the files, listen, print the address.

    @return: The listening port and the L{LogFiles}, for stopping them.
    """
    from twisted.web.server import Site

    from .._view_hosts import HostCheck
    from ..webview import LogFiles, TaskViewResource

    files: List[str] = list(args.files) or ["-"]
    stdin = getattr(streams.stdin, "buffer", streams.stdin)
    source = LogFiles(files, reactor, stdin=stdin, max_line=args.max_line_bytes)
    guard = HostCheck(TaskViewResource(source, reactor), args.host, args.port,
                      frozenset(args.allowed_host))
    site = Site(guard)  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    port = reactor.listenTCP(args.port, site, interface=args.host)
    address = port.getHost()
    guard.port = address.port
    host = f"[{address.host}]" if ":" in address.host else address.host
    streams.stdout.write(f"txcausal web: serving http://{host}:{address.port}/\n")
    streams.stdout.flush()
    if not _loopback(args.host):
        streams.stderr.write(
            "txcausal web: warning: listening beyond this machine; anyone who can reach "
            "the port reads these logs; give the names it is reached by with --allowed-host\n"
        )
    source.startFollowing()
    return port, source


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal web} until interrupted.
    """
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError

    problem = make_room(args.files)
    if problem is not None:
        streams.stderr.write(f"txcausal web: {problem}\n")
        return 2
    try:
        serve(args, streams, reactor)
    except CannotListenError as e:
        where = f"{args.host}:{args.port}"
        streams.stderr.write(f"txcausal web: cannot listen on {where}: {e.socketError}\n")
        return 1
    begin_logging(streams.stderr)
    reactor.run()
    return 0
