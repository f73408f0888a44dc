"""
Run C{txcausal web} as a subprocess for the end-to-end tests, and read the
address it prints.
"""

from __future__ import annotations

import re
import selectors
import subprocess
import sys
from typing import Any, List, Sequence, Tuple

from ._helpers import child_environment

_ADDRESS = re.compile(r"serving (http://\S+/)")


def start_web(
    files: List[str], test: Any, stdin: Any = subprocess.DEVNULL,
    python: Sequence[str] = ("-m", "txcausal"), extra: Sequence[str] = (),
) -> Tuple["subprocess.Popen[str]", str]:
    """
    Start C{python -m txcausal web --port 0 FILE...}, stopped when C{test}
    ends.

    @param stdin: What the command reads as standard input.
    @param python: The arguments of Python that run the command.
    @param extra: More options of the command.
    @return: The process and the address it serves.
    """
    env = child_environment()
    process = subprocess.Popen(
        [sys.executable, *python, "web", "--port", "0", *extra, *files],
        stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )

    def stop() -> None:
        process.terminate()
        process.communicate(timeout=30)

    test.addCleanup(stop)
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    if not selector.select(timeout=60):
        test.fail("txcausal web printed no address")
    line = process.stdout.readline()  # type: ignore[union-attr]
    found = _ADDRESS.search(line)
    if found is None:
        test.fail(f"txcausal web printed {line!r}, stderr {process.stderr.read()!r}")  # type: ignore[union-attr]
    return process, found.group(1)  # type: ignore[union-attr]
