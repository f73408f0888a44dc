# -*- test-case-name: txcausal.test.test_parse -*-
"""
Reading log files into message dictionaries, forgivingly.

Accepts txcausal/Eliot JSON lines, Twisted's JSON log records (C{\\x1e}
framed, as written by L{twisted.logger.jsonFileLogObserver}), gzip-compressed
files and standard input.  A line that cannot be read is reported through a
callback with its file name and line number, then skipped.
"""

from __future__ import annotations

import gzip
import sys
import zlib
from typing import IO, Any, BinaryIO, Callable, Dict, Iterable, Iterator, Optional, Union
from uuid import NAMESPACE_URL, uuid5

from attrs import frozen
from orjson import JSONDecodeError, loads

from ._action import MAX_TASK_LEVEL_DEPTH
from ._wire import (
    EXCEPTION_FIELD,
    MESSAGE_TYPE_FIELD,
    REASON_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    TRACEBACK_FIELD,
)

Message = Dict[str, Any]
Source = Union[str, BinaryIO]

TWISTED_MESSAGE_TYPE = "twisted:log"
_RECORD_SEPARATOR = b"\x1e"
_GZIP_MAGIC = b"\x1f\x8b"
_PROGRESS_EVERY = 1 << 15


@frozen
class LineError:
    """
    A line of a log that could not be read.

    @ivar source: The file name (C{"<stdin>"} for standard input).
    @ivar lineno: The 1-based line number, 0 for a whole-file problem.
    @ivar reason: What was wrong.
    """

    source: str
    lineno: int
    reason: str

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


def _valid_level(level: Any) -> bool:
    if level.__class__ is not list or not level or len(level) > MAX_TASK_LEVEL_DEPTH:
        return False
    for index in level:
        if index.__class__ is not int or index < 1:
            return False
    return True


def check_message(value: Any) -> Optional[str]:
    """
    Check that a decoded JSON value is a log message.

    @return: C{None} if it is, else why not.
    """
    if value.__class__ is not dict:
        return "not a JSON object"
    if value.get(TASK_UUID_FIELD).__class__ is not str:
        return "no task_uuid string"
    level = value.get(TASK_LEVEL_FIELD)
    if level.__class__ is list and len(level) > MAX_TASK_LEVEL_DEPTH:
        return f"task_level deeper than {MAX_TASK_LEVEL_DEPTH}"
    if not _valid_level(level):
        return "task_level is not a list of positive integers"
    return None


def _open_path(path: str) -> BinaryIO:
    raw = open(path, "rb")
    if raw.read(2) == _GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def _starts_gzip(stream: Any) -> bool:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bool(peek(2)[:2] == _GZIP_MAGIC)
    seekable = getattr(stream, "seekable", None)
    if seekable is not None and seekable():
        where = stream.tell()
        magic = stream.read(2)
        stream.seek(where)
        return bool(magic == _GZIP_MAGIC)
    return False


def _wrap_stream(stream: BinaryIO) -> BinaryIO:
    if _starts_gzip(stream):
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def twisted_record(text: bytes, source: str, lineno: int) -> Message:
    """
    Turn one Twisted JSON log record into a message of type C{twisted:log}.

    @param text: The JSON of the record, without its C{\\x1e} separator.
    @param source: The file name, to derive a stable synthetic task UUID.
    @param lineno: The line number, likewise.
    @raise ValueError: If C{text} is not a Twisted log record.
    """
    from twisted.logger import eventFromJSON, formatEvent

    raw = loads(text)
    if raw.__class__ is not dict or not any(key.startswith("log_") for key in raw):
        raise ValueError("not a Twisted log record")
    event = eventFromJSON(text.decode("utf-8"))
    message: Message = {k: v for k, v in raw.items() if not k.startswith("log_")}
    level = event.get("log_level")
    message.update(
        {
            MESSAGE_TYPE_FIELD: TWISTED_MESSAGE_TYPE,
            TIMESTAMP_FIELD: event.get("log_time"),
            "log_level": getattr(level, "name", level),
            "log_namespace": event.get("log_namespace"),
            "log_text": formatEvent(event),
        }
    )
    _add_failure(message, event.get("log_failure"))
    if not (
        isinstance(message.get(TASK_UUID_FIELD), str)
        and _valid_level(message.get(TASK_LEVEL_FIELD))
    ):
        message[TASK_UUID_FIELD] = str(uuid5(NAMESPACE_URL, f"{source}#{lineno}#{text!r}"))
        message[TASK_LEVEL_FIELD] = [1]
    return message


def _add_failure(message: Message, failure: Any) -> None:
    if failure is None:
        return
    kind = getattr(failure, "type", None)
    message[EXCEPTION_FIELD] = (
        f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__name__', '?')}"
    )
    try:
        message[TRACEBACK_FIELD] = failure.getTraceback()
        value = getattr(failure, "value", None)
        if isinstance(value, dict) and value.get("unpersistable"):
            # Twisted's JSON log kept the traceback, not the exception.
            message[REASON_FIELD] = "(not recorded)"
        else:
            message[REASON_FIELD] = message[TRACEBACK_FIELD].rstrip().rsplit("\n", 1)[-1]
    except Exception:  # A half-restored failure: keep what we have.
        message[REASON_FIELD] = repr(getattr(failure, "value", None))


