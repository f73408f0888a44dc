# -*- test-case-name: txcausal.test.test_cli -*-
"""
Turning message parts into text: times, durations, field values, colors and
tree glyphs, shared by every subcommand.
"""

from __future__ import annotations

from datetime import datetime, timezone
from math import floor
from typing import Any, Dict, Tuple

from attrs import frozen
from orjson import OPT_SORT_KEYS, dumps

from .._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DURATION_FIELD,
    MESSAGE_TYPE_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
)

#: Fields shown in a message's heading line rather than below it.
HEADING_FIELDS = frozenset(
    [
        TASK_UUID_FIELD,
        TASK_LEVEL_FIELD,
        TIMESTAMP_FIELD,
        MESSAGE_TYPE_FIELD,
        ACTION_TYPE_FIELD,
        ACTION_STATUS_FIELD,
        DURATION_FIELD,
    ]
)


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
            parts = (when.strftime("%Y-%m-%d %H:%M:%S"), "Z")
        else:
            when = datetime.fromtimestamp(second).astimezone()
            zone = when.strftime("%z")
            parts = (when.strftime("%Y-%m-%d %H:%M:%S"), f"{zone[:3]}:{zone[3:]}")
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


def format_duration(seconds: float) -> str:
    """
    Format a duration in seconds, with millisecond precision.
    """
    return f"{seconds:.3f}s"


def format_level(level: Any) -> str:
    """
    Format a task level as C{/1/2/3}.
    """
    return "/" + "/".join(map(str, level))


def scalar_text(value: Any) -> str:
    """
    The text of a field value: strings as they are, the rest as JSON.
    """
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int or cls is float:
        return repr(value)
    try:
        return dumps(value, option=OPT_SORT_KEYS).decode("utf-8")
    except TypeError:
        return repr(value)


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


UNICODE = Glyphs("├── ", "└── ", "│   ", "    ", "⇒", "⧖", "…")
ASCII = Glyphs("|-- ", "`-- ", "|   ", "    ", "=>", "~", "...")


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

    def status(self, status: Any) -> str:
        """
        The color of an action status.
        """
        return self.bad if status == "failed" else self.good


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
    return str(kind)


def heading(message: Dict[str, Any], times: TimeFormatter, glyphs: Glyphs, palette: Palette) -> str:
    """
    A one-line summary of a message: type, level, status, time, duration.
    """
    r = palette.reset
    text = (
        f"{palette.kind}{message_kind(message)}{r}{format_level(message.get(TASK_LEVEL_FIELD, ()))}"
    )
    status = message.get(ACTION_STATUS_FIELD)
    if status is not None:
        text += f" {glyphs.arrow} {palette.status(status)}{status}{r}"
    text += f" {palette.time}{times(message.get(TIMESTAMP_FIELD))}{r}"
    duration = message.get(DURATION_FIELD)
    if duration.__class__ is float or duration.__class__ is int:
        text += f" {glyphs.hourglass} {palette.duration}{format_duration(duration)}{r}"
    return text
