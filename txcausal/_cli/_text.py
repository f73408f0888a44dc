# -*- test-case-name: txcausal.test.test_cli -*-
"""
Turning message parts into text: times, durations, field values, colors and
tree glyphs, shared by every subcommand.
"""

from __future__ import annotations

from datetime import datetime, timezone
from math import floor, inf
from typing import Any, Dict, List, Tuple

from attrs import frozen
from orjson import OPT_SORT_KEYS, dumps

from .._wire import (
    ACTION_TYPE_FIELD,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    STRUCTURAL_FIELDS,
)

#: Values nested deeper than this are shown as (cut) JSON text.
NESTING_LIMIT = 50

#: Fields shown in a message's heading line rather than below it.
HEADING_FIELDS = STRUCTURAL_FIELDS


def _date_time(when: datetime) -> str:
    """
    @return: C{YYYY-MM-DD HH:MM:SS}, the year of four digits (glibc's
        C{strftime("%Y")} writes the year 36 as C{"36"}).
    """
    return when.replace(tzinfo=None).isoformat(" ", "seconds")


class TimeFormatter:
    """
    Format POSIX timestamps as C{YYYY-MM-DD HH:MM:SS.mmm} plus a zone, with
    a cache per second (logs have many messages per second).
    """

    def __init__(self, utc: bool = True) -> None:
        self._utc = utc
        self._cache: Dict[int, Tuple[str, str]] = {}

    def _second(self, second: int) -> Tuple[str, str]:
        if self._utc:
            when = datetime.fromtimestamp(second, timezone.utc)
            parts = (_date_time(when), "Z")
        else:
            when = datetime.fromtimestamp(second).astimezone()
            zone = when.strftime("%z")
            parts = (_date_time(when), f"{zone[:3]}:{zone[3:]}")
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[second] = parts
        return parts

    def __call__(self, timestamp: Any) -> str:
        """
        @param timestamp: Seconds since the epoch; anything else gives C{"?"}.
        """
        cls = timestamp.__class__
        if cls is not float and cls is not int:
            return "?"
        try:
            second = floor(timestamp)
            millis = round((timestamp - second) * 1000)
            if millis == 1000:
                second, millis = second + 1, 0
            base, zone = self._cache.get(second) or self._second(second)
        except (OverflowError, OSError, ValueError):
            return repr(timestamp)
        return f"{base}.{millis:03d}{zone}"


def format_duration(seconds: float, micro: str = "µs") -> str:
    """
    Format a duration in the unit that shows it: C{1.234s} from a second
    up, C{12.3ms} from a millisecond up, C{42µs} below (with the unit
    C{micro}); a figure that rounds up to the next unit is shown in it.
    """
    size = abs(seconds)
    if not size < inf:  # NaN and the infinities, as Python writes them.
        return f"{seconds}s"
    if round(size * 1_000_000) < 1000:
        return f"{seconds * 1_000_000:.0f}{micro}"
    if round(size * 10_000) < 10_000:
        return f"{seconds * 1000:.1f}ms"
    return f"{seconds:.3f}s"


def counted(count: int, noun: str, plural: str = "") -> str:
    """
    @return: C{count} and C{noun}, as a summary line says it: in the plural
        (C{plural}, by default C{noun} with an C{s}) unless C{count} is 1.
    """
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def format_level(level: Any) -> str:
    """
    Format a task level as C{/1/2/3}.
    """
    return "/" + "/".join(map(str, level))


def scalar_text(value: Any) -> str:
    """
    The text of a field value: strings as they are, the rest as JSON, cut
    below L{NESTING_LIMIT} levels of nesting when too deep for orjson.  Not
    escaped: see L{clean}.
    """
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int or cls is float:
        return repr(value)
    try:
        return dumps(value, option=OPT_SORT_KEYS).decode("utf-8")
    except TypeError:  # Too deep, keys that are not strings, odd objects.
        pass
    try:
        return dumps(_shallow(value, NESTING_LIMIT), option=OPT_SORT_KEYS, default=repr).decode(
            "utf-8"
        )
    except Exception:
        return "<unprintable value>"


def sorted_keys(mapping: Dict[Any, Any]) -> List[Any]:
    """
    The keys of a dictionary, sorted (in their own order if they cannot
    be compared).
    """
    try:
        return sorted(mapping)
    except TypeError:
        return list(mapping)


def _shallow(value: Any, depth: int) -> Any:
    """
    A copy of C{value} with containers below C{depth} levels replaced by a
    marker, and every dictionary key a string.
    """
    cls = value.__class__
    if cls is dict:
        if not depth:
            return "{…}"
        return {str(k): _shallow(v, depth - 1) for k, v in value.items()}
    if cls is list or cls is tuple:
        if not depth:
            return "[…]"
        return [_shallow(item, depth - 1) for item in value]
    return value


