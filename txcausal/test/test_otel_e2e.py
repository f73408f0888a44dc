"""
End to end against a real OTLP backend: Arize Phoenix on loopback.

Phoenix is about 850 MB, so this runs in its own environment: C{tox -e
otel-e2e} (the C{otel-e2e} extra); elsewhere it is skipped.  A
L{txcausal.treq} client process calls a L{txcausal.web.TracingResource}
server process, both exporting with the OTLP/HTTP exporter, and Phoenix
holds one trace with the server's spans under the client's; then an
Eliot-written log is sent with C{txcausal export}, and its spans are found
too.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from ._helpers import examples_dir, run_python
from .test_export import otel_free_environment

#: How long Phoenix may take to start, and spans to show up, in seconds.
STARTUP_WAIT = 240
SPANS_WAIT = 60

ELIOT_SCRIPT = """
import sys
import eliot

eliot.to_file(open(sys.argv[1], "w"))
with eliot.start_action(action_type="eliot:batch", size=2) as action:
    for n in range(2):
        with eliot.start_action(action_type="eliot:item", n=n):
            eliot.log_message(message_type="eliot:processed")
print(action.task_uuid)
"""


def _phoenix() -> str:
    """
    @return: The C{phoenix} command.
    @raise SkipTest: If Phoenix is not installed.
    """
    beside = Path(sys.executable).parent / "phoenix"
    found = str(beside) if beside.exists() else shutil.which("phoenix")
    if found is None:
        raise SkipTest("Arize Phoenix is not installed: run this end-to-end test with"
                       " `tox -e otel-e2e` (it installs the otel-e2e extra, about 850 MB)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Optional[Dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


class _Phoenix:
    """
    One Phoenix server for the tests of this module, started by the first
    and stopped when the process exits (trial and pytest both run it).
    """

    def __init__(self) -> None:
        command = _phoenix()
        self.workdir = tempfile.mkdtemp()
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, PHOENIX_WORKING_DIR=self.workdir, PHOENIX_HOST="127.0.0.1",
                   PHOENIX_PORT=str(port))
        self.log = open(Path(self.workdir) / "phoenix.log", "wb")
        self.process = subprocess.Popen([command, "serve"], env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        atexit.register(self.stop)
        deadline = time.monotonic() + STARTUP_WAIT
        while _get(f"{self.base}/v1/projects/default/spans?limit=1") is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Phoenix did not start: see {self.log.name}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


_SERVER: List[_Phoenix] = []


class PhoenixTests(SynchronousTestCase):
    """
    Spans from txcausal in a real Phoenix.
    """

    def setUp(self) -> None:
        if not _SERVER:
            _SERVER.append(_Phoenix())
        self.base = _SERVER[0].base

    def env(self) -> Dict[str, str]:
        return otel_free_environment(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{self.base}/v1/traces")

    def spans(self, trace_id: str, count: int) -> List[Dict[str, Any]]:
        """
        Wait for Phoenix to hold C{count} spans of a trace.

        @return: The spans.
        """
        deadline = time.monotonic() + SPANS_WAIT
        while True:
            answer = _get(f"{self.base}/v1/projects/default/spans?limit=1000") or {"data": []}
            found = [s for s in answer["data"] if s["context"]["trace_id"] == trace_id]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.5)

    def test_clientAndServer(self) -> None:
        """
        The client's and the server's spans are one trace in Phoenix, the
        server's under the client's request span.
        """
        env = self.env()
        server = subprocess.Popen([sys.executable, str(examples_dir() / "otel_server.py"), "0"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(server.wait, 60)
        self.addCleanup(server.terminate)
        assert server.stdout is not None
        port = json.loads(server.stdout.readline())["port"]
        client = run_python([str(examples_dir() / "otel_client.py"),
                             f"http://127.0.0.1:{port}/"], env=env)
        self.assertEqual(client.returncode, 0, client.stderr)
        server.terminate()
        server.wait(60)
        task_uuid = json.loads(client.stdout.splitlines()[0])["task_uuid"]
        spans = {s["name"]: s for s in self.spans(task_uuid.replace("-", ""), 4)}
        self.assertEqual(sorted(spans), ["client:greet", "eliot:remote_task", "server:greet",
                                         "txcausal:http:client"])
        self.assertEqual(spans["eliot:remote_task"]["parent_id"],
                         spans["txcausal:http:client"]["context"]["span_id"])
        self.assertEqual(spans["server:greet"]["parent_id"],
                         spans["eliot:remote_task"]["context"]["span_id"])
        self.assertIsNone(spans["client:greet"]["parent_id"])
        self.assertEqual(spans["server:greet"]["attributes"], {"who": "world"})
        self.assertEqual([e["name"] for e in spans["server:greet"]["events"]],
                         ["server:greeted"])

    def test_exportEliotLog(self) -> None:
        """
        C{txcausal export --endpoint} sends the spans of a log Eliot wrote.
        """
        path = Path(self.mktemp())
        script = Path(self.mktemp())
        script.write_text(ELIOT_SCRIPT)
        written = run_python([str(script), str(path)])
        self.assertEqual(written.returncode, 0, written.stderr)
        task_uuid = written.stdout.strip()
        exported = run_python(["-m", "txcausal", "export", "--endpoint",
                               f"{self.base}/v1/traces", str(path)], env=self.env())
        self.assertEqual(exported.returncode, 0, exported.stderr)
        spans = self.spans(task_uuid.replace("-", ""), 3)
        self.assertEqual(sorted(s["name"] for s in spans),
                         ["eliot:batch", "eliot:item", "eliot:item"])
        (batch,) = [s for s in spans if s["name"] == "eliot:batch"]
        self.assertEqual({s["parent_id"] for s in spans if s["name"] == "eliot:item"},
                         {batch["context"]["span_id"]})
        self.assertEqual(batch["attributes"], {"size": 2})
