"""
Tests for L{txcausal.stdlib}.
"""

from __future__ import annotations

import logging

from twisted.trial.unittest import SynchronousTestCase

from txcausal import start_action
from txcausal.stdlib import CausalHandler

from ._helpers import CapturingMixin, IsolatedOutputMixin


class CausalHandlerTests(CapturingMixin, IsolatedOutputMixin, SynchronousTestCase):
    """
    L{CausalHandler}.
    """

    def setUp(self) -> None:
        self.logger = logging.Logger("legacy")
        self.logger.addHandler(CausalHandler())

    def test_recordInAction(self) -> None:
        """
        A record becomes an C{eliot:stdlib} message in the current action,
        with level, logger name and formatted message.
        """
        messages = self.collect()
        with start_action(action_type="a"):
            self.logger.error("bad %s", "number")
        m = messages[1]
        self.assertEqual((m["message_type"], m["task_level"]), ("eliot:stdlib", [2]))
        self.assertEqual((m["log_level"], m["logger"], m["message"]),
                         ("ERROR", "legacy", "bad number"))

    def test_exception(self) -> None:
        """
        A record with an exception is followed by its traceback.
        """
        logger = self.capture()
        try:
            raise ValueError("three")
        except ValueError:
            self.logger.exception("rejected")
        self.assertEqual(logger.messages[0]["message"], "rejected")
        self.assertEqual(len(logger.flush_tracebacks(ValueError)), 1)
        logger.validate()

    def test_badFormat(self) -> None:
        """
        A record whose arguments do not fit its format is still logged.
        """
        messages = self.collect()
        self.logger.warning("%d", "x")
        self.assertIn("'%d'", messages[0]["message"])
