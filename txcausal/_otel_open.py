# -*- test-case-name: txcausal.test.test_otel_pipeline -*-
"""
What L{txcausal.otel.SpanDestination} keeps: an action waiting for its
finish (L{Open}), and what it uses of a tracer of the SDK (L{Pipeline}),
with what tells that the tracer's provider was shut down.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from typing import Any, Dict, List, Optional, Tuple

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, SpanLimits, SpanProcessor
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import SpanContext, SpanKind

from ._otel_sampling import ratio_warning
from ._otel_spans import SCOPE, SpanBuilder

Key = Tuple[str, Tuple[int, ...]]


class Open:
    """
    An action whose start was seen and whose finish was not, yet.
    """

    __slots__ = ("context", "parent", "name", "kind", "start", "fields", "events", "dropped",
                 "last")

    def __init__(self, context: SpanContext, parent: Optional[SpanContext], name: str,
                 kind: SpanKind, start: int, fields: Optional[Dict[str, Any]]) -> None:
        self.context = context
        self.parent = parent
        self.name = name
        self.kind = kind
        self.start = start
        #: C{None} when the span is not recorded (not sampled).
        self.fields = fields
        self.events: List[Event] = []
        self.dropped = 0
        #: The time of its last message, or of its finished descendants':
        #: where its span ends if it never finishes.
        self.last = start


class TracerSpans(SpanBuilder):
    """
    Makes spans with the resource, limits and scope of a tracer of the SDK;
    its resource as it is when each span is made (the SDK changes it in a
    forked child process).
    """

    def __init__(self, tracer: Any) -> None:
        limits = getattr(tracer, "_span_limits", None) or SpanLimits()
        super().__init__(tracer.resource, limits, getattr(tracer, "_instrumentation_scope", SCOPE))
        self._tracer = tracer

    @property
    def resource(self) -> Resource:
        return self._tracer.resource  # type: ignore[no-any-return]


class ShutdownWatch(SpanProcessor):
    """
    A span processor doing nothing but noticing, by its C{shutdown}, that
    the provider it was added to was shut down: the SDK's processors then
    drop what they are given, without a word but a log line.
    """

    def __init__(self) -> None:
        self.down = False

    def shutdown(self) -> None:
        self.down = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """
        @return: C{True}: nothing to flush (the base class returns C{None},
            which the provider of SDK 1.25 takes for a failed flush).
        """
        return True


#: The watch of each provider, shared by its destinations.
_WATCHES: "weakref.WeakKeyDictionary[Any, ShutdownWatch]" = weakref.WeakKeyDictionary()
#: Re-entrant: a message logged where a watch is added to its provider (a
#: signal handler, a finalizer, the provider's own code) may resolve another
#: destination, which takes its own provider's watch.  The watch is in
#: L{_WATCHES} (in one step) before it is added.
_WATCHES_LOCK = threading.RLock()


def _new_watches_lock() -> None:
    """
    In a forked child: a new L{_WATCHES_LOCK}, since another thread of the
    parent may have held it at the fork, never to release it here.
    """
    global _WATCHES_LOCK
    _WATCHES_LOCK = threading.RLock()


os.register_at_fork(after_in_child=_new_watches_lock)


def watch_of(provider: Any) -> ShutdownWatch:
    """
    @return: The L{ShutdownWatch} of C{provider}, added to it by the first
        call: one per provider, whatever the destinations and threads.
    """
    with _WATCHES_LOCK:
        watch = _WATCHES.get(provider)
        if watch is None:
            made = ShutdownWatch()
            watch = _WATCHES.setdefault(provider, made)
            if watch is made:
                provider.add_span_processor(watch)
    return watch


class Pipeline:
    """
    What a tracer of the SDK uses: span processor, sampler, resource and
    limits; and what tells that its provider was shut down.
    """

    def __init__(self, tracer: Any, provider: Any) -> None:
        self.processor = tracer.span_processor
        self.sampler = tracer.sampler
        self.builder = TracerSpans(tracer)
        self.max_events = self.builder.limits.max_events
        self.watch = watch_of(provider)


def warn_about(sampler: Sampler, stacklevel: int) -> None:
    """
    Warn if C{sampler} misreads task UUIDs (see L{ratio_warning}).
    """
    warning = ratio_warning(sampler)
    if warning is not None:
        warnings.warn(warning, stacklevel=stacklevel)


def last_of_descendants(left: Dict[Key, Open]) -> None:
    """
    Make the C{last} time of each action in C{left} that of its last
    descendant in C{left} too, if later, as the actions end together (the
    nearest enclosing action in C{left}, past finished ones).
    """
    for key, entry in sorted(left.items(), key=lambda item: -len(item[0][1])):
        carry(left, key, entry.last)


def carry(open: Dict[Key, Open], key: Key, at: int) -> None:
    """
    Move the C{last} time of the nearest action in C{open} enclosing the
    action C{key} (past finished ones, and past a Dask attempt's position,
    which is no action) to C{at}, if later: C{txcausal export} ends an
    unfinished action at the last message of any of its descendants.
    """
    uuid, level = key
    while level:
        level = level[:-1]
        enclosing = open.get((uuid, level))
        if enclosing is not None:
            if at > enclosing.last:
                enclosing.last = at
            return



def remember(ended: Dict[Key, bool], left: Dict[Key, Open], maximum: int) -> None:
    """
    Remember in C{ended} the actions of C{left}, about to be ended as
    unfinished, and whether each is recorded, so that their later messages,
    if the destination is added again, make no second span; the latest
    C{maximum} of them at most.
    """
    for key, entry in left.items():
        ended[key] = entry.fields is not None
    for key in list(ended)[:max(0, len(ended) - maximum)]:
        del ended[key]


__all__ = ["Key", "Open", "Pipeline", "ShutdownWatch", "TracerSpans", "carry",
           "last_of_descendants", "remember", "warn_about", "watch_of"]
