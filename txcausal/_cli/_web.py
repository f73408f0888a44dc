# -*- test-case-name: txcausal.test.test_webview_cli -*-
"""
C{txcausal web [FILE...]}: serve a live browser view of the tasks of log
files, following them as they grow.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any, List

from ._common import Streams, add_input_arguments, non_negative

NAME = "web"
HELP = "serve a live browser view of the tasks of log files (loopback only by default)"


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


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace, streams: Streams, reactor: Any) -> Any:
    """
    Start serving on C{reactor}: index the files, listen, print the address.

    @return: The listening port and the L{LogFiles}, for stopping them.
    """
    from twisted.web.server import Site

    from ..webview import LogFiles, TaskViewResource

    files: List[str] = list(args.files) or ["-"]
    stdin = getattr(streams.stdin, "buffer", streams.stdin)
    source = LogFiles(files, reactor, stdin=stdin, max_line=args.max_line_bytes)
    site = Site(TaskViewResource(source, reactor))  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    port = reactor.listenTCP(args.port, site, interface=args.host)
    address = port.getHost()
    host = f"[{address.host}]" if ":" in address.host else address.host
    streams.stdout.write(f"txcausal web: serving http://{host}:{address.port}/\n")
    streams.stdout.flush()
    if not _loopback(args.host):
        streams.stderr.write(
            "txcausal web: warning: listening beyond this machine; anyone who can reach "
            "the port reads these logs\n"
        )
    source.startFollowing()
    return port, source


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal web} until interrupted.
    """
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError

    try:
        serve(args, streams, reactor)
    except CannotListenError as e:
        where = f"{args.host}:{args.port}"
        streams.stderr.write(f"txcausal web: cannot listen on {where}: {e.socketError}\n")
        return 1
    reactor.run()
    return 0
