# -*- test-case-name: txcausal.test.test_json_values,txcausal.test.test_json_escapes -*-
"""
The slow path of encoding: a copy of a message that says the same thing in
values JSON can write, made only when orjson refuses the message or wrote a
float that is not finite.  The representations (documented in
C{docs/outputting.md}):

  - a value that cannot be encoded, even by the encoder's C{default}, is
    written as its C{repr} (a placeholder if C{repr} raises), a container
    inside itself as C{"[...]"} or C{"{...}"} (as C{repr} writes it), and
    nesting past L{MAX_DEPTH} as the C{repr} of the rest; each is recorded
    in L{Cleaner.replaced}, for a report;
  - C{NaN}, C{inf} and C{-inf} as C{"NaN"}, C{"Infinity"}, C{"-Infinity"};
  - lone surrogates in strings and keys escaped: a byte that
    C{surrogateescape} smuggled in (U+DC80 to U+DCFF) as C{\\xNN}, others as
    C{\\uNNNN}, so every line is valid UTF-8;
  - keys that are not strings as JSON writes the scalars (C{1} as C{"1"},
    C{True} as C{"true"}, C{None} as C{"null"}), enums by their value,
    dates and UUIDs as their text, others as their C{repr} (recorded); a
    dict whose keys then collide is written as a list of C{[key, value]}
    pairs, losing nothing, except a message's own fields, which stay an
    object: there the colliding key gets its type added (C{"1 (int)"}),
    recorded.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, time
from enum import Enum
from typing import Any, Callable, Dict, List, Set, Tuple
from uuid import UUID

from ._safe import safe_repr, type_name

#: How deep containers may nest (orjson refuses past 254 levels).
MAX_DEPTH = 200

#: A value replaced: where (e.g. C{"cart.items[2]"}), its type, and why.
Replaced = Tuple[str, str, str]

_SURROGATE = re.compile("[\ud800-\udfff]")

#: What orjson writes itself and the slow path leaves to it.
ORJSON_NATIVE = (date, time, UUID)


#: How NaN and the infinities are written (strings that C{float()} reads
#: back).
NAN_TEXT = "NaN"
INFINITY_TEXT = "Infinity"
MINUS_INFINITY_TEXT = "-Infinity"


def nonfinite_text(value: float) -> str:
    """
    @return: How a float that is not finite is written.
    """
    if value != value:
        return NAN_TEXT
    return INFINITY_TEXT if value > 0 else MINUS_INFINITY_TEXT


def _escape(match: "re.Match[str]") -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def text(value: str) -> str:
    """
    @return: C{value}, its lone surrogates escaped.
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(_escape, value)
    return value


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


class Cleaner:
    """
    Makes JSON-safe copies of values, recording what it had to replace.

    @ivar replaced: The values replaced so far.
    """

    __slots__ = ("_default", "replaced", "_active")

    def __init__(self, default: Callable[[Any], Any]) -> None:
        """
        @param default: The encoder's hook for types orjson does not know.
        """
        self._default = default
        self.replaced: List[Replaced] = []
        #: The containers being copied, by id: meeting one again is a cycle.
        self._active: Set[int] = set()

    def message(self, message: Dict[Any, Any]) -> Dict[str, Any]:
        """
        @return: A copy of C{message} that orjson encodes (or the standard
            library, for integers past 64 bits), still an object.
        """
        originals, keys, values = self._items(message, "", 0)
        named = {key for original, key in zip(originals, keys, strict=True)
                 if type(original) is str}
        result: Dict[str, Any] = {}
        for original, key, value in zip(originals, keys, values, strict=True):
            if type(original) is not str and (key in named or key in result):
                self._note(key, original, "its name is the same as another field's")
                key = f"{key} ({type(original).__name__})"
            result[key] = value
        return result

    def value(self, value: Any, path: str, depth: int) -> Any:
        """
        @return: A JSON-safe copy of C{value}.
        """
        kind = type(value)
        if kind is str:
            return text(value)
        if kind is int or kind is bool or value is None:
            return value
        if kind is float:
            return value if value - value == 0.0 else nonfinite_text(value)
        if isinstance(value, (dict, list, tuple)):
            return self._container(value, path, depth)
        if isinstance(value, Enum):
            return self.value(value.value, path, depth + 1)
        if isinstance(value, str):
            return text(str(value))
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return self.value(float(value), path, depth)
        if isinstance(value, ORJSON_NATIVE):
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.value({f.name: getattr(value, f.name)
                               for f in dataclasses.fields(value)}, path, depth + 1)
        return self._converted(value, path, depth)

    def _converted(self, value: Any, path: str, depth: int) -> Any:
        """
        Encode C{value} through the encoder's C{default}.
        """
        if depth >= MAX_DEPTH:
            return self._replace(value, path, f"nested deeper than {MAX_DEPTH} levels")
        try:
            converted = self._default(value)
        except Exception as e:
            return self._replace(value, path, f"{type_name(e)}: {safe_repr(e, 200)}")
        if type(converted) is type(value):
            return self._replace(value, path, "the encoder's default returned it unchanged")
        return self.value(converted, path, depth + 1)

    def _container(self, value: Any, path: str, depth: int) -> Any:
        """
        Copy a dict, list or tuple, unless it is inside itself or too deep.
        """
        if depth >= MAX_DEPTH:
            return self._replace(value, path, f"nested deeper than {MAX_DEPTH} levels")
        marker = id(value)
        if marker in self._active:
            self._note(path, value, "it contains itself")
            return "{...}" if isinstance(value, dict) else "[...]"
        self._active.add(marker)
        try:
            if isinstance(value, dict):
                return self._dict(value, path, depth)
            return [self.value(item, f"{path}[{index}]", depth + 1)
                    for index, item in enumerate(value)]
        finally:
            self._active.discard(marker)

    def _dict(self, value: Dict[Any, Any], path: str, depth: int) -> Any:
        originals, keys, values = self._items(value, path, depth)
        if len(set(keys)) == len(keys):
            return dict(zip(keys, values, strict=True))
        return [[self.value(key, path, depth + 1), item]
                for key, item in zip(originals, values, strict=True)]

    def _items(self, value: Dict[Any, Any], path: str,
               depth: int) -> Tuple[List[Any], List[str], List[Any]]:
        """
        @return: The keys of C{value}, how they are written, and its values
            copied.
        """
        pairs = list(value.items())
        originals = [key for key, _ in pairs]
        keys = [self._key(key, path) for key in originals]
        values = [self.value(item, _join(path, key), depth + 1)
                  for key, (_, item) in zip(keys, pairs, strict=True)]
        return originals, keys, values

    def _key(self, key: Any, path: str) -> str:
        """
        @return: How a key is written.
        """
        if type(key) is str:
            return text(key)
        if key is None or isinstance(key, bool):
            return "null" if key is None else ("true" if key else "false")
        if isinstance(key, Enum):
            return self._key(key.value, path)
        if isinstance(key, int):
            return str(int(key))
        if isinstance(key, float):
            return repr(float(key)) if key - key == 0.0 else nonfinite_text(key)
        if isinstance(key, str):
            return text(str(key))
        if isinstance(key, (date, time)):
            return key.isoformat()
        if isinstance(key, UUID):
            return str(key)
        written = text(safe_repr(key))
        self._note(path, key, f"key of type {type_name(key)} written as its repr")
        return written

    def _replace(self, value: Any, path: str, reason: str) -> str:
        self._note(path, value, reason)
        return text(safe_repr(value))

    def _note(self, path: str, value: Any, reason: str) -> None:
        self.replaced.append((path, type_name(value), reason))
