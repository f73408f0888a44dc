# -*- test-case-name: txcausal.test.test_export_ecs_limits -*-
"""
The limits of the index template that docs/elasticsearch.md gives for the
documents of C{txcausal export --format ecs}, and fitting a message within
them.  Elasticsearch rejects a whole document whose C{flattened} field
nests objects deeper than its C{depth_limit}, or holds a leaf longer than
Lucene's limit on a term (32766 UTF-8 bytes) that C{ignore_above} does not
leave unindexed.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

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
_CONTAINERS = (dict, list)


def too_deep(message: Dict[str, Any], limit: int = DEPTH_LIMIT) -> bool:
    """
    @return: Whether C{message} nests more than C{limit} objects (itself
        included; arrays do not count, as for C{depth_limit}).
    """
    pending: List[Tuple[Any, int]] = [
        (value, 2) for value in message.values() if value.__class__ in _CONTAINERS]
    while pending:
        value, depth = pending.pop()
        if value.__class__ is dict:
            if depth > limit:
                return True
            pending.extend((item, depth + 1) for item in value.values()
                           if item.__class__ in _CONTAINERS)
        else:
            pending.extend((item, depth) for item in value if item.__class__ in _CONTAINERS)
    return False


def _text(value: Any) -> str:
    """
    @return: C{value} as JSON text.
    """
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=repr)


def within_depth(value: Any, room: int = DEPTH_LIMIT) -> Any:
    """
    @param room: How many more objects may be nested in C{value}, C{value}
        included.
    @return: A copy of C{value} in which each object past C{room} levels is
        its JSON text.
    """
    if value.__class__ is dict:
        if room < 1:
            return _text(value)
        return {key: within_depth(item, room - 1) for key, item in value.items()}
    if value.__class__ is list:
        return [within_depth(item, room) for item in value]
    return value


__all__ = ["DEPTH_LIMIT", "IGNORE_ABOVE", "too_deep", "within_depth"]
