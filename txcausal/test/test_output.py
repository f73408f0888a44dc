"""
Tests for L{txcausal._output}: destinations, the early buffer and failure
reports (L{FileDestination}: C{test_file}).
"""

from __future__ import annotations

import io
import logging
import sys
from typing import Any, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import (
    FileDestination,
    ILogger,
    Logger,
    MessageType,
    _output,
    add_destinations,
    add_global_fields,
    log_message,
    remove_destination,
)
from txcausal._output import EARLY_BUFFER_SIZE, Destinations
from txcausal._types import Field
from txcausal._wire import exception_name

from ._helpers import IsolatedOutputMixin


class DestinationsTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    The process-wide destination registry.
    """

    def test_everyDestinationGetsEveryMessage(self) -> None:
        """
        Each added destination receives each message.
        """
        self.isolate()
        first: List[Dict[str, Any]] = []
        second: List[Dict[str, Any]] = []
        add_destinations(first.append, second.append)
        log_message(message_type="m", x=1)
        self.assertEqual([m["x"] for m in first], [1])
        self.assertEqual(first, second)

    def test_remove(self) -> None:
        """
        A removed destination receives no more messages; removing one that
        was never added raises L{ValueError}.
        """
        self.isolate()
        got: List[Dict[str, Any]] = []
        add_destinations(got.append)
        remove_destination(got.append)
        log_message(message_type="m")
        self.assertEqual(got, [])
        self.assertRaises(ValueError, remove_destination, got.append)

    def test_earlyBuffer(self) -> None:
        """
        Messages logged before any destination is added are delivered, in
        order, to the first destinations added.
        """
        self.isolate()
        for i in range(3):
            log_message(message_type="early", i=i)
        got: List[Dict[str, Any]] = []
        add_destinations(got.append)
        log_message(message_type="late")
        self.assertEqual([m.get("i") for m in got], [0, 1, 2, None])

    def test_earlyBufferOverflowReported(self) -> None:
        """
        Past the buffer's size the oldest messages are dropped, and a
        C{txcausal:messages_dropped} message counts them.
        """
        destinations = self.isolate()
        for i in range(EARLY_BUFFER_SIZE + 5):
            log_message(message_type="early", i=i)
        got: List[Dict[str, Any]] = []
        add_destinations(got.append)
        self.assertEqual(destinations.dropped, 5)
        self.assertEqual(got[0]["i"], 5)
        self.assertEqual(len(got), EARLY_BUFFER_SIZE + 1)
        self.assertEqual((got[-1]["message_type"], got[-1]["count"]),
                         ("txcausal:messages_dropped", 5))

    def test_globalFields(self) -> None:
        """
        L{add_global_fields} adds fields to every message.
        """
        messages = self.collect()
        add_global_fields(process="api")
        add_global_fields(region="eu")
        log_message(message_type="m")
        self.assertEqual((messages[0]["process"], messages[0]["region"]), ("api", "eu"))

    def test_failingDestinationReported(self) -> None:
        """
        A destination that raises does not stop the others; they also get an
        C{eliot:destination_failure} message naming it, and the caller sees
        no exception.
        """
        messages = self.collect()

        def broken(message: Dict[str, Any]) -> None:
            raise ZeroDivisionError("no")

        add_destinations(broken)
        log_message(message_type="m", x=1)
        log_message(message_type="m", x=2)
        kinds = [m["message_type"] for m in messages]
        self.assertEqual(kinds, ["m", "eliot:destination_failure"] * 2)
        report = messages[1]
        self.assertIn("broken", report["destination"])
        self.assertEqual(report["exception"], "builtins.ZeroDivisionError")
        self.assertEqual(report["reason"], "no")
        self.assertIn("'x': 1", report["message"])

    def test_baseExceptionIsAFailure(self) -> None:
        """
        A destination raising a L{BaseException} other than
        L{KeyboardInterrupt} (C{SystemExit}, C{GeneratorExit}, a subclass of
        its own) is a failing destination: the caller sees nothing, the
        destinations after it still get the message, and the failure is
        reported.
        """
        class Custom(BaseException):
            pass

        for error in (SystemExit(3), GeneratorExit(), Custom()):
            messages: List[Dict[str, Any]] = []

            def broken(message: Dict[str, Any], error: BaseException = error) -> None:
                raise error

            destinations = Destinations()
            destinations.add(broken, messages.append)
            Logger(destinations).write({"message_type": "m"})
            self.assertEqual([m["message_type"] for m in messages],
                             ["m", "eliot:destination_failure"])
            self.assertEqual(messages[1]["exception"], exception_name(error))

    def test_keyboardInterruptAfterTheOthers(self) -> None:
        """
        A L{KeyboardInterrupt} raised while a destination runs (Control-C)
        still interrupts the program, once the other destinations got the
        message and the report of the one interrupted.
        """
        messages: List[Dict[str, Any]] = []

        def interrupted(message: Dict[str, Any]) -> None:
            if message["message_type"] == "m":
                raise KeyboardInterrupt()

        destinations = Destinations()
        destinations.add(interrupted, messages.append)
        self.assertRaises(KeyboardInterrupt, Logger(destinations).write, {"message_type": "m"})
        self.assertEqual([m["message_type"] for m in messages],
                         ["m", "eliot:destination_failure"])
        self.assertEqual(messages[1]["exception"], "builtins.KeyboardInterrupt")

    def test_firstKeyboardInterruptReraised(self) -> None:
        """
        When several destinations raise a L{KeyboardInterrupt} taking one
        message, the first is re-raised, and each is reported as a failure
        to the destinations that work.
        """
        messages: List[Dict[str, Any]] = []
        interrupts = [KeyboardInterrupt("first"), KeyboardInterrupt("second")]

        def interrupter(error: KeyboardInterrupt) -> Any:
            def interrupted(message: Dict[str, Any]) -> None:
                if message["message_type"] == "m":
                    raise error
            return interrupted

        destinations = Destinations()
        destinations.add(interrupter(interrupts[0]), interrupter(interrupts[1]), messages.append)
        with self.assertRaises(KeyboardInterrupt) as caught:
            destinations.send({"message_type": "m"})
        self.assertIs(caught.exception, interrupts[0])
        self.assertEqual([(m["message_type"], m.get("reason")) for m in messages],
                         [("m", None), ("eliot:destination_failure", "first"),
                          ("eliot:destination_failure", "second")])

    def test_firstKeyboardInterruptReraisedAmongFiles(self) -> None:
        """
        So it is among destinations writing JSON lines, which get the
        message encoded once for all of them.
        """
        messages: List[Dict[str, Any]] = []
        interrupts = [KeyboardInterrupt("first"), KeyboardInterrupt("second")]

        class Interrupting(io.BytesIO):
            def __init__(self, error: KeyboardInterrupt) -> None:
                self.error = error

            def write(self, data: Any) -> int:
                if data:
                    raise self.error
                return 0

        destinations = Destinations()
        destinations.add(*[FileDestination(Interrupting(error)) for error in interrupts],
                         messages.append)
        with self.assertRaises(KeyboardInterrupt) as caught:
            destinations.send({"message_type": "m"})
        self.assertIs(caught.exception, interrupts[0])
        self.assertEqual([m.get("reason") for m in messages], [None, "first", "second"])

    def test_keyboardInterruptWhileReporting(self) -> None:
        """
        A L{KeyboardInterrupt} raised by a destination taking the report of
        another's failure also reaches the program, once every destination
        got the message.
        """
        seen: List[str] = []

        def broken(message: Dict[str, Any]) -> None:
            seen.append("broken")
            raise OSError("no")

        def interruptedByReport(message: Dict[str, Any]) -> None:
            seen.append(message["message_type"])
            if message["message_type"] == "eliot:destination_failure":
                raise KeyboardInterrupt()

        destinations = Destinations()
        destinations.add(broken, interruptedByReport)
        self.assertRaises(KeyboardInterrupt, destinations.send, {"message_type": "m"})
        self.assertEqual(seen, ["broken", "m", "eliot:destination_failure"])

    def test_notCallableRefused(self) -> None:
        """
        Something that is not callable (a stdlib logging handler, a file) is
        refused when added, with a L{TypeError} saying what a destination
        is; none of the destinations given with it is added.
        """
        destinations = Destinations()
        good: List[Dict[str, Any]] = []
        handler = logging.StreamHandler(io.StringIO())
        exc = self.assertRaises(TypeError, destinations.add, good.append, handler)
        self.assertIn("StreamHandler", str(exc))
        self.assertIn("callable", str(exc))
        self.assertEqual(destinations._destinations, ())

    def test_instanceDestination(self) -> None:
        """
        An instance of a class with C{__call__} (called through its bound
        method, which is cheaper) receives messages, is named as itself when
        it fails, and is removed by passing the instance.
        """
        messages = self.collect()

        class Broken:
            calls = 0

            def __call__(self, message: Dict[str, Any]) -> None:
                self.calls += 1
                raise ZeroDivisionError("no")

            def __repr__(self) -> str:
                return "<Broken>"

        broken = Broken()
        add_destinations(broken)
        log_message(message_type="m", x=1)
        self.assertEqual(broken.calls, 1)
        self.assertEqual(messages[1]["destination"], "<Broken>")
        remove_destination(broken)
        log_message(message_type="m", x=2)
        self.assertEqual((broken.calls, len(messages)), (1, 3))

    def test_destinationsAsAdded(self) -> None:
        """
        Whatever the registry calls, destinations are removed and named as
        they were added: an instance whose C{__call__} is a staticmethod is
        removed by itself, an equal object removes it as before, and an
        instance added twice that fails reports to nobody but standard
        error.
        """
        class Static:
            calls: List[Dict[str, Any]] = []

            @staticmethod
            def __call__(message: Dict[str, Any]) -> None:
                Static.calls.append(message)

        class Equal:
            def __call__(self, message: Dict[str, Any]) -> None:
                pass

            def __eq__(self, other: object) -> bool:
                return isinstance(other, Equal)

            __hash__ = object.__hash__

        class Failing:
            def __call__(self, message: Dict[str, Any]) -> None:
                raise OSError("no")

        destinations = Destinations()
        first, second = Static(), Static()
        destinations.add(first, second)
        destinations.remove(second)
        destinations.send({"n": 1})
        self.assertEqual(len(Static.calls), 1)
        destinations.remove(first)
        destinations.add(Equal())
        destinations.remove(Equal())
        self.assertEqual(destinations._destinations, ())
        self.patch(sys, "stderr", io.StringIO())
        failing = Failing()
        destinations.add(failing, failing)
        destinations.send({"n": 2})
        self.assertEqual(destinations.dropped, 2)

    def test_soleDestinationFails(self) -> None:
        """
        When the only destination raises, the lost message is counted and
        the failure report goes to standard error, since no destination can
        take it.
        """
        def broken(message: Dict[str, Any]) -> None:
            raise IndexError("gone")

        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destinations = Destinations()
        destinations.add(broken)
        Logger(destinations).write({"message_type": "m"})
        self.assertEqual(destinations.dropped, 1)
        report = orjson.loads(stderr.getvalue())
        self.assertEqual((report["message_type"], report["reason"]),
                         ("eliot:destination_failure", "gone"))

    def test_soleDestinationFailsFromLogMessage(self) -> None:
        """
        C{log_message} hands a message to the only destination itself: a
        failure there is counted and reported as through L{Logger.write},
        and a L{KeyboardInterrupt} reaches the caller, reported first.
        """
        errors: List[BaseException] = [IndexError("gone"), KeyboardInterrupt()]

        def broken(message: Dict[str, Any]) -> None:
            raise errors.pop(0)

        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        destinations = self.isolate()
        destinations.add(broken)
        log_message(message_type="m")
        self.assertRaises(KeyboardInterrupt, log_message, message_type="m")
        self.assertEqual(destinations.dropped, 2)
        reports = [orjson.loads(line) for line in stderr.getvalue().splitlines()]
        self.assertEqual([(r["message_type"], r["exception"]) for r in reports],
                         [("eliot:destination_failure", "builtins.IndexError"),
                          ("eliot:destination_failure", "builtins.KeyboardInterrupt")])

    def test_everyDestinationFails(self) -> None:
        """
        When every destination fails, logging still returns normally and
        each failure is reported to the other.
        """
        seen: List[str] = []

        def divide(message: Dict[str, Any]) -> None:
            seen.append("divide")
            raise ZeroDivisionError()

        def index(message: Dict[str, Any]) -> None:
            seen.append("index")
            raise IndexError()

        destinations = Destinations()
        destinations.add(divide, index)
        Logger(destinations).write({"message_type": "m"})
        self.assertEqual(seen, ["divide", "index", "index", "divide"])

    def test_bufferAfterLastRemoved(self) -> None:
        """
        Messages logged after the last destination is removed are kept for
        the next one added, and those beyond the buffer are reported.
        """
        destinations = Destinations(buffer_size=2)
        first: List[Dict[str, Any]] = []
        destinations.add(first.append)
        destinations.remove(first.append)
        for i in range(3):
            destinations.send({"i": i})
        second: List[Dict[str, Any]] = []
        destinations.add(second.append)
        self.assertEqual(first, [])
        self.assertEqual([m.get("i") for m in second], [1, 2, None])
        self.assertEqual((second[-1]["message_type"], second[-1]["count"]),
                         ("txcausal:messages_dropped", 1))
        self.assertEqual(destinations.dropped, 1)

    def test_globalFieldsCannotReplaceWireFields(self) -> None:
        """
        The fields txcausal writes cannot be global fields.
        """
        self.isolate()
        for name in ["task_uuid", "task_level", "timestamp", "message_type", "action_type",
                     "action_status"]:
            self.assertRaises(ValueError, add_global_fields, **{name: "x"})

    def test_globalFieldsCannotBeHandOffFields(self) -> None:
        """
        The fields a finish message lists handed-off positions in, which
        readers read as txcausal's, cannot be global fields: the error names
        the field, and no field of the call is added.
        """
        messages = self.collect()
        for name in ["remote_task_levels", "retried_task_levels", "unsent_task_levels"]:
            error = self.assertRaises(ValueError, add_global_fields, process="api",
                                      **{name: ["/2"]})
            self.assertIn(repr(name), str(error))
        log_message(message_type="m")
        self.assertEqual([sorted(m.keys() & {"process", "retried_task_levels",
                                             "unsent_task_levels", "remote_task_levels"})
                          for m in messages], [[]])

    def test_messageFieldWinsOverGlobal(self) -> None:
        """
        A message's own field wins over a global field of the same name.
        """
        messages = self.collect()
        add_global_fields(process="api")
        log_message(message_type="m", process="worker")
        self.assertEqual(messages[0]["process"], "worker")

    def test_fieldSource(self) -> None:
        """
        A field source is asked for fields as each message is sent; the
        message's own fields and global fields win over its fields, a
        source that returns nothing adds nothing and one that raises is
        ignored; once removed it is not asked any more.
        """
        messages = self.collect()
        destinations = _output._DESTINATIONS
        answers: List[Any] = [{"trace_id": "t", "process": "s", "x": "s"}, None]

        def source() -> Any:
            return answers.pop(0) if answers else 1 / 0

        add_global_fields(process="api")
        destinations.add_field_source(source)
        log_message(message_type="m", x="own")
        log_message(message_type="m")
        log_message(message_type="m")
        destinations.remove_field_source(source)
        answers.append({"late": 1})
        log_message(message_type="m")
        self.assertEqual([(m.get("trace_id"), m["process"], m.get("x")) for m in messages],
                         [("t", "api", "own"), (None, "api", None), (None, "api", None),
                          (None, "api", None)])
        self.assertRaises(ValueError, destinations.remove_field_source, source)

    def test_serializerFailure(self) -> None:
        """
        A field serializer that raises produces an C{eliot:traceback} and an
        C{eliot:serialization_failure} message instead of the message.
        """
        messages = self.collect()
        broken = MessageType("bad", [Field("x", lambda v: 1 / v)])
        broken.log(x=0)
        self.assertEqual([m["message_type"] for m in messages],
                         ["eliot:traceback", "eliot:serialization_failure"])
        self.assertEqual(messages[0]["exception"], "builtins.ZeroDivisionError")
        self.assertIn("\"'x'\": '0'", messages[1]["message"])

    def test_loggerProvides(self) -> None:
        """
        L{Logger} provides L{ILogger}.
        """
        self.assertTrue(verifyObject(ILogger, Logger(Destinations())))
