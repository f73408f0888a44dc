# -*- test-case-name: txcausal.test.test_eliot_modules -*-
"""
Serializers for L{txcausal.Field}, as C{eliot.serializers}.
"""

from __future__ import annotations

from datetime import datetime
from hashlib import md5
from typing import TypeVar

_T = TypeVar("_T")


def timestamp(dt: datetime) -> str:
    """
    @param dt: A time in UTC.
    @return: It as C{"2024-01-31T12:00:00.000000Z"}.
    """
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def identity(value: _T) -> _T:
    """
    @return: C{value}, unchanged.
    """
    return value


def md5hex(data: bytes) -> str:
    """
    @return: The hex MD5 digest of C{data} (to log a fingerprint, not the
        data).
    """
    return md5(data, usedforsecurity=False).hexdigest()


__all__ = ["timestamp", "identity", "md5hex"]

