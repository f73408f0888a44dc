"""
Tests for L{txcausal.json.json_default} and the C{json_default=} argument
Eliot's programs pass to L{to_file}, L{FileDestination} and
L{MemoryLogger}.
"""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination, MemoryLogger, log_message, to_file
from txcausal.json import json_default

from ._helpers import IsolatedOutputMixin


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents


def money_default(o: Any) -> Any:
    """
    A user's default, handling its own type and calling L{json_default}
    last.
    """
    if isinstance(o, Money):
        return {"cents": o.cents}
    return json_default(o)


class JSONDefaultTests(SynchronousTestCase):
    """
    L{json_default} turns the types txcausal knows into JSON values.
    """

    def test_builtins(self) -> None:
        """
        Bytes (UTF-8, or escaped), sets, paths and complex numbers.
        """
        self.assertEqual(json_default(b"caf\xc3\xa9"), "café")
        self.assertEqual(json_default(b"\xff"), "\\xff")
        self.assertEqual(sorted(json_default({2, 1})), [1, 2])
        self.assertEqual(json_default(frozenset([3])), [3])
        self.assertEqual(json_default(PurePosixPath("/a/b")), "/a/b")
        self.assertEqual(json_default(1 + 2j), {"real": 1.0, "imag": 2.0})

    def test_numpy(self) -> None:
        """
        NumPy scalars and arrays, a big array summarised as Eliot does.
        """
        import numpy

        self.assertEqual(json_default(numpy.int64(3)), 3)
        self.assertEqual(json_default(numpy.arange(3)), [0, 1, 2])
        big = json_default(numpy.zeros((200, 100)))
        self.assertEqual((len(big["array_start"]), big["original_shape"]), (10_000, [200, 100]))

    def test_librariesOnlyWhenImported(self) -> None:
        """
        pydantic models are dumped when pydantic is imported (looked up in
        C{sys.modules}, never imported).
        """

        class BaseModel:
            def model_dump(self) -> Any:
                return {"dumped": True}

        fake = types.ModuleType("pydantic")
        fake.BaseModel = BaseModel  # type: ignore[attr-defined]
        self.assertNotIn("pydantic", sys.modules)
        sys.modules["pydantic"] = fake
        self.addCleanup(sys.modules.pop, "pydantic")
        self.assertEqual(json_default(BaseModel()), {"dumped": True})

    def test_unknownRaises(self) -> None:
        """
        Anything else raises L{TypeError}, so that a user's default can
        call it last.
        """
        self.assertRaises(TypeError, json_default, Money(1))


class JSONDefaultArgumentTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    C{json_default=}, as Eliot takes it.
    """

    def test_toFile(self) -> None:
        """
        L{to_file} encodes with the given function.
        """
        self.isolate()
        out = io.BytesIO()
        to_file(out, json_default=money_default)
        log_message(message_type="app:paid", amount=Money(250), raw=b"x")
        written = orjson.loads(out.getvalue())
        self.assertEqual((written["amount"], written["raw"]), ({"cents": 250}, "x"))

    def test_fileDestination(self) -> None:
        """
        So does L{FileDestination}, and its fast path calls it.
        """
        out = io.BytesIO()
        FileDestination(out, json_default=money_default)({"m": Money(1)})
        self.assertEqual(json.loads(out.getvalue()), {"m": {"cents": 1}})

    def test_memoryLogger(self) -> None:
        """
        L{MemoryLogger.validate} accepts what the given function encodes.
        """
        logger = MemoryLogger(json_default=money_default)
        logger.write({"m": Money(1), "task_uuid": "u", "task_level": [1], "timestamp": 0.0})
        logger.validate()
        strict = MemoryLogger()
        strict.write(logger.messages[0])
        self.assertRaises(TypeError, strict.validate)

    def test_notBoth(self) -> None:
        """
        C{encoder=} and C{json_default=} together are refused.
        """
        self.assertRaises(TypeError, FileDestination, io.BytesIO(), encoder=money_default,
                          json_default=money_default)
        self.assertRaises(TypeError, MemoryLogger, encoder=json.JSONEncoder,
                          json_default=money_default)

    def test_pathObjects(self) -> None:
        """
        Concrete paths are written as text too.
        """
        out = io.BytesIO()
        FileDestination(out)({"p": Path("x") / "y"})
        self.assertEqual(json.loads(out.getvalue()), {"p": "x/y"})
