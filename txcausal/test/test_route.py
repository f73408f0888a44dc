"""
Tests for L{txcausal._route}: destinations writing JSON lines get each
message encoded once, and constant global fields are encoded once.
"""

from __future__ import annotations

import io
import math
from typing import Any, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination, _output, _route, add_global_fields, log_message
from txcausal._json import DEFAULT_ENCODER
from txcausal._route import _registered, plan

from ._helpers import IsolatedOutputMixin


class Counting:
    """
    Stands for orjson's C{dumps}, counting its calls.
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> bytes:
        self.calls += 1
        return orjson.dumps(*args, **kwargs)


class Lines(FileDestination):
    """
    A L{FileDestination} on an in-memory binary file.
    """

    def __init__(self) -> None:
        super().__init__(io.BytesIO())

    def lines(self) -> List[Dict[str, Any]]:
        data: bytes = self.file.getvalue()  # type: ignore[attr-defined]
        return [orjson.loads(line) for line in data.splitlines()]


class OwnWrite(Lines):
    """
    A subclass that changes how encoded lines are written.
    """

    def __init__(self) -> None:
        super().__init__()
        self.written: List[bytes] = []

    def write_encoded(self, data: bytes) -> None:
        self.written.append(data)


class OwnCall(Lines):
    """
    A subclass that changes what calling it does.
    """

    def __init__(self) -> None:
        super().__init__()
        self.called: List[Dict[str, Any]] = []

    def __call__(self, message: Dict[str, Any]) -> None:
        self.called.append(message)


class EncodedOnceTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Destinations sharing an encoder get each message encoded once.
    """

    def test_onceForAll(self) -> None:
        """
        Three file destinations with the default encoder get the same line,
        encoded once; a destination taking dictionaries gets the message.
        """
        destinations = self.isolate()
        files = [Lines(), Lines(), Lines()]
        got: List[Dict[str, Any]] = []
        destinations.add(files[0], got.append, files[1], files[2])
        counting = Counting()
        self.patch(_route, "_dumps", counting)
        log_message("m", x=1)
        self.assertEqual(counting.calls, 1)
        lines = [f.file.getvalue() for f in files]  # type: ignore[attr-defined]
        self.assertEqual(lines[0], lines[1])
        self.assertEqual(lines[0], lines[2])
        self.assertEqual(orjson.loads(lines[0]), got[0])

    def test_planGroupsByEncoder(self) -> None:
        """
        Destinations with the default encoder share a group, in the order
        they were added; one with an encoder of its own has a group of its
        own; callables are called with the message.
        """
        first, second, own = Lines(), Lines(), FileDestination(io.BytesIO(), json_default=str)
        function = print
        groups, others, _, _, _ = plan((first, function, own, second), _registered, {}, None)
        self.assertEqual([(group[0], [w[1] for w in group[3]]) for group in groups],
                         [(DEFAULT_ENCODER, [first, second]), (own._encoder, [own])])
        self.assertEqual(others, (function,))

    def test_subclassesHonoured(self) -> None:
        """
        A subclass that changes how lines are written, or what calling it
        does, gets what it would get alone.
        """
        destinations = self.isolate()
        plain, write, call = Lines(), OwnWrite(), OwnCall()
        destinations.add(plain, write, call)
        log_message("m", x=1)
        self.assertEqual([orjson.loads(line) for line in write.written], plain.lines())
        self.assertEqual(call.called, plain.lines())
        self.assertEqual(call.file.getvalue(), b"")  # type: ignore[attr-defined]

    def test_failureReported(self) -> None:
        """
        When one of the destinations sharing a line fails, the others still
        write it and report the failure.
        """
        destinations = self.isolate()
        first, broken, last = Lines(), Lines(), Lines()
        broken.file.close()
        destinations.add(first, broken, last)
        log_message("m", x=1)
        for survivor in (first, last):
            kinds = [m.get("message_type") for m in survivor.lines()]
            self.assertIn("m", kinds)
            self.assertIn("eliot:destination_failure", kinds)


class GlobalFieldsTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Global fields are written as a copy of each message merged with them
    would be, whether they are encoded once or merged.
    """

    def lines_and_messages(self, **fields: Any) -> List[Any]:
        """
        Log a few messages with the global C{fields} to a file destination
        and to a destination taking dictionaries.

        @return: The lines written, and the messages received.
        """
        destinations = self.isolate()
        file = Lines()
        got: List[Dict[str, Any]] = []
        destinations.add(file)
        destinations.add_global_fields(**fields)
        destinations.add(got.append)
        log_message("m", x=1)
        log_message("m", process="mine")
        return [file.file.getvalue(), got]  # type: ignore[attr-defined]

    def test_sameBytes(self) -> None:
        """
        Constant global fields are written first in each line, as in the
        merged message, and the message's own field of the same name wins.
        """
        data, got = self.lines_and_messages(process="api", pid=7, ok=True, none=None)
        # A destination taking dictionaries gets the merged messages.
        self.assertEqual(list(got[0])[:4], ["process", "pid", "ok", "none"])
        self.assertEqual([m["process"] for m in got], ["api", "mine"])
        self.assertEqual(data, b"".join(orjson.dumps(m, option=orjson.OPT_APPEND_NEWLINE)
                                        for m in got))

    def test_mutableValuesFollowChanges(self) -> None:
        """
        A global field whose value can change (a list) is written as it is
        when each message is logged.
        """
        self.isolate()
        file = Lines()
        _output._DESTINATIONS.add(file)
        tags = ["a"]
        add_global_fields(tags=tags)
        log_message("m")
        tags.append("b")
        log_message("m")
        self.assertEqual([line["tags"] for line in file.lines()], [["a"], ["a", "b"]])

    def test_notFiniteFloat(self) -> None:
        """
        A global field that JSON cannot hold as a number is written as the
        full encoder writes it.
        """
        data, _ = self.lines_and_messages(ratio=math.inf)
        self.assertEqual([line["ratio"] for line in map(orjson.loads, data.splitlines())],
                         ["Infinity", "Infinity"])

    def test_emptyMessage(self) -> None:
        """
        A message with no field of its own (written straight to a logger)
        still gets the global fields, whatever the destinations.
        """
        destinations = self.isolate()
        files = [Lines(), Lines()]
        got: List[Dict[str, Any]] = []
        destinations.add(*files, got.append)
        destinations.add_global_fields(process="api")
        _output.Logger(destinations).write({})
        self.assertEqual([f.lines() for f in files], [[{"process": "api"}]] * 2)
        self.assertEqual(got, [{"process": "api"}])


class FailureOrderTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    A destination's failure is reported to the others after the message it
    is about, as Eliot 1.18 does.
    """

    def test_reportAfterMessage(self) -> None:
        """
        With a failing destination before a file and a function, both get
        the message, then the report, in the order Eliot's destinations
        get them.
        """
        import eliot

        def broken(message: Dict[str, Any]) -> None:
            raise RuntimeError("down")

        theirs: List[str] = []

        def recorder(message: Dict[str, Any]) -> None:
            theirs.append(message["message_type"])

        eliot.add_destinations(broken, recorder)
        try:
            eliot.log_message(message_type="app:one")
        finally:
            eliot.remove_destination(broken)
            eliot.remove_destination(recorder)
        self.isolate()
        lines = Lines()
        ours: List[str] = []
        _output.add_destinations(broken, lines, lambda m: ours.append(m["message_type"]))
        log_message(message_type="app:one")
        self.assertEqual(theirs, ["app:one", "eliot:destination_failure"])
        self.assertEqual(ours, theirs)
        self.assertEqual([m["message_type"] for m in lines.lines()], theirs)
