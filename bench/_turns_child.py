# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenarios 11, 14 and 15 for one contender in a process of its own:
C{python -m bench._turns_child LIBRARY CONFIG MODE AMOUNT DIRECTORY} prints
one JSON object.

C{LIBRARY} is C{txcausal}, C{eliot} or C{none} (the same work, nothing
logged: the baseline the parent subtracts); C{CONFIG} is C{file} (the
library's file destination, written on the logging thread) or C{threaded}
(its C{ThreadedWriter} around it), and for txcausal C{minimal} too (a
L{MinimalThread}: a minimal writer thread that always lingers 5 ms after a
wake-up), and C{sleeping} and C{waking}: its file destination beside an
L{IdleThread} that never wakes, or that wakes every 5 ms and does nothing
(what a thread costs the reactor thread, whatever it does).  C{MODE}:

  - C{turns}: C{AMOUNT} requests, one per reactor turn (a request is an
    action and one message in it, three messages), then, in the same
    process, the same requests made by 4 threads at once (C{AMOUNT} in
    all, a quarter each);
  - C{slow}: one message every 100 ms (10 a second) for C{AMOUNT} seconds.

Every figure is CPU time per operation (request or message): C{cpu_us},
the process's (every thread's), from the first operation until every
message is written (C{stopService} has fired; at the low rate, 200 ms after
the last message, when the file is checked to hold them all), and
C{reactor_us}, the reactor thread's alone.  Each timed run is preceded by a
warm-up through a writer of its own.  Every C{ThreadedWriter} stops through
a thread pool of its own, joined once it has stopped (Eliot's stops through
the reactor's pool, whose thread would outlive it), so that every
contender, the baseline included, is timed with no thread but its own; the
file must hold every message logged, or the run fails.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Dict, Generator, List, Optional

import orjson
from attrs import define
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.task import LoopingCall, react

from ._peers import FIELDS, MESSAGE_TYPE
from ._threaded_child import check_written
from ._writer_child import PrivatePool, report, start_writer

#: Messages a request logs: an action's start and finish, one message.
REQUEST_MESSAGES = 3
#: Requests (or messages, at the low rate) of each warm-up.
WARMUP = 200
#: Threads logging at once.
THREADS = 4
#: The low rate: one message every this many seconds.
SLOW_INTERVAL = 0.1
#: How long after the last message at the low rate the file is checked.
SETTLE = 0.2


def request_op(library: str) -> Callable[[], None]:
    """
    @return: What one request logs with C{library}: an action with one
        message in it; nothing for C{none}.
    """
    if library == "none":
        return _nothing
    module = import_module(library)
    start_action, log_message = module.start_action, module.log_message

    def request() -> None:
        with start_action(action_type="bench:request", path="/items/1"):
            log_message(MESSAGE_TYPE, **FIELDS)

    return request


def message_op(library: str) -> Callable[[], None]:
    """
    @return: Logging one message outside any action with C{library};
        nothing for C{none}.
    """
    if library == "none":
        return _nothing
    log_message = import_module(library).log_message
    return lambda: log_message(MESSAGE_TYPE, **FIELDS)


def _nothing() -> None:
    pass


class MinimalThread:
    """
    A minimal writer thread for txcausal's messages that always lingers 5 ms
    after a wake-up, to compare
    L{ThreadedWriter<txcausal.logwriter.ThreadedWriter>} with: each message
    encoded by orjson on the thread that logs, checked for C{null} as
    txcausal's destinations check it (a float that is not finite), and
    appended to one buffer under a lock.  The thread sleeps until a message
    finds the buffer empty and wakes it; it then lingers L{LINGER} seconds
    for more, whether or not messages keep coming (C{ThreadedWriter}
    lingers only while they do), takes the buffer and writes it, and goes
    back to sleep unless more came meanwhile.  No bound, no count, no
    report, no flush.
    """

    #: How long the thread waits, once woken, for more messages to write
    #: with the first (C{ThreadedWriter}'s default C{linger}).
    LINGER = 0.005

    def __init__(self, file: Any) -> None:
        self._fd = file.fileno()
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __call__(self, message: Dict[str, Any]) -> None:
        data = orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE)
        if data.partition(b"null")[1]:
            pass  # txcausal's destinations would look at the message again.
        with self._lock:
            empty = not self._buffer
            self._buffer += data
        if empty:
            self._wake.set()

    def _take(self) -> bytearray:
        with self._lock:
            taken, self._buffer = self._buffer, bytearray()
        return taken

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._stopping.wait(self.LINGER)
            # Cleared before the buffer is taken: a message that finds it
            # empty afterwards wakes the thread again.
            self._wake.clear()
            taken = self._take()
            if taken:
                os.write(self._fd, taken)

    def stop(self) -> None:
        """
        Stop the thread and write what it had not written.
        """
        self._stopping.set()
        self._wake.set()
        self._thread.join()
        os.write(self._fd, self._take())


