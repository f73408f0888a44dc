# -*- test-case-name: txcausal.test.test_cli_tree -*-
"""
C{txcausal tree}: every task as a tree of actions, messages and fields, or
as a JSON document; selected by UUID, failure, time and duration; or a
growing file followed live (L{txcausal._cli._follow}).
"""

from __future__ import annotations

import argparse
from typing import IO, Any, Dict, FrozenSet, Iterable, Iterator, Optional

from .._parse import DEFAULT_MAX_OPEN, Parser, Task, WrittenAction
from .._parse_input import ErrorCallback, MessageReader, _ignore_error, needle_for
from .._select import TaskFilter
from .._task_json import task_document
from .._wire import TASK_UUID_FIELD
from . import _follow
from ._common import (
    BatchWriter,
    Input,
    Note,
    Streams,
    add_display_arguments,
    add_input_arguments,
    fewer_collections,
    glyphs_for,
    ignore_note,
    is_terminal,
    non_negative,
    palette_for,
    positive,
    report_given_up,
    write_json_lines,
)
from ._filter import add_time_arguments, seconds
from ._tree_text import DEFAULT_FIELD_LIMIT, DEFAULT_OPTIONS, TreeOptions, render_tasks

Message = Dict[str, Any]

NAME = "tree"
HELP = "show every task as a tree"


def _select(messages: Iterable[Message], uuids: FrozenSet[str]) -> Iterator[Message]:
    for message in messages:
        if message[TASK_UUID_FIELD] in uuids:
            yield message


def _consumed(tasks: Iterable[Task]) -> Iterator[Task]:
    """
    The tasks, each unlinked once used: their parent links are broken so
    that they are freed at once rather than by the garbage collector.
    """
    for task in tasks:
        yield task
        pending = [task.root]
        while pending:
            node = pending.pop()
            node.parent = None
            pending.extend(c for c in node.children if c.__class__ is WrittenAction)


def parse_for(
    messages: Iterable[Message], options: TreeOptions, parser: Optional[Parser] = None
) -> Iterator[Task]:
    """
    Parse messages into tasks, skipping at once the messages of tasks
    C{options} does not name, each task unlinked once used.
    """
    uuids = options.select.task_uuids
    if uuids:
        messages = _select(messages, frozenset(uuids))
    if parser is None:
        parser = Parser(options.max_open)
    return _consumed(parser.parse(messages))


def render_messages(
    messages: Iterable[Message],
    out: IO[str],
    options: TreeOptions = DEFAULT_OPTIONS,
    on_error: Note = ignore_note,
    parser: Optional[Parser] = None,
    writer: Optional[BatchWriter] = None,
) -> int:
    """
    Parse messages into tasks and write them as trees.

    @param on_error: Told about tasks that cannot be rendered.
    @param parser: The parser to use; by default, a new one with the
        options' C{max_open}.
    @param writer: Where to collect the output; by default, one writing to
        C{out}.
    @return: The number of tasks written.
    """
    tasks = parse_for(messages, options, parser)
    return render_tasks(tasks, writer or BatchWriter(out), options, on_error)


def render_lines(
    lines: Iterable[bytes],
    out: IO[str],
    options: TreeOptions = DEFAULT_OPTIONS,
    on_error: ErrorCallback = _ignore_error,
) -> int:
    """
    Render log lines (JSON lines or Twisted JSON records, as bytes, or a
    binary file) as trees: the whole of C{txcausal tree} on one input
    without argument parsing, for benchmarks and embedding.

    @return: The number of tasks written.
    """
    reader = MessageReader(on_error, needle=_needle(options.select.task_uuids))
    return render_messages(reader.read_source(lines), out, options)


def _needle(uuids: Iterable[str]) -> Optional[bytes]:
    uuids = list(uuids)
    return needle_for(uuids[0]) if len(uuids) == 1 else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal tree}.
    """
    add_input_arguments(parser)
    add = parser.add_argument
    add("-u", "--task-uuid", action="append", default=[], metavar="UUID",
        help="only show this task (repeatable)")
    add("--failed", action="store_true",
        help="only show tasks in which an action failed or a traceback was logged")
    add("--min-duration", type=seconds, metavar="SECONDS",
        help="only show tasks with an action that took at least SECONDS")
    add_time_arguments(parser, "tasks with a message")
    add("--json", action="store_true",
        help="write each task as one JSON document per line, for tools")
    _follow.add_arguments(parser)
    add_limit_arguments(parser)
    add_display_arguments(parser)


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add C{--field-limit} and C{--max-open}.
    """
    parser.add_argument(
        "-l",
        "--field-limit",
        type=non_negative,
        default=DEFAULT_FIELD_LIMIT,
        metavar="LENGTH",
        help="cut field values after LENGTH characters or a newline; 0 shows them whole"
        f" (default {DEFAULT_FIELD_LIMIT})",
    )
    add_max_open_argument(parser)


def add_max_open_argument(parser: argparse.ArgumentParser) -> None:
    """
    Add C{--max-open}.
    """
    parser.add_argument(
        "--max-open",
        type=positive,
        default=DEFAULT_MAX_OPEN,
        metavar="N",
        help="keep at most N tasks open waiting for their other messages; past that, show"
        f" the oldest as incomplete (default {DEFAULT_MAX_OPEN})",
    )


def options_for(args: argparse.Namespace, streams: Streams) -> TreeOptions:
    """
    The options given on the command line.
    """
    select = TaskFilter(
        task_uuids=frozenset(args.task_uuid),
        failed=args.failed,
        since=args.since,
        until=args.until,
        min_duration=args.min_duration,
    )
    return TreeOptions(
        field_limit=args.field_limit,
        utc=args.utc,
        glyphs=glyphs_for(args),
        palette=palette_for(args, streams.stdout),
        select=select,
        max_open=args.max_open,
    )


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal tree}.
    """
    options = options_for(args, streams)
    if args.follow:
        return _follow.run(args, streams, options)
    writer = BatchWriter(streams.stdout)
    needle = _needle(options.select.task_uuids)
    source = Input(streams, args.files, needle, args.max_line_bytes, writer.idle)
    parser = Parser(options.max_open)
    tasks = parse_for(source.messages(), options, parser)
    note = source.reporter.note
    with fewer_collections():
        if args.json:
            select = options.select
            documents = (task_document(task) for task in tasks if select(task))
            write_json_lines(documents, writer, note, is_terminal(streams.stdout))
        else:
            render_tasks(tasks, writer, options, note)
    report_given_up(streams, parser.given_up, options.max_open, "shown in parts")
    return source.finish()
