# -*- test-case-name: txcausal.test.test_cli -*-
"""
C{txcausal tree}: every task as a tree of actions, messages and fields.
"""

from __future__ import annotations

import argparse
from typing import IO, Any, Dict, FrozenSet, Iterable, Iterator, List, Optional

from attrs import frozen

from .._parse import Task, WrittenAction, parse_messages
from .._parse_input import ErrorCallback, MessageReader, _ignore_error
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
    PLAIN,
    UNICODE,
    Glyphs,
    Palette,
    TimeFormatter,
    cut,
    format_duration,
    format_level,
    message_kind,
    scalar_text,
)

Message = Dict[str, Any]

NAME = "tree"
HELP = "show every task as a tree"
DEFAULT_FIELD_LIMIT = 100


@frozen
class TreeOptions:
    """
    How to select and draw tasks.

    @ivar field_limit: Cut field values after this many characters or at
        their first newline; 0 shows values whole.
    @ivar utc: UTC times, else local.
    @ivar failed_only: Only show tasks in which an action failed.
    @ivar task_uuids: Only show these tasks (all when empty).
    """

    field_limit: int = DEFAULT_FIELD_LIMIT
    utc: bool = True
    glyphs: Glyphs = UNICODE
    palette: Palette = PLAIN
    failed_only: bool = False
    task_uuids: FrozenSet[str] = frozenset()


class TreeRenderer:
    """
    Render tasks as text, appending to a list of strings.
    """

    def __init__(self, options: TreeOptions) -> None:
        glyphs, palette = options.glyphs, options.palette
        self._g = glyphs
        self._p = palette
        self._limit = options.field_limit
        self._fast_limit = options.field_limit or 1 << 62
        self._times = TimeFormatter(options.utc)
        tree, reset = palette.tree, palette.reset
        self._branch = tree + glyphs.branch + reset
        self._last = tree + glyphs.last + reset
        self._pipe = tree + glyphs.pipe + reset
        self._blank = glyphs.blank

    def task(self, task: Task, parts: List[str]) -> None:
        """
        Render one task: its UUID, then its tree, then a blank line.
        """
        p = self._p
        header = f"{p.uuid}{task.uuid}{p.reset}"
        if not task.complete:
            header += f" {p.warning}[incomplete]{p.reset}"
        parts.append(header + "\n")
        root = task.root
        items: List[Any]
        if root.start_message is not None or root.end_message is not None:
            items = [root]
        else:
            items = root.children
        if task.strays:
            items = items + [f"{p.warning}not in the tree:{p.reset}"] + task.strays
        self._entries(items, "", parts)
        parts.append("\n")

    def _entries(self, items: List[Any], prefix: str, parts: List[str]) -> None:
        # The hot path: scalar fields are written inline.
        last_index = len(items) - 1
        key_color, reset, limit = self._p.key, self._p.reset, self._fast_limit
        for index, item in enumerate(items):
            conn = self._last if index == last_index else self._branch
            cls = item.__class__
            if cls is tuple:
                value = item[1]
                if value.__class__ is str and (len(value) <= limit and "\n" not in value):
                    parts.append(f"{prefix}{conn}{key_color}{item[0]}{reset}: {value}\n")
                    continue
            below = prefix + (self._blank if index == last_index else self._pipe)
            if cls is tuple:
                self._field(item[0], item[1], prefix + conn, below, parts)
            elif cls is dict:
                self._message(item, prefix + conn, below, parts)
            elif cls is WrittenAction:
                self._action(item, prefix + conn, below, parts)
            else:
                parts.append(f"{prefix}{conn}{item}\n")

    def _fields(self, message: Message) -> List[Any]:
        return [(key, message[key]) for key in sorted(message) if key not in HEADING_FIELDS]

    def _message(self, message: Message, line: str, below: str, parts: List[str]) -> None:
        p = self._p
        status = message.get("action_status")
        if status is None:
            status = ""
        else:
            status = f" {self._g.arrow} {p.status(status)}{status}{p.reset}"
        parts.append(
            f"{line}{p.kind}{message_kind(message)}{p.reset}"
            f"{format_level(message.get('task_level', ()))}{status}"
            f" {p.time}{self._times(message.get('timestamp'))}{p.reset}\n"
        )
        self._entries(self._fields(message), below, parts)

    def _action(self, node: WrittenAction, line: str, below: str, parts: List[str]) -> None:
        parts.append(line + self._action_heading(node) + "\n")
        start, end = node.start_message, node.end_message
        items: List[Any] = self._fields(start) if start is not None else []
        items.extend(node.children)
        if not node.complete:
            warning, reset = self._p.warning, self._p.reset
            items.extend(
                f"{warning}missing {format_level(level)}{reset}" for level in node.missing_levels()
            )
            if end is None:
                items.append(f"{warning}no finish message{reset}")
        if end is not None:
            items.append(end)
        self._entries(items, below, parts)

    def _action_heading(self, node: WrittenAction) -> str:
        p, g = self._p, self._g
        kind = f"{p.kind}{node.action_type or '<unknown action>'}{p.reset}"
        start = node.start_message
        if start is None:
            level = format_level(node.task_level) if node.task_level else ""
            return f"{kind}{level} {g.arrow} {p.warning}start missing{p.reset}"
        text = f"{kind}{format_level(start['task_level'])} {g.arrow} {p.good}started{p.reset}"
        text += f" {p.time}{self._times(start.get('timestamp'))}{p.reset}"
        duration = node.duration
        if duration is not None:
            text += f" {g.hourglass} {p.duration}{format_duration(duration)}{p.reset}"
        return text

    def _field(self, key: Any, value: Any, line: str, below: str, parts: List[str]) -> None:
        name = f"{line}{self._p.key}{key}{self._p.reset}:"
        cls = value.__class__
        if cls is dict and value:
            parts.append(name + "\n")
            self._entries([(k, value[k]) for k in sorted(value)], below, parts)
        elif cls is list and value:
            parts.append(name + "\n")
            self._entries(list(enumerate(value)), below, parts)
        else:
            text = value if cls is str else scalar_text(value)
            limit = self._limit
            if limit:
                if len(text) > limit or "\n" in text:
                    text = cut(text, limit, self._g.ellipsis)
            elif "\n" in text:
                text = text.replace("\n", "\n" + below)
            parts.append(f"{name} {text}\n")


