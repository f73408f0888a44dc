# -*- test-case-name: txcausal.test.test_otel_reports,txcausal.test.test_span_agree -*-
"""
L{Losses}: what L{txcausal.otel.SpanDestination} lost, counted by why and
reported in the log, at most once a second.
"""

from __future__ import annotations

import threading
from typing import Callable

from . import _output
from ._json import safe_repr
from ._wire import dropped_message

#: Seconds between two reports of lost messages.
REPORT_INTERVAL = 1.0

#: Why the spans made once the provider was shut down were lost.
SHUT_DOWN = ("the tracer provider was shut down while this destination was still added, so its"
             " processors drop spans: remove the destination first")
#: Why the messages of an action with no span for want of a time were lost.
NO_TIME = ("logged in actions with no span for want of a time: no timestamp from 1970 to 2554"
           " for their start, nor for their finish")


class Losses:
    """
    The messages lost to spans, by why, until reported.

    @ivar dropped: How many messages were lost to spans so far.
    """

    def __init__(self, max_open: int, clock: Callable[[], float]) -> None:
        self._max_open = max_open
        self._clock = clock
        self._lock = threading.Lock()
        self.dropped = 0
        self._next_report = float("-inf")
        self._forgetLosses()

    def _forgetLosses(self) -> None:
        """
        Forget the losses not reported yet (and start afresh, in a forked
        child, whose parent reports them).
        """
        self._given_up, self._unseen, self._late, self._shut, self._untimed = 0, 0, 0, 0, 0

    def _lateIn(self, recorded: bool) -> None:
        """
        Count a message logged in an action already ended as unfinished as
        lost, if that action was recorded: its span is made, and no second
        one is (it would have the same span id).
        """
        if recorded:
            self._late += 1
            self.dropped += 1

    def _report(self, at_once: bool = False) -> None:
        """
        Report the messages lost since the last report, unless it was less
        than L{REPORT_INTERVAL} ago (and not C{at_once}).
        """
        now = self._clock()
        with self._lock:
            if now < self._next_report and not at_once:
                return
            self._next_report = now + REPORT_INTERVAL
            given_up, unseen, late = self._given_up, self._unseen, self._late
            shut, untimed = self._shut, self._untimed
            self._forgetLosses()
        if given_up:
            self._reportLost(given_up, f"more than {self._max_open} actions were unfinished: the"
                             " oldest were given up, without their start message and events")
        if unseen:
            self._reportLost(unseen, "logged in actions whose start this destination did not see")
        if shut:
            self._reportLost(shut, SHUT_DOWN)
        if late:
            self._reportLost(late, "logged in actions already ended as unfinished, their spans"
                             " made, when this destination was removed")
        if untimed:
            self._reportLost(untimed, NO_TIME)

    def _reportLost(self, count: int, reason: str) -> None:
        """
        Log the report of C{count} messages lost; on standard error instead,
        if no other destination would take it (this one makes no span of a
        message outside actions).
        """
        report = dropped_message(count, reason, destination=safe_repr(self, 200))
        _output._report_lost(self, report, to_source=False)


__all__ = ["Losses", "NO_TIME", "REPORT_INTERVAL", "SHUT_DOWN"]
