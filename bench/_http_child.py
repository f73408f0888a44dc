# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 12, one round: a treq client and a twisted.web server on loopback,
each in a process of its own, making the same request plain and traced.

C{python -m bench._http_child CONFIG REQUESTS BLOCKS DIRECTORY} is the
client: it starts the server (C{python -m bench._http_child --server CONFIG
DIRECTORY}, which prints its port), then makes C{BLOCKS} blocks of
C{REQUESTS} requests of each kind, one at a time on one persistent
connection, the kinds taking turns block by block in the orders of
L{order} (over six blocks, each kind as often in each place and right after
each other kind), and prints one JSON object: for each kind, the client's and the
server's CPU time per request (C{plain_client_us}, C{traced_server_us}...).
The server reports its own CPU time (C{time.process_time}, every thread's)
at C{/cpu}, asked before and after each block.  Before each block, both
processes collect their garbage (the client asks the server at
C{/collect}), outside the block's timing: the objects left by start-up and
the blocks before are never collected inside the block of whichever kind
happens to cross the collector's threshold (a full collection costs tens of
milliseconds here: one or two hundred microseconds a request of the block it
lands in, some tens a request over a round's blocks of that kind).

  - plain: C{treq.get} and C{treq.content}, against a C{twisted.web}
    resource (C{/plain});
  - traced: C{txcausal.treq.get} and C{treq.content}, against the same
    resource wrapped in C{txcausal.web.TracingResource} (C{/traced});
  - floor: the same headers and lines written by hand, no library
    (L{bench._http_floor}): its client's C{get} and C{treq.content},
    against the same resource wrapped in its C{FloorResource} (C{/floor}).

Both processes write their messages with a C{FileDestination} (C{CONFIG}
C{file}) or through a C{ThreadedWriter} around one (C{threaded}), and the
run fails unless both files hold every message in the end (the client asks
the server to stop its writer at C{/flush}).  The floor writes directly to
files of its own (C{client-floor.log}, C{server-floor.log}) in either
configuration; the run fails unless they hold every line too, unless each
request's lines have the keys of txcausal's traced request's in the same
place and the same values (but for the task, times, URL and path), unless
each server continued its client's tasks, and unless the headers the server
received with its first traced and first hand-written request (recorded by
its root resource, asked for at C{/received}) are the C{X-Eliot-Task-Id}
and C{traceparent} txcausal derives for the task of the client's first
line (L{bench._http_check}).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from itertools import permutations
from pathlib import Path
from typing import Any, Dict, Generator, List, Optional, Sequence

import orjson
import treq
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater, react
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from ._http_check import check_continued, check_like, check_received
from ._http_floor import FloorClient, FloorResource
from ._threaded_child import check_written
from ._turns_child import Output
from ._writer_child import report

#: The kinds of request, in the order of the first block.
KINDS = ["plain", "traced", "floor"]
#: The orders of the blocks, in turn: every order of the kinds, so that over
#: six blocks each comes as often first, second and last, and right after
#: each other kind.
ORDERS = [list(kinds) for kinds in permutations(KINDS)]
#: The headers the server records, as the check names them.
RECORDED = (b"X-Eliot-Task-Id", b"traceparent")
#: Requests of each kind before the first block.
WARMUP = 50
#: Messages a traced request (or a floor's) logs in each process: its
#: action's start and finish.
MESSAGES = 2
#: How long each block waits after its last request, inside its timing:
#: four times C{ThreadedWriter}'s linger, so that its writer threads have
#: written the block's messages before the block's clocks are read, and their
#: work counts in the block that logged them, not in the next.
SETTLE = 0.02


class Hello(Resource):
    """
    The resource requested: a few bytes.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"hello, world\n"


class CPU(Resource):
    """
    The server's CPU time so far, in seconds.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return repr(time.process_time()).encode("ascii")


class Collect(Resource):
    """
    Collects the server's garbage, then answers: asked before each block.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return str(gc.collect()).encode("ascii")


def order(block: int) -> List[str]:
    """
    @return: The kinds of request in the order block C{block} makes them.
    """
    return ORDERS[block % len(ORDERS)]


class Root(Resource):
    """
    The root resource, recording the headers of the first request to each
    of C{/traced} and C{/floor} (every request pays the same test of an
    empty set once both are recorded).
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.received: Dict[str, Dict[str, Optional[List[str]]]] = {}
        self._pending = {b"traced", b"floor"}

    def getChildWithDefault(self, path: bytes, request: Request) -> Any:
        if self._pending and path in self._pending:
            self._pending.discard(path)
            self.received[path.decode("ascii")] = {
                name.decode("ascii"): _text(request.requestHeaders.getRawHeaders(name))
                for name in RECORDED}
        return super().getChildWithDefault(path, request)  # type: ignore[no-untyped-call]


def _text(values: Optional[Sequence[bytes]]) -> Optional[List[str]]:
    return None if values is None else [value.decode("latin-1") for value in values]


class Received(Resource):
    """
    The headers the root recorded, as JSON.
    """

    isLeaf = True

    def __init__(self, root: Root) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._root = root

    def render_GET(self, request: Request) -> bytes:
        return orjson.dumps(self._root.received)


class Flush(Resource):
    """
    Stops the output (every message written), then answers.
    """

    isLeaf = True

    def __init__(self, output: Output) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._output = output

    def render_GET(self, request: Request) -> object:
        def done(_: object) -> None:
            request.write(b"flushed")  # type: ignore[no-untyped-call]
            request.finish()  # type: ignore[no-untyped-call]

        self._output.stop().addCallback(done)
        return NOT_DONE_YET


def serve(reactor: Any, config: str, directory: str) -> "Deferred[None]":
    """
    Serve C{/plain}, C{/traced}, C{/floor}, C{/cpu}, C{/collect},
    C{/received} and C{/flush} on loopback, print the port and run until killed.
    """
    from txcausal.web import TracingResource

    output = Output("txcausal", config, open(Path(directory) / "server.log", "wb"), reactor)
    output.start()
    root = Root()
    root.putChild(b"plain", Hello())  # type: ignore[no-untyped-call]
    root.putChild(b"traced", TracingResource(Hello()))  # type: ignore[no-untyped-call]
    floor = os.open(Path(directory) / "server-floor.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    root.putChild(b"floor", FloorResource(Hello(), floor))  # type: ignore[no-untyped-call]
    root.putChild(b"cpu", CPU())  # type: ignore[no-untyped-call]
    root.putChild(b"collect", Collect())  # type: ignore[no-untyped-call]
    root.putChild(b"received", Received(root))
    root.putChild(b"flush", Flush(output))
    port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")  # type: ignore[no-untyped-call]
    print(port.getHost().port, flush=True)
    return Deferred()


@inlineCallbacks
def _fetch(get: Any, url: str) -> Generator[Any, Any, bytes]:
    response = yield get(url)
    body: bytes = yield treq.content(response)
    return body


@inlineCallbacks
def _block(reactor: Any, get: Any, url: str, base: str,
           count: int) -> Generator[Any, Any, List[float]]:
    """
    Collect both processes' garbage, then make C{count} requests one after
    the other and wait L{SETTLE} seconds.

    @param base: The server's URL, without a path.
    @return: The client's CPU time and the server's over the block.
    """
    yield _fetch(treq.get, f"{base}/collect")
    gc.collect()
    cpu_url = f"{base}/cpu"
    server = float((yield _fetch(treq.get, cpu_url)))
    client = time.process_time()
    for _ in range(count):
        yield _fetch(get, url)
    yield deferLater(reactor, SETTLE, lambda: None)
    client = time.process_time() - client
    server = float((yield _fetch(treq.get, cpu_url))) - server
    return [client, server]


@inlineCallbacks
def client(reactor: Any, config: str, requests: int, blocks: int,
           directory: str) -> Generator[Any, Any, Dict[str, float]]:
    """
    Start the server, time the blocks, check the logs.
    """
    import txcausal.treq

    server = subprocess.Popen([sys.executable, "-m", "bench._http_child", "--server", config,
                               directory], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{int(server.stdout.readline())}"
        output = Output("txcausal", config, open(Path(directory) / "client.log", "wb"), reactor)
        output.start()
        floor = os.open(Path(directory) / "client-floor.log",
                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        gets = {"plain": treq.get, "traced": txcausal.treq.get, "floor": FloorClient(floor).get}
        totals = {f"{kind}_{side}": 0.0 for kind in KINDS for side in ("client", "server")}
        for kind in KINDS:
            yield _block(reactor, gets[kind], f"{base}/{kind}", base, WARMUP)
        for block in range(blocks):
            for kind in order(block):
                spent = yield _block(reactor, gets[kind], f"{base}/{kind}", base, requests)
                totals[f"{kind}_client"] += spent[0]
                totals[f"{kind}_server"] += spent[1]
        received = orjson.loads((yield _fetch(treq.get, f"{base}/received")))
        yield _fetch(treq.get, f"{base}/flush")
        yield output.stop()
        os.close(floor)
        traced = (WARMUP + requests * blocks) * MESSAGES
        files = Path(directory)
        for side in ("client", "server"):
            check_written(files / f"{side}.log", None, traced)
            check_written(files / f"{side}-floor.log", None, traced)
            check_like(files / f"{side}.log", files / f"{side}-floor.log")
        check_continued(files / "client.log", files / "server.log")
        check_continued(files / "client-floor.log", files / "server-floor.log")
        check_received(received["traced"], files / "client.log")
        check_received(received["floor"], files / "client-floor.log")
    finally:
        server.kill()
        server.wait()
    return {f"{name}_us": total / (requests * blocks) * 1e6 for name, total in totals.items()}


def main(reactor: Any, *argv: str) -> Any:
    if argv[0] == "--server":
        return serve(reactor, argv[1], argv[2])
    config, requests, blocks, directory = argv
    return client(reactor, config, int(requests), int(blocks), directory).addCallback(report)


if __name__ == "__main__":
    react(main, sys.argv[1:])
