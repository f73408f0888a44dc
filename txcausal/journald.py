# -*- test-case-name: txcausal.test.test_journald -*-
"""
L{JournaldDestination}: messages written to systemd's journal, with fields
that journalctl can select on::

    from txcausal import add_destinations
    from txcausal.journald import JournaldDestination

    add_destinations(JournaldDestination())

then C{journalctl --output cat ELIOT_TASK=<uuid> | txcausal tree}.  It speaks
journald's native protocol itself: no C library is needed.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List

from orjson import dumps as _dumps
from zope.interface import implementer

from ._interfaces import IDestination
from ._journal import JOURNAL_SOCKET, JournalSocket, encode_entry
from ._json import FAST_OPTIONS, NULL, encoder_for
from ._json_decode import decode_json
from ._jsondefault import EncoderClass, JSONDefault, checked_default
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DESTINATION_FAILURE,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    MESSAGES_DROPPED,
    SERIALIZATION_FAILURE,
    TASK_UUID_FIELD,
    TRACEBACK_MESSAGE_TYPE,
    UNENCODABLE_VALUES,
)

#: syslog priorities: "crit" for tracebacks, "err" for failed actions,
#: "info" for the rest, as Eliot writes them; and "warning" for the reports
#: of lost messages, as journald's own "Suppressed N messages", and of
#: messages or values written in another form than they were logged in.
_CRITICAL = b"2"
_ERROR = b"3"
_WARNING = b"4"
_INFO = b"6"
#: The reports of lost messages, and of messages or values replaced by a
#: representation because they could not be written.
_LOSS_REPORTS = frozenset(
    [DESTINATION_FAILURE, MESSAGES_DROPPED, SERIALIZATION_FAILURE, UNENCODABLE_VALUES]
)


def _program_name() -> str:
    """
    @return: The name of the running program, as syslog identifies it.
    """
    argv = getattr(sys, "argv", None) or [""]
    return os.path.basename(str(argv[0])) or "python"


def _text(value: Any) -> bytes:
    return str(value).encode("utf-8", "surrogateescape")


@implementer(IDestination)
class JournaldDestination:
    """
    Writes each message to journald as one entry with these fields:

      - C{MESSAGE}: the message as one line of JSON, as a file gets it;
      - C{ELIOT_TASK}: its task UUID;
      - C{ELIOT_TYPE}: its message or action type, when it has one;
      - C{PRIORITY}: 2 ("crit") for a traceback, 3 ("err") for the finish
        of a failed action, 4 ("warning") for a report of lost messages
        (C{txcausal:messages_dropped}, C{eliot:destination_failure}) or of
        ones written in another form (C{eliot:serialization_failure},
        C{txcausal:unencodable_values}), 6 ("info") otherwise;
      - C{SYSLOG_IDENTIFIER}: the program's name.

    A message too large for a datagram is passed to journald in a sealed
    memfd.  When journald cannot take a message (it is not running, its
    socket is missing, or its queue stays full) the call raises
    C{OSError}, which reports and counts the message as any destination
    failure is (through the other destinations, or by a
    L{txcausal.logwriter.ThreadedWriter}).  Thread-safe; a send waits for
    room in journald's queue for up to C{timeout} seconds, so behind a
    C{ThreadedWriter} nothing waits on the reactor's thread.
    """

    def __init__(
        self,
        json_default: JSONDefault = None,
        *,
        identifier: str = "",
        timeout: float = 1.0,
        path: str = JOURNAL_SOCKET,
        encoder: EncoderClass = None,
    ) -> None:
        """
        @param json_default: A function for types JSON does not know, as
            L{txcausal.to_file} takes.
        @param identifier: The C{SYSLOG_IDENTIFIER}; default: the base name
            of C{sys.argv[0]}, as Eliot writes it.
        @param timeout: How long a send may wait while journald's queue is
            full, in seconds.  Once one has waited in vain, the next do not
            wait until one gets through.
        @param path: journald's socket.
        @param encoder: Deprecated: a L{json.JSONEncoder} subclass; pass
            C{json_default} instead.
        @raise ValueError: If C{timeout} is not a number from 0 to
            C{threading.TIMEOUT_MAX} (negative, NaN, infinite).
        @raise TypeError: If C{json_default} or C{encoder} is not what it
            should be, or both are given.
        """
        self._encoder = encoder_for(checked_default(json_default, encoder))
        self._identifier = _text(identifier or _program_name())
        self._socket = JournalSocket(path, timeout)

    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Write one message to journald.

        @raise OSError: If journald could not take it.
        """
        for entry in self.entries(message):
            self._socket.send(entry)

    def entries(self, message: Dict[str, Any]) -> List[bytes]:
        """
        Encode a message as journal entries, one for each line a file would
        get: the message, and the report of any value JSON cannot encode.
        """
        # FileDestination.encode's fast path and fallbacks.
        try:
            data = _dumps(message, default=self._encoder.default, option=FAST_OPTIONS)
        except TypeError:
            data = self._encoder.encode(message)
        else:
            if data.partition(NULL)[1]:
                data = self._encoder.recheck(message, data)
        lines = data.splitlines()
        if len(lines) == 1:
            return [self._entry(message, lines[0])]
        return [self._entry(decode_json(line), line) for line in lines]

    def _entry(self, message: Dict[str, Any], line: bytes) -> bytes:
        fields = [(b"MESSAGE", line), (b"ELIOT_TASK", _text(message.get(TASK_UUID_FIELD)))]
        priority = _INFO
        kind = message.get(ACTION_TYPE_FIELD)
        if kind is not None:
            if message.get(ACTION_STATUS_FIELD) == FAILED_STATUS:
                priority = _ERROR
        else:
            kind = message.get(MESSAGE_TYPE_FIELD)
            if kind == TRACEBACK_MESSAGE_TYPE:
                priority = _CRITICAL
            elif kind.__class__ is str and kind in _LOSS_REPORTS:
                priority = _WARNING
        if kind is not None:
            fields.append((b"ELIOT_TYPE", _text(kind)))
        fields.append((b"PRIORITY", priority))
        fields.append((b"SYSLOG_IDENTIFIER", self._identifier))
        return encode_entry(fields)

    def close(self) -> None:
        """
        Close the socket to journald (remove the destination first); a
        later message opens it again.
        """
        self._socket.close()

    def __repr__(self) -> str:
        return f"<JournaldDestination {self._socket.path!r}>"


__all__ = ["JournaldDestination"]
