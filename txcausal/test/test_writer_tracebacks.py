"""
Tests for the tracebacks a writer's worker and a L{ThreadedWriter} write on
standard error when their work or their destination's finish raised: they
are formatted as txcausal's other reports are, without reading any source
file (this may happen as the interpreter tears down).
"""

from __future__ import annotations

import io
import linecache
import sys
import threading
from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message
from txcausal._writer import DaemonThreadWorker

from ._writer_harness import WriterHarness


class NoSourceReadTests(WriterHarness, SynchronousTestCase):
    """
    A writer's failure tracebacks on standard error read no source file.
    """

    def setUp(self) -> None:
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)
        self.looked: List[Any] = []

        def recorder(name: str) -> Any:
            original = getattr(linecache, name)

            def record(*args: Any, **kwargs: Any) -> Any:
                self.looked.append((name, args[:1]))
                return original(*args, **kwargs)

            return record

        for name in ("getline", "getlines", "checkcache", "updatecache"):
            self.patch(linecache, name, recorder(name))

    def assertTraceback(self, function: str, error: str) -> None:
        """
        Standard error holds a traceback naming C{function}, ending with
        C{error}, and no source file was read.
        """
        text = self.stderr.getvalue()
        self.assertIn("Traceback (most recent call last):\n", text)
        self.assertIn(f", in {function}\n", text)
        self.assertTrue(text.endswith(error + "\n"), text)
        self.assertNotIn("raise ", text)
        self.assertEqual(self.looked, [])

    def test_workFailed(self) -> None:
        """
        Work given to L{DaemonThreadWorker} that raised is written with its
        traceback, without its source lines.
        """
        worker = DaemonThreadWorker()
        self.addCleanup(worker.quit)
        done = threading.Event()

        def failingWork() -> None:
            raise ZeroDivisionError("work failed")

        worker.do(failingWork)
        worker.do(done.set)
        self.assertTrue(done.wait(10))
        self.assertTraceback("failingWork", "ZeroDivisionError: work failed")

    def test_finishFailed(self) -> None:
        """
        A destination whose finish, run by a L{ThreadedWriter} as it stops,
        raised is written with its traceback, without its source lines.
        """

        class Destination:
            def __init__(self) -> None:
                self.written: List[Dict[str, Any]] = []

            def __call__(self, message: Dict[str, Any]) -> None:
                self.written.append(message)

            def _finishFeedback(self) -> None:
                raise RuntimeError("finish failed")

        destination = Destination()
        writer, _, performAll = self.started(destination)
        log_message(message_type="test:one")
        writer.stopService()
        performAll()
        self.assertEqual([m.get("message_type") for m in destination.written], ["test:one"])
        self.assertTraceback("_finishFeedback", "RuntimeError: finish failed")
