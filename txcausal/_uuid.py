# -*- test-case-name: txcausal.test.test_uuid -*-
"""
Fast random (version 4) UUIDs for new tasks.

L{uuid.uuid4} reads the operating system's randomness on every call, which
costs more than the rest of logging a message.  Task ids need uniqueness, not
secrecy, so they come from a private Mersenne Twister seeded from
C{os.urandom} and reseeded in every forked child (so parent and child never
repeat each other).
"""

from __future__ import annotations

import os
import random

_generator = random.Random()
_getrandbits = _generator.getrandbits
os.register_at_fork(after_in_child=_generator.seed)

_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x4000 << 64) | (0x8000 << 48)


def new_task_uuid() -> str:
    """
    @return: A new random UUID (version 4, RFC 4122 variant), as the usual
        36-character lowercase string.
    """
    h = f"{(_getrandbits(128) & _CLEAR) | _SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
