# -*- test-case-name: txcausal.test.test_cli -*-
"""
C{txcausal pretty}: one message per block, in file order, fields indented.
"""

from __future__ import annotations

import argparse
from typing import Any, Dict, Iterable, List

from ._common import (
    BatchWriter,
    Input,
    Streams,
    add_display_arguments,
    add_input_arguments,
    glyphs_for,
    palette_for,
)
from ._text import (
    HEADING_FIELDS,
    Glyphs,
    Palette,
    TimeFormatter,
    format_duration,
    format_level,
    message_kind,
    scalar_text,
)

Message = Dict[str, Any]

NAME = "pretty"
HELP = "show each message as a human-readable block"
_INDENT = "  "


class PrettyRenderer:
    """
    Render messages as blocks: task and level, time, type and status, then
    one indented line per field (nested values further indented, multi-line
    strings kept aligned).
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
        level = format_level(message.get("task_level", ()))
        parts.append(
            f"{p.uuid}{message.get('task_uuid')}{p.reset}{level}"
            f"  {p.time}{self._times(message.get('timestamp'))}{p.reset}\n"
        )
        line = f"{_INDENT}{p.kind}{message_kind(message)}{p.reset}"
        status = message.get("action_status")
        if status is not None:
            line += f" {g.arrow} {p.status(status)}{status}{p.reset}"
        duration = message.get("duration")
        if duration.__class__ in (int, float):
            line += f" {g.hourglass} {p.duration}{format_duration(duration)}{p.reset}"
        parts.append(line + "\n")
        for key in sorted(message):
            if key not in HEADING_FIELDS:
                self._value(key, message[key], _INDENT, parts)
        parts.append("\n")

    def _value(self, key: Any, value: Any, indent: str, parts: List[str]) -> None:
        name = f"{indent}{self._p.key}{key}{self._p.reset}:"
        cls = value.__class__
        if (cls is dict or cls is list) and value:
            parts.append(name + "\n")
            items = sorted(value.items()) if cls is dict else enumerate(value)
            for child_key, child in items:
                self._value(child_key, child, indent + _INDENT, parts)
            return
        text = scalar_text(value)
        if "\n" in text:
            pad = " " * (len(indent) + len(str(key)) + 2)
            text = text.rstrip("\n").replace("\n", "\n" + pad)
        parts.append(f"{name} {text}\n")


def render_pretty(
    messages: Iterable[Message], renderer: PrettyRenderer, writer: BatchWriter
) -> None:
    """
    Write every message as a block.
    """
    for message in messages:
        renderer.message(message, writer.parts)
        writer.maybe_flush()
    writer.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal pretty}.
    """
    add_input_arguments(parser)
    add_display_arguments(parser)


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal pretty}.
    """
    renderer = PrettyRenderer(
        TimeFormatter(args.utc), glyphs_for(args), palette_for(args, streams.stdout)
    )
    source = Input(streams, args.files)
    render_pretty(source.messages(), renderer, BatchWriter(streams.stdout, 256))
    return source.finish()
