"""
Tests for L{txcausal.stdlib}.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from twisted.logger import Logger as TwistedLogger
from twisted.logger import LogPublisher, STDLibLogObserver
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, start_action
from txcausal.stdlib import CausalHandler
from txcausal.twisted import TwistedDestination

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

    def test_argumentsWithoutRepr(self) -> None:
        """
        A record whose arguments neither fit its format nor have a working
        C{repr} is still logged, with a placeholder for them, and nothing
        reaches the caller of the C{logging} call.
        """
        messages = self.collect()
        self.logger.error("%d items", _Broken())
        self.assertEqual(messages[0]["message_type"], "eliot:stdlib")
        self.assertIn("'%d items'", messages[0]["message"])
        self.assertIn("unrepresentable", messages[0]["message"])

    def test_placeholderPerArgument(self) -> None:
        """
        Only the argument whose C{repr} fails gets a placeholder: the
        others are logged with their C{repr}.
        """
        messages = self.collect()
        self.logger.error("%d %s", _Broken(), "kept")
        self.assertEqual(messages[0]["message"],
                         "'%d %s' % (<unrepresentable _Broken: RuntimeError>, 'kept')")

    def test_failureReported(self) -> None:
        """
        A record whose traceback cannot be bridged (here, an C{exc_info}
        whose exception is not one) raises nothing into the caller: its
        message is logged, and the lost traceback is reported in a
        C{txcausal:messages_dropped} message naming the exception and the
        record.
        """
        messages = self.collect()
        notAnException: Any = (None, "not an exception", None)
        self.logger.error("lost", exc_info=notAnException)
        report = messages[-1]
        self.assertEqual([m["message"] for m in messages[:-1]], ["lost"])
        self.assertEqual((report["message_type"], report["count"], report["reason"]),
                         ("txcausal:messages_dropped", 1,
                          "the traceback of a logging record could not be bridged"))
        self.assertIn("Error", report["exception"])
        self.assertIn("LogRecord", report["record"])


class WithTwistedTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    L{CausalHandler} where Twisted's events also go to C{logging}
    (Twisted's C{STDLibLogObserver}) and txcausal's messages to Twisted
    (L{TwistedDestination}).
    """

    def setUp(self) -> None:
        name = f"twisted.{self.id()}"
        logger = logging.getLogger(name)
        handler = CausalHandler()
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        self.addCleanup(logging.Logger.manager.loggerDict.pop, name)
        self.addCleanup(logger.removeHandler, handler)
        self.publisher = LogPublisher()
        self.publisher.addObserver(STDLibLogObserver(name))
        self.messages: List[Dict[str, Any]] = []
        self.isolate().add(self.messages.append, TwistedDestination(self.publisher))

    def test_ownMessagesNotBridgedBack(self) -> None:
        """
        Records made from the events L{TwistedDestination} emitted are not
        logged again: each message is written once, and nothing is reported
        as dropped (they are already in the log).
        """
        for i in range(3):
            log_message(message_type="app:hello", i=i)
        self.assertEqual([(m["message_type"], m.get("i")) for m in self.messages],
                         [("app:hello", 0), ("app:hello", 1), ("app:hello", 2)])

    def test_twistedEventsStillBridged(self) -> None:
        """
        Twisted's own events, which reach C{logging} the same way, still
        become C{eliot:stdlib} messages.
        """
        TwistedLogger(namespace="app", observer=self.publisher).info("from {who}", who="twisted")
        self.assertEqual([(m["message_type"], m["message"]) for m in self.messages],
                         [("eliot:stdlib", "from twisted")])


class _Broken:
    """
    A value whose C{repr} and C{str} raise.
    """

    def __repr__(self) -> str:
        raise RuntimeError("repr broken")

    __str__ = __repr__
