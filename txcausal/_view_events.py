# -*- test-case-name: txcausal.test.test_webview_ring -*-
"""
Server-sent events for the web view: while a page is open, the source's
index is checked for changes a few times a second, and each open page is
told which tasks changed (it then asks for what it shows again).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

import orjson
from twisted.internet.task import LoopingCall
from twisted.web.server import NOT_DONE_YET

from ._view_source import ITaskSource

#: A comment is sent when nothing else was for this many checks, so that
#: proxies and the browser keep the connection.
_KEEPALIVE_EVERY = 30
#: twisted.web's requests are not annotated: take them as they come.
Request = Any


class EventStream:
    """
    The open event streams of one resource, and the checks for changes
    that run while there is one.
    """

    def __init__(
        self,
        source: ITaskSource,
        reactor: Any,
        interval: float,
        status: Callable[[], Dict[str, Any]],
    ) -> None:
        self._source = source
        self._changes = source.index.changes()
        self._status = status
        self._interval = interval
        self._clients: List[Request] = []
        self._loop = LoopingCall(self.check)
        self._loop.clock = reactor
        self._quiet = 0

    def render(self, request: Request) -> Any:
        """
        Start an event stream: C{text/event-stream}, one C{changed} event
        per check that found changes.  A C{HEAD} request gets the headers
        alone, and no stream.
        """
        request.setHeader(b"content-type", b"text/event-stream")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-accel-buffering", b"no")
        if request.method == b"HEAD":
            return b""
        request.write(b"retry: 2000\n\n")
        self._clients.append(request)
        request.notifyFinish().addBoth(lambda _: self._gone(request))
        if not self._loop.running:
            # The first check reports what changed since the last stream
            # closed: a page that loaded meanwhile asks once too often,
            # but none misses a change.
            self._loop.start(self._interval, now=False)
        return NOT_DONE_YET

    def _gone(self, request: Request) -> None:
        if request in self._clients:
            self._clients.remove(request)
        if not self._clients and self._loop.running:
            self._loop.stop()

    def check(self) -> None:
        """
        Tell every open page what changed since the last check.
        """
        version, changed = self._changes.drain()
        if changed == []:
            self._quiet += 1
            if self._quiet >= _KEEPALIVE_EVERY:
                self._quiet = 0
                self._send(b": still here\n\n")
            return
        self._quiet = 0
        data = {"version": version, "tasks": changed, "status": self._status()}
        self._send(b"event: changed\ndata: " + orjson.dumps(data) + b"\n\n")

    def _send(self, event: bytes) -> None:
        for request in list(self._clients):
            request.write(event)

    def clients(self) -> int:
        """
        The number of open streams.
        """
        return len(self._clients)
