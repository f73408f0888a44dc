# -*- test-case-name: txcausal.test.test_cli -*-
"""
What every subcommand shares: input files, error and progress reporting on
standard error, output batching and the choice of color.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
from contextlib import contextmanager
from typing import IO, Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence

from attrs import define, field
from orjson import dumps

from .._parse_input import LineError, MessageReader
from .._source import DEFAULT_MAX_LINE_BYTES
from .._wire import TASK_LEVEL_FIELD, TASK_UUID_FIELD
from ._text import (
    ASCII,
    COLORS,
    PLAIN,
    UNICODE,
    Glyphs,
    Palette,
    clean,
    counted,
    format_level,
    terminal_json,
)

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
    file, then a count of the rest; file names and reasons escaped (see
    L{clean}).  The runs of NUL bytes skipped before lines that are read
    are reported and counted apart, in the same way.
    """

    stderr: IO[str]
    counts: Dict[str, int] = field(factory=dict)
    nul_counts: Dict[str, int] = field(factory=dict)
    unreadable_files: int = 0

    def __call__(self, error: LineError) -> None:
        if error.lineno == 0:
            self.unreadable_files += 1
        counts = self.nul_counts if error.nul else self.counts
        seen = counts[error.source] = counts.get(error.source, 0) + 1
        if seen <= MAX_REPORTED or error.lineno == 0:
            self.stderr.write(f"txcausal: {clean(str(error))}\n")

    def note(self, text: str) -> None:
        """
        Report a problem other than an unreadable line, in one line.
        """
        self.stderr.write(f"txcausal: {clean(text)}\n")

    def summarize(self) -> None:
        """
        Report how many more lines were skipped than were reported.
        """
        kinds = ((self.counts, "unreadable line", "unreadable lines"),
                 (self.nul_counts, "run of NUL bytes", "runs of NUL bytes"))
        for counts, what, plural in kinds:
            for source, count in counts.items():
                if count > MAX_REPORTED:
                    more = counted(count - MAX_REPORTED, f"more {what}", f"more {plural}")
                    self.stderr.write(f"txcausal: {clean(source)}: {more} skipped\n")
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
        self.stderr.write(f"\rtxcausal: reading {clean(source)} {percent:3d}%")
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


class StrayReport:
    """
    Report the messages a command leaves out because they do not fit their
    task's tree (see L{txcausal._parse.stray_trees}): the first
    L{MAX_REPORTED} each on a line, and a count.

    @ivar count: How many were left out.
    """

    def __init__(self, note: Callable[[str], None], fate: str) -> None:
        """
        @param note: Reports a problem on standard error.
        @param fate: What became of such a message, e.g. C{"not counted"}.
        """
        self._note = note
        self._fate = fate
        self.count = 0

    def __call__(self, message: Message) -> None:
        self.count += 1
        if self.count <= MAX_REPORTED:
            self._note(f"{describe(message)}: not in its task's tree, {self._fate}")

    def summary(self, what: str = "message") -> str:
        """
        @return: The count in words, C{""} if none.
        """
        if not self.count:
            return ""
        words = counted(self.count, f"{what} not in its task's tree",
                        f"{what}s not in their task's tree")
        return f"{words}, {self._fate}"


def report_given_up(
    streams: Streams, given_up: int, max_open: int, fate: str, so_far: bool = False
) -> None:
    """
    Say on standard error how many tasks C{--max-open} gave up, if any.

    @param fate: What became of them, e.g. C{"shown in parts"}.
    @param so_far: Whether more may still be given up (a live mode).
    """
    if given_up:
        when = " so far" if so_far else ""
        streams.stderr.write(f"txcausal: {counted(given_up, 'task')} given up by --max-open"
                             f" {max_open}{when} ({fate})\n")


def report_due(before: int, now: int, every: int = 1000) -> bool:
    """
    Whether a live report is due as a count grows from C{before} to C{now}:
    at the first, then each time it passes another C{every} (1, 1001, ...).
    """
    return (now - 1) // every > (before - 1) // every


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


def byte_size(text: str) -> int:
    """
    An argparse type: a positive number of bytes, with an optional C{K},
    C{M} or C{G} suffix (powers of 1024).
    """
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    number = _integer(text[:-1] if scale > 1 else text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive size: {text}")
    return number * scale


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the C{FILE...} arguments and the bound on line length.
    """
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="log files (JSON lines, Twisted JSON logs, trial's test.log, .gz);"
        " standard input when none",
    )
    parser.add_argument(
        "--max-line-bytes",
        type=byte_size,
        default=DEFAULT_MAX_LINE_BYTES,
        metavar="SIZE",
        help="skip (and report) lines longer than SIZE bytes, e.g. 64M"
        f" (default {DEFAULT_MAX_LINE_BYTES >> 20}M)",
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


def is_terminal(stream: Any) -> bool:
    """
    Whether C{stream} is a terminal.
    """
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
        color = is_terminal(stdout) and not os.environ.get("NO_COLOR")
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
    max_line: int = DEFAULT_MAX_LINE_BYTES
    on_idle: Optional[Callable[[], None]] = None
    reporter: ErrorReporter = field(init=False)
    progress: Progress = field(init=False)

    def __attrs_post_init__(self) -> None:
        self.reporter = ErrorReporter(self.streams.stderr)
        self.progress = Progress(self.streams.stderr)

    def messages(self) -> Iterator[Message]:
        """
        Every readable message, in file order.
        """
        reader = MessageReader(
            self.reporter,
            on_progress=self.progress if is_terminal(self.streams.stderr) else None,
            needle=self.needle,
            stdin=_stdin_binary(self.streams.stdin),
            max_line=self.max_line,
            on_idle=self.on_idle,
        )
        sources: List[Any] = list(self.files) or ["-"]
        try:
            yield from reader.read(sources)
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

    def idle(self) -> None:
        """
        The input is idle: write everything collected so far, through the
        output's own buffer too, so that a live stream shows at once.
        """
        self.flush()
        self._out.flush()


_STDLIB_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def write_json_lines(
    documents: Iterable[Dict[str, Any]],
    writer: BatchWriter,
    on_error: Note = ignore_note,
    escape: bool = False,
) -> None:
    """
    Write messages (or other documents) as JSON lines.  One too deeply
    nested for orjson is written by the standard library's encoder; one
    that neither can write is reported to C{on_error} in one line and
    skipped.

    @param escape: Write the characters that could drive a terminal as
        JSON escapes (L{terminal_json}).
    """
    for document in documents:
        try:
            line = dumps(document).decode("utf-8")
        except TypeError:
            try:
                line = _STDLIB_ENCODER.encode(document)
            except (TypeError, ValueError, RecursionError) as e:
                on_error(f"{describe(document)}: cannot write as JSON: {type(e).__name__}")
                continue
        writer.parts.append((terminal_json(line) if escape else line) + "\n")
        writer.maybe_flush()
    writer.flush()


Command = Callable[[argparse.Namespace, Streams], int]
