# -*- test-case-name: txcausal.test.test_bench_http -*-
"""
Scenario 12's floor: tracing a treq -> twisted.web request written by hand,
with no txcausal and no Eliot, producing what txcausal's tracing produces for
the scenario's request: the same two headers, the same lines.

  - client (L{FloorClient.get}): a new task id (a random version 4 UUID's
    text), the C{X-Eliot-Task-Id} header (C{"<uuid>@/2"}: the position
    after the action's start message) and the C{traceparent} header
    (C{00-<uuid's 32 hex digits>-<span id>-01}, the span id being the
    first 16 hex digits of the SHA-256 of C{"<uuid>@"}, as
    L{txcausal._traceids.span_hex} derives it for a task's root action),
    then C{treq.get} with them, a start line before and a finish line when
    the response arrives, with the keys and values of txcausal's
    C{txcausal:http:client} action (the URL without user info, query or
    fragment);
  - server (L{FloorResource}): reads the C{X-Eliot-Task-Id} header with
    one regular expression match on its raw bytes (a malformed one starts a
    new C{txcausal:http:server} task instead of continuing it), writes the
    start line of the continued task's C{eliot:remote_task} action one
    level under the client's position, renders the wrapped resource, and
    writes the finish line when the response is finished
    (C{notifyFinish}), with the keys and values of txcausal's server
    action.

Each line is a dictionary encoded with orjson and written with one
C{os.write}, as scenario 8's floor does, on the reactor thread, whatever
the configuration txcausal is measured in.

Deliberately left out, because the scenario's request does not need it:
handling errors (a request that fails, a response never finished, a
resource raising: no failure line), what a rejected header was (no
C{rejected_headers} field), reading the C{traceparent} at all (txcausal
continues from it only when no task id comes with it, and passes its flags
and the C{tracestate} on to further requests: the same lines without), the
action being current while the resource renders (messages logged there
would not belong to the task), retries at fresh positions, and everything a
library does for its messages: no counts of lost messages, no reports, no
validation or sanitizing of fields, no other destinations.
"""

from __future__ import annotations

import os
import re
from hashlib import sha256
from random import getrandbits
from time import monotonic, time
from typing import Any, List, Optional

import orjson
import treq
from twisted.internet.defer import Deferred
from twisted.web.http_headers import Headers
from twisted.web.resource import IResource, getChildForRequest
from twisted.web.server import Request
from zope.interface import implementer

#: The bits of a version 4 UUID that are random, and its fixed ones (as
#: txcausal makes them: L{txcausal._uuid}).
_RANDOM = ~(0xF << 76 | 0xC << 60) & ((1 << 128) - 1)
_VERSION_4 = 0x4 << 76 | 0x8 << 60
_OPTION = orjson.OPT_APPEND_NEWLINE
_TASK_ID = re.compile(
    rb"[ \t]*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    rb"@((?:/[1-9][0-9]{0,9})+)[ \t]*")


def new_uuid() -> str:
    """
    @return: A random version 4 UUID as text.
    """
    # txcausal's formatting: the hex digits in groups of four, the first two
    # and the last three joined (8-4-4-4-12), cheaper than slicing.
    return "".join((getrandbits(128) & _RANDOM | _VERSION_4).to_bytes(16, "big").hex("-", 2)
                   .replace("-", "", 1).rsplit("-", 2))


def headers_for(task_uuid: str) -> Headers:
    """
    @return: The headers sending the position after the start message of
        the task C{task_uuid}'s root action, the action as the parent span.
    """
    span = sha256(f"{task_uuid}@".encode("ascii")).hexdigest()[:16]
    if span == "0" * 16:
        span = "0" * 15 + "1"
    headers = Headers()
    headers.setRawHeaders(b"X-Eliot-Task-Id", [f"{task_uuid}@/2".encode("ascii")])
    headers.setRawHeaders(b"traceparent",
                          [f"00-{task_uuid.replace('-', '')}-{span}-01".encode("ascii")])
    return headers


def _url(url: str) -> str:
    """
    @return: C{url} without user info, query string or fragment.
    """
    url = url.partition("#")[0].partition("?")[0]
    if "@" in url:
        scheme, separator, rest = url.partition("://")
        authority, slash, path = rest.partition("/")
        url = scheme + separator + authority.rpartition("@")[2] + slash + path
    return url


class FloorClient:
    """
    Makes C{GET} requests with the headers and writes their lines.
    """

    def __init__(self, fd: int) -> None:
        """
        @param fd: Where the lines go.
        """
        self._fd = fd

    def get(self, url: str) -> "Deferred[Any]":
        """
        C{treq.get(url)} in a new task.
        """
        task_uuid = new_uuid()
        fd = self._fd
        os.write(fd, orjson.dumps(
            {"method": "GET", "url": _url(url), "action_type": "txcausal:http:client",
             "action_status": "started", "task_uuid": task_uuid, "task_level": [1],
             "timestamp": time()}, option=_OPTION))
        started = monotonic()

        def finished(response: Any) -> Any:
            os.write(fd, orjson.dumps(
                {"status": response.code, "action_status": "succeeded",
                 "action_type": "txcausal:http:client", "duration": monotonic() - started,
                 "remote_task_levels": ["/2"], "task_uuid": task_uuid, "task_level": [3],
                 "timestamp": time()}, option=_OPTION))
            return response

        return treq.get(url, headers=headers_for(task_uuid)).addCallback(finished)


@implementer(IResource)
class FloorResource:
    """
    A leaf resource rendering the wrapped one between the lines of the
    request's action.
    """

    isLeaf = True

    def __init__(self, wrapped: Any, fd: int) -> None:
        """
        @param wrapped: The resource to render.
        @param fd: Where the lines go.
        """
        self._wrapped = wrapped
        self._fd = fd

    def getChildWithDefault(self, name: bytes, request: Request) -> Any:
        """
        Not called by twisted.web, since this resource is a leaf; delegates.
        """
        return self._wrapped.getChildWithDefault(name, request)

    def putChild(self, path: bytes, child: Any) -> None:
        """
        Add a child to the wrapped resource.
        """
        self._wrapped.putChild(path, child)

    def render(self, request: Request) -> Any:
        """
        Write the start line, render, write the finish line once the
        response is finished.
        """
        task_uuid: Optional[str] = None
        values = request.requestHeaders.getRawHeaders(b"X-Eliot-Task-Id")
        if values is not None and len(values) == 1:
            match = _TASK_ID.fullmatch(values[0])
            if match is not None:
                task_uuid = match[1].decode("ascii")
                level: List[int] = [int(n) for n in match[2].split(b"/")[1:]]
        if task_uuid is None:
            task_uuid, level, action_type = new_uuid(), [], "txcausal:http:server"
        else:
            action_type = "eliot:remote_task"
        fd = self._fd
        os.write(fd, orjson.dumps(
            {"method": request.method.decode("ascii", "backslashreplace"),
             "path": request.path.decode("ascii", "backslashreplace"),
             "action_type": action_type, "action_status": "started", "task_uuid": task_uuid,
             "task_level": [*level, 1], "timestamp": time()}, option=_OPTION))
        started = monotonic()

        def finished(_: object) -> None:
            os.write(fd, orjson.dumps(
                {"status": request.code, "action_status": "succeeded",
                 "action_type": action_type, "duration": monotonic() - started,
                 "task_uuid": task_uuid, "task_level": [*level, 2], "timestamp": time()},
                option=_OPTION))

        request.notifyFinish().addCallbacks(finished, lambda _: None)
        return getChildForRequest(self._wrapped, request).render(request)  # type: ignore[no-untyped-call]

