# -*- test-case-name: txcausal.test.test_otel_context -*-
"""
Logs and traces join: messages carry the ids of the current OpenTelemetry
span, and (opt-in) the current txcausal action is OpenTelemetry's current
span, so spans of OpenTelemetry instrumentations nest under it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Dict, Optional, Tuple

import opentelemetry.context as otel_context
from opentelemetry.trace import INVALID_SPAN, NonRecordingSpan, get_current_span

from . import _output
from ._otel_runtime import ActionRuntimeContext
from ._otel_spans import SAMPLED, span_context
from ._traceids import span_id, trace_id


class ActionSpan(NonRecordingSpan):
    """
    The span standing for a txcausal action as OpenTelemetry's current span:
    its ids are those the action's span gets from
    L{txcausal.otel.SpanDestination}.
    """


@lru_cache(maxsize=4096)
def _action_span(task_uuid: str, level: Tuple[int, ...]) -> ActionSpan:
    return ActionSpan(span_context(trace_id(task_uuid), span_id(task_uuid, level), SAMPLED))


def action_span(action: Any) -> ActionSpan:
    """
    @return: The span standing for C{action}.
    """
    return _action_span(action.task_uuid, tuple(action._level))


def trace_fields() -> Optional[Dict[str, str]]:
    """
    A field source (see L{txcausal._destinations.Destinations.add_field_source}):
    the current OpenTelemetry span's ids, as OpenTelemetry names them for
    JSON logs, unless that span is a txcausal action's own.
    """
    span = get_current_span()
    if span is INVALID_SPAN or span.__class__ is ActionSpan:
        return None
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "trace_flags": f"{context.trace_flags:02x}",
    }


def add_trace_fields() -> Callable[[], None]:
    """
    From now on, every message logged while an OpenTelemetry span is current
    carries that span's C{trace_id}, C{span_id} and C{trace_flags}.

    @return: A function that stops it.  Calling it again does nothing.
    """
    destinations = _output._DESTINATIONS
    if trace_fields in destinations._field_sources:
        return lambda: None
    destinations.add_field_source(trace_fields)
    return lambda: destinations.remove_field_source(trace_fields)


def nest_spans_in_actions() -> Callable[[], None]:
    """
    From now on, while a txcausal action is current, OpenTelemetry's current
    span is that action: spans started then (by OpenTelemetry
    instrumentations, or your own) are its children in the same trace, and
    C{traceparent} headers injected then name it.

    It installs L{ActionRuntimeContext} around OpenTelemetry's runtime
    context, which C{opentelemetry.context} keeps in a private name.  The
    public way to the same is to start the program with
    C{OTEL_PYTHON_CONTEXT=txcausal} in its environment.  Call it once,
    early; calling it again does nothing.

    @return: A function that puts the previous runtime context back.
    @raise RuntimeError: If this OpenTelemetry keeps its runtime context
        elsewhere.
    """
    previous = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    if previous is None:
        raise RuntimeError(
            "nest_spans_in_actions: this version of opentelemetry-api keeps its runtime context"
            " where txcausal cannot replace it; start the program with"
            " OTEL_PYTHON_CONTEXT=txcausal in its environment instead")
    if isinstance(previous, ActionRuntimeContext):
        return lambda: None
    otel_context._RUNTIME_CONTEXT = ActionRuntimeContext(previous)

    def undo() -> None:
        otel_context._RUNTIME_CONTEXT = previous

    return undo


__all__ = [
    "ActionSpan",
    "action_span",
    "add_trace_fields",
    "nest_spans_in_actions",
    "trace_fields",
]
