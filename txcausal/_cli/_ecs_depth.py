# -*- test-case-name: txcausal.test.test_export_ecs_limits -*-
"""
The limits of the index template that docs/elasticsearch.md gives for the
documents of C{txcausal export --format ecs}, and fitting a message within
them.  Elasticsearch rejects a whole document whose C{flattened} field
nests objects deeper than its C{depth_limit}, has a key with NUL, or holds
a term longer than Lucene's limit (32766 UTF-8 bytes): a leaf that
C{ignore_above} does not leave unindexed, or its keyed term, the key path,
NUL and the leaf.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import orjson

#: The C{depth_limit} of the template's C{flattened} field C{txcausal}
#: (Elasticsearch's default): how many objects may be nested, the message
#: itself included.
DEPTH_LIMIT = 20
#: The C{ignore_above} of that field: longer leaves (in characters) are kept
#: in the document's source but not indexed.  8000 characters are at most
#: 32000 UTF-8 bytes: within Lucene's limit on a term (32766 bytes) with
#: room for the key path that the field's keyed terms start with.
IGNORE_ABOVE = 8000
#: The longest key path (the keys from the message down, joined by dots) in
#: UTF-8 bytes that the exporter writes: with a leaf of up to
#: L{IGNORE_ABOVE} characters, a keyed term within Lucene's limit.
MAX_KEY_PATH = 512
#: The field under which a message's own fields with keys Elasticsearch
#: refuses are written, as the JSON text of an object.
UNFIT_KEYS = "refused_keys"
#: What L{unfit} says.
TOO_DEEP = f"objects nested deeper than {DEPTH_LIMIT}"
REFUSED_KEYS = ("objects with keys Elasticsearch refuses (NUL, or a key path over"
                f" {MAX_KEY_PATH} bytes)")
_CONTAINERS = (dict, list)
_TYPES = frozenset(_CONTAINERS)
#: A key of at most this many characters is at most L{MAX_KEY_PATH} bytes.
_SHORT_KEY = MAX_KEY_PATH // 4


def _bytes(key: str) -> int:
    """
    @return: The length of C{key} in UTF-8 bytes.
    """
    return len(key) if key.isascii() else len(key.encode("utf-8", "surrogatepass"))


def _refused(key: str, path: int) -> bool:
    """
    @param path: The length in UTF-8 bytes of the key path ending in C{key}.
    @return: Whether Elasticsearch refuses C{key} or its keyed terms: it
        holds NUL, or its key path is longer than L{MAX_KEY_PATH} bytes.
    """
    return path > MAX_KEY_PATH or "\0" in key


def unfit(message: Dict[str, Any], limit: int = DEPTH_LIMIT) -> Optional[str]:
    """
    @return: Why the template refuses C{message}: it nests more than
        C{limit} objects (itself included; arrays do not count, as for
        C{depth_limit}), or has a key L{_refused}; C{None} if it does not.
    """
    # The common message, flat with short keys, is told at C speed.
    if max(map(len, message), default=0) <= _SHORT_KEY and "\0" not in "".join(message):
        for value in message.values():
            kind = value.__class__
            if kind is dict or (kind is list and not _TYPES.isdisjoint(map(type, value))):
                break
        else:
            return None
    return _walk(message, limit)


def _walk(message: Dict[str, Any], limit: int) -> Optional[str]:
    """
    L{unfit}, object by object.
    """
    pending: List[Tuple[Any, int, int]] = []
    for key, value in message.items():
        path = _bytes(key)
        if _refused(key, path):
            return REFUSED_KEYS
        if value.__class__ in _CONTAINERS:
            pending.append((value, 2, path))
    while pending:
        value, depth, path = pending.pop()
        if value.__class__ is dict:
            if depth > limit:
                return TOO_DEEP
            for key, item in value.items():
                inner = path + 1 + _bytes(key)
                if _refused(key, inner):
                    return REFUSED_KEYS
                if item.__class__ in _CONTAINERS:
                    pending.append((item, depth + 1, inner))
        else:
            pending.extend((item, depth, path) for item in value
                           if item.__class__ in _CONTAINERS)
    return None


def _text(value: Any) -> str:
    """
    @return: C{value} as JSON text.
    """
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=repr)


def _fit(value: Any, room: int, path: int) -> Any:
    """
    @param room: How many more objects may be nested in C{value}, C{value}
        included.
    @param path: The length of C{value}'s key path, in UTF-8 bytes.
    @return: A copy of C{value} in which each object past C{room} levels,
        or with a key L{_refused}, is its JSON text.
    """
    if value.__class__ is dict:
        if room < 1:
            return _text(value)
        copy = {}
        for key, item in value.items():
            inner = path + 1 + _bytes(key)
            if _refused(key, inner):
                return _text(value)
            copy[key] = _fit(item, room - 1, inner)
        return copy
    if value.__class__ is list:
        return [_fit(item, room, path) for item in value]
    return value


def fit(message: Dict[str, Any]) -> Dict[str, Any]:
    """
    @return: A copy of C{message} within the template's limits: each object
        nested past L{DEPTH_LIMIT} or with a key L{_refused} is its JSON
        text, and the message's own fields with such keys are gathered, as
        the JSON text of an object, under L{UNFIT_KEYS}.
    """
    copy: Dict[str, Any] = {}
    refused = {}
    for key, value in message.items():
        path = _bytes(key)
        if _refused(key, path):
            refused[key] = value
        else:
            copy[key] = _fit(value, DEPTH_LIMIT - 1, path)
    if refused:
        copy[UNFIT_KEYS] = _text(refused)
    return copy


__all__ = ["DEPTH_LIMIT", "IGNORE_ABOVE", "MAX_KEY_PATH", "UNFIT_KEYS", "fit", "unfit"]
