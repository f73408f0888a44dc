"""
Tests for scenario 12's hand-written tracing (C{bench/_http_floor.py}): it
sends txcausal's headers and writes lines with txcausal's keys, and the run
fails when it does less.  Nothing here asserts a timing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List
from uuid import UUID

import orjson
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.test.requesthelper import DummyRequest

from txcausal import start_action
from txcausal._propagation import outgoing
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
                                              b"e83bab0fa32a3522-01"]})
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
        L{bench._http_floor.check_like} refuses a floor whose lines lack a
        key of txcausal's, have one more, or another value where the value
        is not the task's, a time, the URL or the path; it accepts the same
        keys with those values differing.
        """
        from bench._http_floor import check_like
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
