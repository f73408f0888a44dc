# -*- test-case-name: txcausal.test.test_json,txcausal.test.test_json_values -*-
"""
Encoding messages as JSON lines.

The fast path is one call to orjson, which every destination makes inline;
what it cannot write as it is goes to L{JSONLineEncoder.encode}, behind the
failure: orjson raises for unknown types, lone surrogates, keys that are not
strings, integers past 64 bits and recursion, and writes a float that is
not finite as C{null}, which the callers look for (L{NULL}) and hand to
L{JSONLineEncoder.recheck}.  The slow path (L{txcausal._sanitize}) writes the
message with the offending values in a documented representation, and
reports the values it could not encode in a C{txcausal:unencodable_values}
message of its own, so the message keeps its place in the tree.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import PosixPath, PurePosixPath, PureWindowsPath, WindowsPath
from typing import Any, Dict, FrozenSet, List, Optional

import orjson

from ._jsondefault import JSONDefault, make_default
from ._safe import reason_text, safe_repr, safe_str, traceback_text, type_name
from ._sanitize import ORJSON_NATIVE, Cleaner
from ._wire import (
    SERIALIZATION_FAILURE,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TRACEBACK_MESSAGE_TYPE,
    UNENCODABLE_VALUES,
    exception_name,
    standalone_message,
)

#: The orjson options of every encoding.  Not C{OPT_NON_STR_KEYS}, which
#: costs a little on every message: a message with such keys makes orjson
#: raise, and goes to the slow path.  Not C{OPT_SERIALIZE_NUMPY}: with it,
#: orjson imports NumPy on the first unknown type.
FAST_OPTIONS = orjson.OPT_APPEND_NEWLINE

#: What a float that is not finite becomes in orjson's output: a line
#: holding it goes to L{JSONLineEncoder.recheck}.  The callers test
#: C{data.partition(NULL)[1]}: measured 2.3 times cheaper than C{NULL in
#: data} (whose first try at reading C{NULL} as an integer raises inside)
#: and 1.4 times cheaper than C{data.find(NULL)}.
NULL = b"null"

#: How many replaced values a report lists (it counts them all).
MAX_REPORTED = 20


#: The types of the values L{only_finite} passes over: those orjson writes
#: as they are, holding no float...
PLAIN: FrozenSet[type] = frozenset({str, int, bool, type(None), datetime, *ORJSON_NATIVE})
#: ...and, for an encoder without a user's hook, those L{json_default}
#: writes as text.
PLAIN_OR_TEXT = PLAIN | {bytes, bytearray, memoryview, PosixPath, PurePosixPath, PureWindowsPath,
                         WindowsPath}


def only_finite(value: Any, plain: FrozenSet[type]) -> bool:
    """
    Tell, cheaply, that a line holding C{null} needs nothing more: the
    common case is a C{None} value.

    @param value: A message, or a dict, list or tuple in one.
    @param plain: L{PLAIN} or L{PLAIN_OR_TEXT}.
    @return: Whether C{value} holds only values of the types C{plain} (at
        any depth of dicts, lists and tuples) and floats that are finite.
        C{False} for anything else (a dict subclass, a dataclass, an object
        for the encoder's C{default}...), which may hold a float that is
        not finite: the slow path then looks.
    """
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind in plain:
            continue
        if kind is float:
            if item - item != 0.0:
                return False
        elif kind is dict or kind is list or kind is tuple:
            if not only_finite(item, plain):
                return False
        else:
            return False
    return True


def type_as_text(action_type: Any) -> Optional[str]:
    """
    @return: An action type as text: itself, or the JSON text of one that
        is not a string (C{None} for none).  What orjson refuses without
        asking C{default} (integers past 64 bits, keys that are not
        strings) is written by the standard library, and failing that as
        its C{repr}; one nested too deep for either, cut below 50 levels.
    """
    if action_type is None or action_type.__class__ is str:
        return action_type
    try:
        return orjson.dumps(action_type, default=repr).decode("utf-8")
    except TypeError:
        pass
    try:
        return json.dumps(action_type, default=repr, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return safe_repr(action_type)
    except RecursionError:  # Nested too deep: cut, as txcausal tree writes such values.
        cut = _cut(action_type, _TYPE_NESTING)
    try:
        return orjson.dumps(cut, default=repr).decode("utf-8")
    except TypeError:  # An integer past 64 bits in it.
        return json.dumps(cut, default=repr, ensure_ascii=False, separators=(",", ":"))


#: How deep an action type too deep to write whole is written.
_TYPE_NESTING = 50


def _cut(value: Any, depth: int) -> Any:
    """
    A copy of C{value} with containers below C{depth} levels replaced by a
    marker, and every dictionary key a string.
    """
    if isinstance(value, dict):
        return {str(k): _cut(v, depth - 1) for k, v in value.items()} if depth else "{…}"
    if isinstance(value, (list, tuple)):
        return [_cut(item, depth - 1) for item in value] if depth else "[…]"
    return value


def _via_orjson(o: Any) -> Any:
    """
    The standard library's C{default} for what the slow path leaves to
    orjson (dates, UUIDs): as orjson writes them.
    """
    return orjson.loads(orjson.dumps(o))


def _dumps_clean(clean: Dict[str, Any]) -> bytes:
    """
    Encode a message the slow path made safe: orjson, or the standard
    library for integers past 64 bits.
    """
    try:
        return orjson.dumps(clean, option=FAST_OPTIONS)
    except TypeError:
        text = json.dumps(clean, default=_via_orjson, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"))
        return text.encode("utf-8") + b"\n"


class JSONLineEncoder:
    """
    Turns message dictionaries into UTF-8 JSON lines.

    @ivar default: The function orjson calls for objects it does not know,
        for the callers' fast path: C{orjson.dumps(message,
        default=encoder.default, option=FAST_OPTIONS)}, falling back to
        L{encode} when it raises C{TypeError} and to L{recheck} when the
        line holds L{NULL}.
    """

    __slots__ = ("default", "_plain")

    def __init__(self, json_default: JSONDefault = None) -> None:
        """
        @param json_default: A user's function for types JSON does not know
            (see L{txcausal.json.json_default}).
        """
        self.default = make_default(json_default)
        self._plain = PLAIN_OR_TEXT if json_default is None else PLAIN

    def encode(self, message: Dict[str, Any]) -> bytes:
        """
        Encode one message, writing the values JSON cannot encode as they
        are in their documented representation (see L{txcausal._sanitize}).

        @return: The message's line, followed, if some values could not be
            encoded, by the line of a C{txcausal:unencodable_values} report;
            never raises.
        """
        try:
            data = orjson.dumps(message, default=self.default, option=FAST_OPTIONS)
        except TypeError:
            return self._slow(message, strict=False)
        if data.partition(NULL)[1]:
            return self.recheck(message, data)
        return data

    def recheck(self, message: Dict[str, Any], data: bytes) -> bytes:
        """
        The fast path wrote C{data}, which holds L{NULL}: encode C{message}
        again unless it holds only plain values and finite floats.
        """
        if only_finite(message, self._plain):
            return data
        return self._slow(message, strict=False)

    def dumps(self, message: Dict[str, Any]) -> bytes:
        """
        Encode one message, for validation: values with a documented
        representation are accepted, other unencodable values are not.

        @raise TypeError: Naming the values that cannot be encoded.
        """
        return self._slow(message, strict=True)

    def _slow(self, message: Dict[str, Any], strict: bool) -> bytes:
        """
        Encode a copy of C{message} made safe.  When even that fails (the
        message changed while it was copied), encode a report of the
        failure instead.
        """
        cleaner = Cleaner(self.default)
        try:
            line = _dumps_clean(cleaner.message(message))
        except Exception as e:
            if strict:
                raise TypeError(f"cannot encode {safe_repr(message, 1000)}: {e}") from e
            return serialization_failure_lines(message, e)
        if not cleaner.replaced:
            return line
        if strict:
            raise TypeError("cannot encode " + "; ".join(
                f"{path or 'the message'} ({kind}: {reason})"
                for path, kind, reason in cleaner.replaced[:MAX_REPORTED]))
        return line + encode_report(unencodable_report(message, cleaner))


def unencodable_report(message: Dict[str, Any], cleaner: Cleaner) -> Dict[str, Any]:
    """
    The C{txcausal:unencodable_values} report of the values of C{message}
    written in another form: which message (its task and level), how many
    values, and the first L{MAX_REPORTED} of them (C{field}, C{type},
    C{reason}).
    """
    return standalone_message(
        UNENCODABLE_VALUES,
        message_task_uuid=message.get(TASK_UUID_FIELD),
        message_task_level=message.get(TASK_LEVEL_FIELD),
        count=len(cleaner.replaced),
        values=[{"field": path, "type": kind, "reason": reason}
                for path, kind, reason in cleaner.replaced[:MAX_REPORTED]],
    )


def encode_report(report: Dict[str, Any]) -> bytes:
    """
    Encode a report of txcausal's own, whose fields are text and numbers
    made here: never raises.
    """
    return _dumps_clean(Cleaner(_refuse).message(report))


def _refuse(o: Any) -> Any:
    raise TypeError(type_name(o))


def serialization_failure_messages(
    message: Dict[str, Any], error: BaseException
) -> List[Dict[str, Any]]:
    """
    Build the two messages that stand in for one that could not be
    serialized at all (a typed message whose L{txcausal.Field} raised): an
    C{eliot:traceback} with the error, and an C{eliot:serialization_failure}
    with a representation of the message, as Eliot writes them.  Both are
    standalone messages of new tasks.
    """
    return [
        standalone_message(
            TRACEBACK_MESSAGE_TYPE,
            exception=exception_name(error),
            reason=reason_text(error),
            traceback=traceback_text(type(error), error, error.__traceback__),
        ),
        standalone_message(SERIALIZATION_FAILURE, message=_fields_text(message)),
    ]


def _fields_text(message: Dict[str, Any]) -> str:
    """
    @return: The text Eliot writes for a message it could not serialize: a
        dict of the C{repr}s of its keys and values, as text.
    """
    try:
        return str({safe_repr(key): safe_repr(value) for key, value in message.items()})
    except Exception:
        return safe_repr(message)


def serialization_failure_lines(message: Dict[str, Any], error: BaseException) -> bytes:
    """
    L{serialization_failure_messages}, encoded as JSON lines.
    """
    return b"".join(encode_report(m) for m in serialization_failure_messages(message, error))


#: The encoder used where none is given.
DEFAULT_ENCODER = JSONLineEncoder()


def encoder_for(json_default: JSONDefault = None) -> JSONLineEncoder:
    """
    @return: An encoder for a user's C{json_default=} function, sharing the
        default one when there is none.
    """
    if json_default is None:
        return DEFAULT_ENCODER
    return JSONLineEncoder(json_default)


__all__ = [
    "JSONDefault",
    "FAST_OPTIONS",
    "NULL",
    "type_as_text",
    "JSONLineEncoder",
    "DEFAULT_ENCODER",
    "encoder_for",
    "only_finite",
    "safe_repr",
    "safe_str",
    "serialization_failure_messages",
    "serialization_failure_lines",
]
