# -*- test-case-name: txcausal.test.test_propagation -*-
"""
The HTTP header codecs shared by L{txcausal.treq} (client) and
L{txcausal.web} (server): C{X-Eliot-Task-Id} in Eliot's format and W3C Trace
Context (C{traceparent}, C{tracestate}).  This module reads them (the
server's side); L{txcausal._outgoing} writes them (the client's).

Mapping between the two models:

  - trace-id = the task UUID's 32 hex digits (lower case, no dashes);
  - parent-id = the span id of the client's action making the request (see
    L{txcausal._traceids}), whose child the server's action is;
  - an incoming C{traceparent} without C{X-Eliot-Task-Id} continues the task
    whose UUID is the trace-id, at a position of the request's own under
    the top-level position C{REMOTE_LEVEL_BASE + int(parent-id[:8], 16)}
    (see L{RequestParts}), recording the parent-id in a C{parent_span_id}
    field.

Parsing is strict and never raises: a header over 1 KiB, not ASCII,
malformed or repeated is rejected, and the rejection is described (value
truncated and escaped) so the server can log it.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from functools import partial
from itertools import count
from random import Random
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple
from uuid import UUID

from orjson import loads
from twisted.web.http_headers import Headers

from ._tasklevel import TASK_ID_PATTERN, InvalidTaskId, parse_task_id
from ._wire import ATTEMPT_OF_FIELD

TASK_ID_HEADER = b"X-Eliot-Task-Id"
TRACEPARENT_HEADER = b"traceparent"
TRACESTATE_HEADER = b"tracestate"

#: Longest header value accepted, in bytes.
MAX_HEADER_LENGTH = 1024
#: How much of a rejected value is logged, and how many repeated values.
LOGGED_VALUE_LENGTH = 128
LOGGED_VALUE_COUNT = 4
#: Top-level positions of requests continued from a bare C{traceparent}
#: start here, far above any counter a real task reaches.
REMOTE_LEVEL_BASE = 1_000_000_000
#: How many request parts L{RequestParts} gives before it starts again.
REQUEST_PARTS = 2**32
#: Trace flags sent when the task did not come with any: "sampled".
DEFAULT_FLAGS = "01"

_TRACEPARENT = re.compile(
    r"\A([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?\Z"
)
_TRACESTATE_KEY = re.compile(
    r"\A(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})\Z"
)
_TRACESTATE_VALUE = re.compile(
    r"\A[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]\Z"
)
_MAX_TRACESTATE_MEMBERS = 32
#: A byte C{repr} does not show as it is: one outside printable ASCII, a
#: quote or the backslash.
_NOT_PLAIN = re.compile(rb"[^\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]")
#: What L{parse_task_id_header} and L{parse_traceparent} (version 00)
#: accept, matched on the raw bytes at once (see L{_well_formed}).
_TASK_ID_FAST = re.compile(rf"[ \t]*{TASK_ID_PATTERN}[ \t]*".encode("ascii"))
#: (The trace-id is any 32 bytes: L{_well_formed} accepts only the task UUID's hex digits.)
_TRACEPARENT_FAST = re.compile(rb"[ \t]*00-(.{32})-([0-9a-f]{16})-([0-9a-f]{2})[ \t]*", re.DOTALL)
_ZERO_TRACE_ID, _ZERO_SPAN_ID = b"0" * 32, b"0" * 16


class RejectedHeader(ValueError):
    """
    A header value that cannot be used; C{args[0]} says why.
    """


class RemoteTrace(NamedTuple):
    """
    W3C Trace Context state received with a request, to pass on with the
    requests made while handling it.

    @ivar task_uuid: The task it belongs to; other tasks do not inherit it.
    @ivar flags: The trace flags, two hex digits.
    @ivar tracestate: The normalized C{tracestate}, or C{None}.
    """

    task_uuid: str
    flags: str
    tracestate: Optional[str]


class Incoming(NamedTuple):
    """
    What the headers of a request say about its task.  (Named tuples, not
    attrs classes: one is made for every request.)

    @ivar task_id: The serialized position to continue, or C{None} for a new
        task.
    @ivar task_uuid: Its task's UUID, or C{None}.
    @ivar level: Its level, or C{None}.
    @ivar fields: Fields for the server action's start message.
    @ivar trace: Trace Context state to pass on, or C{None}.
    """

    task_id: Optional[str]
    task_uuid: Optional[str]
    level: Optional[List[int]]
    fields: Dict[str, Any]
    trace: Optional[RemoteTrace]


#: An L{Incoming} or a L{RemoteTrace} made from the tuple of its values, without a
#: call of the Python function that is a named tuple's C{__new__}.
_new_incoming: Callable[[Tuple[Any, ...]], Incoming] = partial(tuple.__new__, Incoming)
_new_remote_trace: Callable[[Tuple[Any, ...]], RemoteTrace] = partial(tuple.__new__, RemoteTrace)

#: The Trace Context state of the request being handled.
_REMOTE_TRACE: ContextVar[Optional[RemoteTrace]] = ContextVar("txcausal_remote_trace", default=None)


def escape_value(value: bytes, limit: int = LOGGED_VALUE_LENGTH) -> str:
    """
    @return: C{value} as printable ASCII (backslash escapes), truncated to
        C{limit} bytes with its full length noted.
    """
    if len(value) <= limit and _NOT_PLAIN.search(value) is None:
        # Nothing to escape (a method, a usual path): as repr would give it.
        return value.decode("ascii")
    text = repr(bytes(value[:limit]))[2:-1]
    if len(value) > limit:
        text += f"... ({len(value)} bytes)"
    return text


def _ascii(value: bytes) -> str:
    """
    @raise RejectedHeader: If C{value} is too long or not printable ASCII.
    """
    if len(value) > MAX_HEADER_LENGTH:
        raise RejectedHeader(f"longer than {MAX_HEADER_LENGTH} bytes")
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        raise RejectedHeader("not ASCII") from None
    return text.strip(" \t")


def _single(values: Sequence[bytes]) -> str:
    """
    @return: The only value of a header, checked by L{_ascii}.
    @raise RejectedHeader: If it is repeated or bad.
    """
    if len(values) != 1:
        raise RejectedHeader("repeated header")
    return _ascii(values[0])


def parse_task_id_header(values: Sequence[bytes]) -> str:
    """
    @param values: The raw values of C{X-Eliot-Task-Id}.
    @return: The serialized task position.
    @raise RejectedHeader: If it cannot be continued.
    """
    text = _single(values)
    try:
        parse_task_id(text)
    except InvalidTaskId:
        raise RejectedHeader("malformed task id") from None
    return text


def parse_traceparent(values: Sequence[bytes]) -> Tuple[str, str, str]:
    """
    @param values: The raw values of C{traceparent}.
    @return: The trace-id, parent-id and trace flags.
    @raise RejectedHeader: If it is not a valid W3C C{traceparent}.
    """
    text = _single(values)
    match = _TRACEPARENT.match(text)
    if match is None:
        raise RejectedHeader("malformed traceparent")
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        raise RejectedHeader("unsupported traceparent version")
    if trace_id == "0" * 32 or span_id == "0" * 16:
        raise RejectedHeader("all-zero trace-id or parent-id")
    return trace_id, span_id, flags


def parse_tracestate(values: Sequence[bytes]) -> str:
    """
    @param values: The raw values of C{tracestate}; W3C allows several,
        joined with commas.
    @return: The list members, normalized.
    @raise RejectedHeader: If the joined value is too long, not ASCII, has
        over 32 members, or a malformed or duplicated one.
    """
    joined = _ascii(b",".join(values))
    members = [m.strip(" \t") for m in joined.split(",")]
    members = [m for m in members if m]
    if len(members) > _MAX_TRACESTATE_MEMBERS:
        raise RejectedHeader("too many tracestate members")
    keys = set()
    for member in members:
        key, equals, value = member.partition("=")
        if not equals or not _TRACESTATE_KEY.match(key) or not _TRACESTATE_VALUE.match(value):
            raise RejectedHeader("malformed tracestate")
        if key in keys:
            raise RejectedHeader("duplicate tracestate key")
        keys.add(key)
    return ",".join(members)


def _rejection(values: Sequence[bytes], reason: str) -> Dict[str, Any]:
    shown = [escape_value(v) for v in values[:LOGGED_VALUE_COUNT]]
    return {"reason": reason, "values": shown, "count": len(values)}


class RequestParts:
    """
    The last part of the position of each request continued from a bare
    C{traceparent}: the same C{traceparent} may come with several requests
    (a retry below an OpenTelemetry client's span, a proxy, one context
    injected into two calls), and each needs a position of its own.

    Consecutive numbers from 1 to L{REQUEST_PARTS}, from a random start in
    each process (a forked child starts afresh): no two requests of a
    process get the same one before four billion more, and two processes
    are unlikely to.
    """

    def __init__(self, random: Random) -> None:
        """
        @param random: Where the start comes from.
        """
        self._random = random
        self.restart()

    def restart(self) -> None:
        """
        Start from a new random number, as in a forked child.
        """
        self._random.seed()
        self._next = count(self._random.randrange(REQUEST_PARTS)).__next__

    def __call__(self) -> int:
        """
        @return: The next request's part.
        """
        return self._next() % REQUEST_PARTS + 1


def _from_traceparent(trace: Tuple[str, str, str]) -> Tuple[str, str]:
    """
    @return: A new position continuing a bare C{traceparent}, and the
        calling span's position it is under, of which the request is an
        attempt (as a Dask task's run is: see L{txcausal._wire.is_attempt}).
    """
    trace_id, span_id, _ = trace
    calling = f"/{REMOTE_LEVEL_BASE + int(span_id[:8], 16)}"
    return f"{UUID(hex=trace_id)}@{calling}/{_request_part()}", calling


def incoming(headers: Headers) -> Incoming:
    """
    Decide which task a request continues.  Never raises.

    C{X-Eliot-Task-Id} wins over C{traceparent}; a rejected header is
    reported in the C{rejected_headers} field and the next one (or a new
    task) is used instead.
    """
    return _well_formed(headers) or _incoming(headers)


def _well_formed(headers: Headers) -> Optional[Incoming]:
    """
    The fast path of L{incoming}, for what txcausal and Eliot send: one
    well-formed C{X-Eliot-Task-Id}, and no C{traceparent} or one of version
    00 and the same trace, and no C{tracestate}.  Each header is matched at
    once on its raw bytes, instead of being checked step by step.

    @return: What L{_incoming} would return, or C{None} for anything else.
    """
    task_ids = headers.getRawHeaders(TASK_ID_HEADER)
    if task_ids is None or len(task_ids) != 1 or len(task_ids[0]) > MAX_HEADER_LENGTH:
        return None
    match = _TASK_ID_FAST.fullmatch(task_ids[0])
    if match is None:
        return None
    uuid, levels = match.groups()
    task_uuid = uuid.decode("ascii")
    trace = None
    parents = headers.getRawHeaders(TRACEPARENT_HEADER)
    if parents is not None:
        if len(parents) != 1 or len(parents[0]) > MAX_HEADER_LENGTH:
            return None
        parent = _TRACEPARENT_FAST.fullmatch(parents[0])
        if parent is None:
            return None
        trace_id, span_id, flags = parent.groups()
        if (trace_id != uuid.replace(b"-", b"").lower() or trace_id == _ZERO_TRACE_ID
                or span_id == _ZERO_SPAN_ID or headers.hasHeader(TRACESTATE_HEADER)):
            return None
        trace = _new_remote_trace((task_uuid, flags.decode("ascii"), None))
    # The level's numbers, matched above, read as a JSON array in one call
    # (int() costs as much for each of them).
    level = loads(levels[1:].replace(b"/", b",").join((b"[", b"]")))
    return _new_incoming((f"{task_uuid}@{levels.decode('ascii')}", task_uuid, level, {}, trace))


def _incoming(headers: Headers) -> Incoming:
    """
    L{incoming}, every header checked and every rejection described.
    """
    rejected: Dict[str, Dict[str, Any]] = {}
    task_id: Optional[str] = None
    trace: Optional[Tuple[str, str, str]] = None
    raw_task_id = headers.getRawHeaders(TASK_ID_HEADER)
    if raw_task_id is not None:
        try:
            task_id = parse_task_id_header(raw_task_id)
        except RejectedHeader as e:
            rejected["x-eliot-task-id"] = _rejection(raw_task_id, e.args[0])
    raw_traceparent = headers.getRawHeaders(TRACEPARENT_HEADER)
    if raw_traceparent is not None:
        try:
            trace = parse_traceparent(raw_traceparent)
        except RejectedHeader as e:
            rejected["traceparent"] = _rejection(raw_traceparent, e.args[0])
    fields: Dict[str, Any] = {}
    if task_id is None and trace is not None:
        task_id, fields[ATTEMPT_OF_FIELD] = _from_traceparent(trace)
        fields["parent_span_id"] = trace[1]
    if task_id is None:
        if rejected:
            fields["rejected_headers"] = rejected
        return Incoming(None, None, None, fields, None)
    task_uuid, level = parse_task_id(task_id)
    remote = None if trace is None else _remote_trace(headers, task_uuid, trace, rejected)
    if rejected:
        fields["rejected_headers"] = rejected
    return Incoming(task_id, task_uuid, level, fields, remote)


def _remote_trace(headers: Headers, task_uuid: str, trace: Tuple[str, str, str],
                  rejected: Dict[str, Dict[str, Any]]) -> Optional[RemoteTrace]:
    """
    @return: The trace state to pass on, if the trace is the task's.
    """
    if task_uuid.replace("-", "").lower() != trace[0]:
        return None
    tracestate = None
    raw = headers.getRawHeaders(TRACESTATE_HEADER)
    if raw is not None:
        try:
            tracestate = parse_tracestate(raw) or None
        except RejectedHeader as e:
            rejected["tracestate"] = _rejection(raw, e.args[0])
    return RemoteTrace(task_uuid, trace[2], tracestate)


_request_part = RequestParts(Random())
os.register_at_fork(after_in_child=_request_part.restart)
