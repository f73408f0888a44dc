# -*- test-case-name: txcausal.test.test_otel -*-
"""
L{SpanDestination}: every action logged becomes an OpenTelemetry span, handed
to a tracer provider's span processors when the action finishes.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from time import monotonic
from typing import Any, Callable, Dict, Optional, Tuple

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
from opentelemetry.trace import SpanContext, SpanKind
from zope.interface import implementer

from . import _output
from ._interfaces import IDestination
from ._otel_losses import NO_TIME, SHUT_DOWN, Losses
from ._otel_open import (
    Key,
    Open,
    Pipeline,
    carry,
    last_of_descendants,
    remember,
    warn_about,
    watch_of,
)
from ._otel_spans import (
    END_SKIPPED,
    NOT_SAMPLED,
    SAMPLED,
    SCOPE,
    START_MISSING_ATTRIBUTE,
    UNFINISHED_ATTRIBUTE,
    UNSET_STATUS,
    attributes,
    event,
    kind_of,
    named_parent,
    nanoseconds,
    outcome,
    parent_of,
    span_context,
)
from ._otel_times import UNKNOWN_START, dated, span_times
from ._reentry import Parked, holders, parked, parks
from ._route import _behind, _registered
from ._traceids import span_id, trace_id
from ._version import __version__
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    STARTED_STATUS,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    exception_name,
)

#: The default cap on actions waiting for their finish message.
DEFAULT_MAX_OPEN = 10_000


@implementer(IDestination)
class SpanDestination(Losses):
    """
    An L{IDestination} that turns each action into an OpenTelemetry span and
    hands it, once the action finishes, to the span processors of a tracer
    provider (so a C{BatchSpanProcessor} and any exporter work as usual).

    The span is named by the action type, starts and ends at the start and
    finish messages' times, is the child of the enclosing action's span
    (across processes too), has the action's fields as attributes and the
    messages logged in it as events, and has status ERROR with an
    C{exception} event when the action failed.  Its ids come from the task
    UUID and the action's level (see C{docs/opentelemetry.md}).

    The provider's sampler decides for each action without an enclosing
    action in this process (a task, or a task's part continued here), asked
    as for a task's root, since the decision made in another process is not
    known here; the actions inside follow that decision, as the SDK's
    default parent-based sampler does.  A sampler deciding on the trace id
    alone, as L{txcausal.otel.TaskIdRatioBased} does, so decides the same
    for a task in every process.  Processors see each span complete, in
    C{on_end}; C{on_start} is not called.

    Memory is bounded: past C{max_open} actions waiting for their finish,
    the oldest is given up, and what it lost (its start message and
    events) is counted in L{dropped} and reported in the log as a
    C{txcausal:messages_dropped} message, as are messages logged in
    actions this destination did not see start.  An action whose start
    was not seen still becomes a span when it finishes, marked with the
    C{txcausal.start_missing} attribute.  The actions still open when the
    destination is removed (or the C{ThreadedWriter} it is behind stops, by
    C{stopService}), or when the process exits, become spans then, marked
    with the C{txcausal.unfinished} attribute and ending at their last
    message (theirs or their descendants', as C{txcausal export} ends them),
    and the losses not reported yet are reported; a forked child leaves its
    parent's to the parent.  Added again, it makes no second span for an
    action it so ended (the last C{max_open} of them): its later messages
    are counted and reported as lost.  Once the provider is shut down, the
    spans its processors would drop are not made: their messages are counted
    and reported, as are those of an action whose start no usable
    C{timestamp} tells (a number of seconds from 1970 to 2554, as OTLP
    holds times; the rule C{txcausal export} follows too).  Thread-safe.

    @ivar dropped: How many messages were lost to spans so far.
    """

    def __init__(self, tracer_provider: Optional[trace.TracerProvider] = None,
                 max_open: int = DEFAULT_MAX_OPEN,
                 clock: Callable[[], float] = monotonic) -> None:
        """
        @param tracer_provider: The SDK's C{TracerProvider} to use; default:
            the global one, once one is set (no span is made before).
        @param max_open: How many unfinished actions to keep at most.
        @param clock: Tells the time, to space the reports of losses.
        @raise TypeError: If C{tracer_provider} is not the SDK's.
        @raise ValueError: If C{max_open} is not positive.
        """
        if tracer_provider is not None and not isinstance(tracer_provider, SDKTracerProvider):
            raise TypeError(f"SpanDestination needs the OpenTelemetry SDK's TracerProvider, "
                            f"not {type(tracer_provider).__name__}")
        if max_open < 1:
            raise ValueError(f"max_open must be positive, not {max_open!r}")
        if tracer_provider is not None:
            warn_about(tracer_provider.sampler, 3)
            watch_of(tracer_provider)  # To hear of a shutdown before the first message.
        super().__init__(max_open, clock)
        self._provider = tracer_provider
        self._pipeline: Optional[Pipeline] = None
        self._open: Dict[Key, Open] = {}
        #: The actions ended as unfinished (L{_endOpen}) whose finish has
        #: not come: whether each was recorded.  At most C{max_open}.
        self._ended: Dict[Key, bool] = {}
        #: What was logged on a thread while it held the lock in
        #: L{_finishFeedback} (see L{txcausal._reentry}).
        self._parked: Parked[Dict[str, Any]] = parked()
        # Not at the first message only: a writer may take it during exit.
        _end_at_exit()

    def _resolve(self) -> Optional[Pipeline]:
        provider = self._provider or trace.get_tracer_provider()
        tracer = provider.get_tracer(SCOPE.name, __version__)
        if getattr(tracer, "span_processor", None) is None:
            return None  # No SDK provider (yet), or a disabled one.
        self._pipeline = Pipeline(tracer, provider)
        _MADE_SPANS.add(self)
        if self._provider is None:
            _end_at_exit()  # The global provider may be newer than this.
            try:
                warn_about(self._pipeline.sampler, 4)
            except Exception:
                pass  # Warnings made errors: logging never raises.
        return self._pipeline

    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Take one message: start, finish or add to an action's span.
        """
        lock = self._lock
        if lock.locked() and parks(lock, self, _HOLDERS, self._parked, message, self):
            # Logged on a thread holding the lock as it ends the open
            # actions (a signal handler, a finalizer): taken once released.
            return
        pipeline = self._pipeline or self._resolve()
        if pipeline is None:
            return
        status = message.get(ACTION_STATUS_FIELD)
        finished = None
        with self._lock:
            if status is None or message.get(ACTION_TYPE_FIELD).__class__ is not str:
                self._event(message, pipeline)
            elif status == STARTED_STATUS:
                self._start(message, pipeline)
            else:
                finished = self._finish(message, pipeline)
        if finished is not None:
            pipeline.processor.on_end(finished)
        if self._given_up or self._unseen or self._late or self._shut or self._untimed:
            self._report()

    def _event(self, message: Dict[str, Any], pipeline: Pipeline) -> None:
        level = message[TASK_LEVEL_FIELD]
        if len(level) == 1 and level[0] == 1:
            return  # A message of its own, in no action.
        key = (message[TASK_UUID_FIELD], tuple(level[:-1]))
        entry = self._open.get(key)
        if entry is None:
            if self._ended and key in self._ended:
                self._lateIn(self._ended[key])
                return
            self._unseen += 1
            self.dropped += 1
        elif entry.fields is not None:
            at = nanoseconds(message.get(TIMESTAMP_FIELD))
            if at is not None and at > entry.last:
                entry.last = at
            events = entry.events
            maximum = pipeline.max_events
            if maximum is not None and len(events) >= maximum:
                if not maximum:
                    entry.dropped += 1
                    return
                del events[0]
                entry.dropped += 1
            events.append(event(message, pipeline.builder.limits, entry.start, at))

    def _start(self, message: Dict[str, Any], pipeline: Pipeline) -> None:
        uuid = message[TASK_UUID_FIELD]
        level = tuple(message[TASK_LEVEL_FIELD][:-1])
        name = message[ACTION_TYPE_FIELD]
        kind = kind_of(name, message)
        fields = attributes(message)
        enclosing = self._open.get((uuid, level[:-1])) if level else None
        if enclosing is not None and ("parent_span_id" not in message
                                      or named_parent(message) is None):
            parent: Optional[SpanContext] = enclosing.context
            assert parent is not None
            context = span_context(parent.trace_id, span_id(uuid, level), parent.trace_flags,
                                   parent.trace_state)
            recording = enclosing.fields is not None
        else:
            context, parent, recording = self._sample(uuid, level, name, kind, fields, message,
                                                      pipeline)
        open = self._open
        start = nanoseconds(message.get(TIMESTAMP_FIELD))
        open[(uuid, level)] = Open(context, parent, name, kind,
                                   UNKNOWN_START if start is None else start,
                                   fields if recording else None)
        if len(open) > self._max_open:
            key = next(iter(open))
            oldest = open.pop(key)
            carry(open, key, oldest.last)
            if oldest.fields is not None:
                lost = 1 + len(oldest.events) + oldest.dropped
                self._given_up += lost
                self.dropped += lost

    def _sample(self, uuid: str, level: Tuple[int, ...], name: str, kind: SpanKind,
                fields: Dict[str, Any], start: Optional[Dict[str, Any]],
                pipeline: Pipeline) -> Tuple[SpanContext, Optional[SpanContext], bool]:
        """
        Ask the sampler about an action with no enclosing action here, as
        about a task's root.

        @return: The span's context, its parent's, and whether to record it.
        """
        trace = trace_id(uuid)
        parent = parent_of(uuid, level, trace, start)
        # The parent, if any, is in another process (or was given up): its
        # decision is not known here.  Asked as for a task's root, a sampler
        # deciding on the trace id decides as that process did.
        result = pipeline.sampler.should_sample(Context(), trace, name, kind, fields)
        if result.attributes:
            fields.update(result.attributes)
        flags = SAMPLED if result.decision.is_sampled() else NOT_SAMPLED
        own = span_context(trace, span_id(uuid, level), flags, result.trace_state)
        return own, parent, result.decision.is_recording()

    def _finish(self, message: Dict[str, Any], pipeline: Pipeline) -> Any:
        """
        @return: The finished span, if recorded.
        """
        uuid, level = message[TASK_UUID_FIELD], tuple(message[TASK_LEVEL_FIELD][:-1])
        end = nanoseconds(message.get(TIMESTAMP_FIELD))
        entry = self._open.pop((uuid, level), None)
        if entry is None:
            if self._ended and (uuid, level) in self._ended:
                self._lateIn(self._ended.pop((uuid, level)))
                return None
            entry = self._unstarted(uuid, level, message, pipeline)
        if level:
            carry(self._open, (uuid, level), entry.last if end is None else max(end, entry.last))
        fields = entry.fields
        if fields is None:
            return None
        known = entry.start != UNKNOWN_START
        times = span_times(entry.start if known else None, end, message, entry.last)
        if pipeline.watch.down or times is None:
            lost = len(entry.events) + entry.dropped + (1 if START_MISSING_ATTRIBUTE in fields
                                                        else 2)
            if pipeline.watch.down:
                self._shut += lost
            else:
                self._untimed += lost
            self.dropped += lost
            return None
        start, end = times
        if not known:
            dated(entry.events, start)
        fields.update(attributes(message, END_SKIPPED))
        status = outcome(message, entry.events, pipeline.builder.limits, end)
        return pipeline.builder.span(entry.name, entry.context, entry.parent, entry.kind,
                                     start, end, fields, entry.events, status, entry.dropped)

    def _unstarted(self, uuid: str, level: Tuple[int, ...], end: Dict[str, Any],
                   pipeline: Pipeline) -> Open:
        """
        @return: The open action standing for one whose start was not seen:
            its start is not known (its span starts C{duration} before it
            finished, see L{span_times}).
        """
        name = end[ACTION_TYPE_FIELD]
        kind = kind_of(name, None)
        fields: Dict[str, Any] = {START_MISSING_ATTRIBUTE: True}
        context, parent, recording = self._sample(uuid, level, name, kind, fields, None, pipeline)
        return Open(context, parent, name, kind, UNKNOWN_START, fields if recording else None)

    def _finishFeedback(self) -> None:
        """
        For the registry, when this destination is removed and at exit (see
        L{txcausal._feedback.finish_guarded} and L{end_open_at_exit}): end
        each action still open as a span marked C{txcausal.unfinished},
        ending at its last message (L{_endOpen}), and report the losses not
        reported yet.
        """
        try:
            self._endOpen()
            self._report(at_once=True)
        finally:
            if self._parked:
                # As the registry gives them: a failure is this one's.
                _output._DESTINATIONS.give_parked(self, self._parked)

    def _endOpen(self) -> None:
        """
        Hand the processor a span for each action still open, marked
        C{txcausal.unfinished}, ending at the last message logged in it or
        in its descendants, where C{txcausal export} of the log ends it;
        count and report what it refused.
        """
        pipeline = self._pipeline
        with self._lock:
            left, self._open = self._open, {}
            remember(self._ended, left, self._max_open)
        if pipeline is None:
            return
        last_of_descendants(left)
        lost, untimed, error = 0, 0, None
        down = pipeline.watch.down
        for entry in left.values():
            if entry.fields is None:
                continue  # Not sampled.
            times = span_times(None if entry.start == UNKNOWN_START else entry.start, None, None,
                               entry.last)
            if down or times is None:
                if down:
                    lost += 1 + len(entry.events) + entry.dropped
                else:
                    untimed += 1 + len(entry.events) + entry.dropped
                continue
            entry.fields[UNFINISHED_ATTRIBUTE] = True
            span = pipeline.builder.span(entry.name, entry.context, entry.parent, entry.kind,
                                         times[0], times[1], entry.fields,
                                         entry.events, UNSET_STATUS, entry.dropped)
            try:
                pipeline.processor.on_end(span)
            except Exception as e:
                lost += 1 + len(entry.events) + entry.dropped
                error = e
        if untimed:
            with self._lock:
                self.dropped += untimed
            self._reportLost(untimed, NO_TIME)
        if lost:
            with self._lock:
                self.dropped += lost
            self._reportLost(lost, SHUT_DOWN if error is None else (
                f"the span processor raised {exception_name(error)} on the spans of actions"
                " unfinished when the destination was removed or the process exited"))

    def __repr__(self) -> str:
        return f"<SpanDestination max_open={self._max_open} open={len(self._open)}>"


#: The destinations that made spans, for L{end_open_at_exit}.
_MADE_SPANS: "weakref.WeakSet[SpanDestination]" = weakref.WeakSet()


def end_open_at_exit() -> None:
    """
    At exit, before the tracer providers shut down: end the open actions
    and report the losses (C{_finishFeedback}) of each L{SpanDestination}
    added, or behind a C{ThreadedWriter} added once it wrote its queue
    (its C{stopThreading}, which its own exit handler would run later).
    """
    for added in _output._DESTINATIONS._destinations:
        writer, behind = _registered(added), _behind(added)
        if behind is not writer and isinstance(behind, SpanDestination):
            writer.stopThreading()  # type: ignore[attr-defined]
            behind._finishFeedback()
    for destination in list(_MADE_SPANS):
        if _output._DESTINATIONS.has(destination):
            destination._finishFeedback()


def _end_at_exit() -> None:
    """Run L{end_open_at_exit} at exit before the providers made so far shut down."""
    atexit.unregister(end_open_at_exit)
    atexit.register(end_open_at_exit)


def _forget_in_child() -> None:
    """
    In a forked child: forget the parent's open actions and pending losses.
    """
    for destination in list(_MADE_SPANS):
        destination._lock = threading.Lock()
        destination._parked = parked()
        destination._open, destination._ended = {}, {}
        destination._forgetLosses()


os.register_at_fork(after_in_child=_forget_in_child)

#: The methods that hold a L{SpanDestination}'s lock outside its calls (see
#: L{txcausal._reentry}); in its calls, its feedback guard refuses what
#: their thread logs.
_HOLDERS = holders(SpanDestination._endOpen, SpanDestination._report)


__all__ = ["DEFAULT_MAX_OPEN", "SpanDestination", "end_open_at_exit"]

