# -*- test-case-name: txcausal.test.test_json -*-
"""
Text for any object, even one whose C{repr} or C{str} raises: what reports
about bad values and failures write.
"""

from __future__ import annotations

from typing import Any

#: How much of a representation is kept.
MAX_REPR = 4096


def type_name(value: Any) -> str:
    """
    @return: The qualified name of C{value}'s class, e.g.
        C{"decimal.Decimal"}.
    """
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def safe_repr(value: Any, limit: int = MAX_REPR) -> str:
    """
    @return: C{repr(value)}, cut to C{limit} characters, or a placeholder if
        C{repr} itself fails.
    """
    try:
        text = repr(value)
    except Exception as e:
        text = f"<unrepresentable {type(value).__qualname__}: {type(e).__name__}>"
    if len(text) > limit:
        text = text[:limit] + "...<truncated>"
    return text


def safe_str(value: Any, limit: int = MAX_REPR) -> str:
    """
    @return: C{str(value)}, cut to C{limit} characters, or its L{safe_repr}
        if C{str} fails.
    """
    try:
        return str(value)[:limit]
    except Exception:
        return safe_repr(value, limit)
