"""
Values JSON cannot write as they are: unencodable objects, recursive
structures, lone surrogates, colliding keys and floats that are not finite.
Every encoding path (L{FileDestination}, L{ThreadedWriter}, the
twisted.logger bridge) writes them the same way, as documented in
C{docs/outputting.md}, and the message keeps its place in the tree.
"""

from __future__ import annotations

import decimal
import io
import math
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination, start_action, to_file
from txcausal._json import DEFAULT_ENCODER, JSONLineEncoder
from txcausal._wire import UNENCODABLE_VALUES
from txcausal.parse import parse_files
from txcausal.twisted import TwistedDestination

from ._helpers import IsolatedOutputMixin, run_python
from ._writer_harness import WriterHarness


class BadRepr:
    """
    An object whose C{repr} raises.
    """

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class Plain:
    """
    A plain object, with its default C{repr}.
    """


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


def lines(data: bytes) -> List[Dict[str, Any]]:
    """
    Decode JSON lines, checking they are valid UTF-8 first.
    """
    data.decode("utf-8")
    return [orjson.loads(line) for line in data.splitlines()]


def message(**fields: Any) -> Dict[str, Any]:
    """
    A message as the registry hands it to a destination.
    """
    fields.setdefault("message_type", "test:m")
    fields.update(task_uuid="0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00", task_level=[2, 1],
                  timestamp=1.5)
    return fields


class UnencodableValueTests(SynchronousTestCase):
    """
    A value JSON cannot encode is written as a safe representation, and
    the replacement is reported in a message of its own.
    """

    def encode(self, **fields: Any) -> List[Dict[str, Any]]:
        return lines(DEFAULT_ENCODER.encode(message(**fields)))

    def test_replacedByRepr(self) -> None:
        """
        A plain object, an exception, a C{Decimal} and a C{range} are
        written as their C{repr}; the other fields, the task and the level
        are written as they are.
        """
        values = [Plain(), ValueError("boom"), decimal.Decimal("1.5"), range(3)]
        for value in values:
            written, report = self.encode(value=value, n=1)
            self.assertEqual(written, message(value=repr(value), n=1))
            self.assertEqual(report["message_type"], UNENCODABLE_VALUES)

    def test_paths(self) -> None:
        """
        Paths, pure or not, are written as their text.
        """
        written, = self.encode(pure=PurePosixPath("/a"), path=Path("b"))
        self.assertEqual((written["pure"], written["path"]), ("/a", "b"))

    def test_reprRaises(self) -> None:
        """
        When C{repr} raises too, a placeholder naming the type and the
        error is written.
        """
        written, report = self.encode(value=BadRepr())
        self.assertEqual(written["value"], "<unrepresentable BadRepr: RuntimeError>")
        self.assertEqual(report["values"][0]["type"], f"{__name__}.BadRepr")

    def test_report(self) -> None:
        """
        The report is a task of its own naming the message (task and
        level), each value replaced (its path, type and the reason), and
        how many there were.
        """
        written, report = self.encode(outer={"items": [1, Plain()]}, other=Plain())
        self.assertNotEqual(report["task_uuid"], written["task_uuid"])
        self.assertEqual(report["task_level"], [1])
        self.assertEqual(report["message_task_uuid"], written["task_uuid"])
        self.assertEqual(report["message_task_level"], [2, 1])
        self.assertEqual(report["count"], 2)
        self.assertEqual([v["field"] for v in report["values"]], ["outer.items[1]", "other"])
        self.assertIn("Plain", report["values"][0]["reason"])

    def test_recursive(self) -> None:
        """
        A list or dict inside itself is written up to where it repeats,
        the repeat written as C{repr} writes it, and reported.
        """
        loop: List[Any] = [1]
        loop.append(loop)
        cycle: Dict[str, Any] = {"a": 1}
        cycle["self"] = cycle
        written, report = self.encode(loop=loop, cycle=cycle)
        self.assertEqual((written["loop"], written["cycle"]),
                         ([1, "[...]"], {"a": 1, "self": "{...}"}))
        self.assertEqual([v["field"] for v in report["values"]], ["loop[1]", "cycle.self"])

    def test_sharedNotRecursive(self) -> None:
        """
        The same list twice in a message is not a recursion.
        """
        shared = [1, 2]
        written, = self.encode(a=shared, b=[shared, math.inf])
        self.assertEqual((written["a"], written["b"]), ([1, 2], [[1, 2], "Infinity"]))

    def test_deep(self) -> None:
        """
        Nesting deeper than JSON encoders accept is cut, and reported.
        """
        deep: List[Any] = []
        for _ in range(1000):
            deep = [deep]
        written, report = self.encode(deep=deep)
        self.assertEqual(report["count"], 1)
        depth = 0
        value = written["deep"]
        while isinstance(value, list):
            value, depth = value[0], depth + 1
        self.assertIsInstance(value, str)
        self.assertLess(depth, 255)

    def test_defaultRaisesAnything(self) -> None:
        """
        A user encoder hook raising something other than L{TypeError} is a
        failure to encode that value, not of the whole message.
        """

        def hook(o: object) -> object:
            raise ZeroDivisionError("hook broke")

        written, report = lines(JSONLineEncoder(hook).encode(message(v=Plain(), n=2)))
        self.assertEqual((written["n"], written["v"][:9]), (2, "<txcausal"))
        self.assertIn("ZeroDivisionError", report["values"][0]["reason"])

    def test_dumpsRaises(self) -> None:
        """
        The strict encoding, for validation in tests, raises L{TypeError}
        naming the field.
        """
        error = self.assertRaises(TypeError, DEFAULT_ENCODER.dumps, message(bad={"x": Plain()}))
        self.assertIn("bad.x", str(error))

    def test_dumpsAcceptsRepresentations(self) -> None:
        """
        The strict encoding accepts what has a documented representation:
        floats that are not finite, non-string keys, lone surrogates.
        """
        line = DEFAULT_ENCODER.dumps(message(f=math.nan, d={1: 2}, s="\udcff"))
        self.assertEqual(lines(line)[0]["d"], {"1": 2})


class TreeStaysWholeTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    An unencodable value in an action's start message leaves the tree
    whole in both readers.
    """

    def setUp(self) -> None:
        self.isolate()
        self.path = Path(self.mktemp())
        with self.path.open("wb") as f:
            to_file(f)
            with start_action(action_type="app:outer", thing=Plain()):
                with start_action(action_type="app:inner", amount=decimal.Decimal("2")):
                    pass

    def test_parse(self) -> None:
        """
        txcausal's parser finds the task complete, with the action's start
        and its child; the report is a task of its own.
        """
        tasks = list(parse_files([str(self.path)]))
        [task] = [t for t in tasks if t.root.action_type == "app:outer"]
        self.assertTrue(task.complete)
        root = task.root
        assert root.start_message is not None
        self.assertEqual(root.start_message["thing"][:15], "<txcausal.test.")
        self.assertEqual([getattr(c, "action_type", None) for c in root.children], ["app:inner"])
        self.assertEqual(len(tasks), 3)

    def test_cli(self) -> None:
        """
        C{txcausal tree} draws both actions and reports nothing missing.
        """
        result = run_python(["-m", "txcausal", "tree", "--no-color", str(self.path)])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("app:outer/1 ⇒ started", result.stdout)
        self.assertIn("app:inner/2/1 ⇒ started", result.stdout)
        self.assertNotIn("missing", result.stdout)

    def test_eliotTree(self) -> None:
        """
        eliot-tree draws both actions, none unnamed.
        """
        result = run_python(["-c", "import sys; from eliottree._cli import main; sys.exit(main())",
                             str(self.path)])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("app:outer/1 ⇒ started", result.stdout)
        self.assertIn("app:inner/2/2 ⇒ succeeded", result.stdout)
        self.assertNotIn("<unnamed>", result.stdout)


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


class KeyTests(SynchronousTestCase):
    """
    Dictionary keys that are not strings.
    """

    def encode(self, **fields: Any) -> Dict[str, Any]:
        return lines(DEFAULT_ENCODER.encode(message(**fields)))[0]

    def test_scalarKeys(self) -> None:
        """
        Integer, float, boolean and C{None} keys are written as JSON writes
        those values.
        """
        self.assertEqual(self.encode(d={2: "a", 1.5: "b", True: "c", None: "d"})["d"],
                         {"2": "a", "1.5": "b", "true": "c", "null": "d"})

    def test_collidingKeys(self) -> None:
        """
        A dict whose keys come out the same once written (C{1} and C{"1"})
        is written as a list of C{[key, value]} pairs, losing nothing.
        """
        self.assertEqual(self.encode(d={1: "a", "1": "b"})["d"], [[1, "a"], ["1", "b"]])

    def test_otherKeys(self) -> None:
        """
        Other keys are written as their C{repr}, and reported.
        """
        written, report = lines(DEFAULT_ENCODER.encode(message(d={(1, 2): 3})))
        self.assertEqual(written["d"], {"(1, 2)": 3})
        self.assertEqual(report["values"][0]["field"], "d")

    def test_collidingAtTop(self) -> None:
        """
        A message's own fields stay an object: a non-string field name that
        comes out the same as another gets its type added, and is reported.
        """
        fields: Dict[Any, Any] = message()
        fields[1] = "int"
        fields["1"] = "str"
        written, report = lines(DEFAULT_ENCODER.encode(fields))
        self.assertEqual((written["1"], written["1 (int)"]), ("str", "int"))
        self.assertEqual(report["count"], 1)
