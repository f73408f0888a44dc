"""
A task that spans threads: preserve_context() carries the current action
into a worker thread, whose messages land in the same tree.

    python examples/cross_thread.py | txcausal tree
"""

import sys
import threading

from txcausal import log_message, preserve_context, start_action, to_file


def resize(name: str, size: int) -> None:
    with start_action(action_type="images:resize", name=name, size=size):
        log_message(message_type="images:resize:done", pixels=size * size)


def main() -> None:
    to_file(sys.stdout)
    with start_action(action_type="images:batch"):
        threads = [
            threading.Thread(target=preserve_context(resize), args=(name, size))
            for name, size in [("cat.png", 64), ("dog.png", 128)]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


if __name__ == "__main__":
    main()
