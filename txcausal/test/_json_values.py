"""
What the tests of values JSON cannot write as they are share: a plain
object, a message as the registry hands it to a destination, and JSON lines
decoded after checking they are UTF-8.
"""

from __future__ import annotations

from typing import Any, Dict, List

import orjson


class Plain:
    """
    A plain object, with its default C{repr}.
    """


def lines(data: bytes) -> List[Dict[str, Any]]:
    """
    Decode JSON lines, checking they are valid UTF-8 first.
    """
    data.decode("utf-8")
    return [orjson.loads(line) for line in data.splitlines()]


def message(**fields: Any) -> Dict[str, Any]:
    """
    A message as the registry hands it to a destination.
    """
    fields.setdefault("message_type", "test:m")
    fields.update(task_uuid="0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00", task_level=[2, 1],
                  timestamp=1.5)
    return fields
