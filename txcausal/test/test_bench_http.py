"""
Tests for scenario 12's hand-written tracing (C{bench/_http_floor.py}): it
sends txcausal's headers and writes lines with txcausal's keys, and the run
fails when it does less.  Nothing here asserts a timing.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional
from uuid import UUID

import orjson
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.test.requesthelper import DummyRequest

from txcausal import start_action
from txcausal._outgoing import outgoing
from txcausal.testing import MemoryLogger

from ._helpers import bench_root, run_python

#: A traced request's lines as txcausal writes them (client start, finish).
CLIENT_LINES = [
    {"method": "GET", "url": "http://127.0.0.1:1/traced", "action_type": "txcausal:http:client",
     "action_status": "started", "task_uuid": "b41ba162-efd7-484c-adb0-d2ded58e397b",
     "task_level": [1], "timestamp": 1796639449.1881778},
    {"status": 200, "action_status": "succeeded", "action_type": "txcausal:http:client",
     "duration": 0.00087, "remote_task_levels": ["/2"],
     "task_uuid": "b41ba162-efd7-484c-adb0-d2ded58e397b", "task_level": [3],
     "timestamp": 1796639449.189048},
]


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"hello"


class FloorTests(SynchronousTestCase):
    """
    The hand-written tracing does what txcausal's does for scenario 12's
    request, and the run checks that it does.
    """

    def setUp(self) -> None:
        root = str(bench_root())
        sys.path.insert(0, root)
        self.addCleanup(sys.path.remove, root)
        self.directory = Path(tempfile.mkdtemp(prefix="txcausal-test-bench-"))
        self.addCleanup(shutil.rmtree, self.directory)

    def write(self, name: str, lines: List[Dict[str, Any]]) -> Path:
        path = self.directory / name
        path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
        return path

    def test_sameHeadersAsTxcausal(self) -> None:
        """
        For the same task, the client sends the C{X-Eliot-Task-Id} and
        C{traceparent} values txcausal's client action sends.
        """
        from bench._http_floor import headers_for
        for _ in range(20):
            action = start_action(MemoryLogger(), "txcausal:http:client")
            sent = outgoing(action, None)
            floor = headers_for(action.task_uuid)
            for name in (b"X-Eliot-Task-Id", b"traceparent"):
                self.assertEqual(floor.getRawHeaders(name), sent.getRawHeaders(name))

    def test_newTasks(self) -> None:
        """
        Each task id is a fresh version 4 UUID in its usual text.
        """
        from bench._http_floor import new_uuid
        made = [new_uuid() for _ in range(100)]
        self.assertEqual(len(set(made)), 100)
        for text in made:
            self.assertEqual((str(UUID(text)), UUID(text).version, UUID(text).variant),
                             (text, 4, "specified in RFC 4122"))

    def render(self, headers: Dict[bytes, List[bytes]]) -> List[Dict[str, Any]]:
        """
        Render a request with C{headers} through a C{FloorResource}.

        @return: The lines it wrote.
        """
        from bench._http_floor import FloorResource
        path = self.directory / "server.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self.addCleanup(os.close, fd)
        request: Any = DummyRequest([b""])
        request.path = b"/floor"
        request.code = 200  # As a real Request's, which DummyRequest lacks.
        request.requestHeaders = Headers(headers)
        request.write(FloorResource(Hello(), fd).render(request))
        request.finish()
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]

    def test_serverContinuesTheTask(self) -> None:
        """
        The server's action continues the client's task under the position
        the header gives, as txcausal's does.
        """
        task = "b41ba162-efd7-484c-adb0-d2ded58e397b"
        lines = self.render({b"X-Eliot-Task-Id": [f"{task}@/2".encode()],
                             b"traceparent": [b"00-b41ba162efd7484cadb0d2ded58e397b-"
                                              b"77b73f39f47e8f2b-01"]})
        self.assertEqual([(line["action_type"], line["action_status"], line["task_uuid"],
                           line["task_level"]) for line in lines],
                         [("eliot:remote_task", "started", task, [2, 1]),
                          ("eliot:remote_task", "succeeded", task, [2, 2])])
        self.assertEqual((lines[0]["method"], lines[0]["path"], lines[1]["status"]),
                         ("GET", "/floor", 200))

    def test_serverRefusesMalformedTaskIds(self) -> None:
        """
        A malformed or repeated C{X-Eliot-Task-Id} is not continued: the
        request starts a task of its own.
        """
        task = "b41ba162-efd7-484c-adb0-d2ded58e397b"
        for values in ([f"{task}@/0".encode()], [f"{task}@/2x".encode()], [b"nonsense"],
                       [f"{task}@/2".encode()] * 2):
            lines = self.render({b"X-Eliot-Task-Id": values})
            self.assertNotEqual(lines[0]["task_uuid"], task, values)
            self.assertEqual([(line["action_type"], line["task_level"]) for line in lines],
                             [("txcausal:http:server", [1]), ("txcausal:http:server", [2])])

    def test_otherKeysFailTheCheck(self) -> None:
        """
        L{bench._http_check.check_like} refuses a floor whose lines lack a
        key of txcausal's, have one more, or another value where the value
        is not the task's, a time, the URL or the path; it accepts the same
        keys with those values differing.
        """
        from bench._http_check import check_like
        traced = self.write("client.log", CLIENT_LINES)
        same = [dict(line, task_uuid="other", timestamp=1.0) for line in CLIENT_LINES]
        same[0]["url"] = "http://127.0.0.1:1/floor"
        same[1]["duration"] = 0.5
        check_like(traced, self.write("same.log", same))
        fewer = [CLIENT_LINES[0], {k: v for k, v in CLIENT_LINES[1].items() if k != "duration"}]
        more = [CLIENT_LINES[0], dict(CLIENT_LINES[1], extra=1)]
        other = [CLIENT_LINES[0], dict(CLIENT_LINES[1], task_level=[2])]
        for name, lines in (("fewer", fewer), ("more", more), ("other", other)):
            path = self.write(f"{name}.log", lines)
            self.assertRaises(RuntimeError, check_like, traced, path)

    def test_runChecksTheFloor(self) -> None:
        """
        A round of scenario 12 runs the hand-written tracing beside
        txcausal's, and succeeds only if its files hold a start and a finish
        line per request in each process, with txcausal's keys (so a floor
        writing fewer lines or other keys fails it).
        """
        from bench._http_child import MESSAGES, WARMUP
        result = run_python(["-m", "bench._http_child", "file", "3", "1", str(self.directory)],
                            cwd=bench_root(), timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        figures = orjson.loads(result.stdout)
        self.assertEqual({key for key in figures if key.startswith("floor_")},
                         {"floor_client_us", "floor_server_us"})
        for side in ("client", "server"):
            lines = (self.directory / f"{side}-floor.log").read_bytes().splitlines()
            self.assertEqual(len(lines), (WARMUP + 3) * MESSAGES)

    def test_everyRequestChecked(self) -> None:
        """
        L{bench._http_check.check_like} compares every request's start and
        finish, not only the first's: a floor whose second finish line lacks
        the keys, or has another value, fails; so does a pair whose finish
        is of another task.
        """
        from bench._http_check import check_like
        second = [dict(line, task_uuid="c41ba162-efd7-484c-adb0-d2ded58e397b")
                  for line in CLIENT_LINES]
        traced = self.write("client.log", CLIENT_LINES + second)
        check_like(traced, self.write("same.log", second + CLIENT_LINES))
        for name, lines in (("empty", [*CLIENT_LINES, second[0], {}]),
                            ("other", [*CLIENT_LINES, second[0], dict(second[1], status=500)]),
                            ("mixed", [*CLIENT_LINES, second[0], CLIENT_LINES[1]])):
            self.assertRaises(RuntimeError, check_like, traced, self.write(f"{name}.log", lines))

    def test_everyRequestContinued(self) -> None:
        """
        L{bench._http_check.check_continued} refuses a server whose second
        request is not in the task of the client's second.
        """
        from bench._http_check import check_continued
        second = [dict(line, task_uuid="c41ba162-efd7-484c-adb0-d2ded58e397b")
                  for line in CLIENT_LINES]
        client = self.write("client.log", CLIENT_LINES + second)
        check_continued(client, self.write("same.log", CLIENT_LINES + second))
        self.assertRaises(RuntimeError, check_continued, client,
                          self.write("other.log", CLIENT_LINES + CLIENT_LINES))

    def test_runFailsWithoutTraceparent(self) -> None:
        """
        A round fails when the hand-written client sends the task id but no
        C{traceparent}: the server records the headers of the first request
        it receives of each kind, and the client checks them against what
        txcausal derives for the task of its first line.
        """
        script = ("import runpy, sys\n"
                  "from twisted.web.http_headers import Headers\n"
                  "import bench._http_floor as floor\n"
                  "def only_task_id(task_uuid):\n"
                  "    return Headers({b'X-Eliot-Task-Id': [f'{task_uuid}@/2'.encode()]})\n"
                  "floor.headers_for = only_task_id\n"
                  "sys.argv = ['bench._http_child', *sys.argv[1:]]\n"
                  "runpy.run_module('bench._http_child', run_name='__main__')\n")
        result = run_python(["-c", script, "file", "3", "1", str(self.directory)],
                            cwd=bench_root(), timeout=120)
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("traceparent", result.stderr)

    def test_balancedOrder(self) -> None:
        """
        Over a round's blocks, each kind of request comes first, second and
        last equally often, and right after each other kind equally often.
        """
        from collections import Counter

        from bench._http import BLOCKS
        from bench._http_child import KINDS, order
        orders = [order(block) for block in range(BLOCKS)]
        self.assertEqual({sorted(o) == sorted(KINDS) for o in orders}, {True})
        positions = Counter((kind, o.index(kind)) for o in orders for kind in KINDS)
        self.assertEqual(len(set(positions.values())), 1, positions)
        self.assertEqual(len(positions), len(KINDS) ** 2)
        pairs = Counter(pair for o in orders for pair in zip(o, o[1:], strict=False))
        self.assertEqual(len(pairs), len(KINDS) * (len(KINDS) - 1))
        self.assertEqual(len(set(pairs.values())), 1, pairs)

    def test_receivedChecked(self) -> None:
        """
        L{bench._http_check.check_received} accepts the headers txcausal
        sends for the task of the client's first line, and refuses a missing
        or other C{traceparent}, or a missing or other task id.
        """
        from bench._http_check import check_received
        client = self.write("client.log", CLIENT_LINES)
        task = "b41ba162-efd7-484c-adb0-d2ded58e397b"
        # The span id: the first 16 hex digits of the SHA-256 of "<task>@".
        good: Dict[str, Optional[List[str]]] = {
            "X-Eliot-Task-Id": [f"{task}@/2"],
            "traceparent": ["00-b41ba162efd7484cadb0d2ded58e397b-77b73f39f47e8f2b-01"]}
        check_received(good, client)
        for bad in ({**good, "traceparent": None},
                    {**good, "traceparent": ["00-b41ba162efd7484cadb0d2ded58e397b-"
                                             "77b73f39f47e8f2c-01"]},
                    {**good, "X-Eliot-Task-Id": None},
                    {**good, "X-Eliot-Task-Id": [f"{task}@/3"]}):
            self.assertRaises(RuntimeError, check_received, bad, client)


class BlockTests(SynchronousTestCase):
    """
    Tests for one block of scenario 12's requests.
    """

    def test_garbageCollectedBeforeTiming(self) -> None:
        """
        Before a block's clocks are read, the server is asked to collect its
        garbage at C{/collect} and the client collects its own, so that
        neither process's collection of what start-up and earlier blocks
        left lands inside the block of whichever kind crossed the
        collector's threshold.  The server's C{/collect} collects.
        """
        import bench._http_child as child

        events: List[str] = []
        collected: "Deferred[bytes]" = Deferred()

        def fetch(get: Any, url: str) -> Any:
            path = url.rsplit("/", 1)[1]
            events.append(path)
            # The server's collection answers later: nothing else may happen
            # until it has.
            return collected if path == "collect" else succeed(b"1.5")

        def collect() -> int:
            events.append("client collects")
            return 0

        def process_time() -> float:
            events.append("client clock")
            return 1.0

        self.patch(child, "_fetch", fetch)
        self.patch(gc, "collect", collect)
        self.patch(time, "process_time", process_time)
        clock = Clock()
        spent = child._block(clock, object(), "http://server/traced", "http://server", 2)
        self.assertEqual(events, ["collect"])
        collected.callback(b"0")
        clock.advance(child.SETTLE)
        self.assertEqual(self.successResultOf(spent), [0.0, 0.0])
        self.assertEqual(events, ["collect", "client collects", "cpu", "client clock",
                                  "traced", "traced", "client clock", "cpu"])
        request: Any = DummyRequest([b"collect"])
        self.assertEqual(child.Collect().render_GET(request), b"0")
        self.assertEqual(events[-1], "client collects")
