# -*- test-case-name: txcausal.test.test_stdlib -*-
"""
Route the standard library's C{logging} into txcausal: each record becomes a
message inside the current action::

    import logging
    from txcausal.stdlib import CausalHandler
    logging.getLogger().addHandler(CausalHandler())
"""

from __future__ import annotations

import logging

from ._errors import report_unbridged, write_traceback
from ._json import safe_repr
from ._message import log_message
from ._wire import BRIDGED_EVENT_KEY

__all__ = ["CausalHandler"]


class CausalHandler(logging.Handler):
    """
    A C{logging.Handler} writing each record as an C{eliot:stdlib} message
    (fields C{log_level}, C{logger}, C{message}) in the current action,
    followed by an C{eliot:traceback} message when the record carries an
    exception.

    It never raises into the C{logging} call: a record whose arguments do
    not fit its format is logged with their C{repr} (a placeholder for
    those whose C{repr} fails), and a record that cannot be logged whole is
    reported in a C{txcausal:messages_dropped} message (not through
    C{handleError}).

    Records that Twisted's C{STDLibLogObserver} made from the events of a
    L{txcausal.twisted.TwistedDestination} are skipped: they hold messages
    already logged, which would otherwise come back as copies.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """
        Log C{record}, then its traceback if it carries one; never raises
        but a C{KeyboardInterrupt} (or another C{BaseException} that is not
        an C{Exception}).  What could not be logged (the record, or only
        its traceback) is reported.
        """
        try:
            if _from_bridged_event(record):
                # Already in the log, not lost: nothing to report.
                return
            self._emit(record)
        except Exception as e:
            report_unbridged("a logging record", e, record=record)
            return
        if record.exc_info and record.exc_info[1] is not None:
            try:
                write_traceback(exc_info=record.exc_info)
            except Exception as e:
                report_unbridged("the traceback of a logging record", e, record=record)

    def _emit(self, record: logging.LogRecord) -> None:
        """
        Log C{record}'s message.
        """
        try:
            text = record.getMessage()
        except Exception:
            text = f"{safe_repr(record.msg)} % {_args_repr(record.args)}"
        log_message(
            message_type="eliot:stdlib",
            log_level=record.levelname,
            logger=record.name,
            message=text,
        )


def _from_bridged_event(record: logging.LogRecord) -> bool:
    """
    @return: Whether C{record} is one Twisted's C{STDLibLogObserver} made
        from an event L{txcausal.twisted.TwistedDestination} emitted: its
        C{msg} holds the event (as C{event}), which has
        L{BRIDGED_EVENT_KEY}.
    """
    msg = record.msg
    if msg.__class__ is str:
        return False
    try:
        event = getattr(msg, "event", None)
        return isinstance(event, dict) and BRIDGED_EVENT_KEY in event
    except Exception:
        # Any other object, which the record's own text will show.
        return False


def _args_repr(args: object) -> str:
    """
    @return: The C{repr} of a record's arguments, with a placeholder for
        each value whose C{repr} fails, not for them all.
    """
    if type(args) is tuple:
        inner = ", ".join(safe_repr(arg) for arg in args)
        return f"({inner},)" if len(args) == 1 else f"({inner})"
    if type(args) is dict:
        items = ", ".join(f"{safe_repr(k)}: {safe_repr(v)}" for k, v in args.items())
        return "{" + items + "}"
    return safe_repr(args)
