"""
Tests for L{txcausal.json.json_default} and the C{json_default=} argument
of every API that encodes messages (L{to_file}, L{FileDestination},
L{MemoryLogger}, L{ThreadedWriter}, L{TwistedDestination},
L{JournaldDestination}), and Eliot's deprecated C{encoder=}.
"""

from __future__ import annotations

import io
import json
import sys
import types
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timezone
from datetime import time as dt_time
from decimal import Decimal
from enum import Enum
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, List
from uuid import UUID

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination, MemoryLogger, log_message, to_file
from txcausal._json import encoder_for
from txcausal._writer import createMemoryWorker
from txcausal.journald import JournaldDestination
from txcausal.json import json_default
from txcausal.logwriter import ThreadedWriter
from txcausal.twisted import TwistedDestination

from ._helpers import ImmediateReactor, IsolatedOutputMixin


class _Colour(Enum):
    RED = "red"


@dataclass
class _Box:
    content: Any


class _Holder:
    """
    A value nothing but the tests' hooks knows, holding C{content}.
    """

    def __init__(self, content: Any) -> None:
        self.content = content


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

    def test_asWritten(self) -> None:
        """
        Outside the encoder (the standard library's C{json.dumps}, say), it
        turns every value into what txcausal's encoder writes for it:
        datetimes, dates, times, UUIDs, enums and dataclasses as orjson
        writes them, other values as their C{repr}.
        """
        values = [date(2024, 5, 1), datetime(2024, 5, 1, 12, 0, 0, 7),
                  datetime(2024, 5, 1, tzinfo=timezone.utc), dt_time(1, 2, 3, 4),
                  UUID(int=7), _Colour.RED, Decimal("1.5"), Money(1), _Box(Decimal("2"))]
        written = [orjson.loads(encoder_for(None).encode({"v": v}).split(b"\n")[0])["v"]
                   for v in values]
        self.assertEqual([json.loads(json.dumps(v, default=json_default)) for v in values],
                         written)
        self.assertEqual(written[:7], ["2024-05-01", "2024-05-01T12:00:00.000007",
                                       "2024-05-01T00:00:00+00:00", "01:02:03.000004",
                                       "00000000-0000-0000-0000-000000000007", "red",
                                       "Decimal('1.5')"])

    def test_unknownReportedInEncoder(self) -> None:
        """
        Called last by a user's C{json_default=}, it gives the C{repr} of a
        value nothing knows, which the encoder writes and reports.
        """
        out = io.BytesIO()
        FileDestination(out, json_default=money_default)({"d": Decimal("1.5")})
        line, report = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual(line, {"d": "Decimal('1.5')"})
        self.assertEqual(report["message_type"], "txcausal:unencodable_values")
        self.assertEqual(money_default(Decimal("1.5")), "Decimal('1.5')")


    def test_knownTypesInHook(self) -> None:
        """
        A user's C{json_default=} calling it on a value it knows (a
        datetime, a UUID) gets that value's JSON inside the encoder as
        outside it, and nothing is reported.
        """
        def stamp_default(o: Any) -> Any:
            if isinstance(o, _Holder):
                return {"when": json_default(o.content[0]), "id": json_default(o.content[1])}
            return json_default(o)

        box = _Holder((datetime(2024, 1, 2, 3, 4, 5), UUID(int=7)))
        out = io.BytesIO()
        FileDestination(out, json_default=stamp_default)({"s": box})
        written = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual(written, [{"s": {"when": "2024-01-02T03:04:05",
                                          "id": "00000000-0000-0000-0000-000000000007"}}])
        self.assertEqual(json.loads(json.dumps({"s": box}, default=stamp_default)), written[0])

    def test_reentrant(self) -> None:
        """
        A user's C{json_default=} that encodes part of a value with the
        standard library and C{default=json_default} gets, inside the
        encoder, the text it gets outside: the C{repr} of what nothing
        knows.
        """
        def text_default(o: Any) -> Any:
            if isinstance(o, _Holder):
                return {"text": json.dumps({"d": o.content}, default=json_default)}
            raise TypeError

        box = _Holder(Decimal("1.5"))
        out = io.BytesIO()
        FileDestination(out, json_default=text_default)({"b": box})
        written = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual(written, [{"b": {"text": '{"d": "Decimal(\'1.5\')"}'}}])
        self.assertEqual(text_default(box), written[0]["b"])


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


    def test_pathObjects(self) -> None:
        """
        Concrete paths are written as text too.
        """
        out = io.BytesIO()
        FileDestination(out)({"p": Path("x") / "y"})
        self.assertEqual(json.loads(out.getvalue()), {"p": "x/y"})


