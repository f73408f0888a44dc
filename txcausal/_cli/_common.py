# -*- test-case-name: txcausal.test.test_cli -*-
"""
What every subcommand shares: input files, error and progress reporting on
standard error, output batching and the choice of color.
"""

from __future__ import annotations

import argparse
import gc
import os
from contextlib import contextmanager
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence

from attrs import define, field

from .._parse_input import LineError, MessageReader
from .._wire import TASK_LEVEL_FIELD, TASK_UUID_FIELD
from ._text import ASCII, COLORS, PLAIN, UNICODE, Glyphs, Palette, format_level

Message = Dict[str, Any]

#: At most this many bad lines are reported per file; the rest are counted.
MAX_REPORTED = 20
#: Files smaller than this get no progress indicator.
PROGRESS_MIN_BYTES = 8 << 20


@define
class Streams:
    """
    The standard streams a command uses, injectable for tests.
    """

    stdin: Any
    stdout: IO[str]
    stderr: IO[str]


@define
class ErrorReporter:
    """
    Report unreadable lines on standard error, at most L{MAX_REPORTED} per
    file, then a count of the rest.
    """

    stderr: IO[str]
    counts: Dict[str, int] = field(factory=dict)
    unreadable_files: int = 0

    def __call__(self, error: LineError) -> None:
        if error.lineno == 0:
            self.unreadable_files += 1
        seen = self.counts[error.source] = self.counts.get(error.source, 0) + 1
        if seen <= MAX_REPORTED or error.lineno == 0:
            self.stderr.write(f"txcausal: {error}\n")

    def note(self, text: str) -> None:
        """
        Report a problem other than an unreadable line, in one line.
        """
        self.stderr.write(f"txcausal: {text}\n")

    def summarize(self) -> None:
        """
        Report how many more lines were skipped than were reported.
        """
        for source, count in self.counts.items():
            if count > MAX_REPORTED:
                more = count - MAX_REPORTED
                self.stderr.write(f"txcausal: {source}: {more} more unreadable lines skipped\n")
        self.stderr.flush()


@define
class Progress:
    """
    A progress indicator on standard error, for big files on a terminal.
    """

    stderr: IO[str]
    shown: bool = False

    def __call__(self, source: str, position: int, total: int) -> None:
        if total < PROGRESS_MIN_BYTES:
            return
        percent = min(100, position * 100 // total)
        self.stderr.write(f"\rtxcausal: reading {source} {percent:3d}%")
        self.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        """
        Erase the indicator line.
        """
        if self.shown:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()
            self.shown = False


@contextmanager
def fewer_collections(threshold: int = 50_000) -> Iterator[None]:
    """
    Run the cyclic garbage collector less often for a while.

    Open task trees are many small objects with cycles (parent links);
    with the default thresholds the collector keeps walking all of them,
    which takes a third of the time of joining two big logs.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(threshold, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


#: Told, in one line, about a record that could not be shown.
Note = Callable[[str], None]


def ignore_note(text: str) -> None:
    """
    A L{Note} that ignores what it is told.
    """


def describe(message: Message) -> str:
    """
    Name a message in a report: its task UUID (quoted) and level.
    """
    level = format_level(message.get(TASK_LEVEL_FIELD, ()))
    return f"message {message.get(TASK_UUID_FIELD)!r}{level}"


def _at_least(minimum: int, wording: str) -> Callable[[str], int]:
    """
    @return: An argparse type: an integer of at least C{minimum}, or an
        C{argparse.ArgumentTypeError} saying it must C{wording}.
    """

    def check(text: str) -> int:
        value = _integer(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must {wording}: {text}")
        return value

    return check


#: An argument that is an integer, 0 or more.
non_negative = _at_least(0, "not be negative")
#: An argument that is an integer, 1 or more.
positive = _at_least(1, "be a positive integer")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the C{FILE...} arguments.
    """
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="log files (JSON lines, Twisted JSON logs, .gz); standard input when none",
    )


def add_display_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options that choose how text looks: time zone, color, ASCII.
    """
    zone = parser.add_mutually_exclusive_group()
    zone.add_argument(
        "--utc", dest="utc", action="store_true", default=True, help="show times in UTC (default)"
    )
    zone.add_argument(
        "--local", dest="utc", action="store_false", help="show times in the local time zone"
    )
    parser.add_argument(
        "--ascii", action="store_true", help="draw with ASCII instead of box-drawing characters"
    )
    parser.add_argument(
        "--color",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="color the output (default: only on a terminal)",
    )


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def palette_for(args: argparse.Namespace, stdout: Any) -> Palette:
    """
    Color when asked to, or by default when writing to a terminal and
    C{NO_COLOR} is not set.
    """
    color = args.color
    if color is None:
        color = _isatty(stdout) and not os.environ.get("NO_COLOR")
    return COLORS if color else PLAIN


def glyphs_for(args: argparse.Namespace) -> Glyphs:
    """
    ASCII or box-drawing glyphs.
    """
    return ASCII if args.ascii else UNICODE


@define
class Input:
    """
    The messages of the files named on the command line, with error and
    progress reporting.
    """

    streams: Streams
    files: Sequence[str]
    needle: Optional[bytes] = None
    reporter: ErrorReporter = field(init=False)
    progress: Progress = field(init=False)

    def __attrs_post_init__(self) -> None:
        self.reporter = ErrorReporter(self.streams.stderr)
        self.progress = Progress(self.streams.stderr)

    def messages(self, before_last: Optional[Callable[[], None]] = None) -> Iterator[Message]:
        """
        Every readable message, in file order.

        @param before_last: Called before the last file is read.
        """
        on_progress = self.progress if _isatty(self.streams.stderr) else None
        stdin = _stdin_binary(self.streams.stdin)
        reader = MessageReader(self.reporter, on_progress, self.needle, stdin)
        sources: List[Any] = list(self.files) or ["-"]
        try:
            yield from reader.read(sources, before_last)
        finally:
            self.progress.clear()

    def finish(self) -> int:
        """
        Summarize errors.

        @return: The exit status: 1 if a file could not be opened, else 0.
        """
        self.reporter.summarize()
        return 1 if self.reporter.unreadable_files else 0


def _stdin_binary(stdin: Any) -> Any:
    return getattr(stdin, "buffer", stdin)


class BatchWriter:
    """
    Collect output text and write it in big chunks.
    """

    def __init__(self, out: IO[str], size: int = 2048) -> None:
        self._out = out
        self._size = size
        self.parts: List[str] = []

    def maybe_flush(self) -> None:
        """
        Write the collected parts if there are many.
        """
        if len(self.parts) >= self._size:
            self.flush()

    def flush(self) -> None:
        """
        Write everything collected so far.
        """
        if self.parts:
            self._out.write("".join(self.parts))
            self.parts.clear()


Command = Callable[[argparse.Namespace, Streams], int]