class _numbered:
    """
    Where reading a stream got to, for error reports.
    """

    def __init__(self) -> None:
        self.lineno = 0


class MessageReader:
    """
    Read messages from files, reporting and skipping what cannot be read.

    @ivar errors: How many lines were skipped so far.
    """

    def __init__(
        self,
        on_error: ErrorCallback = _ignore_error,
        on_progress: Optional[ProgressCallback] = None,
        needle: Optional[bytes] = None,
        stdin: Optional[BinaryIO] = None,
    ) -> None:
        """
        @param on_error: Called with a L{LineError} for each skipped line.
        @param on_progress: Called now and then with the source name, the
            bytes read and the total size, for big regular files.
        @param needle: If given, lines that do not contain these bytes are
            skipped without being decoded (a fast pre-filter).
        @param stdin: What C{"-"} reads; C{sys.stdin}'s bytes by default.
        """
        self._stdin = stdin
        self._on_error = on_error
        self._on_progress = on_progress
        self._needle = needle
        self.errors = 0

    def _error(self, source: str, lineno: int, reason: str) -> None:
        self.errors += 1
        self._on_error(LineError(source, lineno, reason))

    def read(
        self, sources: Iterable[Source], before_last: Optional[Callable[[], None]] = None
    ) -> Iterator[Message]:
        """
        Read every message of every source in turn.

        @param sources: Paths (C{"-"} meaning standard input) or binary
            streams.
        @param before_last: Called before the last source is read (see
            L{txcausal._parse.Parser.reading_last_source}).
        """
        sources = list(sources)
        for number, source in enumerate(sources, 1):
            if before_last is not None and number == len(sources):
                before_last()
            if isinstance(source, str):
                name = "<stdin>" if source == "-" else source
                try:
                    stream = self._open_stdin() if source == "-" else _open_path(source)
                except OSError as e:
                    self._error(name, 0, e.strerror or str(e))
                    continue
            else:
                name = getattr(source, "name", "<stream>")
                stream = _wrap_stream(source)
            try:
                yield from self._read_stream(stream, str(name))
            finally:
                close = getattr(stream, "close", None)
                if close is not None and source != "-":
                    close()

    def _open_stdin(self) -> BinaryIO:
        stdin = self._stdin if self._stdin is not None else sys.stdin.buffer
        return _wrap_stream(stdin)

    def _read_stream(self, stream: BinaryIO, name: str) -> Iterator[Message]:
        lines = _numbered()
        try:
            yield from self._decode_lines(lines, stream, name)
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            self._error(name, lines.lineno + 1, f"truncated or corrupt compressed data ({e})")
        except OSError as e:
            self._error(name, lines.lineno + 1, f"read error: {e}")

    def _decode_lines(self, lines: _numbered, stream: BinaryIO, name: str) -> Iterator[Message]:
        # The hot loop: keep it flat.
        needle = self._needle
        progress = self._progress_for(stream, name)
        lineno = 0
        for line in stream:
            lineno += 1
            if needle is not None and needle not in line:
                continue
            if progress is not None and not lineno % _PROGRESS_EVERY:
                progress()
            try:
                message = loads(line)
            except JSONDecodeError:
                lines.lineno = lineno
                yield from self._decode_odd(line, name, lineno)
                continue
            if message.__class__ is dict and message.get(TASK_UUID_FIELD).__class__ is str:
                level = message.get(TASK_LEVEL_FIELD)
                if level.__class__ is list and level and _valid_level(level):
                    lines.lineno = lineno
                    yield message
                    continue
            self._decode_other(message, name, lineno)
        lines.lineno = lineno
        if progress is not None:
            progress()

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

    def _decode_odd(self, line: bytes, name: str, lineno: int) -> Iterator[Message]:
        """
        A line that is not plain JSON: blank, Twisted records, or garbage.
        """
        if not line.strip():
            return
        if not line.startswith(_RECORD_SEPARATOR):
            self._error(name, lineno, "skipped: malformed JSON" + _excerpt(line))
            return
        for record in line.split(_RECORD_SEPARATOR):
            record = record.strip()
            if not record:
                continue
            try:
                yield twisted_record(record, name, lineno)
            except (ValueError, UnicodeDecodeError, KeyError, TypeError) as e:
                self._error(name, lineno, f"skipped: bad Twisted log record ({e})")

    def _progress_for(self, stream: BinaryIO, name: str) -> Optional[Callable[[], None]]:
        on_progress = self._on_progress
        raw: IO[bytes] = getattr(stream, "fileobj", None) or stream
        if on_progress is None:
            return None
        try:
            import os

            total = os.fstat(raw.fileno()).st_size
            raw.tell()
        except (OSError, AttributeError, ValueError):
            return None
        if not total:
            return None
        return lambda: on_progress(name, raw.tell(), total)


def _excerpt(line: bytes) -> str:
    text = line[:40].decode("utf-8", "replace").rstrip()
    return f": {text!r}{'...' if len(line) > 40 else ''}"


def read_messages(
    sources: Iterable[Source], on_error: ErrorCallback = _ignore_error
) -> Iterator[Message]:
    """
    Read messages from log files.

    @param sources: Paths (C{"-"} for standard input, C{.gz} detected by
        content) or binary streams.
    @param on_error: Called with a L{LineError} for each skipped line.
    """
    return MessageReader(on_error).read(sources)
