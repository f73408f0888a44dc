# -*- test-case-name: txcausal.test.test_parse -*-
"""
Reading txcausal (and Eliot) logs back into task trees, for your own tools.

Messages may come in any order and from several files or one concatenated
stream: interleaved tasks are separated, a task continued in another
process joins its parent's tree (they share the task UUID), and tasks whose
start or end is missing are kept and marked incomplete::

    from txcausal.parse import parse_files

    for task in parse_files(["web.log", "worker.log.gz", "_trial_temp/test.log"]):
        root = task.root
        print(task.uuid, root.action_type, root.status, root.duration,
              "" if task.complete else "(incomplete)")

What it offers, by concern (each documented where it is defined):

  - Reading any input: L{read_messages}, L{MessageReader} (JSON lines,
    Twisted JSON records, trial's C{test.log}, gzip, standard input,
    bounded line length, idle callback for live pipes, L{StreamState} for
    lines read piecewise), L{LineError}.
  - Joining messages into tasks: L{parse_files}, L{parse_messages},
    L{Parser}, L{Task}, L{WrittenAction}, L{action_duration}.
  - Following a growing file, with rotation: L{FileFollower} (and the
    L{Piece}s it reads), L{TaskFollower}, L{Update}.
  - Choosing tasks: L{TaskFilter}, L{parse_time}, L{time_range},
    L{actions}.
  - The story of a key: L{KeyMatcher}, L{story_of}, L{StoryCollector},
    L{TaskStory}, L{collect_story}.
  - Durations: L{ActionStats}, L{action_stats}, L{TypeStats},
    L{Instance}.
  - A task as a JSON document: L{task_document}.

Parsing streams: a task is yielded as soon as its last message is read, so
memory is bounded by the tasks still open, not by the size of the files, and
at most C{max_open} tasks are kept open.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ._follow import DEFAULT_IDLE_SECONDS, TaskFollower, Update
from ._parse import (
    DEFAULT_MAX_OPEN,
    Parser,
    Task,
    WrittenAction,
    action_duration,
    parse_messages,
)
from ._parse_input import (
    ErrorCallback,
    LineError,
    MessageReader,
    Source,
    _ignore_error,
    read_messages,
)
from ._select import TaskFilter, actions, parse_time, time_range
from ._source import DEFAULT_MAX_LINE_BYTES
from ._stats import ActionStats, Instance, TypeStats, action_stats
from ._story import KeyMatcher
from ._stream_state import StreamState
from ._tail import FileFollower
from ._tail_files import Piece
from ._task_json import task_document
from ._task_story import (
    DEFAULT_MAX_STORY_TASKS,
    StoryCollector,
    TaskStory,
    collect_story,
    story_of,
)
from ._wire import TWISTED_MESSAGE_TYPE


def parse_files(
    sources: Iterable[Source],
    on_error: ErrorCallback = _ignore_error,
    max_open: int = DEFAULT_MAX_OPEN,
    max_line: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Task]:
    """
    Read log files and parse them into tasks.

    The files are read in turn, as one stream: the same lines give the same
    tasks however they are split into files or concatenated (as long as no
    more than C{max_open} tasks are open at once).

    @param sources: Paths (C{"-"} for standard input; gzip is detected by
        content), binary streams or iterables of lines.  Twisted JSON log
        records and Twisted's text lines become messages of type
        C{twisted:log}; trial's C{test.log} gives the txcausal messages it
        holds.
    @param on_error: Called with a L{LineError} for each line skipped.
    @param max_open: The cap on open tasks: past it, the oldest is returned
        incomplete (see L{Parser}).
    @param max_line: Lines longer than this many bytes are reported and
        skipped.
    @return: Complete tasks as they complete, then the incomplete ones.
    """
    reader = MessageReader(on_error, max_line=max_line)
    return Parser(max_open).parse(reader.read(sources))


__all__ = [
    "DEFAULT_IDLE_SECONDS",
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_MAX_OPEN",
    "DEFAULT_MAX_STORY_TASKS",
    "TWISTED_MESSAGE_TYPE",
    "ActionStats",
    "FileFollower",
    "Instance",
    "KeyMatcher",
    "LineError",
    "MessageReader",
    "Parser",
    "Piece",
    "StoryCollector",
    "StreamState",
    "Task",
    "TaskFilter",
    "TaskFollower",
    "TaskStory",
    "TypeStats",
    "Update",
    "WrittenAction",
    "action_duration",
    "action_stats",
    "actions",
    "collect_story",
    "parse_files",
    "parse_messages",
    "parse_time",
    "read_messages",
    "story_of",
    "task_document",
    "time_range",
]
