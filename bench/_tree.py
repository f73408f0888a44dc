# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 7: reading a log of 100,000 messages and rendering every task as a
tree, C{txcausal tree} against C{eliot-tree}, each a command run in a fresh
process with its output sent to C{/dev/null} (start-up included), timed by
the CPU time it used.

The log is written by txcausal: tasks of 12 messages each (a request
action with a message, two child actions of two messages each, and
another message).

A second row, C{7 open tasks}, times C{txcausal tree} on a log of tasks that
never finish, with the default cap on open tasks and with a cap a hundred
times smaller: giving up the oldest open task takes constant time, so the
big cap costs about the same (it once took time proportional to the cap).

Both commands run with Python's bytecode cache on, as installed programs
do: with C{PYTHONDONTWRITEBYTECODE} set, a txcausal run from a checkout
would be compiled from source at every start (some 50 ms) while
eliot-tree's installed bytecode is used.  An untimed first run of txcausal
writes its cache.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from ._harness import Row, Settings, Workdir, compare, unavailable

ELIOT_TREE = "eliot-tree"
MESSAGES_PER_TASK = 12


def write_log(path: Path, messages: int) -> None:
    """
    Write a log of about C{messages} messages with txcausal.
    """
    import txcausal

    with open(path, "wb") as file:
        destination = txcausal.to_file(file)
        try:
            for _ in range(messages // MESSAGES_PER_TASK):
                _task(txcausal)
        finally:
            txcausal.remove_destination(destination)


def _task(txcausal: object) -> None:
    start_action = txcausal.start_action  # type: ignore[attr-defined]
    log_message = txcausal.log_message  # type: ignore[attr-defined]
    with start_action(action_type="bench:request", path="/items/42", method="GET"):
        log_message("bench:auth", user="alice")
        for row in range(2):
            with start_action(action_type="bench:query", table="items", row=row):
                log_message("bench:cache", hit=False)
                log_message("bench:rows", count=3)
        log_message("bench:render", size=1024)


def _commands(log: Path) -> Dict[str, List[str]]:
    """
    @return: The command line of each contender.
    """
    bindir = Path(sys.executable).parent
    eliot_tree = shutil.which("eliot-tree", path=str(bindir)) or shutil.which("eliot-tree")
    commands = {"txcausal": [sys.executable, "-m", "txcausal", "tree", "--no-color", str(log)]}
    if eliot_tree:
        commands[ELIOT_TREE] = [eliot_tree, "--color", "never", str(log)]
    return commands


def _time_command(command: List[str]) -> float:
    """
    @return: CPU seconds (user and system) the command took: robust to other
        load on a shared machine, and the same as its wall time on an idle
        one (it runs on one thread).
    @raise RuntimeError: If it fails.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=600, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.decode()[-2000:]}")
    return elapsed


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 7, or report it unavailable without C{txcausal tree}.
    """
    try:
        import txcausal._cli  # noqa: F401
        import txcausal.parse  # noqa: F401
    except ImportError:
        return [unavailable("7 tree", "parse + render 100k messages")]
    messages = 1_200 if settings.quick else 100_008
    log = workdir.fresh() / "tasks.log"
    write_log(log, messages)
    commands = _commands(log)
    # eliot-tree takes tens of seconds here: 2 runs of it, 5 of txcausal.
    order = ["txcausal", "txcausal", ELIOT_TREE, "txcausal", ELIOT_TREE, "txcausal", "txcausal"]
    if settings.quick:
        order = ["txcausal", ELIOT_TREE]
    samples: Dict[str, List[float]] = {name: [] for name in commands}
    _time_command(commands["txcausal"])  # Writes the bytecode cache.
    for name in order:
        if name in commands:
            samples[name].append(_time_command(commands[name]))
    figures = {name: statistics.median(values) for name, values in samples.items()}
    return [compare("7 tree", f"parse + render {messages:,} messages", "s", figures,
                    ELIOT_TREE, 20, note="whole command, CPU time, output to /dev/null"),
            _open_tasks(settings, workdir)]


def write_open_tasks(path: Path, tasks: int) -> None:
    """
    Write a log of C{tasks} tasks that start and never finish.
    """
    import orjson

    with open(path, "wb") as file:
        for number in range(tasks):
            uuid = f"{number:08x}-0000-4000-8000-000000000000"
            file.write(orjson.dumps({"task_uuid": uuid, "task_level": [1], "timestamp": number,
                                     "action_type": "bench:open", "action_status": "started"}))
            file.write(b"\n")


def _open_tasks(settings: Settings, workdir: Workdir) -> Row:
    """
    The row of open tasks: the default cap against a cap 100 times smaller.
    """
    tasks, cap = (2_000, 1_000) if settings.quick else (200_000, 100_000)
    log = workdir.fresh() / "open.log"
    write_open_tasks(log, tasks)
    command = [sys.executable, "-m", "txcausal", "tree", "--no-color", str(log), "--max-open"]
    small = f"--max-open {cap // 100:,}"
    samples: Dict[str, List[float]] = {"txcausal": [], small: []}
    for _ in range(1 if settings.quick else 3):
        samples["txcausal"].append(_time_command([*command, str(cap)]))
        samples[small].append(_time_command([*command, str(cap // 100)]))
    figures = {name: statistics.median(values) for name, values in samples.items()}
    return compare("7 open tasks", f"{tasks:,} never finished, --max-open {cap:,}", "s",
                   figures, small, 0.5, note="same command, cap 100x smaller; CPU time")
