# -*- test-case-name: txcausal.test.test_twisted_records -*-
"""
Twisted's own log records as messages: the JSON records of
C{jsonFileLogObserver} and the text lines of trial's C{test.log}.

A file is data, never code.  Nothing read from it is evaluated: the
C{log_format} of a record is rendered by L{safe_format}, which substitutes
plain field names only (or the text the writing process flattened into
C{log_flattened}), with bounded widths, and shows the raw format otherwise;
a failure's traceback is rebuilt from its recorded frames without reading
source files.

Each record becomes a one-message task of type C{twisted:log} whose UUID is
derived from the record's own bytes (L{record_uuid}): the same record gets
the same UUID whichever file, name or compression it is read from, so C{tree
-u} and C{story} find it.  A record byte for byte the same as one before it
in its stream (trial's text log has times to the second, so a loop logging
one line writes such repeats) is a task of its own: its UUID is derived from
its bytes and how many of them came before (L{Repeats}), which its message
says in L{REPEAT_FIELD}.  A repeat's UUID is thus the same whichever way the
stream is read, as long as it is read from the same start.  What a stream is
depends on the tool: for a command that reads files (C{tree}), the files
given to it, in order; for a followed name (C{tree --follow}), the files that
follow one another at it (a rotation cuts no burst of repeats into two); for
the web view, the files of all its paths, in the order it reads them, so
that copies in two files are two tasks (see C{docs/reading.md}).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Set, Tuple
from uuid import UUID, uuid5

from ._json_decode import decode_json
from ._select import iso_timestamp
from ._wire import (
    EXCEPTION_FIELD,
    MESSAGE_TYPE_FIELD,
    REASON_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    TRACEBACK_FIELD,
    TWISTED_MESSAGE_TYPE,
)

Message = Dict[str, Any]

#: The widest field (and the longest precision) L{safe_format} applies.
MAX_FORMAT_WIDTH = 1000

#: The longest text L{safe_format} makes; past it, the raw format is shown.
MAX_FORMAT_TEXT = 1 << 20

#: The key of a record that carries a txcausal message as JSON text (see
#: L{txcausal._twistedlog.BRIDGED_EVENT_KEY}).
_BRIDGED_KEY = "txcausal_json"

#: The namespace of the UUIDs of records: C{uuid5(NAMESPACE_URL,
#: "https://txcausal.invalid/twisted-record")}, written out so that importing
#: this module does not load C{hashlib}.
_NAMESPACE = UUID("b31fd4a5-7328-50de-87bf-586629c55820")
# Patterns are compiled on first use (by the re module's cache), not when the
# command starts: most logs hold no Twisted records.
_PLAIN_NAME = r"[A-Za-z_][A-Za-z0-9_]*\Z"
_SPEC = r"(?s:.?[<>=^])?[-+ ]?z?#?0?([0-9]*)[,_]?(?:\.([0-9]+))?[bcdeEfFgGnosxX%]?\Z"
_CONVERSIONS: Dict[Optional[str], Callable[[Any], str]] = {
    None: str, "s": str, "r": repr, "a": ascii,
}
_TRACEBACK_START = "Traceback (most recent call last):"
#: How Twisted ends the traceback of a failure without frames, before the
#: exception.
_FRAMELESS = "Failure: "


#: The field of a Twisted record's message that says how many records of
#: the same bytes came before it in its stream; absent for the first.
REPEAT_FIELD = "log_repeat"

#: How many records L{Repeats} remembers at least: it forgets them when the
#: time of the records changes past that many (records of the same bytes
#: have the same time).
_REMEMBERED = 4096


#: The most L{Repeats} counts the copies of one record: the later copies
#: get that number too, and so one task UUID (24 bits of the web view's
#: places hold the number).
MAX_REPEAT = (1 << 24) - 1


def record_uuid(data: bytes) -> str:
    """
    The task UUID of a Twisted record: a UUID derived from its bytes.
    """
    return str(_record_uuid(data))


def _record_uuid(data: bytes) -> UUID:
    """
    L{record_uuid}, as a L{UUID}: the name-based (version 5) UUID of its
    bytes, which for UTF-8 is C{uuid5()} of its text; bytes that are not
    UTF-8 are hashed as they are (C{uuid5()} takes only text it can encode).
    """
    # Imported here, as uuid5() does: hashlib loads OpenSSL, megabytes that
    # a command reading no Twisted record does without.
    from hashlib import sha1

    return UUID(bytes=sha1(_NAMESPACE.bytes + data).digest()[:16], version=5)


class Repeats:
    """
    The Twisted records of one stream, counted by their bytes, so that
    records of the same bytes get a task UUID each (L{uuid_for}).

    Records of the same bytes have the same time (it is in their bytes), so
    the counts are forgotten, past L{_REMEMBERED} records, only when the
    time changes: a repeat is told apart unless the clock went back to its
    time after that many other records (or, for records without a time, unless
    that many came between).  Past L{MAX_REPEAT} copies of a record (only
    possible without a time), the later ones are numbered as the last.
    """

    __slots__ = ("_seen", "_time", "_first", "_now")

    def __init__(self, first: int = 0) -> None:
        """
        @param first: How many times each record was seen before: for
            reading a record back from its place alone (see
            L{MessageReader.decode_span
            <txcausal._parse_input.MessageReader.decode_span>}).
        """
        #: By the 16 bytes of each record's UUID (see L{record_uuid}).
        self._seen: Dict[bytes, int] = {}
        self._time: Optional[float] = None
        self._first = first
        #: The keys of C{_seen} counted since C{_time} last changed (a key
        #: counted before keeps its place in C{_seen} when the clock goes
        #: back to its time).
        self._now: Set[bytes] = set()

    def uuid_for(self, data: bytes, when: Optional[float]) -> Tuple[str, int]:
        """
        The task UUID of the record of bytes C{data} and time C{when}, next
        in the stream, and how many records of these bytes came before it.
        """
        derived = _record_uuid(data)
        uuid, key = str(derived), derived.bytes
        if when is None or when != self._time:
            if len(self._seen) >= _REMEMBERED:
                self._seen.clear()
                self._now.clear()
            if when != self._time:  # Records without a time are of one time.
                self._time = when
                self._now.clear()
        repeat = self._seen.get(key, self._first)
        if repeat < MAX_REPEAT:
            self._seen[key] = repeat + 1
        self._now.add(key)
        if repeat:
            uuid = str(uuid5(_NAMESPACE, f"{uuid}/{repeat}"))
        return uuid, repeat

    def copy(self) -> "Repeats":
        """
        All the counts (at most about L{_REMEMBERED} entries, more while
        many records share one time), for numbering the rest of the stream
        as these counts do without the records before (see
        L{txcausal._view_files.LogFiles.search}): a record may repeat one
        of an earlier time (a line of a file older than the last lines read
        of another, or of a thread that logged out of order).
        """
        copy = Repeats(self._first)
        copy._seen = dict(self._seen)
        copy._now = set(self._now)
        copy._time = self._time
        return copy


def _identify(message: Message, data: bytes, repeats: Optional[Repeats]) -> None:
    """
    Give the message of the Twisted record of bytes C{data} its task UUID
    and level (and L{REPEAT_FIELD}), counting it in C{repeats} if given.
    """
    if repeats is None:
        uuid, repeat = record_uuid(data), 0
    else:
        uuid, repeat = repeats.uuid_for(data, message.get(TIMESTAMP_FIELD))
    message[TASK_UUID_FIELD] = uuid
    message[TASK_LEVEL_FIELD] = [1]
    if repeat:
        message[REPEAT_FIELD] = repeat


def safe_format(log_format: Any, event: Dict[str, Any]) -> str:
    """
    Render a Twisted C{log_format} without evaluating anything: each
    C{{name}}, C{{name!r}} or C{{name:>10}} takes the text the writing
    process flattened into C{log_flattened}, else the value of the plain
    field C{name}; widths and precisions are at most L{MAX_FORMAT_WIDTH}.

    @return: The text, or the raw format when a field is not plain, not
        there, or cannot be formatted so.
    """
    if not isinstance(log_format, str):
        return "" if log_format is None else str(log_format)[:MAX_FORMAT_TEXT]
    from string import Formatter  # Compiles a pattern: only when needed.

    try:
        parsed = list(Formatter().parse(log_format))
    except ValueError:
        return log_format
    flattened = event.get("log_flattened")
    if not isinstance(flattened, dict):
        flattened = {}
    seen: Dict[str, int] = {}
    parts: List[str] = []
    size = 0
    for literal, name, spec, conversion in parsed:
        parts.append(literal)
        if name is not None:
            text = _field_text(name, spec or "", conversion, event, flattened, seen)
            if text is None:
                return log_format
            parts.append(text)
            size += len(text)
            if size > MAX_FORMAT_TEXT:
                return log_format
    return "".join(parts)


def _field_text(
    name: str,
    spec: str,
    conversion: Optional[str],
    event: Dict[str, Any],
    flattened: Dict[str, Any],
    seen: Dict[str, int],
) -> Optional[str]:
    """
    The text of one replacement field, as L{safe_format} describes.
    """
    key = f"{name}!{conversion or 's'}:{spec}"
    count = seen[key] = seen.get(key, 0) + 1
    flat = flattened.get(key if count == 1 else f"{key}/{count}")
    if isinstance(flat, str):
        return flat
    convert = _CONVERSIONS.get(conversion)
    if convert is None or not re.match(_PLAIN_NAME, name) or name not in event:
        return None
    match = re.match(_SPEC, spec)
    if match is None or any(len(n) > 4 or int(n) > MAX_FORMAT_WIDTH for n in match.groups() if n):
        return None
    value = event[name]
    try:
        if conversion is not None:
            value = convert(value)
        return format(value, spec)
    except (ValueError, TypeError, OverflowError):
        return None


def failure_fields(failure: Any) -> Message:
    """
    The C{exception}, C{reason} and C{traceback} fields of a recorded
    Twisted failure (a C{log_failure} value as C{jsonFileLogObserver}
    writes it), its traceback rebuilt from the recorded frames.
    """
    if not isinstance(failure, dict):
        return {EXCEPTION_FIELD: "?", REASON_FIELD: "(not recorded)"}
    kind = failure.get("type")
    kind = kind if isinstance(kind, dict) else {}
    exception = f"{kind.get('__module__', '?')}.{kind.get('__name__', '?')}"
    lines = [_TRACEBACK_START]
    frames = failure.get("frames")
    for frame in frames if isinstance(frames, list) else ():
        if isinstance(frame, list) and len(frame) >= 3:
            lines.append(f'  File "{frame[1]}", line {frame[2]}, in {frame[0]}')
    lines.append(f"{exception}: (not recorded)")
    return {
        EXCEPTION_FIELD: exception,
        REASON_FIELD: "(not recorded)",
        TRACEBACK_FIELD: "\n".join(lines) + "\n",
    }


def twisted_record(data: bytes, repeats: Optional[Repeats] = None) -> Message:
    """
    Turn one Twisted JSON log record into a message.

    A record that carries a txcausal message (one emitted by
    L{txcausal.twisted.TwistedDestination}) gives that message.  Any
    other becomes a C{twisted:log} message: the record's own fields (but
    for C{log_*} ones), C{log_text} (L{safe_format}), C{log_level},
    C{log_namespace}, C{log_system}, and for a failure C{exception},
    C{reason} and C{traceback}.

    @param data: The JSON of the record, without its C{\\x1e} separator.
    @param repeats: The records of the stream so far, if counted (see
        L{Repeats}).
    @raise ValueError: If C{data} is not a Twisted log record.
    """
    raw = decode_json(data)
    if raw.__class__ is not dict or not any(key.startswith("log_") for key in raw):
        raise ValueError("not a Twisted log record")
    bridged = raw.get(_BRIDGED_KEY)
    if isinstance(bridged, str):
        embedded = decode_json(bridged.encode("utf-8"))
        if embedded.__class__ is dict and TASK_UUID_FIELD in embedded:
            return embedded
    message: Message = {k: v for k, v in raw.items() if not k.startswith("log_")}
    level = raw.get("log_level")
    when = raw.get("log_time")
    message.update(
        {
            MESSAGE_TYPE_FIELD: TWISTED_MESSAGE_TYPE,
            TIMESTAMP_FIELD: when if isinstance(when, (int, float)) else None,
            "log_level": level.get("name") if isinstance(level, dict) else level,
            "log_namespace": raw.get("log_namespace"),
            "log_text": safe_format(raw.get("log_format"), raw),
        }
    )
    if isinstance(raw.get("log_system"), str):
        message["log_system"] = raw["log_system"]
    if "log_failure" in raw:
        message.update(failure_fields(raw["log_failure"]))
    if not isinstance(message.get(TASK_UUID_FIELD), str) or not _is_level(
        message.get(TASK_LEVEL_FIELD)
    ):
        _identify(message, data, repeats)
    return message


def _is_level(level: Any) -> bool:
    return (
        isinstance(level, list)
        and bool(level)
        and all(i.__class__ is int and i > 0 for i in level)
    )


# Twisted's classic text format: "2026-12-06 04:58:39+0000 [system] text".
_TRIAL_LINE = (
    rb"(?s)(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) \[(.*?)\] (.*)\Z"
)


def split_text_line(line: bytes) -> Optional[Tuple[Optional[float], str, bytes]]:
    """
    Split a line of Twisted's text log format (trial's C{test.log}, twistd's
    C{twistd.log}) into its time, its system and the rest.

    @return: The POSIX time (C{None} if out of range), the system and the
        event text as bytes; C{None} if the line is not of that format.
    """
    match = re.match(_TRIAL_LINE, line)
    if match is None:
        return None
    stamp, system, rest = match.groups()
    return iso_timestamp(stamp.decode("ascii")), system.decode("utf-8", "replace"), rest


def text_event(when: Optional[float], system: str, text: str, data: bytes,
               repeats: Optional[Repeats] = None) -> Message:
    """
    A C{twisted:log} message for an event of Twisted's text log format.

    @param text: The event's text, continuation lines joined.
    @param data: The event's bytes, to derive its UUID from.
    @param repeats: The records of the stream so far, if counted (see
        L{Repeats}).
    """
    message: Message = {
        MESSAGE_TYPE_FIELD: TWISTED_MESSAGE_TYPE,
        TASK_UUID_FIELD: None,
        TASK_LEVEL_FIELD: [1],
        TIMESTAMP_FIELD: when,
        "log_system": system,
        "log_text": text,
    }
    _identify(message, data, repeats)
    where = text.find(_TRACEBACK_START)
    if where >= 0:
        traceback = text[where:]
        last = traceback.rstrip().rsplit("\n", 1)[-1]
        if last.startswith(_FRAMELESS):  # A failure without frames.
            last = last[len(_FRAMELESS) :]
        exception, _, reason = last.partition(":")
        message[TRACEBACK_FIELD] = traceback
        message[EXCEPTION_FIELD] = exception.strip()
        message[REASON_FIELD] = reason.strip()
    return message
