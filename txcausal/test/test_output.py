"""
Tests for L{txcausal._output}: destinations, the early buffer, failure
reports and L{FileDestination}.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import (
    FileDestination,
    IDestination,
    ILogger,
    Logger,
    MessageType,
    add_destinations,
    add_global_fields,
    fields,
    log_message,
    remove_destination,
    start_action,
    to_file,
)
from txcausal._output import EARLY_BUFFER_SIZE, Destinations
from txcausal._types import Field

from ._helpers import IsolatedOutputMixin, read_json_lines, run_python


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

    def test_messageFieldWinsOverGlobal(self) -> None:
        """
        A message's own field wins over a global field of the same name.
        """
        messages = self.collect()
        add_global_fields(process="api")
        log_message(message_type="m", process="worker")
        self.assertEqual(messages[0]["process"], "worker")

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
        self.assertIn("'x': 0", messages[1]["message"])

    def test_loggerProvides(self) -> None:
        """
        L{Logger} provides L{ILogger}.
        """
        self.assertTrue(verifyObject(ILogger, Logger(Destinations())))


class FileDestinationTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    L{FileDestination} and L{to_file}.
    """

    def test_binaryFile(self) -> None:
        """
        Messages are written to a binary file as JSON lines.
        """
        out = io.BytesIO()
        FileDestination(out)({"a": 1, "b": "é"})
        self.assertEqual(json.loads(out.getvalue()), {"a": 1, "b": "é"})
        self.assertTrue(out.getvalue().endswith(b"}\n"))

    def test_textFile(self) -> None:
        """
        Messages are written to a text file as JSON lines.
        """
        out = io.StringIO()
        FileDestination(out)({"a": "é"})
        self.assertEqual(out.getvalue(), '{"a":"é"}\n')

    def test_realFileFlushedEachMessage(self) -> None:
        """
        With L{to_file} each message is in the file as soon as it is logged,
        with no explicit flush.
        """
        self.isolate()
        path = Path(self.mktemp())
        with path.open("w") as f:
            to_file(f)
            with start_action(action_type="a"):
                log_message(message_type="m")
                self.assertEqual(len(read_json_lines(path)), 2)
        self.assertEqual(len(read_json_lines(path)), 3)

    def test_provides(self) -> None:
        """
        L{FileDestination} provides L{IDestination}.
        """
        self.assertTrue(verifyObject(IDestination, FileDestination(io.BytesIO())))

    def test_encodeThenWrite(self) -> None:
        """
        L{FileDestination.encode} gives the line the destination would write,
        and L{FileDestination.write_encoded} writes a batch of such lines.
        """
        out = io.StringIO()
        destination = FileDestination(out)
        lines = destination.encode({"n": 1}) + destination.encode({"n": 2})
        self.assertEqual(lines, b'{"n":1}\n{"n":2}\n')
        destination.write_encoded(lines)
        self.assertEqual(out.getvalue(), lines.decode())

    def test_unencodable(self) -> None:
        """
        An unencodable value is replaced by a traceback and a serialization
        failure line; the file stays valid JSON lines.
        """
        out = io.BytesIO()
        FileDestination(out)({"message_type": "m", "o": object()})
        lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual([m["message_type"] for m in lines],
                         ["eliot:traceback", "eliot:serialization_failure"])
        self.assertIn("object object", lines[1]["message"])

    def test_encoderClass(self) -> None:
        """
        A L{json.JSONEncoder} subclass, as Eliot accepts, encodes user types.
        """

        class Encoder(json.JSONEncoder):
            def default(self, o: Any) -> Any:
                if isinstance(o, complex):
                    return [o.real, o.imag]
                return json.JSONEncoder.default(self, o)

        out = io.BytesIO()
        FileDestination(out, encoder=Encoder)({"c": 1 + 2j, "b": b"raw"})
        self.assertEqual(json.loads(out.getvalue()), {"c": [1.0, 2.0], "b": "raw"})

    def test_encoderCallable(self) -> None:
        """
        A plain callable also works as the encoder hook.
        """
        out = io.BytesIO()
        FileDestination(out, encoder=lambda o: sorted(o) if isinstance(o, frozenset) else str(o))(
            {"s": frozenset([2, 1]), "p": Path("/x")})
        self.assertEqual(json.loads(out.getvalue()), {"s": [1, 2], "p": "/x"})

    def test_bigIntegers(self) -> None:
        """
        Integers beyond 64 bits are encoded exactly.
        """
        out = io.BytesIO()
        FileDestination(out)({"n": 2**70, "s": {1}})
        self.assertEqual(json.loads(out.getvalue()), {"n": 2**70, "s": [1]})

    def test_numpy(self) -> None:
        """
        NumPy scalars and arrays are encoded as numbers and lists.
        """
        import numpy as np

        out = io.BytesIO()
        FileDestination(out)({"i": np.int64(3), "f": np.float32(0.5),
                              "a": np.arange(3), "o": np.array([1, "x"], dtype=object)})
        self.assertEqual(json.loads(out.getvalue()),
                         {"i": 3, "f": 0.5, "a": [0, 1, 2], "o": [1, "x"]})

    def test_typedMessageSerialized(self) -> None:
        """
        Field serializers run when a message is written.
        """
        messages = self.collect()
        MessageType("t", fields(Field("p", lambda p: [p.real, p.imag]))).log(p=1j)
        self.assertEqual(messages[0]["p"], [0.0, 1.0])


