"""
What the Dask tests run in other processes: importing this module (as a
worker does, to unpickle these functions) imports txcausal only.
"""

from __future__ import annotations

import os

from txcausal import log_call, to_file


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


def log_to_directory(directory: str) -> None:
    """
    Log this process's messages to a file of its own in C{directory}.
    """
    to_file(open(os.path.join(directory, f"{os.getpid()}.log"), "ab"))
