"""
Tests for L{txcausal._errors}: tracebacks and exception extractors.
"""

from __future__ import annotations

import sys
from typing import Any, Dict

from twisted.trial.unittest import SynchronousTestCase

from txcausal import register_exception_extractor, start_action, write_traceback
from txcausal._errors import _EXTRACTORS, extract_fields

from ._helpers import CapturingMixin, IsolatedOutputMixin


class Base(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"code {code}")
        self.code = code


class Derived(Base):
    pass


class WriteTracebackTests(CapturingMixin, IsolatedOutputMixin, SynchronousTestCase):
    """
    L{write_traceback}.
    """

    def test_insideAction(self) -> None:
        """
        The traceback is an C{eliot:traceback} message inside the current
        action, with exception, reason and the formatted traceback.
        """
        messages = self.collect()
        with start_action(action_type="a"):
            try:
                raise ZeroDivisionError("division by zero")
            except ZeroDivisionError:
                write_traceback()
        tb = messages[1]
        self.assertEqual((tb["message_type"], tb["task_level"]), ("eliot:traceback", [2]))
        self.assertEqual(tb["exception"], "builtins.ZeroDivisionError")
        self.assertEqual(tb["reason"], "division by zero")
        self.assertIn("raise ZeroDivisionError", tb["traceback"])

    def test_excInfo(self) -> None:
        """
        An explicit C{exc_info} is used.
        """
        logger = self.capture()
        try:
            raise KeyError("k")
        except KeyError:
            info = sys.exc_info()
        write_traceback(exc_info=info)
        self.assertEqual(len(logger.flush_tracebacks(KeyError)), 1)
        logger.validate()

    def test_excInfoInLoggersPlace(self) -> None:
        """
        C{write_traceback(sys.exc_info())}, with the tuple where the logger
        goes, logs the traceback instead of raising in the handler.
        """
        logger = self.capture()
        try:
            raise KeyError("k")
        except KeyError:
            write_traceback(sys.exc_info())  # type: ignore[arg-type]
        self.assertEqual(len(logger.flush_tracebacks(KeyError)), 1)

    def test_nothingToWrite(self) -> None:
        """
        Outside exception handling nothing is written.
        """
        logger = self.capture()
        write_traceback()
        self.assertEqual(logger.messages, [])


class ExtractorTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    L{register_exception_extractor}.
    """

    def setUp(self) -> None:
        self.patch(sys.modules["txcausal._errors"], "_EXTRACTORS", dict(_EXTRACTORS))

    def test_baseClassLookup(self) -> None:
        """
        An extractor registered for a base class applies to subclasses, and
        adds its fields to failed actions.
        """
        register_exception_extractor(Base, lambda e: {"code": e.code})
        messages = self.collect()
        with self.assertRaises(Derived):
            with start_action(action_type="a"):
                raise Derived(7)
        self.assertEqual(messages[1]["code"], 7)

    def test_mostSpecificWins(self) -> None:
        """
        The extractor of the most specific class is used.
        """
        register_exception_extractor(Base, lambda e: {"which": "base"})
        register_exception_extractor(Derived, lambda e: {"which": "derived"})
        self.assertEqual(extract_fields(Derived(1)), {"which": "derived"})
        self.assertEqual(extract_fields(Base(1)), {"which": "base"})

    def test_oserrorErrno(self) -> None:
        """
        L{OSError} and its subclasses get an C{errno} field.
        """
        self.assertEqual(extract_fields(FileNotFoundError(2, "gone")), {"errno": 2})

    def test_oserrorWithoutErrno(self) -> None:
        """
        An L{OSError} raised without an error number, as C{TimeoutError()}
        usually is, gets no C{errno} field rather than C{errno: null}.
        """
        self.assertEqual(extract_fields(TimeoutError()), {})
        self.assertEqual(extract_fields(OSError("no number")), {})

    def test_failingExtractor(self) -> None:
        """
        An extractor that raises does not break logging; it is noted in an
        C{extractor_failure} field.
        """
        def broken(e: Base) -> Dict[str, Any]:
            raise ZeroDivisionError()

        register_exception_extractor(Base, broken)
        fields = extract_fields(Base(1))
        self.assertIn("ZeroDivisionError", fields["extractor_failure"])


class CancelledExtractorTests(SynchronousTestCase):
    """
    Cancellation is recognised without the core importing Twisted's Deferred
    machinery.
    """

    def test_cancelledError(self) -> None:
        """
        Twisted's C{CancelledError} (and subclasses) get C{cancelled: true}.
        """
        from twisted.internet.defer import CancelledError

        class Mine(CancelledError):
            pass

        self.assertEqual(extract_fields(CancelledError()), {"cancelled": True})
        self.assertEqual(extract_fields(Mine()), {"cancelled": True})

    def test_registeredWins(self) -> None:
        """
        An extractor registered for a class overrides a built-in named one.
        """
        from twisted.internet.defer import CancelledError

        self.patch(sys.modules["txcausal._errors"], "_EXTRACTORS", dict(_EXTRACTORS))
        register_exception_extractor(CancelledError, lambda e: {"mine": 1})
        self.assertEqual(extract_fields(CancelledError()), {"mine": 1})
