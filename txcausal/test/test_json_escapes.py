"""
Values JSON has no spelling for: lone surrogates, escaped so that every
line is valid UTF-8, and floats that are not finite, written as strings.
Every encoding path (L{FileDestination}, L{ThreadedWriter}, the
twisted.logger bridge) writes them the same way, as documented in
C{docs/outputting.md}.
"""

from __future__ import annotations

import io
import math
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal._json import DEFAULT_ENCODER, JSONLineEncoder
from txcausal.twisted import TwistedDestination

from ._json_values import Plain, lines, message
from ._writer_harness import WriterHarness


class ListOf(list):  # type: ignore[type-arg]
    """
    A list subclass, which orjson writes as a list.
    """


@dataclass
class Measure:
    """
    A dataclass, which orjson writes as an object.
    """

    value: float


class Odd(Enum):
    """
    An enum, which orjson writes as its value.
    """

    NAN = math.nan


class _ThroughWriters(WriterHarness):
    """
    Writes C{fields} through L{ThreadedWriter}s and checks what comes out
    with C{check}.
    """

    fields: Dict[str, Any]

    def check(self, data: bytes) -> None:
        raise NotImplementedError()

    def checkThreadedWriter(self) -> None:
        """
        Check what a L{ThreadedWriter} writes to a L{FileDestination}, and
        delivers to another destination.
        """
        out = io.BytesIO()
        received: List[Dict[str, Any]] = []
        for destination in [FileDestination(out), received.append]:
            writer, _, performAll = self.started(destination)
            writer(message(**self.fields))
            performAll()
        self.check(out.getvalue())
        self.check(orjson.dumps(received[0]))


class SurrogateTests(_ThroughWriters, SynchronousTestCase):
    """
    Lone surrogates (what C{os.listdir} and C{sys.argv} give for bytes that
    are not UTF-8) are escaped, so every line is valid UTF-8.
    """

    fields = {"path": "caf\udce9.txt", "\udcff": "key", "high": "\ud800!"}
    expected = {"path": "caf\\xe9.txt", "\\xff": "key", "high": "\\ud800!"}

    def check(self, data: bytes) -> None:
        [written] = lines(data)
        for key, value in self.expected.items():
            self.assertEqual(written[key], value)

    def test_binaryFile(self) -> None:
        """
        A binary file gets valid UTF-8.
        """
        out = io.BytesIO()
        FileDestination(out)(message(**self.fields))
        self.check(out.getvalue())

    def test_textFile(self) -> None:
        """
        A text file strict about UTF-8 takes the line.
        """
        raw = io.BytesIO()
        out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
        FileDestination(out)(message(**self.fields))
        self.check(raw.getvalue())

    def test_threadedWriter(self) -> None:
        """
        Behind a L{ThreadedWriter}, a file and any other destination get
        the escaped text.
        """
        self.checkThreadedWriter()

    def test_twistedDestination(self) -> None:
        """
        The twisted.logger bridge's JSON text is valid UTF-8 too.
        """
        events: List[Dict[str, Any]] = []
        TwistedDestination(events.append)(message(**self.fields))
        self.check(events[0]["txcausal_json"].encode("utf-8"))


class NonFiniteTests(_ThroughWriters, SynchronousTestCase):
    """
    C{NaN}, C{inf} and C{-inf} are written as the strings C{"NaN"},
    C{"Infinity"} and C{"-Infinity"} (which C{float()} reads back), not as
    C{null}.
    """

    fields = {"nan": math.nan, "inf": math.inf, "list": [1.0, -math.inf],
              "nested": {"x": (math.nan,)}, "none": None, "text": "null"}
    expected = {"nan": "NaN", "inf": "Infinity", "list": [1.0, "-Infinity"],
                "nested": {"x": ["NaN"]}, "none": None, "text": "null"}

    def check(self, data: bytes) -> None:
        [written] = lines(data)
        self.assertEqual({k: written[k] for k in self.expected}, self.expected)

    def test_fileDestination(self) -> None:
        """
        L{FileDestination}'s fast path writes them as strings.
        """
        out = io.BytesIO()
        destination = FileDestination(out)
        destination(message(**self.fields))
        self.check(out.getvalue())
        self.check(destination.encode(message(**self.fields)))

    def test_threadedWriter(self) -> None:
        """
        So does L{ThreadedWriter}'s, for a file or another destination.
        """
        self.checkThreadedWriter()

    def test_noneAlone(self) -> None:
        """
        A message whose only C{null} is a real C{None} is written as it is.
        """
        self.assertEqual(lines(DEFAULT_ENCODER.encode(message(v=None)))[0]["v"], None)

    def test_numpy(self) -> None:
        """
        NumPy's floats and arrays that are not finite are written the same
        way.
        """
        import numpy

        written, = lines(DEFAULT_ENCODER.encode(message(
            s=numpy.float64("nan"), a=numpy.array([1.0, numpy.inf]))))
        self.assertEqual((written["s"], written["a"]), ("NaN", [1.0, "Infinity"]))

    def test_containersOrjsonWritesItself(self) -> None:
        """
        Inside the containers orjson writes without asking the encoder (dict
        and list subclasses, dataclasses, enums) and those the encoder's
        default turns into lists (sets), they are written the same way.
        """
        written, = lines(DEFAULT_ENCODER.encode(message(
            ordered=OrderedDict(x=math.nan), listed=ListOf([math.inf]),
            data=Measure(-math.inf), enum=Odd.NAN, set={math.nan}, none=None)))
        self.assertEqual(
            {k: written[k] for k in ["ordered", "listed", "data", "enum", "set", "none"]},
            {"ordered": {"x": "NaN"}, "listed": ["Infinity"], "data": {"value": "-Infinity"},
             "enum": "NaN", "set": ["NaN"], "none": None})

    def test_textFromHook(self) -> None:
        """
        A user's hook may write even C{bytes} with a non-finite float.
        """
        encoder = JSONLineEncoder(lambda o: [math.nan])
        written, = lines(encoder.encode(message(b=b"x", none=None)))
        self.assertEqual((written["b"], written["none"]), (["NaN"], None))

    def test_fromHook(self) -> None:
        """
        A non-finite float an encoder hook returns is written the same way.
        """
        encoder = JSONLineEncoder(lambda o: [math.nan])
        self.assertEqual(lines(encoder.encode(message(v=Plain())))[0]["v"], ["NaN"])