def task_failed(task: Task) -> bool:
    """
    Whether an action of C{task} failed or it logged a traceback.
    """
    for message in task.messages():
        if (
            message.get("action_status") == "failed"
            or message.get("message_type") == "eliot:traceback"
        ):
            return True
    return False


def _select(messages: Iterable[Message], uuids: FrozenSet[str]) -> Iterator[Message]:
    for message in messages:
        if message["task_uuid"] in uuids:
            yield message


def render_messages(
    messages: Iterable[Message], out: IO[str], options: TreeOptions = TreeOptions()
) -> int:
    """
    Parse messages into tasks and write them as trees.

    @return: The number of tasks written.
    """
    if options.task_uuids:
        messages = _select(messages, options.task_uuids)
    renderer = TreeRenderer(options)
    writer = BatchWriter(out)
    count = 0
    for task in parse_messages(messages):
        if options.failed_only and not task_failed(task):
            continue
        renderer.task(task, writer.parts)
        writer.maybe_flush()
        count += 1
    writer.flush()
    return count


def render_lines(
    lines: Iterable[bytes],
    out: IO[str],
    options: TreeOptions = TreeOptions(),
    on_error: ErrorCallback = _ignore_error,
) -> int:
    """
    Render log lines (JSON lines or Twisted JSON records, as bytes) as trees:
    the whole of C{txcausal tree} without argument parsing, for benchmarks
    and embedding.

    @return: The number of tasks written.
    """
    reader = MessageReader(on_error, needle=_needle(options.task_uuids))
    return render_messages(reader.read([lines]), out, options)  # type: ignore[list-item]


def _needle(uuids: FrozenSet[str]) -> Optional[bytes]:
    if len(uuids) == 1:
        (uuid,) = uuids
        if uuid.isascii() and '"' not in uuid and "\\" not in uuid:
            return uuid.encode("ascii")
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal tree}.
    """
    add_input_arguments(parser)
    parser.add_argument(
        "-u",
        "--task-uuid",
        action="append",
        default=[],
        metavar="UUID",
        help="only show this task (repeatable)",
    )
    parser.add_argument(
        "--failed", action="store_true", help="only show tasks in which an action failed"
    )
    parser.add_argument(
        "-l",
        "--field-limit",
        type=int,
        default=DEFAULT_FIELD_LIMIT,
        metavar="LENGTH",
        help="cut field values after LENGTH characters or a newline; 0 shows them whole"
        f" (default {DEFAULT_FIELD_LIMIT})",
    )
    add_display_arguments(parser)


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal tree}.
    """
    options = TreeOptions(
        field_limit=max(0, args.field_limit),
        utc=args.utc,
        glyphs=glyphs_for(args),
        palette=palette_for(args, streams.stdout),
        failed_only=args.failed,
        task_uuids=frozenset(args.task_uuid),
    )
    source = Input(streams, args.files, _needle(options.task_uuids))
    render_messages(source.messages(), streams.stdout, options)
    return source.finish()
