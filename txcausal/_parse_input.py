# -*- test-case-name: txcausal.test.test_parse_input -*-
"""
Reading log files into message dictionaries, forgivingly.

Accepts txcausal/Eliot JSON lines, Twisted's JSON log records (C{\\x1e}
framed, as written by L{twisted.logger.jsonFileLogObserver}), Twisted's
text log lines (trial's C{_trial_temp/test.log}, whose txcausal messages
follow a time and a C{[system]}), gzip-compressed files and standard input,
with or without a UTF-8 byte-order mark.  A line that cannot be read (or is
longer than the bound, see L{txcausal._source}) is reported through a
callback with its file name and line number, then skipped.

The one reader of every command and of the web view: read by position
(L{MessageReader.decode_at}), each message comes with its place in the
file, which reads back into the same message (see L{txcausal._stream_state}).
"""

from __future__ import annotations

import os
import sys
import zlib
from gzip import BadGzipFile
from typing import (
    Any,
    BinaryIO,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    Union,
)

from attrs import frozen
from orjson import JSONDecodeError, loads

from ._json_decode import NotReadExactly, decode_json, lines_may_hold_long_integer
from ._message_check import check_message
from ._source import (
    BOM,
    DEFAULT_MAX_LINE_BYTES,
    IdleCallback,
    LineSplitter,
    TooLong,
    batches_of,
    line_batches,
    open_path,
    wrap_stream,
)
from ._stream_state import Place, StreamState, TextEvent
from ._tasklevel import valid_level
from ._twisted_records import Repeats, split_text_line, twisted_record
from ._wire import TASK_LEVEL_FIELD, TASK_UUID_FIELD

Message = Dict[str, Any]
Source = Union[str, BinaryIO, Iterable[bytes]]

_RECORD_SEPARATOR = b"\x1e"


@frozen
class LineError:
    """
    A line of a log that could not be read.

    @ivar source: The file name (C{"<stdin>"} for standard input).
    @ivar lineno: The 1-based line number, 0 for a whole-file problem.
    @ivar reason: What was wrong.
    @ivar nul: Whether this reports a run of NUL bytes skipped before the
        line, which is read (not a line skipped).
    """

    source: str
    lineno: int
    reason: str
    nul: bool = False

    def __str__(self) -> str:
        if self.lineno:
            return f"{self.source}:{self.lineno}: {self.reason}"
        return f"{self.source}: {self.reason}"


ErrorCallback = Callable[[LineError], None]
ProgressCallback = Callable[[str, int, int], None]


def _ignore_error(error: LineError) -> None:
    """
    The default error callback: skip silently.
    """