class IdleThread:
    """
    A thread that does nothing: it waits, for ever or C{interval} seconds
    at a time, until stopped.  Beside a file destination, it shows what a
    thread costs the reactor thread even when it does no work: its mere
    existence (the C library's single-thread fast paths are gone) and, if
    it wakes, its wake-ups.
    """

    def __init__(self, interval: Optional[float]) -> None:
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            pass

    def stop(self) -> None:
        """
        Stop the thread.
        """
        self._stopping.set()
        self._thread.join()


#: The idle threads beside a file destination, by configuration: how long
#: each waits at a time (C{None}: until stopped).
IDLE_CONFIGS = {"sleeping": None, "waking": 0.005}


@define
class Output:
    """
    Where one contender's messages go: its file destination, or its
    C{ThreadedWriter} around one, or nowhere (C{none}).
    """

    library: str
    config: str
    file: Any
    reactor: Any
    writer: Any = None
    destination: Any = None
    idle: Optional[IdleThread] = None
    pool: Optional[PrivatePool] = None

    def start(self) -> None:
        """
        Register the destination, or start a fresh writer.
        """
        if self.library == "none":
            return
        if self.config == "threaded":
            self.pool = PrivatePool(self.reactor)
            self.writer = start_writer(self.library, self.file, self.pool)
        elif self.config == "minimal":
            import txcausal

            self.destination = MinimalThread(self.file)
            txcausal.add_destinations(self.destination)
        elif self.library == "txcausal":
            import txcausal

            if self.config in IDLE_CONFIGS:
                self.idle = IdleThread(IDLE_CONFIGS[self.config])
            self.destination = txcausal.to_file(self.file)
        else:
            import eliot
            from eliot._output import Logger

            eliot.to_file(self.file)
            self.destination = Logger._destinations._destinations[-1]

    def stop(self) -> "Deferred[Any]":
        """
        Unregister the destination, or stop the writer.

        @return: A L{Deferred} firing once every message is written.
        """
        if self.writer is not None:
            writer, self.writer = self.writer, None
            return writer.stopService()  # type: ignore[no-any-return]
        if self.destination is not None:
            remove = import_module(self.library).remove_destination
            destination, self.destination = self.destination, None
            remove(destination)
            if isinstance(destination, MinimalThread):
                destination.stop()
        if self.idle is not None:
            idle, self.idle = self.idle, None
            idle.stop()
        return succeed(None)

    def release(self) -> None:
        """
        Once L{stop}'s L{Deferred} has fired, join the writer's pool thread,
        so that none is left beside the next run.
        """
        if self.pool is not None:
            pool, self.pool = self.pool, None
            pool.close()


def one_per_turn(reactor: Any, op: Callable[[], None], count: int) -> "Deferred[None]":
    """
    Call C{op} C{count} times, once per reactor turn.

    @return: A L{Deferred} firing after the last call.
    """
    done: Deferred[None] = Deferred()
    remaining = [count]

    def turn() -> None:
        op()
        remaining[0] -= 1
        if remaining[0]:
            reactor.callLater(0, turn)
        else:
            done.callback(None)

    reactor.callLater(0, turn)
    return done


