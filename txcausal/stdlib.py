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
    """

    def emit(self, record: logging.LogRecord) -> None:
        """
        Log C{record}; never raises but a C{KeyboardInterrupt} (or another
        C{BaseException} that is not an C{Exception}).
        """
        try:
            self._emit(record)
        except Exception as e:
            report_unbridged("a logging record", e, record=record)

    def _emit(self, record: logging.LogRecord) -> None:
        """
        Log C{record}'s message, and its traceback if it carries one.
        """
        try:
            text = record.getMessage()
        except Exception:
            text = f"{safe_repr(record.msg)} % {safe_repr(record.args)}"
        log_message(
            message_type="eliot:stdlib",
            log_level=record.levelname,
            logger=record.name,
            message=text,
        )
        if record.exc_info and record.exc_info[1] is not None:
            write_traceback(exc_info=record.exc_info)
