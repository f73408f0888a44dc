"""
Log one task across two processes, then read both logs as one tree.

Run it with a directory to write into (made if missing):

    python examples/reading_two_processes.py /tmp/logs
    txcausal tree /tmp/logs/parent.log /tmp/logs/worker.log

The parent serializes its position in the task and hands it to a worker
process, which continues the task in its own log file.  The two files share
the task UUID, so the reader joins them into a single tree.
"""

import subprocess
import sys
from pathlib import Path

from txcausal import Action, log_message, start_task, to_file


def worker(task_id: str, log_path: Path) -> None:
    to_file(open(log_path, "a"))
    with Action.continue_task(task_id=task_id):
        log_message(message_type="worker:resized", width=640, height=480)


def parent(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    to_file(open(directory / "parent.log", "a"))
    with start_task(action_type="parent:thumbnail", image="cat.png") as action:
        task_id = action.serialize_task_id().decode("ascii")
        subprocess.run(
            [sys.executable, __file__, "--worker", task_id, str(directory / "worker.log")],
            check=True,
        )
        log_message(message_type="parent:stored", key="thumbs/cat.png")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], Path(sys.argv[3]))
    elif len(sys.argv) == 2:
        parent(Path(sys.argv[1]))
    else:
        sys.exit(f"usage: {sys.argv[0]} DIRECTORY  (writes parent.log and worker.log there)")
