# -*- test-case-name: txcausal.test.test_bench -*-
"""
One run of scenario 5 in a process of its own (a reactor runs once per
process): C{python -m bench._writer_child LIBRARY MODE COUNT DIRECTORY}
prints one JSON object.

  - C{fast}: a real file; the caller-side cost per message while logging
    C{COUNT} messages, and the throughput until all are written.
  - C{slow}: a file whose every write takes 20 ms; the reactor's loop lag
    (p50, p99, max) while the application logs 1,000 messages a second.
"""

from __future__ import annotations

import json
import os
import sys
import time
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Dict, List

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import react
from twisted.python.threadpool import ThreadPool

#: How long each write to the slow file takes.
SLOW_WRITE = 0.020
#: Interval of the loop-lag probe.
PROBE_INTERVAL = 0.001


class SlowFile:
    """
    A binary file whose writes take L{SLOW_WRITE} seconds (a slow disk).
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "wb")
        self.mode = "wb"
        self.name = str(path)

    def write(self, data: bytes) -> int:
        time.sleep(SLOW_WRITE)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()


class PrivatePool:
    """
    The reactor, but with a thread pool of its own: a writer given it in
    place of the reactor (Eliot's C{ThreadedWriter} stops through the
    reactor's pool) leaves no thread behind once L{close} has run, so that a
    warm-up does not change which threads the next timing runs beside.
    """

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=0, maxthreads=1, name="bench-private")
        self._pool.start()

    def getThreadPool(self) -> ThreadPool:
        return self._pool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)

    def close(self) -> None:
        """
        Stop the pool and join its thread, if it started one.
        """
        self._pool.stop()


def start_writer(library: str, file: Any, reactor: Any) -> Any:
    """
    @return: A started C{ThreadedWriter} of C{library} ("txcausal" or
        "eliot") around its file destination on C{file}.
    """
    if library == "txcausal":
        import txcausal
        from txcausal.logwriter import ThreadedWriter

        writer: Any = ThreadedWriter(txcausal.FileDestination(file), reactor)
    elif library == "eliot":
        import eliot
        from eliot.logwriter import ThreadedWriter as EliotThreadedWriter

        writer = EliotThreadedWriter(eliot.FileDestination(file=file), reactor)
    else:
        raise ValueError(f"unknown library {library!r}")
    writer.startService()
    return writer


def _writer(library: str, file: Any, reactor: Any) -> Any:
    """
    @return: A started C{ThreadedWriter} of C{library} around a file
        destination on C{file}, and the library's C{log_message}.
    """
    writer = start_writer(library, file, reactor)
    return writer, import_module(library).log_message


def _sleep(reactor: Any, seconds: float) -> "Deferred[None]":
    d: Deferred[None] = Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d


@inlineCallbacks
def fast(reactor: Any, library: str, count: int, directory: Path) -> Any:
    """
    Log C{count} messages from the reactor thread, then stop the writer.
    """
    writer, log_message = _writer(library, open(directory / "fast.log", "wb"), reactor)
    yield _sleep(reactor, 0.05)
    start = time.perf_counter()
    for i in range(count):
        log_message("bench:message", key="value", count=i)
    logged = time.perf_counter()
    yield writer.stopService()
    written = time.perf_counter()
    return {"caller_us": (logged - start) / count * 1e6,
            "throughput": count / (written - start)}


def _probe(reactor: Any, lags: List[float], until: float) -> None:
    """
    Schedule a call every L{PROBE_INTERVAL}, recording how late each runs.
    """
    def tick(expected: float) -> None:
        now = time.perf_counter()
        lags.append(now - expected)
        if now < until:
            reactor.callLater(PROBE_INTERVAL, tick, time.perf_counter() + PROBE_INTERVAL)

    reactor.callLater(PROBE_INTERVAL, tick, time.perf_counter() + PROBE_INTERVAL)


@inlineCallbacks
def slow(reactor: Any, library: str, seconds: float, directory: Path) -> Any:
    """
    Log 10 messages every 10 ms for C{seconds} to a slow file, probing the
    loop lag meanwhile.
    """
    writer, log_message = _writer(library, SlowFile(directory / "slow.log"), reactor)
    lags: List[float] = []
    until = time.perf_counter() + seconds
    _probe(reactor, lags, until)
    while time.perf_counter() < until:
        for i in range(10):
            log_message("bench:message", key="value", count=i)
        yield _sleep(reactor, 0.010)
    yield _sleep(reactor, 0.01)
    lags.sort()
    ms = [lag * 1000 for lag in lags]
    return {"p50_ms": ms[len(ms) // 2], "p99_ms": ms[int(len(ms) * 0.99)], "max_ms": ms[-1]}


def report(figures: Dict[str, float]) -> None:
    """
    Print C{figures} as one JSON line, and exit at once: writer threads may
    still hold a backlog of slow writes, which nobody waits for.
    """
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()
    os._exit(0)


def main(reactor: Any, library: str, mode: str, amount: str, directory: str) -> Any:
    run: Callable[..., Any] = fast if mode == "fast" else slow
    number: Any = int(amount) if mode == "fast" else float(amount)
    return run(reactor, library, number, Path(directory)).addCallback(report)


if __name__ == "__main__":
    react(main, sys.argv[1:])