class NoNumPyImportTests(SynchronousTestCase):
    """
    txcausal recognises NumPy values without importing NumPy itself.
    """

    def test_numpyNotImported(self) -> None:
        """
        Importing txcausal and logging to a file leaves NumPy unimported.
        """
        script = (
            "import io, sys, txcausal\n"
            "txcausal.to_file(io.BytesIO())\n"
            "txcausal.log_message(message_type='m', x={1}, b=b'x')\n"
            "print('numpy' in sys.modules)\n"
        )
        result = run_python(["-c", script])
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "False"), result.stderr)


class FileDestinationDirectWriteTests(SynchronousTestCase):
    """
    L{FileDestination} writes lines straight to a regular file opened in
    binary mode, one system call per line, and through the buffer otherwise.
    """

    def test_regularFileWrittenDirectly(self) -> None:
        """
        A binary file on a regular file is written to directly, after what
        the program wrote through the file object before.
        """
        path = Path(self.mktemp())
        with path.open("wb") as f:
            f.write(b'{"header":1}\n')
            destination = FileDestination(f)
            self.assertIs(destination._raw, f.raw)
            destination({"n": 1})
            self.assertEqual(read_json_lines(path), [{"header": 1}, {"n": 1}])

    def test_streamsAndPipesBuffered(self) -> None:
        """
        The standard streams and pipes are written through their buffer,
        and flushed.
        """
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "wb") as w, os.fdopen(read_end, "rb") as r:
            destination = FileDestination(w)
            self.assertIsNone(destination._raw)
            destination({"n": 1})
            self.assertEqual(r.readline(), b'{"n":1}\n')
        self.assertIsNone(FileDestination(sys.__stdout__.buffer)._raw)  # type: ignore

    def test_closedFileRaises(self) -> None:
        """
        Once the file is closed, writing raises (and the registry reports
        it) rather than writing to whatever reuses the file descriptor.
        """
        path = Path(self.mktemp())
        f = path.open("wb")
        destination = FileDestination(f)
        f.close()
        self.assertRaises(ValueError, destination, {"n": 1})

    def test_fileIsReadOnly(self) -> None:
        """
        L{FileDestination.file} is the file written to, and cannot be
        replaced (the destination would keep writing to the old one).
        """
        out = io.BytesIO()
        destination = FileDestination(out)
        self.assertIs(destination.file, out)
        self.assertRaises(AttributeError, setattr, destination, "file", io.BytesIO())
