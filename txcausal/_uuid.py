# -*- test-case-name: txcausal.test.test_uuid -*-
"""
Fast random (version 4) UUIDs for new tasks.

C{uuid.uuid4} reads the operating system's randomness on every call, which
costs more than the rest of logging a message.  Task ids need uniqueness, not
secrecy, so they come from a private Mersenne Twister seeded from
C{os.urandom} and reseeded in every forked child (so parent and child never
repeat each other).
"""

from __future__ import annotations

import os
import random

_generator = random.Random()
_bits = _generator.getrandbits
os.register_at_fork(after_in_child=_generator.seed)

#: The bits of a UUID's 128 that are random: all but the version's four
#: (hex digit 12) and the variant's two (the top of hex digit 16)...
_RANDOM = ~(0xF << 76 | 0xC << 60) & ((1 << 128) - 1)
#: ...which are version 4 and the RFC 4122 variant (binary 10).
_VERSION_4 = 0x4 << 76 | 0x8 << 60
_join = "".join


def new_task_uuid() -> str:
    """
    @return: A new random UUID (version 4, RFC 4122 variant), as the usual
        36-character lowercase string.
    """
    # The hex digits in eight groups of four, the first two and the last
    # three joined: 8-4-4-4-12.  Three C calls cost less than slicing the
    # digits into the five groups (6,300 instructions against 8,400).
    return _join((_bits(128) & _RANDOM | _VERSION_4).to_bytes(16, "big").hex("-", 2)
                 .replace("-", "", 1).rsplit("-", 2))
