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
_randbytes = _generator.randbytes
os.register_at_fork(after_in_child=_generator.seed)

#: The RFC 4122 variant digit (binary 10xx) for a random hex digit, keeping
#: its two low bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_task_uuid() -> str:
    """
    @return: A new random UUID (version 4, RFC 4122 variant), as the usual
        36-character lowercase string.
    """
    h = _randbytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
