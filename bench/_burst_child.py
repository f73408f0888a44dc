# -*- test-case-name: txcausal.test.test_bench -*-
"""
One run of scenario 10 in a process of its own (a reactor runs once per
process, and peak RSS is a process's):
C{python -m bench._burst_child LIBRARY COUNT THREADS RATE DIRECTORY} logs a
burst of C{COUNT} messages, in actions of 1,000, from C{THREADS} threads at
once, through the library's C{ThreadedWriter} at its default settings around
its file destination on a real file (which takes at most C{RATE} lines a
second, unless C{RATE} is 0); stops the writer; and prints one JSON object:
the messages lost (missing from the file), those the writer reported as
lost, the peak RSS growth and the seconds taken.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, List

import orjson
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import react

from ._writer_child import start_writer

#: Messages per action.
ACTION = 1000


class SlowFile:
    """
    A binary file that takes at most C{rate} lines a second, as a slow disk
    or a remote collector would: a write sleeps when it is ahead of that
    pace (by a millisecond at least, so that sleeping is accurate).
    """

    def __init__(self, path: Path, rate: int) -> None:
        self._file = open(path, "ab")
        self.mode = "ab"
        self.name = str(path)
        self._rate = rate
        self._due = time.perf_counter()

    def write(self, data: bytes) -> int:
        now = time.perf_counter()
        self._due = max(self._due, now) + data.count(b"\n") / self._rate
        if self._due - now > 0.001:
            time.sleep(self._due - now)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()


def rss_mib() -> float:
    """
    @return: The process's resident memory now, in MiB.
    """
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """
    @return: The process's peak resident memory so far, in MiB: Linux's
        C{VmHWM}, the peak of this program's memory.  Not C{ru_maxrss},
        which Linux keeps across C{execve}: in a child of the benchmark it
        is at least what the parent held when it started the child.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def log_burst(library: Any, thread: int, count: int) -> None:
    """
    Log C{count} messages, in actions of L{ACTION} messages.
    """
    for first in range(0, count, ACTION):
        with library.start_action(action_type="bench:burst", thread=thread, first=first):
            for n in range(first, min(first + ACTION, count)):
                library.log_message(message_type="bench:item", thread=thread, n=n)


def in_threads(threads: int, run: Callable[[int], None]) -> None:
    """
    Run C{run(index)} on C{threads} threads at once (or, for one, on this
    thread), and wait for them.
    """
    if threads == 1:
        run(0)
        return
    started = threading.Barrier(threads)

    def body(index: int) -> None:
        started.wait()
        run(index)

    workers: List[threading.Thread] = [threading.Thread(target=body, args=(index,))
                                       for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def items_written(path: Path) -> int:
    """
    @return: How many C{bench:item} messages the file holds.
    """
    return sum(1 for line in path.read_bytes().splitlines()
               if orjson.loads(line).get("message_type") == "bench:item")


@inlineCallbacks
def burst(reactor: Any, name: str, count: int, threads: int, rate: int,
          directory: Path) -> Any:
    """
    Log the burst, stop the writer, and measure.
    """
    library = import_module(name)
    path = directory / "burst.log"
    file: Any = SlowFile(path, rate) if rate else open(path, "ab")
    writer = start_writer(name, file, reactor)
    per_thread = count // threads
    log_burst(library, -1, ACTION)  # warm-up
    baseline = rss_mib()
    started = time.perf_counter()
    in_threads(threads, lambda index: log_burst(library, index, per_thread))
    yield writer.stopService()
    seconds = time.perf_counter() - started
    # Before reading the file, which takes memory of its own.
    growth = peak_rss_mib() - baseline
    lost = per_thread * threads + ACTION - items_written(path)
    return {"lost": lost, "reported": getattr(writer, "dropped", 0), "rss_mib": growth,
            "seconds": seconds}


def report(figures: Any) -> None:
    """
    Print C{figures} as one JSON line.
    """
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()


def main(reactor: Any, name: str, count: str, threads: str, rate: str,
         directory: str) -> Any:
    return burst(reactor, name, int(count), int(threads), int(rate),
                 Path(directory)).addCallback(report)


if __name__ == "__main__":
    react(main, sys.argv[1:])
