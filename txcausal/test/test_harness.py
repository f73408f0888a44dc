"""
Tests for the test suite's own harness, in L{txcausal.test}.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Callable, List

from twisted.internet.task import Clock
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from txcausal import _output
from txcausal.logwriter import ThreadedWriter
from txcausal.test import closeReactorLoopAtExit

from ._writer_harness import WriterHarness
from .test_logwriter_fork import _Forkable


class CloseReactorLoopAtExitTests(SynchronousTestCase):
    """
    Tests for L{closeReactorLoopAtExit}.
    """

    def test_asyncioReactor(self) -> None:
        """
        The event loop of an installed asyncio reactor is closed by the
        function registered for exit.
        """
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        registered: List[Callable[[], None]] = []
        reactor = SimpleNamespace(_asyncioEventloop=loop)
        closeReactorLoopAtExit({"twisted.internet.reactor": reactor}, registered.append)
        self.assertFalse(loop.is_closed())
        for function in registered:
            function()
        self.assertTrue(loop.is_closed())

    def test_otherReactors(self) -> None:
        """
        Nothing is registered for another reactor, nor when none is
        installed.
        """
        registered: List[Callable[[], None]] = []
        closeReactorLoopAtExit({"twisted.internet.reactor": Clock()}, registered.append)
        closeReactorLoopAtExit({}, registered.append)
        self.assertEqual(registered, [])



class WriterHarnessTests(SynchronousTestCase):
    """
    The writers the harnesses make leave the process-wide destinations when
    their test ends, stopped or not: a stopped one left there reports the
    messages later tests log as refused.
    """

    def test_removed(self) -> None:
        """
        A writer of L{WriterHarness.started} or L{_Forkable.forkable} that a
        test switched to writing directly with C{stopThreading} (as at exit,
        which keeps it a destination) is no destination after the test.
        """
        writers: List[ThreadedWriter] = []

        class Stopped(WriterHarness, _Forkable, SynchronousTestCase):
            def test_started(self) -> None:
                writer, _, _ = self.started()
                writer.stopThreading()
                writers.append(writer)

            def test_forkable(self) -> None:
                writer, _, _, _ = self.forkable()
                writer.stopThreading()
                writers.append(writer)

        for name in ("test_started", "test_forkable"):
            result = TestResult()
            Stopped(name).run(result)
            self.assertTrue(result.wasSuccessful(), (result.errors, result.failures))
            self.assertFalse(_output._DESTINATIONS.has(writers[-1]), name)
        self.assertEqual(len(writers), 2)
