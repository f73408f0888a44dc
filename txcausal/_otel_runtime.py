# -*- test-case-name: txcausal.test.test_otel_context -*-
"""
L{ActionRuntimeContext}: OpenTelemetry's runtime context, made to see
txcausal actions (see L{txcausal.otel.nest_spans_in_actions}).

OpenTelemetry may load it while C{opentelemetry.context} is being imported
(C{OTEL_PYTHON_CONTEXT=txcausal}, through the C{opentelemetry_context} entry
point): this module imports only what that import has already defined, and
the spans standing for actions (L{txcausal._otel_context}) when first
needed.
"""

from __future__ import annotations

from typing import Any, Callable, Optional
from uuid import uuid4

from opentelemetry.context.context import Context, _RuntimeContext
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext

from ._context import current_action

#: The context key remembering which action was current when a context was
#: attached.
ACTION_KEY = f"txcausal-action-{uuid4()}"


def _with_action_span() -> Callable[[Context, Any], Context]:
    """
    @return: A function returning a context with an action as its span.
    """
    from opentelemetry.trace import set_span_in_context

    from ._otel_context import action_span

    def with_action_span(context: Context, action: Any) -> Context:
        values = dict(set_span_in_context(action_span(action), context))
        values[ACTION_KEY] = action
        return Context(values)

    return with_action_span


class ActionRuntimeContext(_RuntimeContext):
    """
    OpenTelemetry's runtime context, made to see txcausal actions: when the
    current action was made current after the current OpenTelemetry context
    was attached, the action (as a non-recording span with the ids its span
    gets from L{SpanDestination<txcausal.otel.SpanDestination>}) is the
    current span.

    Also usable without code: C{OTEL_PYTHON_CONTEXT=txcausal} selects it
    through the C{opentelemetry_context} entry point.
    """

    def __init__(self, inner: Optional[_RuntimeContext] = None) -> None:
        """
        @param inner: The runtime context that keeps the contexts; a new
            contextvars one by default.
        """
        self.inner = inner if inner is not None else ContextVarsRuntimeContext()
        self._with_action_span: Optional[Callable[[Context, Any], Context]] = None

    def attach(self, context: Context) -> Any:
        """
        Make C{context} current, remembering the action current now.
        """
        action = current_action()
        if action is not None:
            values = dict(context)
            values[ACTION_KEY] = action
            context = Context(values)
        return self.inner.attach(context)

    def get_current(self) -> Context:
        """
        @return: The attached context, or, inside an action made current
            after it was attached, that context with the action as its span.
        """
        context = self.inner.get_current()
        action = current_action()
        if action is None or context.get(ACTION_KEY) is action:
            return context
        if self._with_action_span is None:
            self._with_action_span = _with_action_span()
        return self._with_action_span(context, action)

    def detach(self, token: Any) -> None:
        """
        Restore the context current before the matching L{attach}.
        """
        self.inner.detach(token)


__all__ = ["ACTION_KEY", "ActionRuntimeContext"]
