"""
Files that take only part of a write (a full disk), for the tests of
L{txcausal.FileDestination} and L{txcausal.logwriter.ThreadedWriter} on
short writes.
"""

from __future__ import annotations

import errno
import io
from typing import Any

from txcausal import FileDestination


class ShortWriter:
    """
    An unbuffered file taking at most C{most} bytes a write, and C{budget}
    bytes in all, collecting them.  Past the budget it takes nothing or,
    like a full disk, raises C{ENOSPC} if C{raises}.

    @ivar calls: How many writes were attempted.
    """

    def __init__(self, most: int = 2**30, budget: int = 2**30, raises: bool = False) -> None:
        self.most = most
        self.budget = budget
        self.raises = raises
        self.data = b""
        self.calls = 0

    def write(self, data: Any) -> int:
        self.calls += 1
        if self.raises and not self.budget:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = bytes(data[:min(self.most, self.budget)])
        self.budget -= len(taken)
        self.data += taken
        return len(taken)


def direct_destination(raw: ShortWriter) -> FileDestination:
    """
    A L{FileDestination} writing directly to C{raw}.
    """
    destination = FileDestination(io.BytesIO())
    destination._raw = destination._direct = raw  # type: ignore[assignment]
    return destination


def json_lines(*numbers: int) -> bytes:
    """
    @return: The JSON lines C{{"n": N}} of C{numbers}, as L{FileDestination}
        encodes them.
    """
    return b"".join(b'{"n":%d}\n' % (n,) for n in numbers)


def full_disk(budget: int) -> ShortWriter:
    """
    @return: A file that takes C{budget} bytes, then raises C{ENOSPC}.
    """
    return ShortWriter(budget=budget, raises=True)
