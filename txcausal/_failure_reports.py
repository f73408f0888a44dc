# -*- test-case-name: txcausal.test.test_output_feedback,txcausal.test.test_twistd_late -*-
"""
Reports of a failing destination that reach the user without a writer's
L{Losses<txcausal._losses.Losses>}: L{report_failure}, the destination
registry's report to the other destinations, and L{_last_resort}, which
writes a report no destination takes to standard error (the one
L{standard_error} chooses).
"""

from __future__ import annotations

import sys
from typing import IO, Any, Callable, Dict, Optional, Tuple, Type, Union

from ._feedback import failure_feedback
from ._json import DEFAULT_ENCODER, safe_repr
from ._route import Destination, _registered
from ._safe import reason_text
from ._shortwrite import PipeClosed, ShortWrite
from ._wire import DESTINATION_FAILURE, exception_name, standalone_message


def standard_error(_sys: Any = sys, _Exception: Type[Exception] = Exception, *,
                   stream: Optional[IO[str]] = None) -> Optional[IO[str]]:
    """
    Where a report that no destination can take goes: C{stream} if given
    (a writer's own standard error), else C{sys.stderr}, unless that is a
    C{twisted.logger.LoggingFile} (as twistd makes it, or
    C{redirectStandardIO}) whose publisher has no observer left.  twistd
    removes its log's observer once the reactor has returned, so what an
    exit handler writes there would be lost: it goes to the process's own
    standard error, C{sys.__stderr__}, instead.  While an observer remains
    (a shutdown trigger under twistd, a program that never stops its log),
    the report goes into that log.

    It uses no builtin, and only what its arguments hold: as the
    interpreter tears down, the builtins and the modules' globals may be
    gone.  A publisher without the (private) list of observers of
    C{twisted.logger.LogPublisher} counts as live.

    @param _sys: The C{sys} module, held for the teardown.
    """
    if stream is not None:
        return stream
    stream = _sys.stderr
    try:
        if _sys.modules["twisted.logger"].LoggingFile not in stream.__class__.__mro__:
            return stream
    except _Exception:
        return stream  # No twisted.logger (or, tearing down, no sys.modules).
    try:
        live = stream.log.observer._observers  # type: ignore[union-attr]
    except _Exception:
        live = True
    return stream if live else _sys.__stderr__


def _last_resort(report: Dict[str, Any], stream: Optional[IO[str]] = None) -> None:
    """
    Write a report that no destination can take to C{stream}, by default
    standard error (see L{standard_error}).
    """
    try:
        target = standard_error(stream=stream)
        if target is not None:
            target.write(DEFAULT_ENCODER.encode(report).decode("utf-8", "replace"))
    except Exception:
        pass


def report_failure(
    message: Union[Dict[str, Any], str],
    failed: Destination,
    error: BaseException,
    destinations: Tuple[Destination, ...],
    dropped: Callable[[int], None],
) -> Optional[KeyboardInterrupt]:
    """
    For the destination registry: tell the destinations other than
    C{failed} that it raised C{error} taking C{message} (or the line shown);
    with no other destination, count the message with C{dropped} (a line
    cut short by a full disk and kept, to be completed, is not lost) and
    tell standard error.  A pipe whose reader has gone is told of once, as
    it closes.  The report's C{not_fed_back} counts the messages C{failed}
    logged while it wrote, not given to it and not reported yet (see
    L{failure_feedback}).

    @return: The C{KeyboardInterrupt} raised by C{failed} or by another
        destination taking the report, for the caller to re-raise.
    """
    report = standalone_message(
        DESTINATION_FAILURE,
        destination=safe_repr(_registered(failed), 200),
        exception=exception_name(error),
        reason=reason_text(error, 1000),
        message=message if isinstance(message, str) else safe_repr(message),
    )
    interrupted = error if isinstance(error, KeyboardInterrupt) else None
    failed_as_added = _registered(failed)
    others = [other for other in destinations if _registered(other) is not failed_as_added]
    if not others:
        dropped(0 if isinstance(error, ShortWrite) and not error.lost else 1)
    if isinstance(error, PipeClosed) and error.again:
        return None
    refused = failure_feedback(failed)
    if refused:
        report["not_fed_back"] = refused
    if not others:
        _last_resort(report)
    for other in others:
        try:
            other(report)
        except BaseException as e:
            # That one fails too; it is reported through its own next
            # message, and recursion ends here.
            if isinstance(e, KeyboardInterrupt):
                interrupted = interrupted or e
    return interrupted
