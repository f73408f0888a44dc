# -*- test-case-name: txcausal.test.test_json -*-
"""
Encoding messages as JSON lines: a fast path through orjson, the standard
library as a fallback for what orjson refuses (integers past 64 bits), and a
hook for user types.  NumPy values are encoded when NumPy is in use, without
importing it otherwise.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from typing import Any, Callable, Dict, Type, Union, cast

import orjson

from ._wire import (
    SERIALIZATION_FAILURE,
    TRACEBACK_MESSAGE_TYPE,
    exception_name,
    standalone_message,
)

#: A user hook: a L{json.JSONEncoder} subclass (as Eliot's C{to_file}
#: accepts) or a callable turning one unknown object into something
#: encodable, raising L{TypeError} when it cannot.
EncoderHook = Union[Type[json.JSONEncoder], Callable[[Any], Any], None]

# Not OPT_SERIALIZE_NUMPY: with it, orjson imports NumPy on the first unknown
# type; the default hook handles NumPy values when the program imported it.
JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
#: The orjson options of the destinations' fast path: without
#: C{OPT_NON_STR_KEYS}, which costs a little on every message; a message with
#: non-string keys makes orjson raise, and goes to the full encoder.
FAST_OPTIONS = orjson.OPT_APPEND_NEWLINE

#: How much of an unencodable message is kept in the failure report.
_MAX_REPR = 4096


def _builtin_default(o: Any) -> Any:
    """
    Encode the types every txcausal encoder understands beyond JSON's own:
    UTF-8 C{bytes}, sets, and NumPy scalars and arrays.

    @raise TypeError: For anything else.
    """
    if isinstance(o, (bytes, bytearray, memoryview)):
        return bytes(o).decode("utf-8", "backslashreplace")
    if isinstance(o, (set, frozenset)):
        return list(o)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(o, numpy.generic):
            return o.item()
        if isinstance(o, numpy.ndarray):
            return o.tolist()
    raise TypeError(f"Type is not JSON serializable: {type(o).__qualname__}")


def _make_default(hook: EncoderHook) -> Callable[[Any], Any]:
    """
    Combine a user hook with the built-in encodings, the user's first.
    """
    if hook is None:
        return _builtin_default
    user: Callable[[Any], Any]
    if isinstance(hook, type) and issubclass(hook, json.JSONEncoder):
        user = hook().default
    else:
        user = cast(Callable[[Any], Any], hook)

    def default(o: Any) -> Any:
        try:
            return user(o)
        except TypeError:
            return _builtin_default(o)

    return default


#: Every digit made a zero, so that an integer too long for 64 bits is found
#: with a plain substring search, five times faster than a regular
#: expression: twenty digits (past 18,446,744,073,709,551,615), or a minus
#: sign and nineteen (past -9,223,372,036,854,775,808)...
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS = b"0" * 20
_MINUS_NINETEEN_DIGITS = b"-" + b"0" * 19
#: ...which then tells such an integer from the digits of a fraction.
_LONG_INTEGER = re.compile(rb"(?<![.0-9])(?:-[0-9]{19}|[0-9]{20})")


def decode_json(text: bytes) -> Any:
    """
    Decode JSON as it was encoded, integers past 64 bits included (orjson
    alone decodes those as floats).

    @raise orjson.JSONDecodeError: If C{text} is not JSON (a L{ValueError}).
    """
    value = orjson.loads(text)
    zeros = text.translate(_DIGITS_TO_ZERO)
    if ((_TWENTY_DIGITS in zeros or _MINUS_NINETEEN_DIGITS in zeros)
            and _LONG_INTEGER.search(text)):
        return json.loads(text)
    return value


class JSONLineEncoder:
    """
    Turns message dictionaries into UTF-8 JSON lines.
    """

    __slots__ = ("default",)

    def __init__(self, hook: EncoderHook = None) -> None:
        """
        @param hook: See L{EncoderHook}.
        @ivar default: The function orjson calls for objects it does not
            know.
        """
        self.default = _make_default(hook)

    def dumps(self, message: Dict[str, Any]) -> bytes:
        """
        Encode one message as a line ending with C{b"\\n"}.

        @raise TypeError: When a value cannot be encoded.
        @raise ValueError: Likewise, from the fallback encoder.
        """
        try:
            return orjson.dumps(message, default=self.default, option=JSON_OPTIONS)
        except TypeError as e:
            # orjson refuses integers past 64 bits, among others: the slow
            # path decides whether the message is really unencodable.
            try:
                text = json.dumps(message, default=self.default, ensure_ascii=False)
            except Exception:
                raise e from None
            return text.encode("utf-8", "surrogateescape") + b"\n"

    def encode(self, message: Dict[str, Any]) -> bytes:
        """
        Encode one message; when it cannot be encoded, encode instead an
        C{eliot:traceback} and an C{eliot:serialization_failure} message
        describing it, so nothing is lost silently.

        @return: One or two JSON lines; never raises.
        """
        try:
            return self.dumps(message)
        except Exception as e:
            return serialization_failure_lines(message, e)


def safe_repr(value: Any, limit: int = _MAX_REPR) -> str:
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


def safe_str(value: Any, limit: int = _MAX_REPR) -> str:
    """
    @return: C{str(value)}, cut to C{limit} characters, or its L{safe_repr}
        if C{str} fails.
    """
    try:
        return str(value)[:limit]
    except Exception:
        return safe_repr(value, limit)


def serialization_failure_messages(
    message: Dict[str, Any], error: BaseException
) -> "list[Dict[str, Any]]":
    """
    Build the two messages that stand in for one that could not be encoded:
    an C{eliot:traceback} with the error, and an
    C{eliot:serialization_failure} with a representation of the message.
    Both are standalone messages of new tasks.
    """
    return [
        standalone_message(
            TRACEBACK_MESSAGE_TYPE,
            exception=exception_name(error),
            reason=safe_str(error),
            traceback="".join(traceback.format_exception(type(error), error, error.__traceback__)),
            system="txcausal:output",
        ),
        standalone_message(SERIALIZATION_FAILURE, message=safe_repr(message)),
    ]


def serialization_failure_lines(message: Dict[str, Any], error: BaseException) -> bytes:
    """
    L{serialization_failure_messages}, encoded as JSON lines.
    """
    return b"".join(
        orjson.dumps(m, option=JSON_OPTIONS) for m in serialization_failure_messages(message, error)
    )


#: The encoder used where none is given.
DEFAULT_ENCODER = JSONLineEncoder()


def encoder_for(hook: EncoderHook) -> JSONLineEncoder:
    """
    @return: An encoder for C{hook}, sharing the default one when there is
        no hook.
    """
    return DEFAULT_ENCODER if hook is None else JSONLineEncoder(hook)


__all__ = [
    "EncoderHook",
    "JSON_OPTIONS",
    "JSONLineEncoder",
    "DEFAULT_ENCODER",
    "encoder_for",
    "safe_repr",
    "safe_str",
    "serialization_failure_messages",
    "serialization_failure_lines",
]

