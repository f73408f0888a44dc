"""
A Twisted project's test harness around Eliot: each test runs in an action
of its own, its messages go to the real logger and to a validating
MemoryLogger through swap_logger and an ILogger of the project's (a JSON
encoder of its own for bytes), check_for_errors fails the test on a bad
message; and a decorator running a Deferred-returning function in an action,
checked with capture_logging and assertHasAction by action type name.
The deprecation warnings (Eliot's for encoder=, and txcausal's, which names
json_default=) are silenced.
"""

import json
import sys
import unittest
import warnings

from eliot import ActionType, Field, ILogger, Message, MessageType, fields, start_action, to_file
from eliot.testing import (
    MemoryLogger,
    assertHasAction,
    capture_logging,
    check_for_errors,
    swap_logger,
)
from eliot.twisted import DeferredContext
from twisted.internet.defer import maybeDeferred
from zope.interface import implementer

warnings.simplefilter("ignore", DeprecationWarning)
to_file(open(sys.argv[1], "ab"))

RUN_TEST = ActionType("run-test", [Field.for_types("name", [str], "The test.")], [], "A test.")


class BytesEncoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, bytes):
            return o.decode("utf-8", "backslashreplace")
        return o


@implementer(ILogger)
class TwoLoggers:
    def __init__(self, a, b):
        self._a = a
        self._b = b

    def write(self, dictionary, serializer=None):
        self._a.write(dictionary, serializer)
        self._b.write(dictionary, serializer)


def with_logging(test_id, test_method):
    def run_with_logging(*args, **kwargs):
        validating_logger = MemoryLogger(encoder=BytesEncoder)
        original = swap_logger(None)
        try:
            swap_logger(TwoLoggers(original, validating_logger))
            with RUN_TEST(name=test_id):
                try:
                    return test_method(*args, **kwargs)
                finally:
                    check_for_errors(validating_logger)
        finally:
            swap_logger(original)
    return run_with_logging


class Unserializable:
    pass


def bad_field():
    MessageType("test:typed", fields(foo=int))(foo="Hello").write()


for name, body in [("plain", lambda: Message.log(hello="world")),
                   ("non_utf8", lambda: Message.log(hello=b"\xff")),
                   ("unserializable", lambda: Message.log(hello=Unserializable)),
                   ("bad_field", bad_field)]:
    try:
        with_logging(name, body)()
        print(name, "passed")
    except Exception as e:
        print(name, "failed with", type(e).__name__)

expected = MemoryLogger()
original = swap_logger(expected)
print("swapped back:", swap_logger(original) is expected)


def log_call_deferred(action_type):
    def decorate(f):
        def logged_f(*a, **kw):
            with start_action(action_type=action_type).context():
                d = maybeDeferred(f, *a, **kw)
                return DeferredContext(d).addActionFinish()
        return logged_f
    return decorate


class LogCallDeferredTests(unittest.TestCase):
    @capture_logging(lambda self, logger: assertHasAction(self, logger, "the-action", True))
    def test_return_value(self, logger):
        result = object()
        returned = []
        log_call_deferred("the-action")(lambda: result)().addCallback(returned.append)
        self.assertIs(returned[0], result)

    @capture_logging(lambda self, logger: assertHasAction(self, logger, "the-action", False))
    def test_raise_exception(self, logger):
        failures = []

        def f():
            raise KeyError("k")
        log_call_deferred("the-action")(f)().addErrback(failures.append)
        self.assertIsInstance(failures[0].value, KeyError)


result = unittest.TestResult()
unittest.defaultTestLoader.loadTestsFromTestCase(LogCallDeferredTests).run(result)
print("log_call_deferred:", result.testsRun, "run,", len(result.failures + result.errors), "bad")
