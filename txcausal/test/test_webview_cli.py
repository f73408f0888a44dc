"""
C{txcausal web} as a user runs it: a real process serving real files on
loopback; and the embedded-service example.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, List

import orjson
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from txcausal._cli._web import _loopback
from txcausal._view_hosts import HostCheck, host_allowed

from ._helpers import run_example, run_python
from ._webview_logs import (
    FAILING,
    JOINED,
    MARKUP,
    client_messages,
    finished,
    server_messages,
    started,
    write_log,
)
from ._webview_server import start_web


def fetch(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, dict(response.headers), response.read()


class WebCommandTests(SynchronousTestCase):
    """
    C{txcausal web FILE...}.
    """

    def setUp(self) -> None:
        folder = Path(self.mktemp())
        folder.mkdir()
        self.files = [str(write_log(folder / "client.log", client_messages())),
                      str(write_log(folder / "server.log", server_messages()))]

    def test_serves(self) -> None:
        """
        It prints a loopback address (port 0 picks a free one) where the
        page and the tasks of the files are served.
        """
        _, address = start_web(self.files, self)
        self.assertTrue(address.startswith("http://127.0.0.1:"), address)
        status, headers, body = fetch(address + "api/tasks")
        tasks = json.loads(body)["tasks"]
        self.assertEqual([t["uuid"] for t in tasks], [MARKUP, FAILING, JOINED])
        self.assertEqual(tasks[2]["processes"], 2)
        status, headers, page = fetch(address)
        self.assertIn(b'<script src="static/app.js"', page)
        self.assertIn("script-src 'self'", headers["Content-Security-Policy"])
        with self.assertRaises(urllib.error.HTTPError) as raised:
            fetch(address + "static/..%2f..%2f__init__.py")
        self.assertEqual(raised.exception.code, 404)

    def test_pages(self) -> None:
        """
        The task list's pages, worked out in the server's thread pool,
        are those of the whole list in order, newest first, filters
        applied.
        """
        starts = [float((n * 37) % 251) for n in range(250)]
        log = write_log(Path(self.mktemp()), [
            finished(f"t{n}", [1], start, "job", "failed" if n % 3 == 0 else "succeeded")
            for n, start in enumerate(starts)])
        _, address = start_web([str(log)], self)
        newest = sorted(range(250), key=lambda n: starts[n], reverse=True)
        for query, expected in [("offset=100&limit=100", newest[100:200]),
                                ("failed=1&offset=20&limit=30",
                                 [n for n in newest if n % 3 == 0][20:50])]:
            body = json.loads(fetch(address + "api/tasks?" + query)[2])
            self.assertEqual([t["uuid"] for t in body["tasks"]], [f"t{n}" for n in expected])
            self.assertEqual(body["types"], ["job"])

    def test_liveStandardInput(self) -> None:
        """
        A task written to standard input is shown while the pipe stays
        open (as C{tail -f app.log | txcausal web} gives it), not once a
        buffer is full.
        """
        read, write = os.pipe()
        self.addCleanup(os.close, write)
        try:
            _, address = start_web([], self, stdin=read)
        finally:
            os.close(read)
        os.write(write, orjson.dumps(started("piped", [1], 1.0, "pipe:job")) + b"\n")
        deadline = time.monotonic() + 60
        tasks: List[str] = []
        while "piped" not in tasks and time.monotonic() < deadline:
            time.sleep(0.1)
            tasks = [t["uuid"] for t in json.loads(fetch(address + "api/tasks")[2])["tasks"]]
        self.assertEqual(tasks, ["piped"])

    def test_portInUse(self) -> None:
        """
        A port already taken is reported in one line, exit status 1.
        """
        _, address = start_web(self.files, self)
        port = address.rsplit(":", 1)[1].strip("/")
        result = run_python(["-m", "txcausal", "web", "--port", port, *self.files])
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"txcausal web: cannot listen on 127.0.0.1:{port}", result.stderr)

    def test_maxLineBytes(self) -> None:
        """
        C{--max-line-bytes} bounds the lines the view reads, as it bounds
        those the other commands read.
        """
        import io

        from twisted.internet.testing import MemoryReactorClock

        from txcausal._cli import build_parser, parse_arguments
        from txcausal._cli._common import Streams
        from txcausal._cli._web import serve

        args = parse_arguments(build_parser(), ["web", "--port", "0", "--max-line-bytes", "1K",
                                                *self.files])
        reactor = MemoryReactorClock()
        _, source = serve(args, Streams(io.BytesIO(), io.StringIO(), io.StringIO()), reactor)
        self.addCleanup(source.close)
        self.assertEqual(source.max_line, 1024)

    def test_loopback(self) -> None:
        """
        Only loopback addresses go without a warning.
        """
        self.assertEqual([_loopback(h) for h in ["127.0.0.1", "::1", "localhost", "0.0.0.0",
                                                 "192.0.2.1", "example.org"]],
                         [True, True, True, False, False, False])


class ServiceExampleTests(SynchronousTestCase):
    """
    C{examples/webview_service.py}.
    """

    def test_behindAuthentication(self) -> None:
        """
        The view mounted behind basic authentication refuses a request
        without the password and shows the service's task with it.
        """
        lines = run_example("webview_service.py").stdout.splitlines()
        self.assertEqual(lines, ["without a password: 401",
                                 "task: shop:restock succeeded 2 messages"])


def get_with_host(address: str, path: str, host: str) -> Any:
    """
    GET C{path} from the view at C{address}, sending C{host} as C{Host}.

    @return: The status, headers and body.
    """
    where = address.split("//", 1)[1].rstrip("/")
    name, port = where.rsplit(":", 1)
    connection = http.client.HTTPConnection(name.strip("[]"), int(port), timeout=60)
    try:
        connection.putrequest("GET", path, skip_host=True)
        connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class HostCheckTests(SynchronousTestCase):
    """
    C{txcausal web} answers only for the names it is reached by: a page of
    another site whose name was pointed at the loopback address (DNS
    rebinding) reads nothing.
    """

    def setUp(self) -> None:
        folder = Path(self.mktemp())
        folder.mkdir()
        self.files = [str(write_log(folder / "client.log", client_messages()))]

    def test_otherNameRefused(self) -> None:
        """
        A request naming another host is refused, with the security
        headers and a short text; the event stream likewise.
        """
        _, address = start_web(self.files, self)
        port = address.rstrip("/").rsplit(":", 1)[1]
        for path in ("/api/tasks", f"/api/task/{JOINED}", "/api/events", "/"):
            status, headers, body = get_with_host(address, path, f"attacker.example:{port}")
            self.assertEqual(status, 421, path)
            self.assertNotIn(JOINED.encode("ascii"), body)
            self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8")
            self.assertEqual(headers["X-Frame-Options"], "DENY")
        status, _, _ = get_with_host(address, "/api/tasks", f"127.0.0.1:{int(port) + 1}")
        self.assertEqual(status, 421)

    def test_loopbackNamesServed(self) -> None:
        """
        Listening on loopback, it answers for its address, C{localhost}
        and the other loopback literals, with its port.
        """
        _, address = start_web(self.files, self)
        port = address.rstrip("/").rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}",
                     f"[::1]:{port}"):
            status, _, body = get_with_host(address, "/api/tasks", host)
            self.assertEqual(status, 200, host)
            self.assertIn(JOINED.encode("ascii"), body)

    def test_allowedHost(self) -> None:
        """
        C{--allowed-host NAME} (repeatable) answers for more names, on any
        port (a proxy's).
        """
        _, address = start_web(self.files, self, extra=("--allowed-host", "logs.example",
                                                        "--allowed-host", "Other.Example"))
        for host in ("logs.example", "logs.example:8443", "other.example:80"):
            status, _, body = get_with_host(address, "/api/tasks", host)
            self.assertEqual(status, 200, host)
        status, _, _ = get_with_host(address, "/api/tasks", "attacker.example")
        self.assertEqual(status, 421)

    def test_hostAllowed(self) -> None:
        """
        L{host_allowed}: a name it was given, on any port; on its port, an
        address literal, or C{localhost} while it listens on loopback;
        nothing else, and no request without C{Host}.
        """
        names = frozenset(["logs.example"])
        cases = [
            (b"logs.example:1", True), (b"LOGS.example", True), (b"127.0.0.1:8080", True),
            (b"localhost:8080", True), (b"[::1]:8080", True), (b"192.0.2.7:8080", False),
            (b"localhost", False), (b"evil.example:8080", False), (None, False),
            (b"127.0.0.1:8080:1", False), (b"\xff:8080", False), (b"", False),
            (b"localhost.:8080", False), (b"127.0.0.1:80x", False),
        ]
        self.assertEqual(
            [host_allowed(header, "127.0.0.1", 8080, names) for header, _ in cases],
            [allowed for _, allowed in cases])
        self.assertEqual([host_allowed(b"192.0.2.7:8080", "0.0.0.0", 8080, frozenset()),
                          host_allowed(b"localhost:8080", "192.0.2.7", 8080, frozenset()),
                          host_allowed(b"192.0.2.7", "192.0.2.7", 80, frozenset())],
                         [False, False, True])

    def test_wildcardServesLoopbackNames(self) -> None:
        """
        Listening on every interface (C{0.0.0.0}, C{::}), which loopback is
        one of, it answers for C{localhost} and the loopback literals, with
        its port; not for another name.
        """
        for listening in ("0.0.0.0", "::", "[::]"):
            self.assertEqual(
                [host_allowed(header, listening, 8080, frozenset())
                 for header in (b"localhost:8080", b"127.0.0.1:8080", b"[::1]:8080",
                                b"localhost:8081", b"192.0.2.7:8080", b"evil.example:8080")],
                [True, True, True, False, False, False], listening)

    def test_allowedHostWithPort(self) -> None:
        """
        C{--allowed-host} refuses a name with a port (it would never match:
        the name is allowed on any port), with an error that says so; an
        IPv6 literal, bracketed or not, is a name.
        """
        import io
        from contextlib import redirect_stderr

        from txcausal._cli import build_parser, parse_arguments

        for name in ("::1", "[::1]", "logs.example", "192.0.2.7"):
            args = parse_arguments(build_parser(), ["web", "--allowed-host", name])
            self.assertEqual(args.allowed_host, [name])
        for name, why in [("logs.example:8443", "without a port"), ("[::1]:8080", "without a port"),
                          ("192.0.2.7:80", "without a port"), ("", "a host name or address")]:
            stderr = io.StringIO()
            with redirect_stderr(stderr), self.assertRaises(SystemExit) as raised:
                parse_arguments(build_parser(), ["web", "--allowed-host", name])
            self.assertEqual(raised.exception.code, 2)
            self.assertIn("--allowed-host", stderr.getvalue())
            self.assertIn(why, stderr.getvalue(), name)
        self.assertRaises(ValueError, HostCheck, Resource(), "127.0.0.1", 8080,
                          frozenset(["logs.example:8443"]))

    def test_refusalStatusLine(self) -> None:
        """
        The refusal's status line names it: C{421 Misdirected Request}.
        """
        _, address = start_web(self.files, self)
        where = address.split("//", 1)[1].rstrip("/")
        with socket.create_connection(("127.0.0.1", int(where.rsplit(":", 1)[1])), 60) as s:
            s.sendall(b"GET /api/tasks HTTP/1.1\r\nHost: evil.example\r\n"
                      b"Connection: close\r\n\r\n")
            self.assertEqual(s.makefile("rb").readline(),
                             b"HTTP/1.1 421 Misdirected Request\r\n")
