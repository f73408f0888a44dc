# -*- test-case-name: txcausal.test.test_propagation,txcausal.test.test_treq -*-
"""
The client's side of L{txcausal._propagation}: the C{X-Eliot-Task-Id},
C{traceparent} and C{tracestate} headers that let a server continue the
task of the action making a request, at a fresh position inside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, List, Optional, Sequence

from twisted.internet.error import ConnectError, ConnectingCancelledError, DNSLookupError
from twisted.web.http_headers import Headers

from ._propagation import (
    _REMOTE_TRACE,
    DEFAULT_FLAGS,
    TASK_ID_HEADER,
    TRACEPARENT_HEADER,
    TRACESTATE_HEADER,
    RemoteTrace,
)
from ._traceids import position, text_span_hex, uuid_trace_hex

if TYPE_CHECKING:
    from ._action import Action


def traceparent_for(task_uuid: str, level: Sequence[int],
                    flags: str = DEFAULT_FLAGS) -> Optional[bytes]:
    """
    @param level: The level of the action making the request.
    @return: The C{traceparent} naming that action of the task C{task_uuid}
        as the parent, or C{None} if the UUID cannot be a trace-id.
    """
    return _traceparent(task_uuid, position(task_uuid, level).encode("utf-8", "surrogatepass"),
                        flags)


def _traceparent(task_uuid: str, parent: bytes, flags: str) -> Optional[bytes]:
    """
    L{traceparent_for}, given the parent's position as C{span_hex} encodes it.
    """
    trace_id = uuid_trace_hex(task_uuid)
    if not trace_id:
        return None
    return f"00-{trace_id}-{text_span_hex(parent)}-{flags}".encode("ascii")


def outgoing(action: "Action", headers: Optional[Headers], copy: bool = True) -> Headers:
    """
    Add the headers that let the server continue C{action}'s task at a fresh
    position inside it.

    @param headers: The caller's headers; modified only if not C{copy}.
    @param copy: Whether to copy C{headers} rather than add to them.
    @return: A new L{Headers} (or C{headers}, if not C{copy}).  A
        C{tracestate} the caller set is kept; otherwise the one received with
        the task, if any, is passed on.
    """
    if headers is None:
        result = Headers()
    else:
        result = headers.copy() if copy else headers
    _stamp(action, result, _REMOTE_TRACE.get())
    return result


#: C{remote_trace()}: the trace state received with the current task, if any,
#: to give L{resend} later, from another context (the variable's own C{get}).
remote_trace: Callable[[], Optional[RemoteTrace]] = _REMOTE_TRACE.get


def resend(action: "Action", headers: Headers, remote: Optional[RemoteTrace]) -> None:
    """
    Set a fresh position of C{action} on the headers L{outgoing} gave, to
    send the same request again (another attempt).  The position the
    headers had is recorded as cut off before any response: the action's
    finish message lists it in C{retried_task_levels} too.

    @param remote: C{remote_trace()} where the request was made.
    """
    for task_id in headers.getRawHeaders(TASK_ID_HEADER) or ():
        level = task_id.decode("ascii", "replace").rpartition("@")[2]
        if level in (action._handed_off or ()) and level not in (action._retried or ()):
            action._retried = [*(action._retried or ()), level]
    _stamp(action, headers, remote)


#: What a request fails with when it never had a connection: its host name
#: was not found, or its connection failed (refused, timed out, ...) or was
#: cancelled before it was made.  Twisted's L{twisted.web.client.Agent}
#: fails a request that had one with another error (C{ResponseNeverReceived},
#: C{RequestTransmissionFailed}, ...), but for its pool's retry (see
#: L{never_sent}).
_NEVER_CONNECTED = (ConnectError, DNSLookupError, ConnectingCancelledError)


def never_sent(action: "Action", error: BaseException) -> Optional[List[str]]:
    """
    The position of C{action}, the action of a request that failed with
    C{error}, that no server got: the one on the request's headers
    (L{outgoing}'s, or L{resend}'s), when C{error} says that the request
    never had a connection.  For a request on a connection pool that
    retries by itself (Twisted's persistent pool), that error may be its
    retry's, after the request was sent on a connection it kept: the pool
    of L{txcausal.treq}'s agents marks the action when it connects for a
    retry (its C{_retried}, a list, perhaps empty; see
    L{txcausal._attempts}), and then nothing is returned.  An agent of the
    caller's own, or a pool of another kind than Twisted's, connects
    unseen: L{txcausal.treq} calls this only for the agents it makes on
    Twisted's pool.

    Only called for a failed request: it costs a successful one nothing.

    @return: That position, as C{[level]}, for the finish message's
        C{unsent_task_levels}; or C{None} if the request may have been sent.
    """
    handed = action._handed_off
    if not handed or not isinstance(error, _NEVER_CONNECTED):
        return None
    if action._retried is not None:
        return None
    return [handed[-1]]


def _stamp(action: "Action", result: Headers, remote: Optional[RemoteTrace]) -> None:
    """
    Set the headers of a fresh position of C{action} on C{result}.
    """
    task_id = action.serialize_task_id()
    result.setRawHeaders(TASK_ID_HEADER, [task_id])
    task_uuid = action._task_uuid
    if remote is not None and remote.task_uuid != task_uuid:
        remote = None
    # The action's position is the task id (written as position() writes it,
    # in ASCII) without its last number: b"<uuid>@" for a task's root action.
    traceparent = _traceparent(task_uuid, task_id[:task_id.rindex(b"/")],
                               remote.flags if remote else DEFAULT_FLAGS)
    if traceparent is None:
        result.removeHeader(TRACEPARENT_HEADER)
    else:
        result.setRawHeaders(TRACEPARENT_HEADER, [traceparent])
    if remote is not None and remote.tracestate and not result.hasHeader(TRACESTATE_HEADER):
        result.setRawHeaders(TRACESTATE_HEADER, [remote.tracestate.encode("ascii")])
