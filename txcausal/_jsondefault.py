# -*- test-case-name: txcausal.test.test_jsondefault -*-
"""
The types txcausal encodes beyond JSON's own and orjson's (which writes
datetimes, dates, times, UUIDs, enums and dataclasses itself):
L{known_default}, what the encoder calls; L{json_default}, the public
function, which also writes orjson's types and, as their C{repr}, values
nothing knows; and how a user's hook is combined with them.

Libraries are recognised only when the program imported them, so encoding
never imports NumPy, pandas, polars or pydantic.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import PurePath
from typing import Any, Callable, Optional, Type, cast

import orjson

from ._safe import safe_repr

#: A user's C{json_default=}: a function turning one object JSON does not
#: know into something encodable, raising L{TypeError} when it cannot.
JSONDefault = Optional[Callable[[Any], Any]]

#: Eliot's deprecated C{encoder=}: a L{json.JSONEncoder} subclass.
EncoderClass = Optional[Type[json.JSONEncoder]]

#: Past this many elements a NumPy array is summarised, as Eliot does.
MAX_ARRAY_SIZE = 10_000


def _numpy(o: Any, numpy: Any) -> Any:
    """
    Encode a NumPy value.

    @raise TypeError: If C{o} is not one.
    """
    if isinstance(o, numpy.generic):
        return o.item()
    if isinstance(o, numpy.ndarray):
        if o.size > MAX_ARRAY_SIZE:
            return {"array_start": o.flat[:MAX_ARRAY_SIZE].tolist(),
                    "original_shape": list(o.shape)}
        return o.tolist()
    raise TypeError


def _dataframes(o: Any) -> Any:
    """
    Encode pandas and polars values, as Eliot does.

    @raise TypeError: If C{o} is not one.
    """
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if isinstance(o, pandas.Timestamp):
            return o.isoformat()
        if isinstance(o, pandas.Series):
            return o.to_list()
        if isinstance(o, pandas.DataFrame):
            return o.to_dict(orient="records")
        if isinstance(o, pandas.Interval):
            return {"left": o.left, "right": o.right, "closed": o.closed}
        if isinstance(o, pandas.Period):
            return str(o)
    polars = sys.modules.get("polars")
    if polars is not None:
        if isinstance(o, polars.Series):
            return o.to_list()
        if isinstance(o, polars.DataFrame):
            return o.to_dicts()
    raise TypeError


def known_default(o: Any) -> Any:
    """
    Turn a value orjson does not know into one it does: C{bytes} (decoded
    as UTF-8, undecodable bytes escaped as C{\\xNN}), sets, paths (as
    text), complex numbers (C{{"real": ..., "imag": ...}}), NumPy scalars
    and arrays, pydantic models, pandas and polars values.

    What the encoder gives orjson as its C{default} when there is no
    user's hook.

    @raise TypeError: For anything else; the encoder then writes the
        value's C{repr} and reports it.
    """
    if isinstance(o, (bytes, bytearray, memoryview)):
        return bytes(o).decode("utf-8", "backslashreplace")
    if isinstance(o, (set, frozenset)):
        return list(o)
    if isinstance(o, PurePath):
        return str(o)
    if isinstance(o, complex):
        return {"real": o.real, "imag": o.imag}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        try:
            return _numpy(o, numpy)
        except TypeError:
            pass
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(o, pydantic.BaseModel):
        return o.model_dump()
    try:
        return _dataframes(o)
    except TypeError:
        pass
    raise TypeError(f"Type is not JSON serializable: {type(o).__qualname__}")


class _Unknown(str):
    """
    The C{repr} L{json_default} gives for a value nothing knows: text, which
    the encoder's wrapper of a user's hook (L{make_default}) recognises, to
    write the same C{repr} and report the value.
    """

    __slots__ = ()


def json_default(o: Any) -> Any:
    """
    Turn any value into one JSON knows, as txcausal's encoder writes it:
    what the encoder's own fallback knows (bytes, sets, paths, complex
    numbers, NumPy, pydantic, pandas and polars values); datetimes, dates and times (ISO 8601),
    UUIDs, enums (their value) and dataclasses, as orjson writes them; any
    other value as its C{repr}, as Eliot's C{json_default} does.

    Pass it, or a function that calls it last, as C{json_default=}: the
    encoder then writes the same C{repr} for a value nothing knows, and
    reports it.  Outside, it suits the standard library's
    C{json.dumps(..., default=json_default)}.
    """
    try:
        return known_default(o)
    except TypeError:
        pass
    try:
        return orjson.loads(orjson.dumps(o, default=_FieldDefault(o)))
    except TypeError:
        return _Unknown(safe_repr(o))


class _FieldDefault:
    """
    The C{default} for a value inside one orjson writes (a dataclass's
    field): as the encoder writes it.  The value itself, which orjson does
    not know, is refused.
    """

    __slots__ = ("_top",)

    def __init__(self, top: Any) -> None:
        self._top = top

    def __call__(self, o: Any) -> Any:
        if o is self._top:
            raise TypeError
        try:
            return known_default(o)
        except TypeError:
            return safe_repr(o)


def make_default(user: JSONDefault = None) -> Callable[[Any], Any]:
    """
    Combine a user's C{json_default=} function with L{known_default}: the
    user's first.  What the user's function gives as L{json_default} gives
    a value nothing knows is refused, so that the encoder reports it.
    """
    if user is None:
        return known_default

    def default(o: Any) -> Any:
        try:
            value = user(o)
        except TypeError:
            return known_default(o)
        if value.__class__ is _Unknown:
            raise TypeError(f"Type is not JSON serializable: {type(o).__qualname__}")
        return value

    return default


def _encoder_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, json.JSONEncoder)


def as_json_default(hook: Any) -> JSONDefault:
    """
    @return: A C{json_default=} function for C{hook}: the C{default} of a
        new instance of a L{json.JSONEncoder} subclass (Eliot's encoders),
        or C{hook} itself.
    """
    if _encoder_class(hook):
        encoding: Callable[[Any], Any] = hook().default
        return encoding
    return cast(JSONDefault, hook)


def checked_default(user: JSONDefault, encoder: Any = None) -> JSONDefault:
    """
    The user's function for types JSON does not know, from the arguments
    of an API taking C{json_default=} and, deprecated as in Eliot 1.18,
    C{encoder=}: a L{json.JSONEncoder} subclass, whose C{default} is used.
    Warns (pointing at the API's caller) when C{encoder} is given.

    @param user: The C{json_default=} argument.
    @param encoder: The C{encoder=} argument.
    @raise TypeError: If both are given, if C{encoder} is not a
        L{json.JSONEncoder} subclass, or if C{user} is one, or is not
        callable.
    """
    if encoder is not None:
        warnings.warn("encoder= is deprecated: pass a function as json_default= "
                      "(one calling txcausal.json.json_default for what it does not know)",
                      DeprecationWarning, stacklevel=3)
        if user is not None:
            raise TypeError("give json_default= alone: encoder= is deprecated")
        if not _encoder_class(encoder):
            raise TypeError(f"encoder= takes a json.JSONEncoder subclass, not {encoder!r}: "
                            "pass a function as json_default=")
        return as_json_default(encoder)
    if _encoder_class(user) or not (user is None or callable(user)):
        raise TypeError(f"json_default= takes a function turning one object into something "
                        f"JSON can encode, not {user!r}")
    return user
