"""
Tests for L{txcausal._memory.MemoryLogger}.
"""

from __future__ import annotations

import threading

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import (
    ILogger,
    MemoryLogger,
    MessageType,
    ValidationError,
    fields,
    log_message,
    start_action,
    write_traceback,
)
from txcausal._message import Message

from ._helpers import CapturingMixin


def _traceback(exception: BaseException, logger: MemoryLogger) -> None:
    try:
        raise exception
    except BaseException:
        write_traceback(logger)


class MemoryLoggerTests(SynchronousTestCase, CapturingMixin):
    """
    L{MemoryLogger} keeps messages and tracebacks, checks them, and is
    thread-safe.
    """

    def test_interface(self) -> None:
        """
        L{MemoryLogger} provides L{ILogger}.
        """
        self.assertTrue(verifyObject(ILogger, MemoryLogger()))

    def test_messagesInOrder(self) -> None:
        """
        Messages are kept, unserialized, in the order written.
        """
        logger = self.capture()
        marker = object()
        log_message("app:one", value=marker)
        with start_action(action_type="app:act"):
            pass
        self.assertEqual([m.get("message_type") or m["action_status"] for m in logger.messages],
                         ["app:one", "started", "succeeded"])
        self.assertIs(logger.messages[0]["value"], marker)

    def test_tracebacks(self) -> None:
        """
        Tracebacks are kept apart in C{tracebacks} as well as in C{messages}.
        """
        logger = MemoryLogger()
        _traceback(KeyError("k"), logger)
        Message.new(message_type="app:plain").write(logger)
        self.assertEqual(len(logger.messages), 2)
        self.assertEqual([m["message_type"] for m in logger.tracebackMessages], ["eliot:traceback"])

    def test_flushTracebacks(self) -> None:
        """
        C{flush_tracebacks} takes out and returns the tracebacks of one
        exception class and its subclasses, keeping the others.
        """
        logger = MemoryLogger()
        _traceback(KeyError("k"), logger)
        _traceback(ValueError("v"), logger)
        _traceback(IndexError("i"), logger)
        flushed = logger.flush_tracebacks(LookupError)
        self.assertEqual([type(m["reason"]) for m in flushed], [KeyError, IndexError])
        self.assertEqual([type(m["reason"]) for m in logger.tracebackMessages], [ValueError])
        self.assertEqual(logger.flush_tracebacks(KeyError), [])

    def test_flushTracebacksTuple(self) -> None:
        """
        C{flush_tracebacks} accepts a tuple of classes, like C{isinstance}.
        """
        logger = MemoryLogger()
        _traceback(KeyError("k"), logger)
        _traceback(ValueError("v"), logger)
        self.assertEqual(len(logger.flush_tracebacks((KeyError, ValueError))), 2)
        self.assertEqual(logger.tracebackMessages, [])

    def test_flushTracebacksBadType(self) -> None:
        """
        C{flush_tracebacks} given something other than an exception class
        raises a clear L{TypeError}.
        """
        logger = MemoryLogger()
        error = self.assertRaises(TypeError, logger.flush_tracebacks, "KeyError")
        self.assertIn("exception class", str(error))
        self.assertRaises(TypeError, logger.flush_tracebacks, (KeyError, int))

    def test_reset(self) -> None:
        """
        C{reset} forgets messages and tracebacks.
        """
        logger = MemoryLogger()
        _traceback(KeyError("k"), logger)
        logger.reset()
        self.assertEqual((logger.messages, logger.tracebackMessages, logger.serializers),
                         ([], [], []))

    def test_validateGood(self) -> None:
        """
        C{validate} accepts well-formed plain and typed messages.
        """
        logger = self.capture()
        MessageType("app:typed", fields(n=int)).log(n=1)
        log_message("app:plain", data={"a": [1, 2]})
        _traceback(ValueError("v"), logger)
        logger.validate()

    def test_validateTypedField(self) -> None:
        """
        C{validate} raises L{ValidationError} for a typed message whose field
        has the wrong type.
        """
        logger = self.capture()
        MessageType("app:typed", fields(n=int)).log(n="one")
        self.assertRaises(ValidationError, logger.validate)

    def test_validateMissingPosition(self) -> None:
        """
        C{validate} raises L{ValidationError} for a message written without a
        task position.
        """
        logger = MemoryLogger()
        logger.write({"message_type": "app:bare"})
        self.assertRaises(ValidationError, logger.validate)

    def test_validateOddPosition(self) -> None:
        """
        C{validate} raises L{ValidationError}, naming the field, for a message
        whose C{task_uuid} is not a string, whose C{task_level} is not a
        non-empty list of positive integers (what the log readers take), or
        whose C{timestamp} is not a number; a C{task_level} up to 100 deep
        passes, a deeper one does not.
        """
        good = {"message_type": "raw", "task_uuid": "u", "task_level": [1], "timestamp": 1.5}
        for key, value in [("task_uuid", 7), ("task_level", "bogus"), ("task_level", []),
                           ("task_level", [0]), ("task_level", [1, -2]),
                           ("task_level", [True]), ("task_level", (1,)),
                           ("task_level", [1] * 101),
                           ("timestamp", "yesterday"), ("timestamp", None),
                           ("timestamp", True)]:
            logger = MemoryLogger()
            logger.write(dict(good, **{key: value}))
            error = self.assertRaises(ValidationError, logger.validate)
            self.assertIn(repr(key), str(error))
        logger = MemoryLogger()
        logger.write(dict(good, timestamp=2))
        logger.write(dict(good, task_level=[3, 1, 200]))
        logger.write(dict(good, task_level=[1] * 100))
        logger.validate()

    def test_validateUnencodable(self) -> None:
        """
        C{validate} raises L{TypeError} naming the message when a value
        cannot be encoded as JSON.
        """
        logger = self.capture()
        log_message("app:bad", value=object())
        error = self.assertRaises(TypeError, logger.validate)
        self.assertIn("app:bad", str(error))

    def test_validateEncoderHook(self) -> None:
        """
        C{validate} accepts values that the encoder hook it was given can
        encode.
        """

        class Money:
            pass

        def hook(o: object) -> object:
            if isinstance(o, Money):
                return "1 EUR"
            raise TypeError(o)

        logger = MemoryLogger(json_default=hook)
        Message.new(message_type="app:paid", amount=Money()).write(logger)
        logger.validate()
        self.assertRaises(TypeError, MemoryLogger.validate, _copy(logger))

    def test_serialize(self) -> None:
        """
        C{serialize} gives the messages as destinations get them: typed
        fields serialized, the originals untouched.
        """
        logger = MemoryLogger()
        _traceback(KeyError("k"), logger)
        [serialized] = logger.serialize()
        self.assertEqual(serialized["exception"], "builtins.KeyError")
        self.assertIsInstance(logger.messages[0]["reason"], KeyError)

    def test_repr(self) -> None:
        """
        The C{repr} counts messages and unflushed tracebacks.
        """
        logger = MemoryLogger()
        _traceback(KeyError("k"), logger)
        self.assertEqual(repr(logger), "<MemoryLogger 1 messages, 1 unflushed tracebacks>")

    def test_threads(self) -> None:
        """
        Messages and tracebacks written from several threads at once are all
        kept, with each message's serializer beside it.
        """
        logger = MemoryLogger()
        start = threading.Barrier(4)

        def work() -> None:
            start.wait()
            for i in range(200):
                Message.new(message_type="app:n", i=i).write(logger)
                _traceback(ValueError(i), logger)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(logger.messages), 1600)
        self.assertEqual(len(logger.flush_tracebacks(ValueError)), 800)
        pairs = logger._pairs()
        self.assertEqual(sum(s is not None for _, s in pairs), 800)
        self.assertTrue(all((m["message_type"] == "eliot:traceback") == (s is not None)
                            for m, s in pairs))


def _copy(logger: MemoryLogger) -> MemoryLogger:
    """
    @return: A logger with the default encoder holding C{logger}'s messages.
    """
    copy = MemoryLogger()
    for message, serializer in logger._pairs():
        copy.write(message, serializer)
    return copy
