"""
Tests for L{txcausal._errors}: tracebacks and exception extractors.
"""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys
from types import TracebackType
from typing import Any, Dict, Tuple, Type

from eliot._traceback import _traceback_no_io
from twisted.trial.unittest import SynchronousTestCase

from txcausal import register_exception_extractor, start_action, write_traceback
from txcausal._errors import _EXTRACTORS, extract_fields
from txcausal._safe import traceback_text

from ._helpers import CapturingMixin, IsolatedOutputMixin, linecache_looks


class Base(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"code {code}")
        self.code = code


class Derived(Base):
    pass


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


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
        self.assertIn(", in test_insideAction\n", tb["traceback"])

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

    def test_unprintableReason(self) -> None:
        """
        An exception whose C{str()} raises has Eliot's text as C{reason},
        in a traceback and in the failed action.
        """
        messages = self.collect()
        with self.assertRaises(_Unprintable):
            with start_action(action_type="a"):
                try:
                    raise _Unprintable()
                except _Unprintable:
                    write_traceback()
                raise _Unprintable()
        self.assertEqual([m.get("reason") for m in messages[1:]],
                         ["eliot: unknown, str() raised exception"] * 2)

    def test_nothingToWrite(self) -> None:
        """
        Outside exception handling nothing is written.
        """
        logger = self.capture()
        write_traceback()
        self.assertEqual(logger.messages, [])


#: A program whose traceback is formatted while every file it opens is
#: recorded (an audit hook): its own module's source must not be read.
_NO_READS_PROGRAM = """
import importlib, json, linecache, logging, os, sys, traceback
sys.path.insert(0, sys.argv[1])
boom = importlib.import_module("boomsource").boom
import txcausal
from txcausal._json import serialization_failure_messages
from txcausal.stdlib import CausalHandler
from txcausal.testing import MemoryLogger, swap_logger
if sys.argv[2] == "cached":
    # As after an earlier logging.exception: the lines are in linecache,
    # which the standard library checks against the file (os.stat).
    try:
        boom()
    except RuntimeError:
        traceback.format_exc()
else:
    linecache.clearcache()
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0]))
                 if event == "open" and "boomsource" in str(args[0]) else None)
real_stat = os.stat
def stat(path, *args, **kwargs):
    if "boomsource" in str(path):
        opened.append("stat " + str(path))
    return real_stat(path, *args, **kwargs)
os.stat = stat
logger = MemoryLogger()
swap_logger(logger)
record_logger = logging.getLogger("nine")
record_logger.addHandler(CausalHandler())
try:
    boom()
except RuntimeError as e:
    error = e
    txcausal.write_traceback()
    record_logger.error("oops", exc_info=True)
texts = [m["traceback"] for m in logger.messages if "traceback" in m]
texts += [m["traceback"] for m in serialization_failure_messages({}, error)
          if "traceback" in m]
print(json.dumps({"opened": opened, "texts": texts}))
"""


class TracebackTextTests(SynchronousTestCase):
    """
    The C{traceback} field: formatted as Eliot does, without reading any
    source file (the caller may be the reactor thread).
    """

    def test_noSourceFileRead(self) -> None:
        """
        L{write_traceback}, the standard library handler given C{exc_info}
        and the report of a message that could not be serialized open no
        source file, nor look at one (C{os.stat}) whose lines are already
        in C{linecache}; each traceback names file, line and function of
        every frame, without the source line.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        source = os.path.join(directory, "boomsource.py")
        with open(source, "w") as f:
            f.write("def boom():\n    raise RuntimeError('because')\n")
        for cache in ("cleared", "cached"):
            result = subprocess.run(
                [sys.executable, "-c", _NO_READS_PROGRAM, directory, cache],
                capture_output=True, text=True, check=True)
            report = json.loads(result.stdout.splitlines()[-1])
            self.assertEqual((cache, report["opened"]), (cache, []))
            self.assertEqual(len(report["texts"]), 3)
            for text in report["texts"]:
                self.assertIn(f'  File "{source}", line 2, in boom\n', text)
                self.assertNotIn("raise RuntimeError('because')", text)
                self.assertTrue(text.endswith("RuntimeError: because\n"), text)

    def test_formattingReadsNoLines(self) -> None:
        """
        Formatting never reads a line, not even lazily, through a frame
        summary's C{line}, nor checks the lines cached (C{checkcache}
        looks at each file on disk).  (Registering a module's loader for later, as
        the standard library does while walking the frames, reads nothing.)
        """
        looked = linecache_looks(self)
        traceback_text(*_chained())
        self.assertEqual(looked, [])

    def test_sameAsEliot(self) -> None:
        """
        The text is Eliot's, for plain, chained, recursive and grouped
        exceptions and syntax errors.
        """
        cases = [_chained(), _recursive(), _syntax()]
        if sys.version_info >= (3, 11):
            cases.append(_group())
        for typ, value, tb in cases:
            expected = "".join(_traceback_no_io.format_exception(typ, value, tb))
            self.assertEqual(traceback_text(typ, value, tb), expected)


def _info() -> Tuple[Type[BaseException], BaseException, TracebackType]:
    typ, value, tb = sys.exc_info()
    assert typ is not None and value is not None and tb is not None
    return typ, value, tb


def _chained() -> Tuple[Type[BaseException], BaseException, TracebackType]:
    try:
        try:
            raise KeyError("key")
        except KeyError:
            try:
                divmod(1, 0)
            except ZeroDivisionError as e:
                raise ValueError("outer") from e
    except ValueError:
        return _info()
    raise AssertionError("unreachable")


def _recursive() -> Tuple[Type[BaseException], BaseException, TracebackType]:
    def down(n: int) -> int:
        return 1 // n if n == 0 else down(n - 1)

    try:
        down(20)
    except ZeroDivisionError:
        return _info()
    raise AssertionError("unreachable")


def _syntax() -> Tuple[Type[BaseException], BaseException, TracebackType]:
    try:
        compile("x = (", "<text>", "exec")
    except SyntaxError:
        return _info()
    raise AssertionError("unreachable")


def _group() -> Tuple[Type[BaseException], BaseException, TracebackType]:
    group: Any = vars(builtins)["ExceptionGroup"]
    try:
        try:
            raise KeyError("inner")
        except KeyError as e:
            raise group("several", [e, ValueError("v")]) from e
    except Exception:
        return _info()
    raise AssertionError("unreachable")


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
