# -*- test-case-name: txcausal.test.test_json,txcausal.test.test_json_retry -*-
"""
Decoding JSON lines as they were encoded: orjson, and for what it does not
read exactly (integers past 64 bits) or at all but Python's C{json} and so
Eliot's readers read (C{NaN}, the infinities, lone surrogate escapes), the
standard library.
"""

from __future__ import annotations

import json
import re
from math import isfinite
from typing import Any, List, Optional

import orjson

from ._sanitize import text as escape_surrogates

#: Every digit made a zero, so that an integer too long for 64 bits is found
#: with a plain substring search, far faster than a regular expression: a
#: run of nineteen digits after a minus sign (past -9,223,372,036,854,775,808
#: for the largest), or of twenty or more (past 18,446,744,073,709,551,615
#: for most).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19
#: What comes before a run of digits that is no such integer: the point of
#: a fraction, or the part of the run already looked at.
_NOT_INTEGER = (b".", b"0")


def decode_json(text: bytes) -> Any:
    """
    Decode JSON as it was encoded, integers past 64 bits included (orjson
    alone decodes those as floats).  What orjson refuses and Python's
    C{json} (and so Eliot's readers) reads is read as txcausal writes it:
    C{NaN}, C{Infinity} and C{-Infinity} as those strings, and lone
    surrogate escapes (C{"\\udcff"}) as L{txcausal._sanitize.text} escapes
    them (C{"\\xff"}).

    @raise orjson.JSONDecodeError: If C{text} is not JSON (a C{ValueError});
        L{NotReadExactly} if it is JSON, but cannot be read exactly.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        return decode_refused(text, e)
    if may_hold_long_integer(text):
        return _as_python_reads(text, None)
    return value


def decode_refused(text: bytes, error: orjson.JSONDecodeError) -> Any:
    """
    L{decode_json} for C{text} that orjson refused with C{error}, without
    asking orjson again: read as Python's C{json} reads it, if it can.

    @raise orjson.JSONDecodeError: C{error}, if C{text} is not JSON;
        L{NotReadExactly} if it is JSON, but cannot be read exactly.
    """
    if _python_may_read(text, error):
        return _as_python_reads(text, error)
    raise error


#: The beginnings of orjson's errors for a line cut short, or going on
#: after a whole value it read, which the standard library refuses as well.
_REFUSED_BOTH = ("unexpected end of data", "unexpected content after document")
#: The beginnings of orjson's errors for a character where no value may
#: start, which the standard library also refuses unless it is one of the
#: constants it reads (L{_CONSTANTS}).
_NO_VALUE = ("unexpected character", "no digit after sign", "no digit after minus sign")
#: The constants the standard library reads and orjson does not.
_CONSTANTS = re.compile(rb"NaN|Infinity")


def _python_may_read(text: bytes, error: orjson.JSONDecodeError) -> bool:
    """
    @return: C{False} if the standard library's C{json} would refuse
        C{text} too, as orjson's C{error} tells: the line is cut short or
        goes on after its value, or holds no constant where a value was
        expected; C{True} otherwise
        (every other error, whatever orjson calls it).
    """
    message = error.msg
    if message.startswith(_REFUSED_BOTH):
        return False
    if message.startswith(_NO_VALUE):
        return _CONSTANTS.search(text) is not None
    return True


class NotReadExactly(orjson.JSONDecodeError):
    """
    JSON that the standard library's C{json}, which reads what orjson does
    not, cannot read exactly either: nested too deep for its recursion
    limit, or with keys the same once their lone surrogates are escaped.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _as_python_reads(text: bytes, error: Optional[orjson.JSONDecodeError]) -> Any:
    """
    Decode JSON with the standard library, which also reads the constants
    and lone surrogate escapes orjson refuses.

    @param error: What orjson raised for C{text}, raised again if the
        standard library refuses it too.
    @raise NotReadExactly: For a recursion error, or keys that escaping
        lone surrogates makes the same.
    """
    try:
        value = json.loads(text.decode("utf-8"), parse_constant=str, parse_float=_finite)
        return _escaped(value) if _SURROGATE_ESCAPE.search(text) else value
    except RecursionError:
        raise NotReadExactly("nested too deep") from None
    except NotReadExactly:
        raise
    except ValueError as e:
        raise error or orjson.JSONDecodeError(str(e), "", 0) from None


def _finite(text: str) -> Any:
    """
    @return: The float a JSON number is, or the text of the constant for
        one past the range of a float (C{1e999}), as C{NaN} and the
        infinities are read.
    """
    value = float(text)
    if isfinite(value):
        return value
    return "Infinity" if value > 0 else "-Infinity"


#: A JSON escape of a surrogate, which may be a lone one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _escaped(value: Any) -> Any:
    """
    @return: C{value}, the lone surrogates of its strings and keys escaped.
    @raise NotReadExactly: If that makes two keys of an object the same.
    """
    if value.__class__ is str:
        return escape_surrogates(value)
    if value.__class__ is list:
        return [_escaped(item) for item in value]
    if value.__class__ is dict:
        escaped = {escape_surrogates(key): _escaped(item) for key, item in value.items()}
        if len(escaped) < len(value):
            raise NotReadExactly("keys that are the same once their lone surrogates are escaped")
        return escaped
    return value


def may_hold_long_integer(data: bytes) -> bool:
    """
    Tell, cheaply, that C{data} holds no integer past 64 bits, so that
    C{orjson.loads} reads it exactly: the test of L{decode_json}, which a
    reader makes on batches of lines.

    @return: C{False} if no minus sign in C{data} is followed by nineteen
        digits and every run of twenty digits or more follows a decimal
        point (C{repr} writes a duration of a few hundred microseconds with
        twenty digits after it); C{True} otherwise (then maybe in a string,
        or an integer that fits in 64 bits).
    """
    zeros = data.translate(_DIGITS_TO_ZERO)
    at = zeros.find(_NINETEEN_DIGITS)
    while at != -1:
        before = zeros[at - 1 : at]
        if before == b"-" or (before not in _NOT_INTEGER and zeros[at + 19 : at + 20] == b"0"):
            return True
        at = zeros.find(_NINETEEN_DIGITS, at + 19)
    return False


#: How many lines L{lines_may_hold_long_integer} looks at together: some
#: hundred kilobytes, which stay in the processor's cache (a whole batch of
#: a megabyte took a fifth longer).
_LINES_AT_ONCE = 1024


def lines_may_hold_long_integer(batch: List[bytes]) -> bool:
    """
    L{may_hold_long_integer} for a batch of lines.
    """
    for start in range(0, len(batch), _LINES_AT_ONCE):
        if may_hold_long_integer(b"\n".join(batch[start : start + _LINES_AT_ONCE])):
            return True
    return False


__all__ = [
    "NotReadExactly",
    "decode_json",
    "lines_may_hold_long_integer",
    "may_hold_long_integer",
]
