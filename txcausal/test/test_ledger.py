"""
Tests for L{txcausal._ledger.Ledger} and L{txcausal._story.KeyMatcher}.
"""

from __future__ import annotations

import threading
import time
from typing import Any, List

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import IDestination, log_message, start_action
from txcausal._ledger import SUBSCRIBER_FAILURE, Ledger
from txcausal._output import Destinations, Logger
from txcausal._story import KeyMatcher
from txcausal._wire import dropped_message
from txcausal.test._helpers import CapturingMixin
from txcausal.test._reading import msg


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


class LedgerTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{Ledger}.
    """

    def setUp(self) -> None:
        self.clock = FakeClock()
        self.ledger = Ledger(clock=self.clock)

    def test_interface(self) -> None:
        """
        A L{Ledger} is an L{IDestination}.
        """
        self.assertTrue(verifyObject(IDestination, self.ledger))

    def test_logEvent(self) -> None:
        """
        L{Ledger.log_event} records C{(timestamp, msg)} under the topic.
        """
        self.ledger.log_event("runtimes", {"start": 1, "stop": 2})
        self.ledger.log_event("runtimes", {"start": 3, "stop": 4})
        self.assertEqual(
            self.ledger.get_events("runtimes"),
            ((101.0, {"start": 1, "stop": 2}), (102.0, {"start": 3, "stop": 4})),
        )
        self.assertEqual(self.ledger.get_events("other"), ())

    def test_allTopics(self) -> None:
        """
        C{get_events()} without a topic returns every topic's events.
        """
        self.ledger.log_event("a", 1)
        self.ledger.log_event("b", 2)
        self.assertEqual(self.ledger.get_events(), {"a": ((101.0, 1),), "b": ((102.0, 2),)})
        self.assertEqual(self.ledger.topics(), ["a", "b"])

    def test_notSerializable(self) -> None:
        """
        An event that cannot be encoded as JSON raises L{TypeError} at the
        call and is not recorded.
        """
        self.assertRaises(TypeError, self.ledger.log_event, "t", {"x": object()})
        self.assertEqual(self.ledger.get_events("t"), ())

    def test_bounded(self) -> None:
        """
        Only the most recent C{max_per_topic} entries of each topic are
        kept; C{None} keeps them all.
        """
        small = Ledger(max_per_topic=2, clock=self.clock)
        unbounded = Ledger(max_per_topic=None, clock=self.clock)
        for i in range(1500):
            small.log_event("t", i)
            unbounded.log_event("t", i)
            self.ledger.log_event("t", i)
        self.assertEqual([m for _, m in small.get_events("t")], [1498, 1499])
        self.assertEqual(len(unbounded.get_events("t")), 1500)
        self.assertEqual(len(self.ledger.get_events("t")), 1000)
        self.assertRaises(ValueError, Ledger, 0)

    def test_destination(self) -> None:
        """
        As a destination, the ledger files a copy of each message under its
        message or action type, with the message's timestamp.
        """
        message = msg("T", [1], 5.0, message_type="app:hello", n=1)
        self.ledger(message)
        message["n"] = 2
        self.assertEqual(self.ledger.get_events("app:hello"), ((5.0, dict(message, n=1)),))

    def test_administrativeTopics(self) -> None:
        """
        Administrative messages (destination failures, dropped messages)
        land under their own topics.
        """
        destinations = Destinations()

        def broken(message: Any) -> None:
            raise RuntimeError("disk full")

        destinations.add(self.ledger, broken)
        Logger(destinations).write({"message_type": "app:x"})
        destinations.send(dropped_message(3, "buffer full"))
        failures = self.ledger.get_events("eliot:destination_failure")
        # One failure per message the broken destination was given.
        self.assertEqual(len(failures), 2)
        self.assertIn("disk full", str(failures[0][1]))
        self.assertEqual(self.ledger.get_events("txcausal:messages_dropped")[0][1]["count"], 3)

    def test_subscribe(self) -> None:
        """
        Subscribers get each later event of their topic until they
        unsubscribe.
        """
        seen: List[Any] = []
        self.ledger.subscribe("t", seen.append)
        self.ledger.log_event("t", "one")
        self.ledger.log_event("u", "other")
        self.ledger.unsubscribe("t", seen.append)
        self.ledger.log_event("t", "two")
        self.assertEqual(seen, [(101.0, "one")])
        self.assertRaises(ValueError, self.ledger.unsubscribe, "t", seen.append)

    def test_subscriberFailure(self) -> None:
        """
        A subscriber that raises is reported under its own topic; the other
        subscribers still run.
        """
        seen: List[Any] = []

        def broken(event: Any) -> None:
            raise ValueError("nope")

        self.ledger.subscribe("t", broken)
        self.ledger.subscribe("t", seen.append)
        self.ledger.log_event("t", 1)
        self.assertEqual(len(seen), 1)
        report = self.ledger.get_events(SUBSCRIBER_FAILURE)[0][1]
        self.assertEqual(report["topic"], "t")
        self.assertIn("nope", report["exception"])

    def test_story(self) -> None:
        """
        L{Ledger.story} returns, in time order, the messages and events of
        the tasks named or mentioning the keys.
        """
        self.ledger(msg("T", [1], 3.0, message_type="a"))
        self.ledger(msg("U", [1], 1.0, message_type="b", key="k-1"))
        self.ledger(msg("V", [1], 2.0, message_type="b", key="k-10"))
        self.ledger.log_event("loads", {"key": "k-1"})
        self.assertEqual(
            [m for _, m in self.ledger.story("k-1", "T")],
            [
                msg("U", [1], 1.0, message_type="b", key="k-1"),
                msg("T", [1], 3.0, message_type="a"),
                {"key": "k-1"},
            ],
        )

    def test_storyOfEmptyKey(self) -> None:
        """
        L{Ledger.story} refuses an empty key, which would match every
        task, with a C{ValueError}.
        """
        self.ledger(msg("U", [1], 1.0, message_type="b", key="k-1"))
        error = self.assertRaises(ValueError, self.ledger.story, "")
        self.assertIn("empty key", str(error))

    def test_storyOfEventTask(self) -> None:
        """
        Events logged inside an action belong to the story of its task.
        """
        logger = self.capture()
        with start_action(action_type="app:job"):
            self.ledger.log_event("progress", "half way")
            log_message(message_type="app:x")
        task = logger.messages[0]["task_uuid"]
        self.assertEqual(self.ledger.story(task), ((101.0, "half way"),))

    def test_storyOfAction(self) -> None:
        """
        What is logged inside an action that mentions the key (a message,
        a child action, an event) is in the key's story, though it does
        not mention the key itself; what is logged beside it is not.
        """
        logger = self.capture()
        ledger = Ledger(clock=time.time)
        with start_action(action_type="app:outer"):
            log_message(message_type="app:before")
            with start_action(action_type="app:compute", key="inc-123"):
                log_message(message_type="app:transition", start="waiting", finish="memory")
                ledger.log_event("transitions", ("waiting", "processing"))
                with start_action(action_type="app:inner"):
                    pass
            log_message(message_type="app:after")
        for message in logger.messages:
            ledger(message)
        story = ledger.story("inc-123")
        kinds = [m.get("message_type") or m.get("action_type") if isinstance(m, dict) else m
                 for _, m in story]
        self.assertEqual(
            sorted(map(str, kinds)),
            sorted(map(str, ["app:compute", "app:transition", ("waiting", "processing"),
                             "app:inner", "app:inner", "app:compute"])),
        )
        times = [when for when, _ in story]
        self.assertEqual(times, sorted(times))

    def test_threads(self) -> None:
        """
        Events logged from several threads are all recorded.
        """
        ledger = Ledger(max_per_topic=None)

        def log() -> None:
            for i in range(500):
                ledger.log_event("t", i)

        threads = [threading.Thread(target=log) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(ledger.get_events("t")), 2000)


class KeyMatcherTests(SynchronousTestCase):
    """
    Tests for L{KeyMatcher}.
    """

    def test_mentions(self) -> None:
        """
        Values mention a key when equal to it, when a number reads as it,
        when a nested dictionary has it as a field name, or when a string
        contains it as a whole word.
        """
        matcher = KeyMatcher(["42"])
        for value in ["42", 42, "/users/42/cart", ["x", {"y": 42}], {"42": 1}]:
            self.assertTrue(matcher.mentions(value), value)
        for value in ["420", 4.2, "user-42", True, None, {"a": "1420"}]:
            self.assertFalse(matcher.mentions(value), value)

    def test_structuralFieldsIgnored(self) -> None:
        """
        Task levels, timestamps and types do not count as mentions; the
        task UUID does when equal.
        """
        matcher = KeyMatcher(["1"])
        self.assertFalse(matcher.matches(msg("T", [1], 1, message_type="1")))
        self.assertTrue(matcher.matches(msg("1", [2], 5, message_type="x")))
