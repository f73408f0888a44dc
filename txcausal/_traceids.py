# -*- test-case-name: txcausal.test.test_traceids -*-
"""
Trace and span ids for tasks and actions: the one scheme shared by the
C{traceparent} header (L{txcausal._propagation}), the spans of
L{txcausal.otel} and the ECS documents of C{txcausal export}.

  - trace id = the task UUID's 128 bits (for a task id that is not a UUID,
    or the all-zero UUID, which W3C forbids: the first 128 bits of the
    SHA-256 of its text);
  - span id of the action whose start message is at C{level + [1]} = the
    first 64 bits of the SHA-256 of C{"<task uuid>@/1/2"} (the action's
    position, written as C{serialize_task_id} writes positions; C{"<task
    uuid>@"} for a task's root action), never zero;
  - the span id of a second span of the same action (an action read twice,
    or a task given up by C{txcausal export --max-open} whose finish comes
    later) = the same with C{"#2"} added to the position text (C{"#3"} for a
    third, ...).

The ids depend on nothing but the log, so every process (and any later
reader of the files) gives an action the same span id, and the action
continuing a task in another process (at C{client_level + [n]}) is the child
of the client's action.
"""

from __future__ import annotations

import re
from hashlib import sha256
from typing import Optional, Sequence

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SPAN_HEX = re.compile(r"[0-9a-fA-F]{16}")
_ZERO_TRACE, _ZERO_SPAN, _ONE_SPAN = "0" * 32, "0" * 16, "0" * 15 + "1"


def position(task_uuid: str, level: Sequence[int]) -> str:
    """
    @return: The text of an action's position: C{"<task uuid>@/1/2"} for the
        action whose start message is at C{[1, 2, 1]}, C{"<task uuid>@"} for
        a task's root action (level C{[]}).
    """
    if not level:
        return task_uuid + "@"
    return task_uuid + "@/" + "/".join(map(str, level))


def uuid_trace_hex(task_uuid: str) -> str:
    """
    @return: The task UUID's 32 hex digits in lower case (its 128 bits), or
        C{""} if C{task_uuid} is not a UUID or is the all-zero UUID.
    """
    if len(task_uuid) == 36 and _UUID.fullmatch(task_uuid):
        digits = task_uuid.replace("-", "").lower()
        if digits != _ZERO_TRACE:
            return digits
    return ""


def uuid_trace_id(task_uuid: str) -> int:
    """
    @return: The task UUID's 128 bits, or 0 if C{task_uuid} is not a UUID.
    """
    digits = uuid_trace_hex(task_uuid)
    return int(digits, 16) if digits else 0


def trace_id(task_uuid: str) -> int:
    """
    @return: The trace id of a task, as an integer: never zero.
    """
    value = uuid_trace_id(task_uuid)
    if value:
        return value
    return int(sha256(task_uuid.encode("utf-8", "surrogatepass")).hexdigest()[:32], 16) or 1


def span_hex(task_uuid: str, level: Sequence[int], copy: int = 1) -> str:
    """
    @param level: The action's level: its start message's C{task_level}
        without the last element.
    @param copy: Which span of the action: 2 or more for a span made of a
        second reading of the action (see the module's docstring).
    @return: The span id of the action as 16 hex digits: never all zeros.
    """
    text = position(task_uuid, level)
    if copy > 1:
        text += f"#{copy}"
    return text_span_hex(text.encode("utf-8", "surrogatepass"))


def text_span_hex(text: bytes) -> str:
    """
    @param text: The text of a span's position (see L{position}; C{"#2"}
        added for a second span), encoded as L{span_hex} encodes it.
    @return: The span id derived from it, as 16 hex digits: never all zeros.
    """
    digits = sha256(text).hexdigest()[:16]
    return digits if digits != _ZERO_SPAN else _ONE_SPAN


def span_id(task_uuid: str, level: Sequence[int], copy: int = 1) -> int:
    """
    @param level: The action's level: its start message's C{task_level}
        without the last element.
    @param copy: Which span of the action (see L{span_hex}).
    @return: The span id of the action, as an integer: never zero.
    """
    return int(span_hex(task_uuid, level, copy), 16)


def read_span_id(text: object) -> Optional[int]:
    """
    Read a span id written by another program (a C{parent_span_id} field).

    @return: The span id C{text} writes as 16 hex digits (either case), or
        C{None} if it is anything else (C{int(text, 16)} would also read a
        sign, a C{0x}, C{_} or spaces) or all zeros, which W3C forbids.
    """
    if isinstance(text, str) and len(text) == 16 and _SPAN_HEX.fullmatch(text):
        return int(text, 16) or None
    return None


__all__ = ["position", "read_span_id", "span_hex", "span_id", "text_span_hex", "trace_id",
           "uuid_trace_hex", "uuid_trace_id"]
