# -*- test-case-name: txcausal.test.test_webview_files -*-
"""
Lines of log files, by position: reading complete lines from an offset,
and decoding one line into the messages it holds.

The web view keeps positions, not messages, so it reads a line again when
its task is viewed or searched.  Plain JSON lines take a fast path; any other
line goes through L{txcausal.parse.MessageReader}, so Twisted JSON records
(and whatever else the readers learn) decode as the other commands decode
them.
"""

from __future__ import annotations

import io
import re
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from orjson import JSONDecodeError, loads

from ._parse_input import _RECORD_SEPARATOR, LineError, MessageReader, _valid_level
from ._wire import TASK_LEVEL_FIELD, TASK_UUID_FIELD

Message = Dict[str, Any]

#: Lines longer than this are skipped (and reported).
MAX_LINE = 16 << 20

#: The start of a line of trial's C{test.log}: a time stamp and the system
#: in brackets, then the logged text.
_TRIAL_PREFIX = re.compile(rb"^\d{4}-\d\d-\d\d[T ][0-9:.]+(?:[+-]\d{4}|Z)? \[[^\]\n]*\] (?={)")


class _Errors:
    """
    Collects the error of one line, if any.
    """

    def __init__(self) -> None:
        self.reasons: List[str] = []

    def __call__(self, error: LineError) -> None:
        self.reasons.append(error.reason)


def decode_line(line: bytes, name: str) -> Tuple[List[Message], Optional[str]]:
    """
    The messages of one line of a log file.

    @param line: The line, without its newline.
    @param name: The file's name, for Twisted records' synthetic task UUIDs.
    @return: The messages (none for a blank or unreadable line), and why
        the line was skipped, if it was.
    """
    try:
        message = loads(line)
    except JSONDecodeError:
        return _decode_other(line, name)
    if message.__class__ is dict and message.get(TASK_UUID_FIELD).__class__ is str:
        if _valid_level(message.get(TASK_LEVEL_FIELD)):
            return [message], None
    return _decode_other(line, name)


def _decode_other(line: bytes, name: str) -> Tuple[List[Message], Optional[str]]:
    # Until MessageReader reads trial's test.log lines itself: strip their
    # prefix here.
    trial = _TRIAL_PREFIX.match(line)
    if trial is not None:
        line = line[trial.end() :]
    errors = _Errors()
    stream = io.BytesIO(line + b"\n")
    stream.name = name
    messages = list(MessageReader(errors).read([stream]))
    if not messages and not errors.reasons and line.strip():
        return [], "no message"
    return messages, errors.reasons[0] if errors.reasons else None


def may_match(line: bytes, needle: bytes) -> bool:
    """
    Whether C{line} may hold a message of a search whose messages' lines
    contain C{needle} (lower-cased): a search's pre-filter.  A Twisted log
    record always may: its text and its task UUID are made by the reader,
    not written in the line.
    """
    return line.startswith(_RECORD_SEPARATOR) or needle in line.lower()


Line = Tuple[int, bytes]
#: Reads a file: C{read(length, offset)} is up to C{length} bytes from
#: C{offset} (as C{os.pread}).
Read = Callable[[int, int], bytes]


def complete_lines(
    read: Read, start: int, budget: int, at_end: bool = False
) -> Tuple[List[Line], int, int]:
    """
    Read the complete lines of a file from offset C{start}, about C{budget}
    bytes of them.

    A last line without its newline is returned only when C{at_end} says
    the file is finished and it decodes as JSON (a writer may be half-way
    through it otherwise).  A line longer than L{MAX_LINE} is skipped.

    @return: The C{(offset, line)} pairs, the offset just past what was
        consumed, and the number of over-long lines skipped.
    """
    data = read(budget, start)
    cut = data.rfind(b"\n") + 1
    if cut == 0:
        return _without_newline(read, data, start, budget, at_end)
    lines: List[Line] = []
    position = start
    for line in data[:cut].split(b"\n")[:-1]:
        lines.append((position, line))
        position += len(line) + 1
    return lines, position, 0


def _without_newline(
    read: Read, data: bytes, start: int, budget: int, at_end: bool
) -> Tuple[List[Line], int, int]:
    if len(data) >= budget:
        return _long_line(read, start, len(data))
    if data and at_end and data.strip():
        try:
            loads(data)
        except JSONDecodeError:
            return [], start, 0
        return [(start, data)], start + len(data), 0
    return [], start, 0


def _long_line(read: Read, start: int, seen: int) -> Tuple[List[Line], int, int]:
    """
    A line longer than the budget: read on to its end, or skip it past
    L{MAX_LINE}.
    """
    position = start + seen
    while position - start <= MAX_LINE:
        data = read(1 << 20, position)
        if not data:
            return [], start, 0  # Not finished yet.
        newline = data.find(b"\n")
        if newline >= 0:
            end = position + newline
            if end - start > MAX_LINE:
                return [], end + 1, 1
            return [(start, read(end - start, start))], end + 1, 0
        position += len(data)
    return _skip_to_newline(read, position, start)


def _skip_to_newline(read: Read, position: int, start: int) -> Tuple[List[Line], int, int]:
    while True:
        data = read(1 << 20, position)
        if not data:
            return [], start, 0
        newline = data.find(b"\n")
        if newline >= 0:
            return [], position + newline + 1, 1
        position += len(data)


def scan_lines(
    read: Read, end: int, wanted: Callable[[bytes], bool], start: int = 0, budget: int = 1 << 20
) -> Iterator[Line]:
    """
    The lines of a file from offset C{start} (the start of a line) to
    C{end} for which C{wanted(line)} is true, with their offsets: for
    searches, which read the files again rather than keep their contents.
    """
    position = start
    while position < end:
        lines, after, _ = complete_lines(read, position, min(budget, end - position), True)
        if after == position:
            return
        for offset, line in lines:
            if wanted(line):
                yield offset, line
        position = after
