"""
Tests for L{txcausal.parse}: building task trees from messages in any order.
"""

from __future__ import annotations

import tracemalloc
from typing import List, Sequence, Tuple

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, start_action
from txcausal.parse import Parser, Task, WrittenAction, parse_messages
from txcausal.test._helpers import CapturingMixin
from txcausal.test._reading import end, msg, only, sample_task, shape, start

_settings = settings(derandomize=True, deadline=None, max_examples=60)
#: A finish message's level that a hostile or corrupt log may hold.
HOSTILE_LEVEL = 10**9


class ParserTests(SynchronousTestCase):
    """
    Tests for L{Parser} and L{parse_messages}.
    """

    def test_inOrder(self) -> None:
        """
        A task logged in order becomes one complete tree with the start
        fields, children in level order, and statuses.
        """
        task = only(list(parse_messages(sample_task())))
        self.assertTrue(task.complete)
        self.assertEqual(task.uuid, "T")
        self.assertEqual(
            shape(task.root),
            (
                "app:main",
                "succeeded",
                ["app:note", ("app:child", "succeeded", ["app:row"]), ("app:fail", "failed", [])],
            ),
        )
        assert task.root.start_message is not None
        self.assertEqual(task.root.start_message["user"], "alice")
        self.assertEqual(task.strays, [])

    def test_completeTaskReturnedAtOnce(self) -> None:
        """
        L{Parser.add} returns the task from the call that adds its last
        missing message and forgets it: memory is bounded by open tasks.
        """
        parser = Parser()
        messages = sample_task()
        results = [parser.add(m) for m in messages]
        self.assertEqual(results[:-1], [None] * (len(messages) - 1))
        self.assertIsInstance(results[-1], Task)
        self.assertEqual(parser.open_count(), 0)

    def test_anyOrderCompletesOnLastMessage(self) -> None:
        """
        When the finish message comes first, the task is only complete once
        the last missing message arrives.
        """
        messages = sample_task()
        parser = Parser()
        order = [
            messages[-1],
            messages[0],
            messages[4],
            messages[2],
            messages[1],
            messages[6],
            messages[5],
        ]
        self.assertEqual([parser.add(m) for m in order], [None] * 7)
        task = parser.add(messages[3])
        assert task is not None
        self.assertTrue(task.complete)

    @_settings
    @given(st.permutations(list(range(8))))
    def test_orderDoesNotMatter(self, order: List[int]) -> None:
        """
        Any order of the same messages gives the same complete tree.
        """
        messages = sample_task()
        expected = shape(only(list(parse_messages(messages))).root)
        task = only(list(parse_messages([messages[i] for i in order])))
        self.assertTrue(task.complete)
        self.assertEqual(shape(task.root), expected)

    def test_interleavedTasks(self) -> None:
        """
        Interleaved messages of several tasks are separated by task UUID.
        """
        a, b = sample_task("A"), sample_task("B")
        mixed = [m for pair in zip(a, b, strict=True) for m in pair]
        tasks = list(parse_messages(mixed))
        self.assertEqual([t.uuid for t in tasks], ["A", "B"])
        self.assertTrue(all(t.complete for t in tasks))

    def test_durationFromFieldOrTimestamps(self) -> None:
        """
        The duration is the finish message's C{duration} field if present,
        else the difference of the timestamps.
        """
        task = only(list(parse_messages(sample_task())))
        self.assertEqual(task.root.duration, 0.75)
        child = task.root.children[1]
        assert isinstance(child, WrittenAction)
        self.assertAlmostEqual(child.duration, 0.3)
        self.assertEqual(child.start_time, 10.2)
        self.assertEqual(child.end_time, 10.5)

    def test_missingEnd(self) -> None:
        """
        A task whose root never finished is returned by L{Parser.flush},
        marked incomplete, with no duration.
        """
        tasks = list(parse_messages(sample_task()[:-1]))
        task = only(tasks)
        self.assertFalse(task.complete)
        self.assertEqual(task.root.status, "started")
        self.assertIsNone(task.root.duration)

    def test_missingStart(self) -> None:
        """
        A task whose start message is missing is kept, incomplete, with the
        action type read from its finish message.
        """
        task = only(list(parse_messages(sample_task()[1:])))
        self.assertFalse(task.complete)
        self.assertIsNone(task.root.start_message)
        self.assertEqual(task.root.action_type, "app:main")
        self.assertEqual(task.root.status, "succeeded")

    def test_deepActionType(self) -> None:
        """
        An action type nested too deep for the JSON writers is read as its
        JSON text cut below 50 levels, as C{txcausal tree} writes such
        values.
        """
        deep: object = 1
        # Deeper than the standard library's JSON writer goes on every
        # Python supported (3.13 writes 1,000 levels whole).
        for _ in range(20_000):
            deep = [deep]
        task = only(list(parse_messages([start("t", [1], 1.0, deep)])))  # type: ignore[arg-type]
        self.assertEqual(task.root.action_type, "[" * 50 + '"[…]"' + "]" * 50)
        big: object = [2**70, deep]
        task = only(list(parse_messages([start("t", [1], 1.0, big)])))  # type: ignore[arg-type]
        self.assertEqual(task.root.action_type,
                         f"[{2**70}," + "[" * 49 + '"[…]"' + "]" * 50)

    def test_missingMiddle(self) -> None:
        """
        A gap between start and finish keeps the task incomplete and is
        listed by L{WrittenAction.missing_levels}.
        """
        messages = sample_task()
        del messages[1]
        task = only(list(parse_messages(messages)))
        self.assertFalse(task.complete)
        self.assertEqual(task.root.missing_levels(), [(2,)])

    def test_loneMessage(self) -> None:
        """
        A message logged outside any action is a complete task of its own.
        """
        task = only(list(parse_messages([msg("L", [1], 1.0, message_type="app:hello")])))
        self.assertTrue(task.complete)
        self.assertEqual([c.get("message_type") for c in task.root.children], ["app:hello"])  # type: ignore[union-attr]

    def test_duplicateIsStray(self) -> None:
        """
        A second message at an already filled level is kept as a stray, not
        lost and not overwriting the first.
        """
        messages = sample_task()
        duplicate = dict(messages[1], n=2)
        task = only(list(parse_messages(messages[:2] + [duplicate] + messages[2:])))
        self.assertEqual(task.strays, [duplicate])
        self.assertEqual(task.root.children[0].get("n"), 1)  # type: ignore[union-attr]
        self.assertIn(duplicate, list(task.messages()))

    def test_crossProcessJoin(self) -> None:
        """
        Messages of a task continued in another process (same task UUID,
        levels under the serialized position) join the parent's tree, in
        whichever order the two logs are read.
        """
        parent = [
            start("X", [1], 1.0, "client:main"),
            start("X", [2, 1], 1.1, "client:request"),
            end("X", [2, 3], 1.9, "client:request"),
            end("X", [3], 2.0, "client:main"),
        ]
        child = [
            start("X", [2, 2, 1], 1.2, "eliot:remote_task"),
            msg("X", [2, 2, 2], 1.3, message_type="server:handled"),
            end("X", [2, 2, 3], 1.4, "eliot:remote_task"),
        ]
        for messages in (parent + child, child + parent):
            task = only(list(parse_messages(messages)))
            self.assertTrue(task.complete)
            self.assertEqual(
                shape(task.root),
                (
                    "client:main",
                    "succeeded",
                    [
                        (
                            "client:request",
                            "succeeded",
                            [("eliot:remote_task", "succeeded", ["server:handled"])],
                        )
                    ],
                ),
            )

    def test_failedTask(self) -> None:
        """
        L{Task.failed} tells whether an action of the task failed or it
        logged a traceback.
        """
        self.assertTrue(only(list(parse_messages(sample_task()))).failed)
        traced = msg("TB", [1], 1.0, message_type="eliot:traceback")
        self.assertTrue(only(list(parse_messages([traced]))).failed)
        ok = [m for m in sample_task() if "app:fail" != m.get("action_type")]
        ok[-1] = dict(ok[-1], task_level=[4])
        self.assertFalse(only(list(parse_messages(ok))).failed)

    def test_messagesInLevelOrder(self) -> None:
        """
        L{Task.messages} yields every message in level order.
        """
        messages = sample_task()
        task = only(list(parse_messages(reversed(messages))))
        self.assertEqual(list(task.messages()), messages)


