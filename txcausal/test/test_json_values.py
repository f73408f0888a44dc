"""
Values JSON cannot write as they are: unencodable objects, recursive
structures and colliding keys.  Every encoding path (L{FileDestination},
L{ThreadedWriter}, the twisted.logger bridge) writes them the same way, as
documented in C{docs/outputting.md}, and the message keeps its place in the
tree.  Lone surrogates and floats that are not finite are tested in
L{txcausal.test.test_json_escapes}.
"""

from __future__ import annotations

import decimal
import math
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal import start_action, to_file
from txcausal._json import DEFAULT_ENCODER, JSONLineEncoder
from txcausal._wire import UNENCODABLE_VALUES
from txcausal.parse import parse_files

from ._helpers import IsolatedOutputMixin, run_python
from ._json_values import Plain, lines, message


class BadRepr:
    """
    An object whose C{repr} raises.
    """

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


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
