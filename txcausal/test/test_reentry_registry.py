"""
Tests of the destination registry (L{Destinations}) re-entered on the thread
holding its lock: a signal handler or a finalizer logging while there is no
destination, as a message is kept for the next one, or as destinations or
fields are changed (see L{txcausal.test.test_reentry_locks} for the trace
function playing the handler).
"""

from __future__ import annotations

import io
from collections import deque
from typing import Any, Callable, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._destinations import Destinations
from txcausal._wire import DESTINATION_FAILURE

from .test_reentry import _runTraced
from .test_reentry_locks import _reenterEachLine


class RegistryReentryTests(SynchronousTestCase):
    """
    L{Destinations} re-entered by a message logged where it holds its lock.
    """

    def _reentered(self, destinations: Destinations, call: Callable[[Destinations], object],
                   *functions: Callable[..., object]) -> List[int]:
        """
        Run C{call} with a message logged at each line of C{functions}.

        @return: The C{n} of each message logged that way, in order.
        """
        logged: List[int] = []

        def handler() -> None:
            logged.append(len(logged))
            destinations.send({"n": logged[-1]})

        trace = _reenterEachLine({f.__code__ for f in functions}, lambda: True, handler)
        _runTraced(self, trace, lambda: call(destinations))
        self.assertNotEqual(logged, [])
        return logged

    def _received(self, destinations: Destinations) -> List[Any]:
        """
        @return: The C{n} of each message a destination added now receives.
        """
        received: List[Dict[str, Any]] = []
        destinations.add(received.append)
        return [message.get("n") for message in received]

    def test_keptReentered(self) -> None:
        """
        A message logged at any point of the keeping of another for the first
        destination is kept too, once, in the order logged.
        """
        destinations = Destinations()
        logged = self._reentered(destinations, lambda d: d.send({"n": "outer"}),
                                 Destinations._keep)
        self._inOrder(self._received(destinations), "outer", logged)

    def _inOrder(self, received: List[Any], other: str, logged: List[int]) -> None:
        """
        C{received} holds C{other} once, and the messages C{logged}, each
        once, in order.
        """
        self.assertEqual(received.count(other), 1)
        self.assertEqual([n for n in received if n != other], logged)

    def test_addReentered(self) -> None:
        """
        A message logged at any point of the adding of the first destination
        reaches it, once; one logged before it was added comes after those
        kept before (one logged once it is added may come before them).
        """
        destinations = Destinations()
        destinations.send({"n": "before"})
        received: List[Dict[str, Any]] = []
        logged = self._reentered(destinations, lambda d: d.add(received.append),
                                 Destinations.add)
        ns = [message.get("n") for message in received]
        self.assertEqual(sorted(n for n in ns if n != "before"), logged)
        self.assertEqual(len(ns), 1 + len(logged))
        self.assertLess(ns.index("before"), ns.index(0))

    def test_removeReentered(self) -> None:
        """
        A message logged while the last destination is removed is kept for
        the next one, or sent to the one removed if logged before it was.
        """
        destinations = Destinations()
        first: List[Dict[str, Any]] = []
        destinations.add(first.append)
        logged = self._reentered(destinations, lambda d: d.remove(first.append),
                                 Destinations.remove)
        self.assertEqual([message["n"] for message in first] + self._received(destinations),
                         logged)

    def test_fieldsReentered(self) -> None:
        """
        A message logged while global fields or field sources are changed
        with no destination is kept, in order.
        """
        destinations = Destinations()

        def source() -> Dict[str, Any]:
            return {}

        def change(destinations: Destinations) -> None:
            destinations.add_global_fields(app="x")
            destinations.add_field_source(source)
            destinations.remove_field_source(source)

        logged = self._reentered(destinations, change, Destinations.add_global_fields,
                                 Destinations.add_field_source,
                                 Destinations.remove_field_source)
        self.assertEqual(self._received(destinations), logged)

    def test_sourceEqualityLogs(self) -> None:
        """
        A field source whose C{__eq__} logs, compared as it is removed with
        no destination, does not wait for the lock: its message is kept.
        """
        destinations = Destinations()

        class Source:
            def __call__(self) -> Dict[str, Any]:
                return {}

            def __eq__(self, other: object) -> bool:
                destinations.send({"n": "compared"})
                return other is self

            __hash__ = object.__hash__

        source = Source()
        # Compared with the one added first.
        destinations.add_field_source(Source())
        destinations.add_field_source(source)
        _runTraced(self, lambda *args: None, lambda: destinations.remove_field_source(source))
        self.assertEqual(self._received(destinations), ["compared"])

    def test_shownReentered(self) -> None:
        """
        A message logged while a report shown on standard error is kept is
        kept too, in the order logged.
        """
        destinations = Destinations()
        logged = self._reentered(destinations, lambda d: d.keep_shown({"n": "shown"}),
                                 Destinations.keep_shown)
        received = self._received(destinations)
        self._inOrder(received, "shown", logged)
        # Logged with the lock held: after the report.
        self.assertEqual(received[-1], logged[-1])

    def test_reportLeftReentered(self) -> None:
        """
        A message logged while the exit counts those kept after the last
        destination was removed is counted and reported too.
        """
        destinations = Destinations()
        added: List[Dict[str, Any]] = []
        destinations.add(added.append)
        destinations.remove(added.append)
        destinations.send({"n": "late"})
        stream = io.StringIO()
        logged = self._reentered(destinations, lambda d: d.finish(stream),
                                 Destinations._report_left)
        self.assertEqual(destinations.dropped, 1 + len(logged))
        self.assertIn('"count"', stream.getvalue())

    def test_removeLastKeepsParked(self) -> None:
        """
        The messages logged where the last destination is removed while it
        holds the lock, parked there, are kept by the time it returns: the
        exit's report counts them all at once, with none reported on its
        own.
        """
        destinations = Destinations()
        first: List[Dict[str, Any]] = []
        destinations.add(first.append)
        logged: List[int] = []

        def handler() -> None:
            # Where it holds the lock only: one logged after would keep those
            # parked before itself.
            if destinations._lock.locked():
                logged.append(len(logged))
                destinations.send({"n": logged[-1]})

        trace = _reenterEachLine({Destinations.remove.__code__}, lambda: True, handler)
        _runTraced(self, trace, lambda: destinations.remove(first.append))
        kept = len(logged) - len(first)
        # Several parked: one report or one each tell the two apart.
        self.assertGreater(kept, 1)
        stream = io.StringIO()
        destinations.finish(stream)
        reports = [orjson.loads(line) for line in stream.getvalue().splitlines()]
        self.assertEqual([report["count"] for report in reports], [kept])
        self.assertEqual(destinations.dropped, kept)


