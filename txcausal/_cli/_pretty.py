# -*- test-case-name: txcausal.test.test_cli -*-
"""
C{txcausal pretty}: one message per block, in file order, fields indented;
with C{--compact}, one message per line, as C{eliot-prettyprint --compact}.
"""

from __future__ import annotations

import argparse
from typing import Any, Dict, Iterable, List, Union

from .._wire import (
    ACTION_STATUS_FIELD,
    DURATION_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    time_shown,
)
from ..prettyprint import compact_format
from ._common import (
    BatchWriter,
    Input,
    Note,
    Streams,
    add_display_arguments,
    add_input_arguments,
    describe,
    glyphs_for,
    ignore_note,
    palette_for,
)
from ._text import (
    HEADING_FIELDS,
    NESTING_LIMIT,
    Glyphs,
    Palette,
    TimeFormatter,
    clean,
    clean_lines,
    format_duration,
    format_level,
    message_kind,
    scalar_text,
    sorted_keys,
    status_text,
    value_text,
)

Message = Dict[str, Any]

NAME = "pretty"
HELP = "show each message as a human-readable block"
_INDENT = "  "


class PrettyRenderer:
    """
    Render messages as blocks: task and level, time, type and status, then
    one indented line per field (nested values further indented, down to
    L{NESTING_LIMIT} levels; multi-line strings kept aligned).  Everything
    read from the log is escaped (L{clean}).
    """

    def __init__(self, times: TimeFormatter, glyphs: Glyphs, palette: Palette) -> None:
        self._times = times
        self._g = glyphs
        self._p = palette

    def message(self, message: Message, parts: List[str]) -> None:
        """
        Append the block of one message to C{parts}.
        """
        p, g = self._p, self._g
        level = format_level(message[TASK_LEVEL_FIELD])
        parts.append(
            f"{p.uuid}{clean(message[TASK_UUID_FIELD])}{p.reset}{level}"
            f"  {p.time}{self._time(message)}{p.reset}\n"
        )
        line = f"{_INDENT}{p.kind}{message_kind(message)}{p.reset}"
        status = message.get(ACTION_STATUS_FIELD)
        if status is not None:
            line += f" {g.arrow} {p.status(status)}{status_text(status)}{p.reset}"
        duration = message.get(DURATION_FIELD)
        if duration.__class__ in (int, float):
            line += f" {g.hourglass} {p.duration}{format_duration(duration, g.micro)}{p.reset}"
        parts.append(line + "\n")
        for key in sorted_keys(message):
            if key not in HEADING_FIELDS:
                self._value(key, message[key], _INDENT, parts, 0)
        parts.append("\n")

    def _time(self, message: Message) -> str:
        """
        The message's time; a timestamp that is no time as given, escaped
        (see L{time_shown}).
        """
        return time_shown(message, self._times, value_text)

    def _value(self, key: Any, value: Any, indent: str, parts: List[str], depth: int) -> None:
        label = clean(key if key.__class__ is str else str(key))
        name = f"{indent}{self._p.key}{label}{self._p.reset}:"
        cls = value.__class__
        if (cls is dict or cls is list) and value and depth < NESTING_LIMIT:
            parts.append(name + "\n")
            items = [(k, value[k]) for k in sorted_keys(value)] if cls is dict else enumerate(value)
            for child_key, child in items:
                self._value(child_key, child, indent + _INDENT, parts, depth + 1)
            return
        text = scalar_text(value)
        if "\n" in text:
            pad = " " * (len(indent) + len(label) + 2)
            text = clean_lines(text, "\n" + pad)
        else:
            text = clean(text)
        parts.append(f"{name} {text}\n")


class CompactRenderer:
    """
    Render messages one per line, as L{compact_format} does (and
    C{eliot-prettyprint --compact}), escaped (L{clean}).
    """

    def __init__(self, utc: bool) -> None:
        self._local = not utc

    def message(self, message: Message, parts: List[str]) -> None:
        """
        Append the line of one message to C{parts}.
        """
        parts.append(clean(compact_format(message, self._local)) + "\n")


def render_pretty(
    messages: Iterable[Message],
    renderer: Union[PrettyRenderer, CompactRenderer],
    writer: BatchWriter,
    on_error: Note = ignore_note,
) -> None:
    """
    Write every message as a block.  A message that cannot be rendered is
    reported to C{on_error} in one line and skipped.
    """
    parts = writer.parts
    for message in messages:
        mark = len(parts)
        try:
            renderer.message(message, parts)
        except Exception as e:
            del parts[mark:]
            on_error(f"{describe(message)}: cannot render: {type(e).__name__}")
            continue
        writer.maybe_flush()
    writer.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal pretty}.
    """
    add_input_arguments(parser)
    add_display_arguments(parser)
    parser.add_argument(
        "--compact", action="store_true",
        help="one message per line: task and level, time, then key=<JSON value> for each field",
    )


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal pretty}.
    """
    renderer: Union[PrettyRenderer, CompactRenderer] = (
        CompactRenderer(args.utc) if args.compact else
        PrettyRenderer(TimeFormatter(args.utc), glyphs_for(args), palette_for(args, streams.stdout))
    )
    writer = BatchWriter(streams.stdout, 256)
    source = Input(streams, args.files, None, args.max_line_bytes, writer.idle)
    render_pretty(source.messages(), renderer, writer, source.reporter.note)
    return source.finish()
