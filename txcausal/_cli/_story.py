# -*- test-case-name: txcausal.test.test_cli_story -*-
"""
C{txcausal story KEY}: what happened to KEY.  In time order, every task in
which some action or message mentions KEY (or whose UUID is KEY), drawn as
a tree: the actions on the way to each mention, the whole subtree of each
action that mentions KEY, the mentions marked.  See L{txcausal._story}.
"""

from __future__ import annotations

import argparse

from .._parse import Parser
from .._story import KeyMatcher
from .._task_story import DEFAULT_MAX_STORY_TASKS, StoryCollector
from ._common import (
    BatchWriter,
    Input,
    Streams,
    add_display_arguments,
    add_input_arguments,
    fewer_collections,
    glyphs_for,
    is_terminal,
    palette_for,
    positive,
    report_given_up,
    write_json_lines,
)
from ._text import counted
from ._tree import add_limit_arguments
from ._tree_text import TreeOptions, TreeRenderer, render_task

NAME = "story"
HELP = "show, in time order, the tasks of KEY: those that mention it, or task KEY"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal story}.
    """
    parser.add_argument(
        "key", metavar="KEY", type=_key, help="a task UUID, or a value to look for in fields"
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="write the messages of the story as JSON lines (for tree, pretty, filter)",
    )
    parser.add_argument(
        "--max-tasks",
        type=positive,
        default=DEFAULT_MAX_STORY_TASKS,
        metavar="N",
        help="keep at most N tasks, the earliest; report how many more there were"
        f" (default {DEFAULT_MAX_STORY_TASKS})",
    )
    add_limit_arguments(parser)
    add_display_arguments(parser)


def _key(text: str) -> str:
    """
    A story's key: not empty, since every string contains the empty key.
    """
    if not text:
        raise argparse.ArgumentTypeError("KEY is empty, which would match every task")
    return text


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal story}.
    """
    source = Input(streams, args.files, None, args.max_line_bytes)
    collector = StoryCollector(KeyMatcher([args.key]), args.max_tasks)
    parser = Parser(args.max_open)
    with fewer_collections():
        for task in parser.parse(source.messages()):
            collector.add(task)
    stories = collector.stories()
    writer, note = BatchWriter(streams.stdout), source.reporter.note
    if args.json:
        messages = (message for story in stories for message in story.task.messages())
        write_json_lines(messages, writer, note, is_terminal(streams.stdout))
    else:
        options = TreeOptions(
            field_limit=args.field_limit,
            utc=args.utc,
            glyphs=glyphs_for(args),
            palette=palette_for(args, streams.stdout),
        )
        renderer = TreeRenderer(options)
        for story in stories:
            render_task(renderer, story.task, writer.parts, note, story)
            writer.maybe_flush()
        writer.flush()
    if collector.omitted:
        note(
            f"{counted(collector.omitted, 'later task')} of the story of {args.key!r} left out"
            f" (--max-tasks {args.max_tasks})"
        )
    report_given_up(streams, parser.given_up, args.max_open, "shown in parts")
    return source.finish()