def recording(seen: List[Any], o: Any) -> Any:
    """
    L{money_default}, keeping what it is given in C{seen}.
    """
    seen.append(o)
    return money_default(o)


#: The message each API encodes below.
MESSAGE = {"message_type": "app:paid", "task_uuid": "u", "task_level": [1], "timestamp": 0.0}


def _to_file(test: "OneSpellingTests", **hook: Any) -> None:
    test.isolate()
    to_file(io.BytesIO(), **hook)
    log_message(message_type="app:paid", amount=Money(1))


def _file_destination(test: "OneSpellingTests", **hook: Any) -> None:
    FileDestination(io.BytesIO(), **hook)({**MESSAGE, "amount": Money(1)})


def _memory_logger(test: "OneSpellingTests", **hook: Any) -> None:
    logger = MemoryLogger(**hook)
    logger.write({**MESSAGE, "amount": Money(1)})
    logger.validate()


def _threaded_writer(test: "OneSpellingTests", **hook: Any) -> None:
    worker, perform = createMemoryWorker()
    writer = ThreadedWriter(lambda message: None, ImmediateReactor(),
                            createWorker=lambda: worker, **hook)
    writer.startService()
    writer({**MESSAGE, "amount": Money(1)})
    writer.stopService()
    while perform():
        pass


def _twisted_destination(test: "OneSpellingTests", **hook: Any) -> None:
    events: List[Dict[str, Any]] = []
    TwistedDestination(events.append, **hook)({**MESSAGE, "amount": Money(1)})


def _journald_destination(test: "OneSpellingTests", **hook: Any) -> None:
    JournaldDestination(path="/nonexistent", **hook).entries({**MESSAGE, "amount": Money(1)})


#: Each API taking C{json_default=}, made to encode a message holding a
#: L{Money} with the hook given.
APIS: Dict[str, Callable[..., None]] = {
    "to_file": _to_file,
    "FileDestination": _file_destination,
    "MemoryLogger": _memory_logger,
    "ThreadedWriter": _threaded_writer,
    "TwistedDestination": _twisted_destination,
    "JournaldDestination": _journald_destination,
}


class OneSpellingTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    C{json_default=} is the one spelling of the hook for types JSON does
    not know; C{encoder=} works only as in Eliot 1.18: it takes a
    L{json.JSONEncoder} subclass, and warns, naming C{json_default=}.
    """

    def run_api(self, name: str, **hook: Any) -> List[str]:
        """
        Have the API C{name} encode a L{Money}.

        @return: The texts of the L{DeprecationWarning}s raised, each
            checked to point at this file.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            APIS[name](self, **hook)
        deprecations = [w for w in caught if w.category is DeprecationWarning]
        for warning in deprecations:
            self.assertEqual(warning.filename, __file__.replace(".pyc", ".py"), name)
        return [str(w.message) for w in deprecations]

    def test_jsonDefault(self) -> None:
        """
        Each API calls the function given as C{json_default=}, without a
        warning.
        """
        for name in APIS:
            seen: List[Any] = []
            self.assertEqual(self.run_api(name, json_default=partial(recording, seen)), [], name)
            self.assertEqual([type(o) for o in seen], [Money], name)

    def test_encoderClass(self) -> None:
        """
        Each API takes a L{json.JSONEncoder} subclass as C{encoder=}, as
        Eliot does, calling its C{default}, with a L{DeprecationWarning}
        naming C{json_default=}.
        """
        for name in APIS:
            seen: List[Any] = []

            class Encoder(json.JSONEncoder):
                def default(self, o: Any, seen: List[Any] = seen) -> Any:
                    return recording(seen, o)

            texts = self.run_api(name, encoder=Encoder)
            self.assertEqual(len(texts), 1, (name, texts))
            self.assertIn("json_default=", texts[0])
            self.assertEqual([type(o) for o in seen], [Money], name)

    def test_refused(self) -> None:
        """
        A function as C{encoder=} (Eliot takes only a class), a class or
        something not callable as C{json_default=}, and both arguments
        together are refused with a L{TypeError} that says what to pass.
        """
        wrong: List[Dict[str, Any]] = [
            {"encoder": money_default},
            {"json_default": json.JSONEncoder},
            {"json_default": "money"},
            {"encoder": json.JSONEncoder, "json_default": money_default},
        ]
        for name in APIS:
            for arguments in wrong:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    error = self.assertRaises(TypeError, APIS[name], self, **arguments)
                self.assertIn("json_default=", str(error), (name, arguments))
