# -*- test-case-name: txcausal.test.test_parse -*-
"""
Reading txcausal (and Eliot) logs back into task trees.

Messages may come in any order and from several files: interleaved tasks are
separated, a task continued in another process joins its parent's tree (they
share the task UUID), and tasks whose start or end is missing are kept and
marked incomplete::

    from txcausal.parse import parse_files

    for task in parse_files(["web.log", "worker.log.gz"]):
        root = task.root
        print(task.uuid, root.action_type, root.status, root.duration,
              "" if task.complete else "(incomplete)")

Parsing streams: a task is yielded as soon as its last message is read, so
memory is bounded by the tasks still open, not by the size of the files, and
at most C{max_open} tasks are kept open.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ._parse import (
    DEFAULT_MAX_OPEN,
    Parser,
    Task,
    WrittenAction,
    action_duration,
    parse_messages,
)
from ._parse_input import (
    TWISTED_MESSAGE_TYPE,
    ErrorCallback,
    LineError,
    MessageReader,
    Source,
    _ignore_error,
    read_messages,
)


def parse_files(
    sources: Iterable[Source],
    on_error: ErrorCallback = _ignore_error,
    max_open: int = DEFAULT_MAX_OPEN,
) -> Iterator[Task]:
    """
    Read log files and parse them into tasks.

    Tasks of one file that wait for another process's messages are kept
    open until the files after it are read; while the last file is read,
    they are returned as soon as their own part is complete.

    @param sources: Paths (C{"-"} for standard input; gzip is detected by
        content) or binary streams.  Twisted JSON log records become messages
        of type C{twisted:log}.
    @param on_error: Called with a L{LineError} for each line skipped.
    @param max_open: The cap on open tasks: past it, the oldest is returned
        incomplete (see L{Parser}).
    @return: Complete tasks as they complete, then the incomplete ones.
    """
    parser = Parser(max_open)
    reader = MessageReader(on_error)
    return parser.parse(reader.read(sources, before_last=parser.reading_last_source))


__all__ = [
    "DEFAULT_MAX_OPEN",
    "Parser",
    "Task",
    "WrittenAction",
    "LineError",
    "MessageReader",
    "TWISTED_MESSAGE_TYPE",
    "action_duration",
    "parse_files",
    "parse_messages",
    "read_messages",
]
