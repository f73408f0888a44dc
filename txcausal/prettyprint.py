# -*- test-case-name: txcausal.test.test_eliot_modules -*-
"""
Human-readable text for single messages, as C{eliot.prettyprint} writes
it: L{pretty_format} (a block per message) and L{compact_format} (a line per
message).  The command line is C{txcausal pretty}, which also escapes the
terminal control characters a log may hold.
"""

from __future__ import annotations

import json
import pprint
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Tuple

from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    MESSAGE_TYPE_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    time_shown,
)

#: The fields every message has.
REQUIRED_FIELDS = frozenset([TASK_LEVEL_FIELD, TASK_UUID_FIELD, TIMESTAMP_FIELD])

#: Shown first, in this order; then the others, sorted.
_FIRST = (ACTION_TYPE_FIELD, MESSAGE_TYPE_FIELD, ACTION_STATUS_FIELD)
#: Shown in the heading, or first.
_NOT_SORTED = frozenset(_FIRST) | REQUIRED_FIELDS


def _timestamp(message: Dict[str, Any], local_timezone: bool) -> str:
    """
    @return: The message's time in ISO 8601: UTC with a C{Z}, or local
        time without a zone.  A timestamp that is no time is shown as
        given (see L{time_shown}): a string (C{NaN} and the infinities are
        read as strings) as it is, escaped as JSON escapes it (so that it
        stays on its line), another value (a boolean, C{null}, a list) as
        JSON.
    """
    return time_shown(message, _local_iso if local_timezone else _utc_iso, _as_given)


def _local_iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).isoformat(sep="T")


def _utc_iso(timestamp: float) -> str:
    utc = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return utc.replace(tzinfo=None).isoformat(sep="T") + "Z"


def _as_given(timestamp: Any) -> str:
    if timestamp.__class__ is str:
        return json.dumps(timestamp)[1:-1]
    return json.dumps(timestamp, separators=(",", ":"))


def _fields(message: Dict[str, Any]) -> Iterator[Tuple[str, Any]]:
    """
    @return: The fields to show: the type and status first, then the
        others in key order.
    """
    for key in _FIRST:
        if key in message:
            yield key, message[key]
    for key in sorted(message):
        if key not in _NOT_SORTED:
            yield key, message[key]


def _level(message: Dict[str, Any]) -> str:
    return "/" + "/".join(map(str, message[TASK_LEVEL_FIELD]))


def pretty_format(message: Dict[str, Any], local_timezone: bool = False) -> str:
    """
    @return: The message as a block: C{"<task uuid> -> /<level>"}, the
        time, then one indented C{key: value} line per field (values as
        C{pprint} writes them, 40 columns wide, their later lines aligned
        under a C{|}).
    """
    lines = []
    for key, value in _fields(message):
        text = pprint.pformat(value, width=40).replace("\\n", "\n ").replace("\\t", "\t")
        first, *rest = text.split("\n")
        indent = " " * (2 + len(key)) + "| "
        lines.append(f"  {key}: " + "\n".join([first] + [indent + line for line in rest]) + "\n")
    return (f"{message[TASK_UUID_FIELD]} -> {_level(message)}\n"
            f"{_timestamp(message, local_timezone)}\n" + "".join(lines))


def compact_format(message: Dict[str, Any], local_timezone: bool = False) -> str:
    """
    @return: The message on one line: C{"<task uuid>/<level> <time>"} then
        C{key=<JSON value>} for each field.
    """
    fields = " ".join(f"{key}={json.dumps(value, separators=(',', ':'))}"
                      for key, value in _fields(message))
    time = _timestamp(message, local_timezone)
    return f"{message[TASK_UUID_FIELD]}{_level(message)} {time} {fields}"


__all__ = ["pretty_format", "compact_format", "REQUIRED_FIELDS"]
