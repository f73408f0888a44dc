"""
What the Dask tests run in other processes: importing this module (as a
worker does, to unpickle these functions) imports txcausal and
distributed only.
"""

from __future__ import annotations

import os

from distributed.diagnostics.plugin import WorkerPlugin

from txcausal import log_call, log_message, to_file


@log_call
def multiply(x: int, y: int = 7) -> int:
    return x * y


@log_call
def add(x: int, y: int) -> int:
    return x + y


class Scale:
    """
    Holds a class method, as DataFrame graphs do (their reductions).
    """

    factor = 6

    @classmethod
    def scale(cls, x: int) -> int:
        return x * cls.factor


def fail() -> None:
    raise ZeroDivisionError("nothing to divide")


def fail_once(x: int, mark: str) -> int:
    """
    Log; then, the first time any process runs it (while C{mark} does not
    exist), raise.
    """
    log_message("test:flaky", x=x)
    if not os.path.exists(mark):
        open(mark, "w").close()
        raise RuntimeError("first time fails")
    return x * 2


def log_to_directory(directory: str) -> None:
    """
    Log this process's messages to a file of its own in C{directory}.
    """
    to_file(open(os.path.join(directory, f"{os.getpid()}.log"), "ab"))


class LogToDirectory(WorkerPlugin):
    """
    Has every worker, those started later too, log to a file of its own.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def setup(self, worker: object) -> None:
        log_to_directory(self.directory)


def die_once(x: int, mark: str) -> int:
    """
    Log; then, for 3, the first time a process runs it (while C{mark} does
    not exist), end this process at once, as a worker killed for lack of
    memory ends: nothing more is written.
    """
    log_message("test:working", x=x)
    if x == 3 and not os.path.exists(mark):
        open(mark, "w").close()
        os._exit(1)
    return x * 2
