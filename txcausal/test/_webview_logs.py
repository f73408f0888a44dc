"""
Logs with known shapes and times for the web view's tests: a task across
two processes, a failing task, a task with markup in a field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import orjson

from txcausal._cli._text import _ESCAPES

Message = Dict[str, Any]

#: The task that runs in two processes.
JOINED = "7b1f2a34-0000-4000-8000-000000000001"
#: A task whose inner action fails.
FAILING = "7b1f2a34-0000-4000-8000-000000000002"
#: A task with markup in a field.
MARKUP = "7b1f2a34-0000-4000-8000-000000000003"
#: A task with bidirectional overrides, control characters, a field
#: named C{__proto__} and a time out of any calendar's range.
HOSTILE = "7b1f2a34-0000-4000-8000-000000000004"
#: Reverses the display of what follows it, up to the end of the paragraph.
RLO = "\u202e"
#: Every character C{txcausal tree} escapes but newlines and tabs (which the
#: page keeps), each between two letters.
ESCAPED_TEXT = "".join(f"{chr(code)}x" for code in sorted(_ESCAPES) if chr(code) not in "\n\t")
#: What the markup field holds.
MARKUP_TEXT = "<img src=x onerror=\"document.title='pwned'\"><script>window.pwned=1</script>"


def message(uuid: str, level: List[int], when: float, **fields: Any) -> Message:
    """
    A message of task C{uuid} at C{level}, logged at C{when}.
    """
    return {"task_uuid": uuid, "task_level": level, "timestamp": when, **fields}


def started(uuid: str, level: List[int], when: float, kind: str, **fields: Any) -> Message:
    """
    The start of an action.
    """
    return message(uuid, level, when, action_type=kind, action_status="started", **fields)


def finished(
    uuid: str, level: List[int], when: float, kind: str, status: str = "succeeded", **fields: Any
) -> Message:
    """
    The end of an action.
    """
    return message(uuid, level, when, action_type=kind, action_status=status, **fields)


def client_messages(base: float = 1000.0) -> List[Message]:
    """
    The client's part of L{JOINED} (C{client:fetch}, 1 s, handing level
    C{/2} to the server), then L{FAILING} and L{MARKUP}.
    """
    return [
        started(JOINED, [1], base, "client:fetch", url="/work"),
        finished(JOINED, [3], base + 1.0, "client:fetch", remote_task_levels=["/2"]),
        started(FAILING, [1], base + 2.0, "shop:checkout", cart=7),
        started(FAILING, [2, 1], base + 2.1, "shop:charge", amount=950),
        finished(FAILING, [2, 2], base + 2.2, "shop:charge", "failed",
                 exception="builtins.ValueError", reason="over the card limit",
                 traceback="Traceback (most recent call last):\n  ...\nValueError: over"),
        finished(FAILING, [3], base + 2.3, "shop:checkout", "failed",
                 exception="builtins.ValueError", reason="over the card limit"),
        message(MARKUP, [1], base + 3.0, message_type="note", text=MARKUP_TEXT),
    ]


def server_messages(base: float = 1000.0) -> List[Message]:
    """
    The server's part of L{JOINED}: C{eliot:remote_task} (0.6 s) around
    C{server:work} (0.4 s).
    """
    return [
        started(JOINED, [2, 1], base + 0.2, "eliot:remote_task"),
        started(JOINED, [2, 2, 1], base + 0.3, "server:work", job="resize"),
        finished(JOINED, [2, 2, 2], base + 0.7, "server:work"),
        finished(JOINED, [2, 3], base + 0.8, "eliot:remote_task"),
    ]


def hostile_messages(base: float = 1000.0) -> List[Message]:
    """
    L{HOSTILE}: an action type with an unterminated right-to-left
    override, a field of control characters, a C{__proto__} field that
    looks like a failure on a succeeded action, and a lone message far
    past the year 9999.
    """
    forged = {"exception": "forged.Error", "reason": "forged"}
    return [
        {**started(HOSTILE, [1], base + 4.0, RLO + "gnp.exe"), "__proto__": forged},
        message(HOSTILE, [2], base + 4.1, message_type="note", ctrl="a\x00b\x1b[31mc\rd",
                hidden=ESCAPED_TEXT),
        {**finished(HOSTILE, [3], base + 4.2, RLO + "gnp.exe"), "__proto__": forged},
        message("7b1f2a34-0000-4000-8000-000000000005", [1], 1e300, message_type="far"),
    ]


def write_log(path: Path, messages: List[Message]) -> Path:
    """
    Write C{messages} as JSON lines to C{path}.
    """
    path.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in messages))
    return path


def append_log(path: Path, messages: List[Message]) -> None:
    """
    Append C{messages} as JSON lines to C{path}.
    """
    with path.open("ab") as f:
        f.write(b"".join(orjson.dumps(m) + b"\n" for m in messages))