class MessageReader:
    """
    Read messages from files, reporting and skipping what cannot be read.

    @ivar errors: How many lines were skipped so far.
    """

    def __init__(
        self,
        on_error: ErrorCallback = _ignore_error,
        *,
        on_progress: Optional[ProgressCallback] = None,
        needle: Optional[bytes] = None,
        stdin: Optional[BinaryIO] = None,
        max_line: int = DEFAULT_MAX_LINE_BYTES,
        on_idle: Optional[IdleCallback] = None,
        fold_case: bool = False,
    ) -> None:
        """
        @param on_error: Called with a L{LineError} for each skipped line.
        @param on_progress: Called now and then with the source name, the
            bytes read and the total size, for regular files.
        @param needle: If given, JSON lines that do not contain these bytes
            are skipped without being decoded: a fast pre-filter for a
            search whose matches contain the needle as written (a
            value's JSON encoding, not the text of a message that
            escapes it otherwise).  Any other line is always decoded: what the
            reader makes of Twisted records and text lines (their text,
            their task UUID) is not written in them.
        @param stdin: What C{"-"} reads; C{sys.stdin}'s bytes by default.
        @param max_line: Lines longer than this many bytes are reported
            and skipped.
        @param on_idle: Called whenever reading a pipe or terminal would
            wait for more input.
        @param fold_case: Look for the needle (then lower-cased) in the
            lines lower-cased, for a search that ignores case.
        """
        self._stdin = stdin
        self._on_error = on_error
        self._on_progress = on_progress
        self._needle = needle
        self._fold_case = fold_case
        self._max_line = max_line
        self._on_idle = on_idle
        self.errors = 0
        #: The Twisted records read by L{read} and L{read_source}: the
        #: sources of one reader are one stream (a file and the files
        #: rotated from it, say), whose repeats are told apart (see
        #: L{Repeats}).
        self._repeats = Repeats()

    def _error(self, source: str, lineno: int, reason: str) -> None:
        self.errors += 1
        self._on_error(LineError(source, lineno, reason))

    def read(self, sources: Iterable[Source]) -> Iterator[Message]:
        """
        Read every message of every source in turn, as one stream: a
        Twisted record that repeats one of an earlier source is a task of
        its own (its UUID derived from its bytes and how many copies of
        them came before).

        @param sources: Paths (C{"-"} meaning standard input; gzip detected
            by content), binary streams, or iterables of lines as bytes.
        """
        for source in sources:
            yield from self.read_source(source)

    def read_source(self, source: Source) -> Iterator[Message]:
        """
        Read every message of one source.
        """
        if not isinstance(source, str):
            if callable(getattr(source, "read", None)):
                stream: BinaryIO = wrap_stream(source)  # type: ignore[arg-type]
                yield from self._read_stream(stream, str(getattr(source, "name", "<stream>")))
            else:
                state = StreamState("<lines>", repeats=self._repeats)
                yield from self.decode(batches_of(source), state)
                yield from self.finish(state)
            return
        name = "<stdin>" if source == "-" else source
        try:
            stream = self._open_stdin() if source == "-" else open_path(source)
        except OSError as e:
            self._error(name, 0, e.strerror or str(e))
            return
        try:
            yield from self._read_stream(stream, name)
        finally:
            if source != "-":
                stream.close()

    def _open_stdin(self) -> BinaryIO:
        stdin = self._stdin if self._stdin is not None else sys.stdin.buffer
        return wrap_stream(stdin)

    def _read_stream(self, stream: BinaryIO, name: str) -> Iterator[Message]:
        state = StreamState(name, repeats=self._repeats)
        batches = line_batches(stream, self._max_line, self._on_idle)
        try:
            yield from self.decode(self._with_progress(batches, stream, name), state)
        except (EOFError, zlib.error, BadGzipFile) as e:
            self._error(name, state.lineno + 1, f"truncated or corrupt compressed data ({e})")
        except OSError as e:
            self._error(name, state.lineno + 1, f"read error: {e}")
        yield from self.finish(state)

    def decode(self, batches: Iterable[List[bytes]], state: StreamState) -> Iterator[Message]:
        """
        Decode batches of lines (without their newlines) of one stream.

        @param state: Where the stream got to; keep it between calls for a
            stream read piecewise, and call L{finish} at its end.
        """
        # The hot loop: keep it flat.
        needle, fold = self._needle, self._fold_case
        pending = state.text is not None
        for batch in batches:
            # orjson reads an integer past 64 bits as a float: a batch that
            # may hold one (rare) is read exactly, line by line.
            load = decode_json if lines_may_hold_long_integer(batch) else loads
            lineno = state.lineno
            for line in batch:
                lineno += 1
                if (
                    needle is not None
                    and line[:1] == b"{"
                    and needle not in (line.lower() if fold else line)
                ):
                    continue
                try:
                    message = load(line)
                except JSONDecodeError:
                    state.lineno = lineno
                    yield from self._decode_odd(line, state)
                    pending = state.text is not None
                    continue
                if message.__class__ is dict and message.get(TASK_UUID_FIELD).__class__ is str:
                    level = message.get(TASK_LEVEL_FIELD)
                    if level.__class__ is list and level and valid_level(level):
                        state.lineno = lineno
                        if pending:  # A text event ends here.
                            yield from self.finish(state)
                            pending = False
                        yield message
                        continue
                self._decode_other(message, state.name, lineno)
            state.lineno = lineno

    def finish(self, state: StreamState) -> Iterator[Message]:
        """
        The end of a stream: the text event still being read, if any.
        """
        pending = state.pending_event()
        if pending is not None:
            yield pending

    def decode_at(
        self, offset: int, lines: List[bytes], state: StreamState
    ) -> Iterator[Tuple[Place, Message]]:
        """
        Decode a batch of lines of a file whose first line starts at byte
        C{offset}: each message with its place, C{(offset, length)}, the
        bytes that L{decode_span} reads back into it.  Keep C{state}
        between batches of the file, and call L{finish_at} at its end (or
        where it stops growing for a while).
        """
        state.place(offset, lines)
        for message in self.decode((lines,), state):
            yield state.where(message), message
        state.settle()

    def finish_at(self, state: StreamState) -> Iterator[Tuple[Place, Message]]:
        """
        L{finish}, the text event with its place (see L{decode_at}).
        """
        for message in self.finish(state):
            yield state.where(message), message

    def decode_span(self, data: bytes, name: str, repeat: int = 0) -> List[Message]:
        """
        The messages of the bytes of a place given by L{decode_at}, read
        back.

        @param repeat: For a Twisted record, how many records of its bytes
            came before it (its
            C{log_repeat} field, if any): without it, the record reads back
            with the task UUID of the first of them.
        """
        splitter = LineSplitter(self._max_line)
        state = StreamState(name, repeats=Repeats(repeat))
        lines = splitter.feed(data) + splitter.finish()
        return [*self.decode((lines,), state), *self.finish(state)]

    def _decode_other(self, value: Any, name: str, lineno: int) -> None:
        """
        A valid JSON value that is not a txcausal message.
        """
        reason = check_message(value)
        if (
            value.__class__ is dict
            and TASK_UUID_FIELD not in value
            and any(key.startswith("log_") for key in value)
        ):
            reason = "a Twisted log event without its record separator"
        self._error(name, lineno, f"skipped: {reason}")

    def _decode_odd(self, line: bytes, state: StreamState) -> Iterator[Message]:
        """
        A line that is not plain JSON: blank, too long, Twisted records or
        text lines (with their continuation lines), or garbage.
        """
        if line.__class__ is TooLong:
            self._error(state.name, state.lineno, f"skipped: longer than {self._max_line} bytes")
            return
        if line[:1] == b"\t" and state.text is not None:
            state.text.add(line, state.lineno)
            return
        pending = state.pending_event()
        if pending is not None:
            yield pending
        if line.startswith(BOM):
            line = line[len(BOM) :]
        if line[:1] == b"\0":  # Left by a crash where the file had grown.
            rest = line.lstrip(b"\0")
            self._on_error(LineError(state.name, state.lineno,
                                     f"skipped {len(line) - len(rest)} NUL bytes", nul=True))
            line = rest
        if not line.strip():
            return
        if line.startswith(_RECORD_SEPARATOR):
            yield from self._records(line, state)
        elif line[:1] == b"{":
            yield from self._one_line(line, state)
        else:
            yield from self._text_line(line, state)

    def _one_line(self, line: bytes, state: StreamState) -> Iterator[Message]:
        """
        A line that should be a message: it, or a report.
        """
        try:
            message = decode_json(line)
        except JSONDecodeError as e:
            why = str(e) if isinstance(e, NotReadExactly) else "malformed JSON" + _excerpt(line)
            self._error(state.name, state.lineno, "skipped: " + why)
            return
        if check_message(message) is None:
            yield message
        else:
            self._decode_other(message, state.name, state.lineno)

    def _records(self, line: bytes, state: StreamState) -> Iterator[Message]:
        for record in line.split(_RECORD_SEPARATOR):
            record = record.strip()
            if not record:
                continue
            try:
                message = twisted_record(record, state.repeats)
            except (ValueError, UnicodeDecodeError) as e:
                self._error(state.name, state.lineno, f"skipped: bad Twisted log record ({e})")
                continue
            if check_message(message) is None:
                yield message
            else:
                self._decode_other(message, state.name, state.lineno)

    def _text_line(self, line: bytes, state: StreamState) -> Iterator[Message]:
        """
        A line of Twisted's text format: a txcausal message after the time
        and system (decoded at once), or the start of a text event.
        """
        parts = split_text_line(line)
        if parts is None:
            self._error(state.name, state.lineno, "skipped: malformed JSON" + _excerpt(line))
            return
        when, system, rest = parts
        if rest[:1] == b"{":
            try:
                message = decode_json(rest)
            except JSONDecodeError:
                message = None
            if message is not None and check_message(message) is None:
                yield message
                return
        state.text = TextEvent(when, system, rest, line, self._max_line, state.lineno)

    def _with_progress(
        self, batches: Iterator[List[bytes]], stream: BinaryIO, name: str
    ) -> Iterator[List[bytes]]:
        on_progress = self._on_progress
        raw: Any = getattr(stream, "fileobj", None) or stream
        if on_progress is None:
            return batches
        try:
            total = os.fstat(raw.fileno()).st_size
            raw.tell()
        except (OSError, AttributeError, ValueError):
            return batches
        if not total:
            return batches
        return _reporting(batches, lambda: on_progress(name, raw.tell(), total))


def _reporting(batches: Iterator[List[bytes]], report: Callable[[], None]) -> Iterator[List[bytes]]:
    for batch in batches:
        yield batch
        report()


def needle_for(text: str, fold_case: bool = False) -> Optional[bytes]:
    """
    The pre-filter (the C{needle} of L{MessageReader}) for a search whose
    matches contain C{text} as it is written in JSON: C{text} itself as
    bytes (lower-cased with C{fold_case}), or C{None} when JSON may write
    it otherwise (escaped characters, a C{/} some writers escape).
    """
    if text.isascii() and text.isprintable() and not any(c in text for c in '"\\/'):
        return (text.lower() if fold_case else text).encode("ascii")
    return None


def _excerpt(line: bytes) -> str:
    text = line[:40].decode("utf-8", "replace").rstrip()
    return f": {text!r}{'...' if len(line) > 40 else ''}"


def read_messages(
    sources: Iterable[Source], on_error: ErrorCallback = _ignore_error
) -> Iterator[Message]:
    """
    Read messages from log files.

    @param sources: Paths (C{"-"} for standard input, C{.gz} detected by
        content), binary streams or iterables of lines.
    @param on_error: Called with a L{LineError} for each skipped line.
    """
    return MessageReader(on_error).read(sources)