class _Refused:
    """
    A destination whose attributes raise as the registry looks at them (a
    proxy to something not connected).
    """

    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Take a message.
        """

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("not connected")


class _RefusedWhenPlanned:
    """
    A destination taken when it is first looked at, whose attributes raise
    when the route is planned (a proxy that lost its connection between).
    """

    def __init__(self) -> None:
        self.looks = 0

    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Take a message.
        """

    @property
    def _jsonLines(self) -> None:
        self.looks += 1
        if self.looks > 1:
            raise RuntimeError("not connected")


class RefusedDestinationTests(SynchronousTestCase):
    """
    A destination L{Destinations.add} refuses leaves the registry as it was.
    """

    def test_keptMessagesStay(self) -> None:
        """
        The messages kept while there is no destination, and those logged
        after the refusal, all reach the next destination added, in order.
        """
        destinations = Destinations()
        destinations.send({"n": 1})
        self.assertRaises(RuntimeError, destinations.add, _Refused())
        destinations.send({"n": 2})
        received: List[Dict[str, Any]] = []
        destinations.add(received.append)
        self.assertEqual([message.get("n") for message in received], [1, 2])

    def test_othersKept(self) -> None:
        """
        Refused beside destinations already added, none of them is added,
        and those there go on receiving every message.
        """
        destinations = Destinations()
        received: List[Dict[str, Any]] = []
        destinations.add(received.append)
        self.assertRaises(RuntimeError, destinations.add, _Refused())
        destinations.send({"n": 3})
        self.assertEqual([message.get("n") for message in received], [3])

    def test_refusedWhenPlanned(self) -> None:
        """
        Refused as the route is planned, the registry is as it was: the
        messages kept reach the next destination added, and it alone.
        """
        destinations = Destinations()
        destinations.send({"n": 1})
        refused = _RefusedWhenPlanned()
        self.assertRaises(RuntimeError, destinations.add, refused)
        self.assertGreater(refused.looks, 1)
        destinations.send({"n": 2})
        received: List[Dict[str, Any]] = []
        destinations.add(received.append)
        self.assertEqual([message.get("n") for message in received], [1, 2])
        self.assertFalse(destinations.has(refused))


class GiveParkedTests(SynchronousTestCase):
    """
    L{Destinations.give_parked}: the messages a destination parked, given
    to it once it releases its lock.
    """

    def test_interruptReraised(self) -> None:
        """
        A C{KeyboardInterrupt} raised as a parked message is given is
        reported like a failure and re-raised once every parked message was
        given, as L{Destinations.send} does.
        """
        destinations = Destinations()
        others: List[Dict[str, Any]] = []
        destinations.add(others.append)
        given: List[int] = []

        def destination(message: Dict[str, Any]) -> None:
            given.append(message["n"])
            if message["n"] == 0:
                raise KeyboardInterrupt()

        parked = deque([{"n": 0}, {"n": 1}])
        self.assertRaises(KeyboardInterrupt, destinations.give_parked, destination, parked)
        self.assertEqual(given, [0, 1])
        self.assertEqual(list(parked), [])
        self.assertEqual([(m["message_type"], m["exception"]) for m in others],
                         [(DESTINATION_FAILURE, "builtins.KeyboardInterrupt")])

    def test_systemExitReported(self) -> None:
        """
        A C{SystemExit} raised as a parked message is given is reported like
        any failure, not re-raised, as L{Destinations.send} does.
        """
        destinations = Destinations()
        others: List[Dict[str, Any]] = []
        destinations.add(others.append)

        def destination(message: Dict[str, Any]) -> None:
            raise SystemExit(3)

        destinations.give_parked(destination, deque([{"n": 0}]))
        self.assertEqual([m["exception"] for m in others], ["builtins.SystemExit"])
