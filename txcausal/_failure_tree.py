# -*- test-case-name: txcausal.test.test_failure_tree -*-
"""
Drawing what a test captured, for failure reports: the messages as
C{txcausal tree} draws a log file (plain text, ASCII glyphs), with field
values and the number of lines cut.

Captured messages have not been validated yet (the failure may be that they
are invalid), so each is first made into what a log file would hold: encoded
as JSON and decoded back, with a field that cannot be encoded replaced by its
C{repr}.  A message that still is not a log message (no C{task_uuid}, a bad
C{task_level}) is shown as a C{repr} line.  Drawing never raises.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ._json import JSONLineEncoder, safe_repr
from ._memory import MemoryLogger
from ._message_check import check_message

Message = Dict[str, Any]

#: Limits that keep a failure report readable.
MAX_TREE_LINES = 200
MAX_VALUE_LENGTH = 160


def _display(message: Message, serializer: Optional[Any]) -> Message:
    """
    @return: C{message} as destinations would see it, or as logged if its
        serializer fails.
    """
    if serializer is None:
        return message
    try:
        shown = dict(message)
        serializer.serialize(shown)
        return shown
    except Exception:
        return message


def _as_logged(message: Any, encoder: JSONLineEncoder) -> Any:
    """
    @return: C{message} as a log file would give it back (decoded by the
        standard library, which keeps integers past 64 bits); the fields
        that cannot be encoded become their C{repr}.
    """
    try:
        return json.loads(encoder.dumps(message))
    except Exception:
        pass
    if not isinstance(message, dict):
        return message
    logged = {}
    for key, value in message.items():
        try:
            logged.update(json.loads(encoder.dumps({key: value})))
        except Exception:
            name = key if isinstance(key, str) else safe_repr(key, MAX_VALUE_LENGTH)
            logged[name] = safe_repr(value, MAX_VALUE_LENGTH)
    return logged


def _split(messages: Iterable[Any]) -> Tuple[List[Message], List[str]]:
    """
    @return: The log messages, and a line for each of the others.
    """
    valid: List[Message] = []
    invalid: List[str] = []
    for message in messages:
        reason = check_message(message)
        if reason is None:
            valid.append(message)
        else:
            invalid.append(f"not a log message ({reason}): {safe_repr(message, MAX_VALUE_LENGTH)}")
    return valid, invalid


def _draw_tasks(messages: List[Message]) -> List[str]:
    """
    Draw valid messages with the renderer of C{txcausal tree}; a task it
    fails to draw is listed message by message instead.
    """
    from ._cli._text import ASCII
    from ._cli._tree_text import TreeOptions, TreeRenderer
    from ._parse import parse_messages

    renderer = TreeRenderer(TreeOptions(field_limit=MAX_VALUE_LENGTH, glyphs=ASCII))
    lines: List[str] = []
    for task in parse_messages(messages):
        parts: List[str] = []
        try:
            renderer.task(task, parts)
        except Exception as e:
            parts = [f"{task.uuid} (could not be drawn: {safe_repr(e, MAX_VALUE_LENGTH)})\n"]
            parts.extend(f"  {safe_repr(m, MAX_VALUE_LENGTH)}\n" for m in task.messages())
        lines.extend("".join(parts).splitlines())
    while lines and not lines[-1]:
        lines.pop()
    return lines


def render_captured(messages: Iterable[Any], encoder: Optional[JSONLineEncoder] = None) -> str:
    """
    Draw captured messages as trees, one per task, then a line for each
    message that is not a log message.

    @param messages: Message dictionaries, serialized or not.
    @param encoder: The encoder that makes them JSON (the default one if
        C{None}).
    @return: The drawing, at most L{MAX_TREE_LINES} lines (and one saying
        how many more there were).
    """
    encoder = encoder if encoder is not None else JSONLineEncoder()
    try:
        valid, invalid = _split(_as_logged(message, encoder) for message in messages)
        lines = _draw_tasks(valid) + invalid
    except Exception as e:  # A bug here must not hide the test's failure.
        lines = [f"(the captured messages could not be drawn: {safe_repr(e, MAX_VALUE_LENGTH)})"]
    if len(lines) > MAX_TREE_LINES:
        hidden = len(lines) - MAX_TREE_LINES
        lines = lines[:MAX_TREE_LINES] + [f"... and {hidden} more lines"]
    return "\n".join(lines)


def logged_tree(logger: MemoryLogger) -> str:
    """
    @return: What C{logger} captured, drawn by L{render_captured} under a
        heading.
    """
    shown = [_display(message, serializer) for message, serializer in logger._pairs()]
    if not shown:
        return "Captured log messages: none"
    drawing = render_captured(shown, logger._encoder)
    return f"Captured log messages ({len(shown)}):\n{drawing}"
