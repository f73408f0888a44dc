"""
Tests for where L{txcausal.otel.SpanDestination}'s reports of losses go when
no other destination takes them behind a C{ThreadedWriter} (see
C{test_otel_exit} for one added alone), and for the span processor by which
it notices its provider's shutdown.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from twisted.trial.unittest import SynchronousTestCase

from txcausal import remove_destination, start_action, start_task
from txcausal._otel_destination import end_open_at_exit
from txcausal.otel import SpanDestination

from ._helpers import run_python
from ._writer_harness import WriterHarness
from .test_otel import SpanMixin, provider

DROPPED = "txcausal:messages_dropped"

#: Exits with a ThreadedWriter(SpanDestination) as the only destination and
#: two of three open tasks given up; prints the destination's C{dropped}.
_EXITING = r"""
import atexit, time
from opentelemetry.sdk.trace import TracerProvider
from txcausal import start_task
from txcausal.logwriter import ThreadedWriter
from txcausal.otel import SpanDestination
destination = SpanDestination(TracerProvider(), max_open=1)
ThreadedWriter(destination).startService()
for _ in range(3):
    start_task(action_type="app:leak")
time.sleep(0.2)
atexit.register(lambda: print(destination.dropped, flush=True))
"""


def given_up(stderr: str) -> int:
    """
    @return: How many messages the reports on C{stderr} say were given up.
    """
    reports = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return sum(report["count"] for report in reports if "given up" in report["reason"])


class BehindWriterTests(SpanMixin, WriterHarness, SynchronousTestCase):
    """
    A C{ThreadedWriter} in front of the destination, the only one added:
    the destination's reports go to standard error, not through the writer
    back to the destination (which makes no span of them), and are not
    counted lost.
    """

    def leak(self) -> Any:
        """
        Add a writer in front of a destination keeping one open action, and
        leave three tasks open (two given up).

        @return: The destination, the registry, the writer, its performer
            and the captured standard error.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destination = SpanDestination(TracerProvider(), max_open=1, clock=lambda: 0.0)
        registry = self.isolate()
        writer, _, performAll = self.writer(destination)
        writer.startService()
        for _ in range(3):
            start_task(action_type="app:leak")
        performAll()
        return destination, registry, writer, performAll, stderr

    def assertShown(self, destination: Any, registry: Any, stderr: Any) -> None:
        registry.finish()
        self.assertEqual((destination.dropped, given_up(stderr.getvalue()), registry.dropped),
                         (2, 2, 0))

    def test_stopService(self) -> None:
        """
        The reports made as the writer stops are shown.
        """
        destination, registry, writer, performAll, stderr = self.leak()
        writer.stopService()
        performAll()
        self.assertShown(destination, registry, stderr)

    def test_atExit(self) -> None:
        """
        The reports made at exit, the writer still added, are shown.
        """
        destination, registry, _, _, stderr = self.leak()
        end_open_at_exit()
        self.assertShown(destination, registry, stderr)

    def test_process(self) -> None:
        """
        A real process exiting with the writer added shows both losses.
        """
        result = run_python(["-c", _EXITING])
        self.assertEqual((result.returncode, result.stdout.strip(), given_up(result.stderr)),
                         (0, "2", 2), result.stderr)


class ShutdownWatchTests(SpanMixin, SynchronousTestCase):
    """
    The span processor telling the destinations that their provider was
    shut down.
    """

    def processors(self, tracer_provider: TracerProvider) -> int:
        return len(tracer_provider._active_span_processor._span_processors)

    def test_oneWatch(self) -> None:
        """
        Destinations made and removed on one provider share one watch.
        """
        tracer_provider, exporter = provider()
        before = self.processors(tracer_provider)
        registry = self.isolate()
        for _ in range(5):
            destination = SpanDestination(tracer_provider)
            registry.add(destination)
            with start_action(action_type="app:a"):
                pass
            remove_destination(destination)
        self.assertEqual((self.processors(tracer_provider), len(exporter.get_finished_spans())),
                         (before + 1, 5))

    def test_shutDownBeforeFirstMessage(self) -> None:
        """
        A provider given at construction and shut down before the first
        message: the destination knows it, and counts the lost spans.
        """
        tracer_provider, exporter = provider()
        destination = SpanDestination(tracer_provider)
        self.isolate().add(destination)
        tracer_provider.shutdown()
        with start_action(action_type="app:after"):
            pass
        self.assertEqual((len(exporter.get_finished_spans()), destination.dropped), (0, 2))

    def test_spanDuringShutdown(self) -> None:
        """
        An action finishing while a processor ahead of the watch shuts
        down goes to the processors, uncounted: the gap
        C{docs/opentelemetry.md} describes (the SDK tells processors of the
        shutdown one after the other, with no public way to go first).
        """
        tracer_provider, exporter = provider()

        class LogsDuringShutdown(SpanProcessor):
            def shutdown(self) -> None:
                with start_action(action_type="app:during"):
                    pass

        tracer_provider.add_span_processor(LogsDuringShutdown())
        destination = SpanDestination(tracer_provider)
        self.isolate().add(destination)
        with start_action(action_type="app:before"):
            pass
        tracer_provider.shutdown()
        names = [s.name for s in exporter.get_finished_spans()]
        self.assertEqual((names, destination.dropped), (["app:before"], 0))
