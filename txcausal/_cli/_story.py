# -*- test-case-name: txcausal.test.test_cli -*-
"""
C{txcausal story KEY}: in time order, every message of task KEY and every
message whose fields mention KEY.
"""

from __future__ import annotations

import argparse
from typing import Any, Dict, Iterable, List, Optional

from .._story import KeyMatcher, by_time
from .._wire import ACTION_STATUS_FIELD, TASK_LEVEL_FIELD, TASK_UUID_FIELD, TIMESTAMP_FIELD
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
from ._filter import write_json_lines
from ._text import (
    HEADING_FIELDS,
    Glyphs,
    Palette,
    TimeFormatter,
    clean,
    cut,
    format_level,
    message_kind,
    scalar_text,
    sorted_keys,
    status_text,
)

Message = Dict[str, Any]

NAME = "story"
HELP = "show, in time order, the messages of task KEY or mentioning KEY"
_FIELD_LIMIT = 100


def collect_story(messages: Iterable[Message], matcher: KeyMatcher) -> List[Message]:
    """
    The matching messages, sorted by time.
    """
    story = [message for message in messages if matcher.matches(message)]
    story.sort(key=by_time)
    return story


def story_line(message: Message, times: TimeFormatter, glyphs: Glyphs, palette: Palette) -> str:
    """
    One line for a message: time, task and level, type and status, then
    C{name=value} fields, everything read from the log escaped.
    """
    p = palette
    when = times(message.get(TIMESTAMP_FIELD))
    text = f"{p.time}{when}{p.reset} {p.uuid}{clean(message[TASK_UUID_FIELD])}{p.reset}"
    text += f"{format_level(message[TASK_LEVEL_FIELD])} {p.kind}{message_kind(message)}{p.reset}"
    status = message.get(ACTION_STATUS_FIELD)
    if status is not None:
        text += f" {glyphs.arrow} {p.status(status)}{status_text(status)}{p.reset}"
    fields = " ".join(
        f"{p.key}{clean(str(key))}{p.reset}={_short(message[key], glyphs)}"
        for key in sorted_keys(message)
        if key not in HEADING_FIELDS
    )
    return f"{text}  {fields}\n" if fields else text + "\n"


def _short(value: Any, glyphs: Glyphs) -> str:
    text = cut(scalar_text(value), _FIELD_LIMIT, glyphs.ellipsis)
    if value.__class__ is str and (not text or " " in text):
        return '"' + clean(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'
    return clean(text)


def write_story(
    story: Iterable[Message],
    times: TimeFormatter,
    glyphs: Glyphs,
    palette: Palette,
    writer: BatchWriter,
    on_error: Note = ignore_note,
) -> None:
    """
    Write one line per message.  A message that cannot be rendered is
    reported to C{on_error} in one line and skipped.
    """
    for message in story:
        try:
            line = story_line(message, times, glyphs, palette)
        except Exception as e:
            on_error(f"{describe(message)}: cannot render: {type(e).__name__}")
            continue
        writer.parts.append(line)
        writer.maybe_flush()
    writer.flush()


def _needle(key: str) -> Optional[bytes]:
    if (
        key.isascii()
        and key.isprintable()
        and '"' not in key
        and "\\" not in key
        and "/" not in key
    ):
        return key.encode("ascii")
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal story}.
    """
    parser.add_argument("key", metavar="KEY", help="a task UUID, or a value to look for in fields")
    add_input_arguments(parser)
    parser.add_argument("--json", action="store_true", help="write the messages as JSON lines")
    add_display_arguments(parser)


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal story}.
    """
    source = Input(streams, args.files, _needle(args.key))
    story = collect_story(source.messages(), KeyMatcher([args.key]))
    writer, note = BatchWriter(streams.stdout), source.reporter.note
    if args.json:
        write_json_lines(story, writer, note)
    else:
        palette = palette_for(args, streams.stdout)
        write_story(story, TimeFormatter(args.utc), glyphs_for(args), palette, writer, note)
    return source.finish()