#: Characters that rearrange or hide text without showing: line and
#: paragraph separators, every bidirectional control (Unicode's
#: Bidi_Control: the marks, embeddings, overrides and isolates), and those
#: that can disguise a value (zero width space, word joiner, byte-order
#: mark).  Zero width joiners, which emoji and some scripts need, are kept.
#: The web view's page escapes the same (C{INVISIBLE} in C{_view_static/app.js}).
_INVISIBLE = (
    0x061C, 0x200B, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), 0x2060,
    *range(0x2066, 0x206A), 0xFEFF,
)


def _escapes() -> Dict[int, str]:
    table = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}
    table.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
    table.update({code: f"\\u{code:04x}" for code in _INVISIBLE})
    return table


_ESCAPES = _escapes()


def clean(text: str) -> str:
    """
    Escape the control characters of C{text} (C0, DEL, C1, and the
    invisible ones that rearrange or disguise text: line separators,
    bidirectional controls, zero width spaces) as C{\\xNN}, C{\\n},
    C{\\u200f}, ..., so that text read from a log cannot forge output lines,
    drive the terminal or pass for other text.
    """
    if text.isprintable():
        return text
    return text.translate(_ESCAPES)


def clean_lines(text: str, joiner: str) -> str:
    """
    L{clean} each line of C{text}, joined with C{joiner}: a newline and the
    indentation of the continuation lines.
    """
    return joiner.join([clean(line) for line in text.rstrip("\n").split("\n")])


def value_text(value: Any) -> str:
    """
    The text of a value, escaped: L{clean} of L{scalar_text}.
    """
    return clean(scalar_text(value))


@frozen
class Glyphs:
    """
    The characters that draw trees and headings.
    """

    branch: str
    last: str
    pipe: str
    blank: str
    arrow: str
    hourglass: str
    ellipsis: str
    handoff: str
    match: str
    micro: str


UNICODE = Glyphs("├── ", "└── ", "│   ", "    ", "⇒", "⧖", "…", "↳", "◆", "µs")
ASCII = Glyphs("|-- ", "`-- ", "|   ", "    ", "=>", "~", "...", "->", "*", "us")


@frozen
class Palette:
    """
    ANSI escape sequences for each kind of text; empty when not coloring.
    """

    reset: str = ""
    uuid: str = ""
    kind: str = ""
    good: str = ""
    bad: str = ""
    time: str = ""
    duration: str = ""
    key: str = ""
    tree: str = ""
    warning: str = ""
    match: str = ""

    def status(self, status: Any) -> str:
        """
        The color of an action status.
        """
        return self.bad if status == FAILED_STATUS else self.good


PLAIN = Palette()
COLORS = Palette(
    reset="\x1b[0m",
    uuid="\x1b[1m",
    kind="\x1b[35m",
    good="\x1b[32m",
    bad="\x1b[1;31m",
    time="\x1b[2m",
    duration="\x1b[36m",
    key="\x1b[34m",
    tree="\x1b[2m",
    warning="\x1b[33m",
    match="\x1b[1;33m",
)


def cut(text: str, limit: int, ellipsis: str) -> str:
    """
    Cut C{text} at its first newline or after C{limit} characters (0 means
    no limit on length), marking the cut with C{ellipsis}.
    """
    newline = text.find("\n")
    if limit and len(text) > limit and (newline < 0 or newline > limit):
        return text[:limit] + ellipsis
    if newline >= 0:
        return text[:newline] + ellipsis
    return text


def message_kind(message: Dict[str, Any]) -> str:
    """
    The message or action type of a message, or C{"<unnamed>"}.
    """
    kind = message.get(MESSAGE_TYPE_FIELD)
    if kind is None:
        kind = message.get(ACTION_TYPE_FIELD, "<unnamed>")
    return clean(kind) if kind.__class__ is str else value_text(kind)


def status_text(status: Any) -> str:
    """
    An action status as text, escaped.
    """
    return clean(status) if status.__class__ is str else value_text(status)


def _json_escapes() -> Dict[int, str]:
    return {code: f"\\u{code:04x}" for code in [0x7F, *range(0x80, 0xA0), *_INVISIBLE]}


_JSON_ESCAPES = _json_escapes()


def terminal_json(line: str) -> str:
    """
    A line of JSON made safe for a terminal: DEL, C1 controls and the
    invisible characters L{clean} escapes (which JSON allows raw inside
    strings) written as C{\\uNNNN} escapes, so it stays the same JSON.
    orjson already escapes the C0 controls.
    """
    if line.isprintable():
        return line
    return line.translate(_JSON_ESCAPES)
