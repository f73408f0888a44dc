"""
Helpers for the tests of reading logs: messages and tasks to parse, log
lines, and the C{txcausal} command run in process or as a subprocess.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, List, Tuple, TypeVar

import orjson
from twisted.logger import Logger, jsonFileLogObserver
from twisted.python.failure import Failure

from txcausal._cli import main
from txcausal.parse import WrittenAction
from txcausal.test._helpers import run_python

Message = Dict[str, Any]
T = TypeVar("T")

# 2001-09-09 01:46:40 UTC
T0 = 1_000_000_000.0


def msg(uuid: str, level: List[int], ts: float, **fields: Any) -> Message:
    """
    A message of task C{uuid} at C{level}.
    """
    return dict(fields, task_uuid=uuid, task_level=level, timestamp=ts)


def start(uuid: str, level: List[int], ts: float, kind: str, **fields: Any) -> Message:
    return msg(uuid, level, ts, action_type=kind, action_status="started", **fields)


def end(
    uuid: str, level: List[int], ts: float, kind: str, status: str = "succeeded", **fields: Any
) -> Message:
    return msg(uuid, level, ts, action_type=kind, action_status=status, **fields)


def sample_task(uuid: str = "T") -> List[Message]:
    """
    A task: root action with a message, a child action with a message, and
    a failed child action, in log order.
    """
    return [
        start(uuid, [1], 10.0, "app:main", user="alice"),
        msg(uuid, [2], 10.1, message_type="app:note", n=1),
        start(uuid, [3, 1], 10.2, "app:child"),
        msg(uuid, [3, 2], 10.3, message_type="app:row"),
        end(uuid, [3, 3], 10.5, "app:child", result=42),
        start(uuid, [4, 1], 10.6, "app:fail"),
        end(uuid, [4, 2], 10.7, "app:fail", "failed", exception="builtins.KeyError", reason="k"),
        end(uuid, [5], 11.0, "app:main", duration=0.75),
    ]


def small_task(uuid: str = "T") -> List[Message]:
    """
    A task of three messages: a start with a field, a message with nested
    values, a failed finish with a two-line reason.
    """
    return [
        start(uuid, [1], T0, "app:main", user="alice"),
        msg(uuid, [2], T0 + 0.25, message_type="app:note", nested={"a": [1, {"b": "x"}]}),
        end(
            uuid,
            [3],
            T0 + 0.5,
            "app:main",
            "failed",
            exception="builtins.KeyError",
            reason="boom\nsecond line",
        ),
    ]


def shape(node: WrittenAction) -> Any:
    """
    A comparable summary of a tree: (type, status, children shapes).
    """
    children = [
        shape(c) if isinstance(c, WrittenAction) else c.get("message_type") for c in node.children
    ]
    return (node.action_type, node.status, children)


def only(items: List[T]) -> T:
    """
    The only item of a list.
    """
    if len(items) != 1:
        raise AssertionError(f"expected one item, got {len(items)}")
    return items[0]


def lines(*messages: Any) -> bytes:
    """
    Messages as JSON lines.
    """
    return b"".join(orjson.dumps(m) + b"\n" for m in messages)


def twisted_log(failure: bool = False) -> bytes:
    """
    Log one event with Twisted's JSON observer and return the bytes.
    """
    out = io.StringIO()
    log = Logger(namespace="app.web", observer=jsonFileLogObserver(out))
    if failure:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            log.failure("Request {n} failed", Failure(), n=7)
    else:
        log.info("Hello {who}", who="world")
    return out.getvalue().encode("utf-8")


#: Lines of trial's test.log: a txcausal message, trial's own events, and
#: an event of several lines with a traceback.
TRIAL_LOG = b"".join(
    line + b"\n"
    for line in [
        b"2026-12-06 04:58:39+0000 [-] Log opened.",
        b"2026-12-06 04:58:39+0000 [-] --> pkg.test_x.T.test_a <--",
        b"2026-12-06 04:58:39+0000 [-] " + lines(start("U", [1], 1796533119.2, "a")).strip(),
        b"2026-12-06 04:58:39+0000 [-] Unhandled Error",
        b"\tTraceback (most recent call last):",
        b'\t  File "x.py", line 1, in f',
        b"\tbuiltins.ValueError: bad",
        b"2026-12-06 04:58:40+0000 [HTTPChannel,0,127.0.0.1] "
        + lines(end("U", [2], 1796533119.3, "a")).strip(),
    ]
)


def cli(args: List[str], stdin: bytes = b"") -> Tuple[int, str, str]:
    """
    Run the command in process.

    @return: The exit status, standard output and standard error.
    """
    out, err = io.StringIO(), io.StringIO()
    status = main(args, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def txcausal(*args: str, cwd: Path, **kwargs: Any) -> "subprocess.CompletedProcess[str]":
    """
    Run C{python -m txcausal} as a subprocess.
    """
    return run_python(["-m", "txcausal", *args], cwd=cwd, timeout=120, **kwargs)


class OpenPipe:
    """
    A pipe whose writing end the test keeps open, as C{tail -f} would, and
    closes when it has seen what it waits for.  Should that never happen,
    a safety timer closes it after a minute, so that a broken reader fails
    its test instead of hanging the run.

    @ivar read_end: The file descriptor to read from.
    """

    def __init__(self, data: bytes = b"") -> None:
        self.read_end, self._write_end = os.pipe()
        self._lock = threading.Lock()
        self._closed = False
        os.write(self._write_end, data)
        self._timer = threading.Timer(60, self.close)
        self._timer.daemon = True
        self._timer.start()

    @property
    def closed(self) -> bool:
        """
        Whether the writing end was closed.
        """
        return self._closed

    def close(self) -> None:
        """
        Close the writing end (once).
        """
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._write_end)
        self._timer.cancel()
