# -*- test-case-name: txcausal.test.test_cli_follow -*-
"""
C{txcausal tree --follow FILE}: follow a growing log as C{tail -F} does,
showing each task as soon as its part in the file is complete, and each
task left open with no new message for C{--idle} seconds as it stands,
marked C{[still open]} (it is shown again when it finishes).  Rotation by
rename is followed.  Tasks given up by C{--max-open} are counted on
standard error at the first look that gave some up, then each time the
count passes another 1000, and in all at the end.  Runs until
interrupted.  See L{txcausal._follow}.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from .._follow import DEFAULT_IDLE_SECONDS, TaskFollower, Update
from .._task_json import task_document
from ._common import (
    BatchWriter,
    ErrorReporter,
    Streams,
    is_terminal,
    report_due,
    report_given_up,
    write_json_lines,
)
from ._filter import seconds
from ._tree_text import TreeOptions, TreeRenderer, render_task

#: Seconds between two looks at the file.
POLL_SECONDS = 0.2

STILL_OPEN = "[still open]"
#: What became of the tasks C{--max-open} gave up.
GIVEN_UP = "shown in parts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add C{--follow} and C{--idle}.
    """
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="follow one growing FILE (and its rotation), showing tasks as they finish",
    )
    parser.add_argument(
        "--idle",
        type=seconds,
        default=DEFAULT_IDLE_SECONDS,
        metavar="SECONDS",
        help="with --follow, show a task still open after SECONDS without a new message,"
        f" marked {STILL_OPEN} (default {DEFAULT_IDLE_SECONDS:g})",
    )


class _Shower:
    """
    Write the updates of a follower, as trees or JSON documents.
    """

    def __init__(self, args: argparse.Namespace, streams: Streams, options: TreeOptions,
                 note: Callable[[str], None]) -> None:
        self._json = args.json
        self._escape = is_terminal(streams.stdout)
        self._select = options.select
        self._renderer = TreeRenderer(options)
        self._note = note
        self.writer = BatchWriter(streams.stdout)

    def __call__(self, update: Update) -> None:
        if not self._select(update.task):
            return
        if self._json:
            document = task_document(update.task)
            document["still_open"] = update.still_open
            write_json_lines([document], self.writer, self._note, self._escape)
        else:
            note = STILL_OPEN if update.still_open else ""
            render_task(self._renderer, update.task, self.writer.parts, self._note, note=note)


def run(
    args: argparse.Namespace,
    streams: Streams,
    options: TreeOptions,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """
    Follow the file named on the command line until interrupted.

    @param sleep: Waits that many seconds between looks at the file.
    @return: 2 if not exactly one file is named, 1 if it cannot be read.
    @raise BrokenPipeError: If standard output's reader went away.
    """
    if len(args.files) != 1 or args.files[0] == "-":
        streams.stderr.write("txcausal: tree --follow needs exactly one FILE\n")
        return 2
    reporter = ErrorReporter(streams.stderr)
    follower = TaskFollower(args.files[0], args.idle, options.max_open, reporter,
                            max_line=args.max_line_bytes)
    show = _Shower(args, streams, options, reporter.note)
    reported = 0
    try:
        while True:
            for update in follower.poll():
                show(update)
            show.writer.idle()
            if report_due(reported, follower.given_up):
                report_given_up(streams, follower.given_up, options.max_open, GIVEN_UP,
                                so_far=True)
            reported = follower.given_up
            sleep(POLL_SECONDS)
    except BrokenPipeError:
        raise  # Standard output's reader went away: main ends quietly, as for every command.
    except OSError as e:
        reporter.note(f"{args.files[0]}: {e.strerror or e}")
        return 1
    finally:
        follower.close()
        report_given_up(streams, follower.given_up, options.max_open, GIVEN_UP)