def in_threads(op: Callable[[], None], count: int) -> "Deferred[None]":
    """
    Call C{op} C{count} times in all, from L{THREADS} threads at once,
    blocking until they are done.
    """
    barrier = threading.Barrier(THREADS)

    def run() -> None:
        barrier.wait()
        for _ in range(count // THREADS):
            op()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return succeed(None)


def at_low_rate(reactor: Any, op: Callable[[], None], count: int) -> "Deferred[None]":
    """
    Call C{op} C{count} times, one every L{SLOW_INTERVAL} seconds, then wait
    L{SETTLE} seconds.
    """
    calls = [0]

    def tick() -> None:
        op()
        calls[0] += 1
        if calls[0] == count:
            loop.stop()

    loop = LoopingCall(tick)
    loop.clock = reactor
    done: Deferred[None] = Deferred()
    loop.start(SLOW_INTERVAL, now=False).addCallback(
        lambda _: reactor.callLater(SETTLE, done.callback, None))
    return done


@inlineCallbacks
def timed(output: Output, run: Callable[[int], "Deferred[None]"], op_messages: int,
          count: int, warmup: int, path: Path,
          written_before_stop: bool = False) -> Generator[Any, Any, Dict[str, float]]:
    """
    Warm up through a writer of its own, then time C{run(count)} through a
    fresh one until every message is written.

    @param written_before_stop: Stop the clocks when C{run} is done (the
        messages must be written by then), rather than when the output has
        stopped.
    @return: C{cpu_us} and C{reactor_us} per operation.
    """
    logged = 0 if output.library == "none" else op_messages
    output.start()
    yield run(warmup)
    yield output.stop()
    output.release()
    output.start()
    writer = output.writer
    gc.collect()
    cpu, reactor = time.process_time(), time.thread_time()
    yield run(count)
    if written_before_stop:
        cpu, reactor = time.process_time() - cpu, time.thread_time() - reactor
        check_written(path, writer, (warmup + count) * logged)
        yield output.stop()
    else:
        yield output.stop()
        cpu, reactor = time.process_time() - cpu, time.thread_time() - reactor
    output.release()
    check_written(path, writer, (warmup + count) * logged)
    return {"cpu_us": cpu / count * 1e6, "reactor_us": reactor / count * 1e6}


@inlineCallbacks
def turns(reactor: Any, library: str, config: str, count: int,
          directory: Path) -> Generator[Any, Any, Dict[str, float]]:
    """
    Requests one per reactor turn, then from L{THREADS} threads at once.
    """
    figures: Dict[str, float] = {}
    op = request_op(library)
    runs: List[Any] = [("turns", lambda n: one_per_turn(reactor, op, n)),
                       ("threads", lambda n: in_threads(op, n))]
    for name, run in runs:
        path = directory / f"{name}.log"
        with open(path, "wb") as file:
            timing = yield timed(Output(library, config, file, reactor), run,
                                 REQUEST_MESSAGES, count, min(count, WARMUP), path)
        figures.update((f"{name}_{key}", value) for key, value in timing.items())
    return figures


@inlineCallbacks
def slow(reactor: Any, library: str, config: str, seconds: float,
         directory: Path) -> Generator[Any, Any, Dict[str, float]]:
    """
    One message every L{SLOW_INTERVAL} seconds for C{seconds}.
    """
    op = message_op(library)
    path = directory / "slow.log"
    with open(path, "wb") as file:
        timing = yield timed(
            Output(library, config, file, reactor), lambda n: at_low_rate(reactor, op, n), 1,
            max(1, round(seconds / SLOW_INTERVAL)), 3, path, written_before_stop=True)
    return {f"slow_{key}": value for key, value in timing.items()}


def main(reactor: Any, library: str, config: str, mode: str, amount: str,
         directory: str) -> "Deferred[None]":
    if not (library == "txcausal" and (config == "minimal" or config in IDLE_CONFIGS)) and (
            library not in ("txcausal", "eliot", "none") or config not in ("file", "threaded")):
        raise ValueError(f"unknown contender {library} {config}")
    d: Deferred[Dict[str, float]]
    if mode == "turns":
        d = turns(reactor, library, config, int(amount), Path(directory))
    elif mode == "slow":
        d = slow(reactor, library, config, float(amount), Path(directory))
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return d.addCallback(report)


if __name__ == "__main__":
    react(main, sys.argv[1:])
