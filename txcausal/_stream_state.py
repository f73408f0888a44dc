# -*- test-case-name: txcausal.test.test_parse_input -*-
"""
Where the reading of one stream got to: the number of the last line read,
an event of Twisted's text format whose continuation lines may still come,
and, for a file read by position, where the bytes of each message are.

A message's place is C{(offset, length)}: the bytes of the line that holds
it, or of the lines of a text event (its first line to its last
continuation line), newlines between them included, the last newline not.
Reading those bytes back (L{MessageReader.decode_span
<txcausal._parse_input.MessageReader.decode_span>}) gives the same message,
the same task UUID included.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any, Dict, List, Optional, Tuple

from attrs import define, field

from ._source import TOO_LONG, line_length
from ._twisted_records import Repeats, text_event

Message = Dict[str, Any]
#: Where a message's bytes are in a file: C{(offset, length)}.
Place = Tuple[int, int]


class TextEvent:
    """
    An event of Twisted's text format being read: its first line and the
    continuation lines (those starting with a tab) so far, at most
    C{limit} bytes of them, and the numbers of its first and last lines.

    @ivar numbered: Its message as made early (see L{StreamState.number}),
        and the number of its last line then.
    """

    __slots__ = ("when", "system", "texts", "lines", "room", "cut", "first", "last", "numbered")

    def __init__(self, when: Optional[float], system: str, text: bytes, line: bytes,
                 limit: int, lineno: int) -> None:
        self.when, self.system = when, system
        self.texts, self.lines = [text], [line]
        self.room = limit - len(line)
        self.cut = 0
        self.first = self.last = lineno
        self.numbered: Optional[Tuple[Message, int]] = None

    def add(self, line: bytes, lineno: int) -> None:
        """
        Add continuation line C{lineno}, or count it as cut past the limit.
        """
        self.last = lineno
        self.room -= len(line) + 1
        if self.room < 0:
            self.cut += 1
        else:
            self.texts.append(line[1:])
            self.lines.append(line)

    def message(self, repeats: Repeats) -> Message:
        """
        The event as a C{twisted:log} message, counted in C{repeats}: the
        one made early, if no line was added since.
        """
        numbered = self.numbered
        if numbered is not None and numbered[1] == self.last:
            return numbered[0]
        text = b"\n".join(self.texts).decode("utf-8", "replace")
        if self.cut:
            text += f"\n[{self.cut} more lines cut]"
        return text_event(self.when, self.system, text, b"\n".join(self.lines), repeats)


@define
class StreamState:
    """
    Where the reading of one stream got to: for error reports, for an
    event of Twisted's text format whose continuation lines may follow,
    and, when the stream is a file read by position, for the places of its
    messages (see L{place}).

    @ivar name: The stream's name in reports.
    @ivar lineno: The number of the last line read.
    @ivar repeats: The Twisted records read, counted for their task UUIDs.
    @ivar before: For a file of the web view, the counts of C{repeats}
        as its first line was read (a copy), until it is closed: where a
        search that cannot read the files before it starts counting.
    """

    name: str
    lineno: int = 0
    text: Optional[TextEvent] = None
    repeats: Repeats = field(factory=Repeats)
    before: Optional[Repeats] = None
    #: For a file read by position, where the text event numbered early
    #: (see L{number}) ended then: the end of its last line, newline
    #: included.
    numbered_at: Optional[int] = None
    #: The last text event finished: the message and its lines' numbers.
    _finished: Optional[Tuple[Message, int, int]] = None
    # The batch being placed: the number of its first line, and the offset
    # of each of its lines and of its end.
    _base: int = 0
    _starts: List[int] = field(factory=list)
    # Where the pending text event's first line starts, and its last ends.
    _text_start: int = 0
    _text_end: int = 0

    def pending_event(self) -> Optional[Message]:
        """
        The text event being read, now complete; C{None} if there is none.
        """
        pending, self.text = self.text, None
        if pending is None:
            return None
        message = pending.message(self.repeats)
        self._finished = (message, pending.first, pending.last)
        return message

    def number(self) -> None:
        """
        Count the text event pending now in L{repeats}, as if it ended
        here, and keep it pending: it ends with the message so made and
        numbered unless continuation lines follow (then it is made and
        counted again as it ends, the count made early left: no two
        records get one number).  For a file read by position,
        L{numbered_at} says where, for a search to count it there too.
        """
        text = self.text
        if text is not None and text.numbered is None:
            text.numbered = (text.message(self.repeats), text.last)
            self.numbered_at = self._text_end + 1

    def numbered(self) -> Optional[Message]:
        """
        The message made early of the text event pending, if it was
        numbered (L{number}): it is not ended yet.
        """
        text = self.text
        return None if text is None or text.numbered is None else text.numbered[0]

    def place(self, offset: int, lines: List[bytes]) -> None:
        """
        The next batch of lines starts at byte C{offset}: make L{where}
        answer for the messages decoded from it.
        """
        self._base = self.lineno + 1
        if TOO_LONG in lines:  # Rare: a marker's length is not its line's.
            self._starts = list(accumulate(map(line_length, lines), _next_line, initial=offset))
        else:
            self._starts = list(accumulate([len(line) + 1 for line in lines], initial=offset))

    def where(self, message: Message) -> Place:
        """
        The place of C{message}, just decoded from the batch being placed
        (or finished after it).
        """
        finished = self._finished
        if finished is not None and finished[0] is message:
            self._finished = None
            start, end = self._start_of(finished[1]), self._end_of(finished[2])
            return start, end - start
        # A message of one line, of the batch being placed.
        index = self.lineno - self._base
        start = self._starts[index]
        return start, self._starts[index + 1] - 1 - start

    def settle(self) -> None:
        """
        The batch being placed is decoded: remember where the text event
        still pending, if any, starts and ends.
        """
        if self.text is not None:
            self._text_start = self._start_of(self.text.first)
            self._text_end = self._end_of(self.text.last)
        self._starts = []

    def settled_offset(self, end: int) -> int:
        """
        Where what was decoded ends: at the start of the text event still
        pending, numbered or not (L{number}), else at C{end} (the end of
        the lines read).
        """
        return self._text_start if self.text is not None else end

    def _start_of(self, lineno: int) -> int:
        index = lineno - self._base
        return self._starts[index] if 0 <= index < len(self._starts) - 1 else self._text_start

    def _end_of(self, lineno: int) -> int:
        index = lineno - self._base + 1
        return self._starts[index] - 1 if 0 < index < len(self._starts) else self._text_end


def _next_line(offset: int, length: int) -> int:
    return offset + length + 1
