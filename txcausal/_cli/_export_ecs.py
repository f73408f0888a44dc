# -*- test-case-name: txcausal.test.test_export_ecs -*-
"""
C{txcausal export --format ecs}: each message as an Elastic Common Schema
document, one JSON line each, for Filebeat or Logstash to ship to
Elasticsearch without a custom filter.

The ECS fields: C{@timestamp}, C{ecs.version}, C{message}, C{log.level},
C{log.logger}, C{event.kind}, C{event.action}, C{event.outcome},
C{event.duration}, C{trace.id}, C{span.id} (the ids of
L{txcausal._traceids}, as C{txcausal export --endpoint} gives the spans),
C{error.type}, C{error.message}, C{error.stack_trace}, and the label
C{labels.task_path}: the task level as a keyword that sorts in level order
(C{"0000000001/0000000002"}); the message itself, whole, under C{txcausal}.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional

import orjson

from .._parse import Task
from .._traceids import span_id, trace_id
from .._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DURATION_FIELD,
    EXCEPTION_FIELD,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    REASON_FIELD,
    STARTED_STATUS,
    SUCCEEDED_STATUS,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    TRACEBACK_FIELD,
    TRACEBACK_MESSAGE_TYPE,
)
from ._common import MAX_REPORTED, BatchWriter, Streams, describe
from ._ecs_depth import DEPTH_LIMIT, fit, unfit
from ._export import Counts
from ._text import counted

#: The version of ECS the documents follow.
ECS_VERSION = "8.11.0"
#: The field holding the original message.
NAMESPACE = "txcausal"
#: C{event.outcome} of an action's messages: ECS keeps C{unknown} for an
#: attempt whose result is not known yet (an action's start), and has the
#: field left out where an outcome makes no sense (a message).
_OUTCOMES: Dict[Any, str] = {
    STARTED_STATUS: "unknown", SUCCEEDED_STATUS: "success", FAILED_STATUS: "failure"}


def iso_timestamp(timestamp: Any) -> str:
    """
    @return: A UNIX timestamp as ISO 8601 UTC with microseconds.
    @raise ValueError: If it is not a finite number in range.
    """
    if timestamp.__class__ not in (int, float) or not math.isfinite(timestamp):
        raise ValueError(f"timestamp is not a number: {str(timestamp)[:40]!r}")
    try:
        moment = datetime.fromtimestamp(timestamp, timezone.utc)
    except (OverflowError, OSError) as e:
        raise ValueError(f"timestamp out of range: {timestamp!r}") from e
    # isoformat, not strftime: glibc's %Y writes the year 36 as "36".
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def task_path(level: Any) -> str:
    """
    @return: A task level as text that sorts as the levels do: each index
        zero-padded to 10 digits, joined with C{/}.
    """
    return "/".join(["%010d" % n for n in level])


def _text(value: Any) -> Optional[str]:
    return value if value.__class__ is str else None


def _summary(message: Dict[str, Any]) -> str:
    """
    @return: The C{message} of the document: the message's own text if it
        has one, else what it is.
    """
    text = _text(message.get("message")) or _text(message.get("log_text"))
    if text is not None:
        return text
    action_type = _text(message.get(ACTION_TYPE_FIELD))
    if action_type is not None:
        summary = f"{action_type} {message.get(ACTION_STATUS_FIELD)}"
        if message.get(ACTION_STATUS_FIELD) == FAILED_STATUS:
            summary += f": {message.get(EXCEPTION_FIELD)}: {message.get(REASON_FIELD)}"
        return summary
    return str(message.get(MESSAGE_TYPE_FIELD, "<unnamed>"))


def _error(message: Dict[str, Any]) -> Optional[Dict[str, str]]:
    failed = (message.get(ACTION_STATUS_FIELD) == FAILED_STATUS
              or message.get(MESSAGE_TYPE_FIELD) == TRACEBACK_MESSAGE_TYPE)
    if not failed and TRACEBACK_FIELD not in message:
        return None
    error = {"type": _text(message.get(EXCEPTION_FIELD)), "message": _text(
        message.get(REASON_FIELD)), "stack_trace": _text(message.get(TRACEBACK_FIELD))}
    return {key: value for key, value in error.items() if value is not None}


def _level(message: Dict[str, Any], error: Optional[Dict[str, str]]) -> str:
    level = _text(message.get("log_level"))
    if level is not None:
        return level.lower()
    return "error" if error is not None else "info"


def ecs_document(message: Dict[str, Any]) -> Dict[str, Any]:
    """
    @return: The ECS document for one message.
    @raise ValueError: If the message has no usable timestamp.
    """
    uuid, level = message[TASK_UUID_FIELD], message[TASK_LEVEL_FIELD]
    status = message.get(ACTION_STATUS_FIELD)
    kind = _text(message.get(ACTION_TYPE_FIELD)) or _text(message.get(MESSAGE_TYPE_FIELD))
    event: Dict[str, Any] = {"kind": "event"}
    if kind is not None:
        event["action"] = kind
    outcome = _OUTCOMES.get(status) if status.__class__ is str else None
    if outcome is not None:
        event["outcome"] = outcome
    duration = message.get(DURATION_FIELD)
    if outcome is not None and status != STARTED_STATUS and duration.__class__ in (
            int, float) and math.isfinite(duration):
        event["duration"] = int(duration * 1e9)
    error = _error(message)
    document: Dict[str, Any] = {
        "@timestamp": iso_timestamp(message.get(TIMESTAMP_FIELD)),
        "ecs": {"version": ECS_VERSION},
        "message": _summary(message),
        "log": {"level": _level(message, error)},
        "event": event,
        "trace": {"id": f"{trace_id(uuid):032x}"},
        "labels": {"task_path": task_path(level)},
    }
    if status is not None or level != [1]:
        document["span"] = {"id": f"{span_id(uuid, level[:-1]):016x}"}
    logger = _text(message.get("logger")) or _text(message.get("log_namespace"))
    if logger is not None:
        document["log"]["logger"] = logger
    if error:
        document["error"] = error
    document[NAMESPACE] = message
    return document


def encode(document: Dict[str, Any]) -> str:
    """
    @return: A document as one JSON line; integers past 64 bits are kept.
    @raise ValueError: If it is nested too deep to be written.
    """
    try:
        return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE).decode("utf-8")
    except TypeError:
        pass
    try:
        return json.dumps(document, ensure_ascii=False, default=repr) + "\n"
    except RecursionError:
        raise ValueError("nested too deep to write as JSON") from None


class ECSWriter:
    """
    Write the messages of each task, in level order, as ECS JSON lines; a
    message that cannot be converted is skipped, and reported (the first
    L{MAX_REPORTED}; the others are counted in the summary).
    """

    def __init__(self, streams: Streams, note: Callable[[str], None]) -> None:
        self._streams = streams
        self._note = note
        self._out = BatchWriter(streams.stdout)
        self.counts = Counts()
        self.skipped = 0
        self.too_deep = 0

    def write(self, task: Task) -> None:
        """
        Write one task's messages.
        """
        self.counts.tasks += 1
        parts = self._out.parts
        for message in task.messages():
            try:
                document = ecs_document(message)
                why = unfit(message)
                if why is not None:
                    self._fit(document, why)
                parts.append(encode(document))
            except (ValueError, KeyError, TypeError) as e:
                self.skipped += 1
                if self.skipped <= MAX_REPORTED:
                    self._note(f"{describe(message)}: skipped: {e}")
                continue
            self.counts.items += 1
        self._out.maybe_flush()

    def _fit(self, document: Dict[str, Any], why: str) -> None:
        """
        Write the objects of a document's message that the index template
        refuses (L{unfit} says C{why}) as JSON text, and report it (the
        first L{MAX_REPORTED}; the summary counts them all).

        @raise ValueError: If the message is nested too deep to copy.
        """
        message = document[NAMESPACE]
        try:
            document[NAMESPACE] = fit(message)
        except RecursionError:
            raise ValueError("nested too deep to write") from None
        self.too_deep += 1
        if self.too_deep <= MAX_REPORTED:
            self._note(f"{describe(message)}: {why} written as JSON text")

    def close(self) -> int:
        """
        Write what is left and summarize.

        @return: 0.
        """
        self._out.flush()
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        deep = (f", {self.too_deep} with objects nested deeper than {DEPTH_LIMIT} or keys"
                " Elasticsearch refuses written as JSON text") if self.too_deep else ""
        documents = counted(self.counts.items, "ECS document")
        self._streams.stderr.write(f"txcausal: wrote {documents} from"
                                   f" {counted(self.counts.tasks, 'task')}{skipped}{deep}\n")
        return 0
