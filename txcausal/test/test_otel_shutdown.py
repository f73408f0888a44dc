"""
Tests for the shutdown C{docs/opentelemetry.md} recommends, as
C{examples/otel_server.py} does it: the last spans are sent without blocking
the reactor, even to a collector that does not answer.
"""

from __future__ import annotations

import sys
from typing import Any, List

import orjson
import treq
from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase
from twisted.web.server import NOT_DONE_YET, Site
from twisted.web.server import Request as WebRequest

from ._helpers import examples_dir
from .test_export import Receiver, _LineReader, otel_free_environment

#: Seconds after which a collector that does not answer answers anyway, so
#: that a shutdown blocking the reactor fails the test instead of hanging it.
SAFETY = 60


class HangingReceiver(Receiver):
    """
    An OTLP/HTTP traces endpoint that answers no request until released.
    """

    def __init__(self) -> None:
        super().__init__()
        self.held: List[WebRequest] = []
        self.first: "Deferred[None]" = Deferred()
        self.released = False

    def render_POST(self, request: Any) -> Any:
        if self.released:
            return Receiver.render_POST(self, request)
        self.held.append(request)
        if not self.first.called:
            self.first.callback(None)
        return NOT_DONE_YET

    def release(self) -> None:
        """
        Answer the requests held, and those to come.
        """
        if self.released:
            return
        self.released = True
        for request in self.held:
            request.write(Receiver.render_POST(self, request))
            request.finish()


class ServerShutdownTests(TestCase):
    """
    C{examples/otel_server.py} stopping while its collector hangs.
    """

    def listen(self, receiver: Receiver) -> str:
        from twisted.internet import reactor

        site = Site(receiver)
        port: Any = reactor.listenTCP(0, site, interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        return f"http://127.0.0.1:{port.getHost().port}/v1/traces"

    def test_reactorServesDuringShutdown(self) -> Any:
        """
        While the last batch waits for the collector, the reactor still
        serves requests; the batch is sent once the collector answers, and
        the process exits.
        """
        from twisted.internet import reactor

        receiver = HangingReceiver()
        env = otel_free_environment(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=self.listen(receiver),
                                    OTEL_BSP_SCHEDULE_DELAY="600000",
                                    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="600")
        server = _LineReader()
        script = str(examples_dir() / "otel_server.py")
        process = reactor.spawnProcess(server, sys.executable, [sys.executable, script, "0"],
                                       env=env)
        safety = reactor.callLater(SAFETY, receiver.release)

        def cleanUp() -> "Deferred[None]":
            if safety.active():
                safety.cancel()
            receiver.release()
            return server.ended

        self.addCleanup(cleanUp)
        url: List[str] = []
        answered: List[bool] = []

        def first(line: bytes) -> Any:
            url.append(f"http://127.0.0.1:{orjson.loads(line)['port']}/")
            return treq.get(url[0], persistent=False).addCallback(treq.content)

        def stop(body: bytes) -> Any:
            self.assertEqual(body, b"hello")
            process.signalProcess("TERM")
            return receiver.first  # The last batch, sent as the server stops.

        def during(_: None) -> Any:
            d = treq.get(url[0], persistent=False).addCallback(treq.content)
            return d.addCallbacks(lambda body: body == b"hello", lambda failure: False)

        def served(ok: bool) -> Any:
            answered.append(ok and not receiver.released)
            receiver.release()
            return server.ended

        def check(_: None) -> None:
            self.assertEqual(answered, [True])
            self.assertIn("server:greet", [s.name for s in receiver.spans()])

        d = server.first.addCallback(first).addCallback(stop).addCallback(during)
        return d.addCallback(served).addCallback(check)
