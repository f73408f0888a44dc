# -*- test-case-name: txcausal.test.test_output_feedback -*-
"""
L{FeedbackGuard}: what the destination registry calls, on the thread that
logs, in place of a destination that could log from inside itself (any but
txcausal's own writers of JSON lines, which never log, and those marked
L{guards_itself}).  What the destination logs while it
writes is not fed back into it, which would recurse without end: as behind
a L{txcausal.logwriter.ThreadedWriter}, such a message is refused for that
destination (the others still get it), counted, and reported once the
destination has written.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Set, TypeVar, cast

from ._json import safe_repr
from ._wire import dropped_message

Destination = Callable[[Dict[str, Any]], None]

#: Why a message a destination logged while it wrote was not given to it.
FEEDBACK = ("logged by the destination while it wrote (or by a signal handler or a finalizer "
            "on the thread writing to it): not fed back into it")

_get_ident = threading.get_ident

#: The attribute of a C{__call__} marked by L{guards_itself}.
_GUARDS_ITSELF = "_txcausal_guards_itself"

_Function = TypeVar("_Function", bound=Callable[..., Any])


def guards_itself(call: _Function) -> _Function:
    """
    Mark a destination class's C{__call__} as one that keeps what the
    destination logs from feeding back into it by itself (as
    L{txcausal.logwriter.ThreadedWriter} does): the registry calls it
    without a L{FeedbackGuard}.  A subclass overriding it is guarded.
    """
    setattr(call, _GUARDS_ITSELF, True)
    return call


def is_guarded(destination: object) -> bool:
    """
    @return: Whether C{destination}'s class marked its C{__call__} with
        L{guards_itself}.
    """
    call = cast(Any, type(destination)).__call__
    return getattr(call, _GUARDS_ITSELF, False) is True


class FeedbackGuard:
    """
    Calls a destination, refusing what it logs while it writes.

    The refusals are reported in a C{txcausal:messages_dropped} message,
    sent to every destination (this one too) after the destination's call
    returns; what the destination logs while it takes that report is
    reported after its next message, not at once, so that a destination
    logging each time it is called costs one report a message, never a
    loop.  After a call that raised, they are counted in the report of the
    failure instead (see L{failure_feedback}), which the other destinations
    get: a report sent to the failing destination would fail too.
    L{finish} reports what is left, at exit or when the destination is
    removed.

    @ivar added: The destination, as it was added.
    """

    __slots__ = ("added", "_call", "_send", "_lost", "_writing", "_reporting", "_refused")

    def __init__(self, added: object, call: Destination, send: Destination,
                 lost: Callable[[object], None]) -> None:
        """
        @param added: The destination, as it was added.
        @param call: What calls it.
        @param send: Sends a message to every destination: where reports go.
        @param lost: Called with C{added} for each message refused, as it is.
        """
        self.added = added
        self._call = call
        self._send = send
        self._lost = lost
        #: The threads in the destination's call.
        self._writing: Set[int] = set()
        #: The threads sending a report of refusals.
        self._reporting: Set[int] = set()
        #: One item for each message refused and not reported yet: appended
        #: and taken one at a time, each a single atomic step, with no lock
        #: for a signal handler or a finalizer logging on the same thread
        #: to wait for.
        self._refused: Deque[None] = deque()

    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Call the destination with C{message}, unless this thread is in its
        call already; then, if it returned, report what it refused
        meanwhile, if anything.
        """
        ident = _get_ident()
        writing = self._writing
        if ident in writing:
            self._refused.append(None)
            self._lost(self.added)
            return
        writing.add(ident)
        try:
            self._call(message)
        finally:
            writing.discard(ident)
        if self._refused and ident not in self._reporting:
            self._report()

    def _report(self) -> None:
        """
        Send the report of the messages refused so far, if any.
        """
        report = self._take_report()
        if report is None:
            return
        ident = _get_ident()
        self._reporting.add(ident)
        try:
            self._send(report)
        finally:
            self._reporting.discard(ident)

    def _take_report(self) -> Optional[Dict[str, Any]]:
        """
        @return: The report of the messages refused so far, now counted as
            reported, or C{None} if there are none.
        """
        count = self.take_refused()
        if not count:
            return None
        return dropped_message(count, FEEDBACK, destination=safe_repr(self.added, 200))

    def take_refused(self) -> int:
        """
        @return: How many messages were refused and not reported yet, now
            counted as reported.
        """
        refused, count = self._refused, 0
        while refused:
            try:
                refused.popleft()
            except IndexError:
                # Another thread took the last one meanwhile.
                break
            count += 1
        return count

    def finish(self, last_resort: Callable[[Dict[str, Any]], None]) -> None:
        """
        At exit, or once the destination is removed: report what was
        refused and not reported yet, then hand the report of what the
        destination logged while it took that one to C{last_resort}
        (standard error).
        """
        self._report()
        report = self._take_report()
        if report is not None:
            last_resort(report)


def failure_feedback(destination: object) -> int:
    """
    For the report of a failure of C{destination} (as the registry calls
    it): how many messages it logged while it wrote, refused and not
    reported yet (by a L{FeedbackGuard}), now counted in that report.
    """
    guard = getattr(destination, "__self__", None)
    return guard.take_refused() if type(guard) is FeedbackGuard else 0


def count_guarded(added: object) -> None:
    """
    For a message a L{FeedbackGuard} refused to C{added} (the destination
    as it was added): have the destination count it among what it lost, if
    it keeps count (has a C{_countGuarded} method, as a subclass of
    L{txcausal.logwriter.ThreadedWriter} overriding C{__call__}, which the
    registry guards, does: the guard reports it).
    """
    # Looked up on the class: a destination's own attributes (a mock's)
    # are not asked.
    count = getattr(type(added), "_countGuarded", None)
    if count is not None:
        count(added)


def finish_guarded(destination: object,
                   last_resort: Callable[[Dict[str, Any]], None]) -> None:
    """
    At exit, or once C{destination} (as the registry calls it) is removed:
    have what keeps its feedback out report the refusals it has not yet
    reported: a L{FeedbackGuard} (see L{FeedbackGuard.finish}), then the
    destination itself if it keeps count of its own (has a
    C{_finishFeedback} method, as L{txcausal.logwriter.ThreadedWriter}
    does, called whether or not a subclass overriding C{__call__} had it
    guarded: the guard counts what the destination logs in that call, the
    writer what reaches it by other ways).
    """
    owner = getattr(destination, "__self__", None)
    if type(owner) is FeedbackGuard:
        owner.finish(last_resort)
        owner = owner.added
    # Looked up on the class: a destination's own attributes (a mock's)
    # are not asked.
    finish = getattr(type(owner), "_finishFeedback", None)
    if finish is not None:
        finish(owner)
