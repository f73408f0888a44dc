# -*- test-case-name: txcausal.test.test_jsondefault -*-
"""
The types txcausal encodes beyond JSON's own and orjson's (which writes
datetimes, dates, times, UUIDs, enums and dataclasses itself):
L{json_default}, and how a user's hook is combined with it.

Libraries are recognised only when the program imported them, so encoding
never imports NumPy, pandas, polars or pydantic.
"""

from __future__ import annotations

import json
import sys
from pathlib import PurePath
from typing import Any, Callable, Optional, Type, Union, cast

#: A user hook: a L{json.JSONEncoder} subclass (as Eliot's C{to_file}
#: accepts) or a callable turning one unknown object into something
#: encodable, raising L{TypeError} when it cannot.
EncoderHook = Union[Type[json.JSONEncoder], Callable[[Any], Any], None]

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


def json_default(o: Any) -> Any:
    """
    Turn a value orjson does not know into one it does: C{bytes} (decoded
    as UTF-8, undecodable bytes escaped as C{\\xNN}), sets, paths (as
    text), complex numbers (C{{"real": ..., "imag": ...}}), NumPy scalars
    and arrays, pydantic models, pandas and polars values.

    Pass it, or a function that calls it last, as C{json_default=}.

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


def make_default(hook: EncoderHook = None,
                 user_default: Optional[Callable[[Any], Any]] = None) -> Callable[[Any], Any]:
    """
    Combine a user's hook with L{json_default}: the user's first.

    @param hook: See L{EncoderHook}.
    @param user_default: A C{json_default=} callable, as Eliot takes.
    @raise TypeError: If both are given.
    """
    if hook is not None and user_default is not None:
        raise TypeError("give encoder= or json_default=, not both")
    if hook is None:
        hook = user_default
    if hook is None:
        return json_default
    user: Callable[[Any], Any]
    if isinstance(hook, type) and issubclass(hook, json.JSONEncoder):
        user = hook().default
    else:
        user = cast(Callable[[Any], Any], hook)

    def default(o: Any) -> Any:
        try:
            return user(o)
        except TypeError:
            return json_default(o)

    return default
