"""
Tests for the test suite's own harness, in L{txcausal.test}.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Callable, List

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from txcausal.test import closeReactorLoopAtExit


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
