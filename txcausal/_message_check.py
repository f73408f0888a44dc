# -*- test-case-name: txcausal.test.test_parse_input -*-
"""
Whether a decoded JSON value is a log message: a task UUID and a level
that can be placed.
"""

from __future__ import annotations

from typing import Any, Optional

from ._tasklevel import MAX_TASK_LEVEL_DEPTH, valid_level
from ._wire import TASK_LEVEL_FIELD, TASK_UUID_FIELD


def check_message(value: Any) -> Optional[str]:
    """
    Check that a decoded JSON value is a log message.

    @return: C{None} if it is, else why not.
    """
    if value.__class__ is not dict:
        return "not a JSON object"
    if value.get(TASK_UUID_FIELD).__class__ is not str:
        return "no task_uuid string"
    level = value.get(TASK_LEVEL_FIELD)
    if level.__class__ is list and len(level) > MAX_TASK_LEVEL_DEPTH:
        return f"task_level deeper than {MAX_TASK_LEVEL_DEPTH}"
    if not valid_level(level):
        return "task_level is not a list of positive integers"
    return None
