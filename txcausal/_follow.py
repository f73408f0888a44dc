# -*- test-case-name: txcausal.test.test_follow -*-
"""
Following a log file as it grows, and joining its messages into tasks as
they arrive: L{TaskFollower}, for C{txcausal tree --follow}.

It is polled: L{TaskFollower.poll} returns what is there now without
waiting, so a command can call it in a loop with a sleep and a Twisted
program from a C{LoopingCall}.  The file is followed by name, through
rotation and truncation, by L{FileFollower<txcausal._tail.FileFollower>}.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable, List

from attrs import frozen

from ._parse import DEFAULT_MAX_OPEN, Parser, Task
from ._parse_input import ErrorCallback, LineError, MessageReader, _ignore_error
from ._source import DEFAULT_MAX_LINE_BYTES
from ._tail import FileFollower
from ._tail_files import StartThread, daemon_thread
from ._wire import TASK_UUID_FIELD

#: Seconds without a new message after which an open task is shown.
DEFAULT_IDLE_SECONDS = 5.0


@frozen
class Update:
    """
    A task to show, from L{TaskFollower.poll}.

    @ivar task: The task as it stands.
    @ivar still_open: C{False} when the task finished (its part in this
        log is complete, see L{Parser.eager}) or was given up past
        C{max_open}; C{True} for a task still open that received nothing
        for the idle time: it is shown again when it finishes.
    """

    task: Task
    still_open: bool


class TaskFollower:
    """
    Follow a log file and join its messages into tasks: each task as soon
    as its part in this log is complete, and each task left open with no
    new message for C{idle} seconds, as it stands.

    Memory is bounded as L{Parser}'s is, by C{max_open}.
    """

    def __init__(
        self,
        path: str,
        idle: float = DEFAULT_IDLE_SECONDS,
        max_open: int = DEFAULT_MAX_OPEN,
        on_error: ErrorCallback = _ignore_error,
        clock: Callable[[], float] = time.monotonic,
        max_line: int = DEFAULT_MAX_LINE_BYTES,
        startThread: StartThread = daemon_thread,
    ) -> None:
        """
        @param path: The file to follow.
        @param idle: Seconds after which a quiet open task is shown.
        @param max_open: The cap on open tasks (see L{Parser}).
        @param on_error: Told about each line skipped.
        @param clock: Returns the current time, in seconds.
        @param max_line: The longest line read, in bytes.
        @param startThread: Starts the thread that copies a compressed file
            (decompressed) to a temporary file, which is then followed.
        """
        self._file = FileFollower(path, max_line, on_error=self._report, startThread=startThread)
        self._on_error = on_error
        self._reader = MessageReader(on_error, max_line=max_line)
        self._parser = Parser(max_open, eager=True)
        self._idle = idle
        self._clock = clock
        # Open tasks not shown since their last message, quietest first.
        self._quiet: OrderedDict[str, float] = OrderedDict()

    def poll(self) -> List[Update]:
        """
        Read what was written since the last call.

        @return: The tasks that finished, then those that went quiet.
        @raise OSError: If the file exists but cannot be read.
        """
        messages: List[dict] = []  # type: ignore[type-arg]
        decode, finish = self._reader.decode, self._reader.finish
        for piece in self._file.poll():
            state = piece.generation.state
            messages.extend(decode((piece.lines,), state))
            if piece.idle:
                messages.extend(finish(state))
        failure = self._file.failure
        if failure is not None and not isinstance(failure, FileNotFoundError):
            raise failure
        now = self._clock()
        updates = [Update(task, False) for task in self._add(messages, now)]
        return updates + self._quiet_tasks(now)

    @property
    def given_up(self) -> int:
        """
        How many tasks were given up past C{max_open} so far (each shown
        once as it stood, by L{poll}).
        """
        return self._parser.given_up

    def _report(self, error: LineError) -> None:
        """
        Pass on what the file follower tells, but for the errors that
        L{poll} raises.
        """
        failure = self._file.failure
        if failure is None or isinstance(failure, FileNotFoundError):
            self._on_error(error)

    def close(self) -> List[Update]:
        """
        Stop following.

        @return: The tasks still open.
        """
        self._file.close()
        return [Update(task, True) for task in self._parser.flush()]

    def _add(self, messages: List[dict], now: float) -> List[Task]:  # type: ignore[type-arg]
        done, quiet, add = [], self._quiet, self._parser.add
        for message in messages:
            uuid = message[TASK_UUID_FIELD]
            task = add(message)
            quiet[uuid] = now
            quiet.move_to_end(uuid)
            if task is not None:
                quiet.pop(task.uuid, None)
                done.append(task)
        return done

    def _quiet_tasks(self, now: float) -> List[Update]:
        updates = []
        quiet = self._quiet
        while quiet:
            uuid, last = next(iter(quiet.items()))
            if now - last < self._idle:
                break
            del quiet[uuid]
            task = self._parser.peek(uuid)
            if task is not None:
                updates.append(Update(task, True))
        return updates
