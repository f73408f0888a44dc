# -*- test-case-name: txcausal.test.test_eliot_modules -*-
"""
TAI64N timestamps (nanosecond precision, read by logstash), as
C{eliot.tai64n}: L{encode} and L{decode}.  Leap seconds are taken as the ten
of 1972, so times are exact from 1972 until the first leap second after
(as Eliot's, they are off by that many seconds after 2016).

@see: U{http://cr.yp.to/libtai/tai64.html}
"""

from __future__ import annotations

import struct

#: A TAI64 label counts seconds from 2**62 before 1970, plus the leap
#: seconds.
_OFFSET = 2**62 + 10
_LABEL = struct.Struct(">QI")


def encode(timestamp: float) -> str:
    """
    @param timestamp: Seconds since the epoch, e.g. a message's
        C{timestamp}.
    @return: The TAI64N label, as C{"@"} and 24 hex digits.
    """
    seconds = int(timestamp)
    nanoseconds = int((timestamp - seconds) * 1_000_000_000)
    return "@" + _LABEL.pack(seconds + _OFFSET, nanoseconds).hex()


def decode(tai64n: str) -> float:
    """
    @param tai64n: What L{encode} returns.
    @return: Seconds since the epoch.
    @raise ValueError: If C{tai64n} is not a TAI64N label.
    """
    try:
        seconds, nanoseconds = _LABEL.unpack(bytes.fromhex(tai64n[1:]))
    except struct.error as e:
        raise ValueError(f"not a TAI64N label: {tai64n[:40]!r}") from e
    return float(seconds - _OFFSET + nanoseconds / 1_000_000_000)


__all__ = ["encode", "decode"]
