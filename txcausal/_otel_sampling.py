# -*- test-case-name: txcausal.test.test_otel_pipeline -*-
"""
Sampling a ratio of tasks: L{TaskIdRatioBased}.

A task's trace id is its UUID.  The SDK's C{TraceIdRatioBased} decides on
the low 64 bits of a trace id, and in a version 4 UUID the first two of
those are the fixed variant bits (C{10}): with it, no task at all is sampled
for a ratio up to one half, and every task from three quarters.  The low 56
bits of a version 4 UUID are random, as W3C Trace Context (level 2) asks of
a random trace id, and so are the bits of the trace ids txcausal derives
from other task ids: L{TaskIdRatioBased} decides on those.
"""

from __future__ import annotations

from typing import Any, Optional

from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased


class TaskIdRatioBased(TraceIdRatioBased):
    """
    Sample a ratio of tasks, by the random low 56 bits of their trace ids
    (their UUIDs): every process decides the same for a task.  Use it as the
    root sampler: C{ParentBased(TaskIdRatioBased(0.1))}.
    """

    TRACE_ID_LIMIT = (1 << 56) - 1

    def get_description(self) -> str:
        """
        @return: C{"TaskIdRatioBased{<rate>}"}.
        """
        return f"TaskIdRatioBased{{{self.rate}}}"


def _root(sampler: Sampler) -> Sampler:
    """
    @return: The sampler that decides for a task's root: the root of a
        C{ParentBased}, else C{sampler}.
    """
    root: Optional[Any] = getattr(sampler, "_root", None) if isinstance(
        sampler, ParentBased) else None
    return root if isinstance(root, Sampler) else sampler


def ratio_warning(sampler: Sampler) -> Optional[str]:
    """
    @return: A warning if C{sampler} decides for tasks with the SDK's
        C{TraceIdRatioBased}, which misreads UUIDs; else C{None}.
    """
    root = _root(sampler)
    if type(root) is not TraceIdRatioBased:
        return None
    return (f"{root.get_description()} reads the bits of a trace id that a task's UUID fixes,"
            f" and samples no task for a ratio up to one half: sample with"
            f" txcausal.otel.TaskIdRatioBased({root.rate}) instead")


__all__ = ["TaskIdRatioBased", "ratio_warning"]
