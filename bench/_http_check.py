# -*- test-case-name: txcausal.test.test_bench_http -*-
"""
Scenario 12's checks that the hand-written tracing (L{bench._http_floor})
does what txcausal's does: for every request, the same lines (L{check_like}),
the server in the client's task (L{check_continued}), and for the first of
each kind the headers txcausal derives for its task (L{check_received}).
Each raises C{RuntimeError}, failing the run, so that a floor doing less than
txcausal gets no figure.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import orjson

#: The fields whose values differ from request to request, or between the
#: traced resource and the floor's.
VARYING = frozenset({"task_uuid", "timestamp", "duration", "url", "path"})


def _requests(path: Any) -> List[List[Dict[str, Any]]]:
    """
    @return: The lines of the file C{path} in pairs, a request's start and
        finish (requests are made one at a time, so their lines do not
        interleave).
    """
    with open(path, "rb") as file:
        lines = [orjson.loads(line) for line in file.read().splitlines()]
    if len(lines) % 2:
        raise RuntimeError(f"{path}: {len(lines)} lines, not a start and a finish a request")
    return [lines[i:i + 2] for i in range(0, len(lines), 2)]


def check_like(traced: Any, floor: Any) -> None:
    """
    Check that each request's lines in the file C{floor} (its start and
    finish, in one task) have the keys of the same request's in the file
    C{traced}, and the same values but for L{VARYING}.

    @raise RuntimeError: Otherwise, saying which differ.
    """
    ours, theirs = _requests(traced), _requests(floor)
    if len(ours) != len(theirs):
        raise RuntimeError(f"{floor}: {len(theirs)} requests where txcausal wrote {len(ours)}")
    for number, (by_txcausal, by_hand) in enumerate(zip(ours, theirs, strict=True), 1):
        if by_hand[0].get("task_uuid") != by_hand[1].get("task_uuid"):
            raise RuntimeError(f"{floor}: request {number} starts and finishes in other tasks")
        for mine, other in zip(by_txcausal, by_hand, strict=True):
            if mine.keys() != other.keys():
                raise RuntimeError(f"{floor}: request {number}: keys {sorted(other)} where "
                                   f"txcausal writes {sorted(mine)}")
            differ = sorted(key for key in mine if key not in VARYING and mine[key] != other[key])
            if differ:
                raise RuntimeError(f"{floor}: request {number}: {', '.join(differ)} differ "
                                   f"from txcausal's ({[mine[key] for key in differ]} written "
                                   f"by txcausal, {[other[key] for key in differ]} by hand)")


def check_continued(client: Any, server: Any) -> None:
    """
    Check that the server's requests continued the client's tasks, each in
    turn: the headers were sent and read.

    @raise RuntimeError: Otherwise.
    """
    sent, received = _requests(client), _requests(server)
    if len(sent) != len(received):
        raise RuntimeError(f"{server}: {len(received)} requests where {client} made "
                           f"{len(sent)}")
    for number, (ours, theirs) in enumerate(zip(sent, received, strict=True), 1):
        if ours[0]["task_uuid"] != theirs[0]["task_uuid"]:
            raise RuntimeError(f"{server}: request {number} in task {theirs[0]['task_uuid']} "
                               f"where {client} sent {ours[0]['task_uuid']}")


def check_received(received: Dict[str, Optional[List[str]]], client: Any) -> None:
    """
    Check that the headers a server received with its first request of a
    kind are those txcausal derives for the client's first task (in the
    file C{client}): the task id at the position its finish line says it
    handed off, and the C{traceparent} naming the task's root action.

    @param received: The values of C{X-Eliot-Task-Id} and C{traceparent}
        as received (C{None} for a header not sent).
    @raise RuntimeError: Otherwise.
    """
    # From txcausal's ids, not from the code making its headers, so that a
    # fault there shows too.
    from txcausal._traceids import span_hex, uuid_trace_hex

    start, finish = _requests(client)[0]
    task_uuid = start["task_uuid"]
    expected = {"X-Eliot-Task-Id": [f"{task_uuid}@{level}"
                                    for level in finish["remote_task_levels"]],
                "traceparent": [f"00-{uuid_trace_hex(task_uuid)}-{span_hex(task_uuid, [])}-01"]}
    for name, values in expected.items():
        if received.get(name) != values:
            raise RuntimeError(f"{client}: the server received {name} {received.get(name)} "
                               f"where txcausal sends {values} for task {task_uuid}")