class MissingLevelsTests(SynchronousTestCase):
    """
    L{WrittenAction.missing_levels}: the levels missing between an action's
    start and finish, as a read-only sequence made as it is read.
    """

    def action(self, *levels: List[int]) -> WrittenAction:
        """
        @return: An action started at C{[1]}, with a message at each of
            C{levels} but the last, where it finishes.
        """
        messages = [start("T", [1], 1.0, "a"), *(msg("T", level, 1.5) for level in levels[:-1]),
                    end("T", levels[-1], 2.0, "a")]
        return only(list(parse_messages(messages))).root

    def missing(self, *levels: List[int]) -> Sequence[Tuple[int, ...]]:
        """
        @return: The missing levels of L{action}C{(*levels)}.
        """
        return self.action(*levels).missing_levels()

    def test_likeAList(self) -> None:
        """
        The levels of several runs read as the list of them does: iterated,
        indexed from either end, sliced, searched, reversed, compared with a
        list (and, as a list, not equal to a tuple), shown.
        """
        missing = self.missing([3], [6], [9])
        expected = [(2,), (4,), (5,), (7,), (8,)]
        self.assertEqual(missing, expected)
        self.assertEqual(expected, missing)
        self.assertNotEqual(missing, tuple(expected))  # As a list is not.
        self.assertNotEqual(missing, expected[:-1])
        self.assertNotEqual(missing, [(2,), (4,), (5,), (7,), (9,)])
        self.assertEqual(list(missing), expected)
        levels: List[object] = [missing[i] for i in range(-5, 5)]
        self.assertEqual(levels, expected * 2)
        self.assertEqual(missing[1:4], expected[1:4])
        self.assertEqual(missing[::-2], expected[::-2])
        self.assertRaises(IndexError, lambda: missing[5])
        self.assertEqual(missing.index((7,)), 3)
        self.assertEqual(list(reversed(missing)), expected[::-1])
        self.assertEqual((len(missing), repr(missing)), (5, repr(expected)))
        self.assertEqual(self.missing([2]), [])
        self.assertFalse(self.missing([2]))

    def test_hostileFinishLevel(self) -> None:
        """
        A finish message at level C{[10**9]} (a hostile or corrupt log)
        leaves a billion levels missing, which take no more memory than
        their one run: counted, indexed, searched, compared and shown
        without being made.
        """
        action = self.action([HOSTILE_LEVEL])
        tracemalloc.start()
        self.addCleanup(tracemalloc.stop)
        missing = action.missing_levels()
        self.assertEqual(len(missing), HOSTILE_LEVEL - 2)
        self.assertEqual((missing[0], missing[-1], missing[12345]),
                         ((2,), (HOSTILE_LEVEL - 1,), (12347,)))
        self.assertIn((HOSTILE_LEVEL // 2,), missing)
        self.assertNotIn((HOSTILE_LEVEL,), missing)
        self.assertNotIn((2, 1), missing)
        self.assertEqual(missing.index((HOSTILE_LEVEL - 1,)), HOSTILE_LEVEL - 3)
        self.assertNotEqual(missing, [(2,)])
        self.assertEqual(missing, action.missing_levels())
        self.assertLess(tracemalloc.get_traced_memory()[1], 1 << 20)
        self.assertIn(f"{HOSTILE_LEVEL - 2} levels", repr(missing))


class RoundTripTests(CapturingMixin, SynchronousTestCase):
    """
    Messages logged by txcausal itself parse back into the tree they came
    from.
    """

    def test_loggedActions(self) -> None:
        """
        Nested actions and messages logged with txcausal parse into a
        complete tree of the same shape.
        """
        logger = self.capture()
        with start_action(action_type="app:outer", x=1):
            log_message(message_type="app:inside")
            with start_action(action_type="app:inner"):
                pass
        messages = [orjson.loads(orjson.dumps(m)) for m in logger.messages]
        task = only(list(parse_messages(messages)))
        self.assertTrue(task.complete)
        self.assertEqual(
            shape(task.root),
            ("app:outer", "succeeded", ["app:inside", ("app:inner", "succeeded", [])]),
        )
