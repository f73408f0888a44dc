# -*- test-case-name: txcausal.test.test_twistedlog -*-
"""
Which message the bridge from twisted.logger (L{txcausal.twisted.CausalLogObserver})
is writing, so that the destination towards twisted.logger
(L{txcausal.twisted.TwistedDestination}) does not send it back: Twisted's
observers saw the original event.

While the bridge writes a message, L{WRITING} holds its position (task UUID
and level, which tell it from any other message, on a copy too) on the
thread writing it (see L{begin}).  A C{ThreadedWriter} that gives its destination a copy
later, on its own thread, queues the snapshot of that message with L{TAG} in
front (see L{tagged}), and holds the position again while it gives the copy
to its destination (see L{delivering}).  So the mark lasts exactly as long
as the message is on its way, however many messages wait: nothing is
remembered past that, and nothing is forgotten before.  The reports logged
meanwhile (of a destination that failed on the message, say), and the
application's own messages that look alike, are not marked.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Set, Tuple

from ._json_decode import decode_json
from ._wire import TASK_LEVEL_FIELD, TASK_UUID_FIELD

#: The byte in front of a queued snapshot of the message being bridged: an
#: ASCII record separator, never the first byte of a line of JSON.
TAG = b"\x1e"

Position = Tuple[object, object]


class _Writing(threading.local):
    """
    Per thread: the position of the message being bridged, if any.
    """

    position: Optional[Position] = None


WRITING = _Writing()

#: The threads on which the bridge is writing a message now (see L{begin}):
#: nearly always empty, so that a writer checks it for every message at
#: less cost than it reads L{WRITING}.
ACTIVE: Set[int] = set()

_get_ident = threading.get_ident


def position_of(message: Dict[str, Any]) -> Position:
    """
    @return: C{message}'s task UUID and level (as a tuple).
    """
    level = message.get(TASK_LEVEL_FIELD)
    return message.get(TASK_UUID_FIELD), tuple(level) if isinstance(level, list) else level


def begin(message: Dict[str, Any]) -> Optional[Position]:
    """
    On the thread that logs, as the bridge starts writing C{message}: mark
    it as the message being bridged, until L{end}.

    @return: What to give L{end}.
    """
    previous = WRITING.position
    WRITING.position = position_of(message)
    ACTIVE.add(_get_ident())
    return previous


def end(previous: Optional[Position]) -> None:
    """
    Once the bridge wrote the message L{begin} marked: mark C{previous}
    again, what L{begin} returned.
    """
    WRITING.position = previous
    if previous is None:
        ACTIVE.discard(_get_ident())


@contextmanager
def delivering(position: Optional[Position]) -> Iterator[None]:
    """
    Mark the message at C{position} as the one being bridged on this
    thread, until the block ends.
    """
    previous = WRITING.position
    WRITING.position = position
    try:
        yield
    finally:
        WRITING.position = previous


def is_bridged(message: Dict[str, Any]) -> bool:
    """
    @return: Whether C{message} (or a copy of it) is the one being bridged
        on this thread.
    """
    position = WRITING.position
    return position is not None and position_of(message) == position


def tagged(data: bytes, message: Optional[Dict[str, Any]] = None) -> bytes:
    """
    For a writer, on the thread that logs, once it found L{ACTIVE} not
    empty: C{data}, the snapshot of C{message} (decoded from C{data} if not
    given), with L{TAG} in front if it is the message being bridged on
    this thread.  Never raises.
    """
    position = WRITING.position
    if position is None:
        return data
    try:
        if message is None:
            message = decode_json(data.partition(b"\n")[0])
        if isinstance(message, dict) and position_of(message) == position:
            return TAG + data
    except Exception:
        pass
    return data

