"""
Tests for L{txcausal.TaskLevel}'s algebra, and for the task ids that carry
a task's position to another process (L{Action.serialize_task_id},
L{Action.continue_task}, L{parse_task_id}).
"""

from __future__ import annotations

from typing import List, Union

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from txcausal import (
    Action,
    InvalidTaskId,
    TaskLevel,
    log_message,
    start_action,
)
from txcausal._tasklevel import MAX_TASK_ID_LENGTH, MAX_TASK_LEVEL_DEPTH, LevelRuns, parse_task_id

from ._helpers import IsolatedOutputMixin

DETERMINISTIC = settings(derandomize=True, deadline=None)


class CrossProcessTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Serializing a task position and continuing it elsewhere.
    """

    def test_serializeFreshEachTime(self) -> None:
        """
        Each call to L{Action.serialize_task_id} gives a new position.
        """
        self.collect()
        with start_action(action_type="a") as action:
            first, second = action.serialize_task_id(), action.serialize_task_id()
        self.assertEqual(first, f"{action.task_uuid}@/2".encode())
        self.assertEqual(second, f"{action.task_uuid}@/3".encode())

    def test_handedOffLevelsOnFinish(self) -> None:
        """
        An action's finish message lists the positions it serialized, so a
        reader of this process's log knows they were not lost.
        """
        messages = self.collect()
        with start_action(action_type="a") as action:
            action.serialize_task_id()
            action.serialize_task_id()
        with start_action(action_type="b"):
            pass
        self.assertEqual(messages[1]["remote_task_levels"], ["/2", "/3"])
        self.assertNotIn("remote_task_levels", messages[3])

    def test_continueTask(self) -> None:
        """
        L{Action.continue_task} starts an C{eliot:remote_task} action at the
        serialized position, from bytes or str.
        """
        messages = self.collect()
        task_ids: List[Union[bytes, str]] = [b"0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00@/2/3",
                                             "0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00@/2/3"]
        for task_id in task_ids:
            with Action.continue_task(task_id=task_id, extra=1):
                log_message(message_type="m")
        start, inner, finish = messages[:3]
        self.assertEqual(start["task_uuid"], "0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00")
        self.assertEqual((start["task_level"], start["action_type"], start["extra"]),
                         ([2, 3, 1], "eliot:remote_task", 1))
        self.assertEqual((inner["task_level"], finish["task_level"]), ([2, 3, 2], [2, 3, 3]))
        self.assertEqual(messages[3]["task_level"], [2, 3, 1])

    def test_continueAtRoot(self) -> None:
        """
        A task id at the root, C{<uuid>@/} (the root level as L{TaskLevel}
        and Eliot write it), is continued as Eliot continues it: the
        action is the task's root action, its messages at C{[1]}, C{[2]}...
        """
        uuid = "0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00"
        messages = self.collect()
        task_ids: List[Union[bytes, str]] = [f"{uuid}@/".encode(), f"{uuid}@/"]
        for task_id in task_ids:
            self.assertEqual(parse_task_id(task_id), (uuid, []))
            with Action.continue_task(task_id=task_id):
                log_message(message_type="m")
        self.assertEqual([(m["task_uuid"], m["task_level"]) for m in messages],
                         [(uuid, [1]), (uuid, [2]), (uuid, [3])] * 2)
        self.assertEqual(TaskLevel.from_string("/").level, ())

    def test_continueTaskActionType(self) -> None:
        """
        The continuing action's type can be chosen.
        """
        messages = self.collect()
        Action.continue_task(task_id=b"0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00@/1",
                             action_type="worker").finish()
        self.assertEqual(messages[0]["action_type"], "worker")

    def test_malformed(self) -> None:
        """
        Malformed task ids raise L{InvalidTaskId}, a L{ValueError}.
        """
        uuid = "0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00"
        bad = [b"", b"nonsense", f"{uuid}".encode(), f"{uuid}@".encode(), f"{uuid}@//".encode(),
               f"{uuid}@/0".encode(), f"{uuid}@/1/".encode(), f"{uuid}@/-1".encode(),
               f"{uuid}@/1//2".encode(),
               f"{uuid}@/a".encode(), b"not-a-uuid@/1", f"{uuid}@/1".encode() + b"\xff",
               f"{uuid}\u00e9@/1",
               f"{uuid}@/1".encode() + b"/1" * MAX_TASK_ID_LENGTH, f"{uuid}@/1\n"]
        self.assertTrue(issubclass(InvalidTaskId, ValueError))
        for task_id in bad:
            self.assertRaises(InvalidTaskId, parse_task_id, task_id)

    def test_continueAtDepthLimit(self) -> None:
        """
        A position whose messages fit within C{MAX_TASK_LEVEL_DEPTH} levels
        is continued: its start message is at the last level allowed.
        """
        messages = self.collect()
        uuid = "0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00"
        level = "/1" * (MAX_TASK_LEVEL_DEPTH - 1)
        Action.continue_task(task_id=f"{uuid}@{level}").finish()
        self.assertEqual(messages[0]["task_uuid"], uuid)
        self.assertEqual(len(messages[0]["task_level"]), MAX_TASK_LEVEL_DEPTH)

    def test_continueTooDeep(self) -> None:
        """
        A position too deep for its messages to fit starts a fresh task
        whose start message records the position in C{parent_task_id}.
        """
        messages = self.collect()
        uuid = "0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00"
        for depth in (MAX_TASK_LEVEL_DEPTH, MAX_TASK_LEVEL_DEPTH + 50):
            task_id = f"{uuid}@" + "/1" * depth
            with Action.continue_task(task_id=task_id.encode(), action_type="worker", n=depth):
                log_message(message_type="inside")
        for start in (messages[0], messages[3]):
            self.assertNotEqual(start["task_uuid"], uuid)
            self.assertEqual((start["task_level"], start["action_type"]), ([1], "worker"))
        self.assertEqual(messages[0]["parent_task_id"], f"{uuid}@" + "/1" * 100)
        self.assertEqual(messages[3]["parent_task_id"], f"{uuid}@" + "/1" * 150)
        self.assertEqual([m["task_level"] for m in messages[:3]], [[1], [2], [3]])

    def test_nestedTooDeep(self) -> None:
        """
        Child actions nested deeper than their messages could be written
        continue in fresh tasks, each handed off from its parent as to
        another process: no message is deeper than C{MAX_TASK_LEVEL_DEPTH}.
        """
        messages = self.collect()

        def nest(depth: int) -> None:
            with start_action(action_type="deep", depth=depth):
                if depth < 150:
                    nest(depth + 1)

        nest(1)
        self.assertEqual(max(len(m["task_level"]) for m in messages), MAX_TASK_LEVEL_DEPTH)
        fresh = [m for m in messages if "parent_task_id" in m]
        self.assertEqual([m["depth"] for m in fresh], [MAX_TASK_LEVEL_DEPTH + 1])
        handed = [m for m in messages if "remote_task_levels" in m]
        self.assertEqual(len(handed), 1)
        (level,) = handed[0]["remote_task_levels"]
        self.assertTrue(fresh[0]["parent_task_id"].endswith("@" + level))

    def test_notBytesOrStr(self) -> None:
        """
        A task id of another type raises L{InvalidTaskId}.
        """
        self.assertRaises(InvalidTaskId, parse_task_id, 123)

    @DETERMINISTIC
    @given(st.uuids(), st.lists(st.integers(1, 10**9), min_size=1, max_size=100))
    def test_roundTrip(self, uuid: object, level: List[int]) -> None:
        """
        Any valid uuid and level survive serialization and parsing.
        """
        text = f"{uuid}@{TaskLevel(tuple(level)).to_string()}"
        self.assertEqual(parse_task_id(text.encode()), (str(uuid), level))

    @DETERMINISTIC
    @given(st.binary(max_size=200))
    def test_arbitraryBytes(self, data: bytes) -> None:
        """
        Arbitrary bytes either parse or raise L{InvalidTaskId}, nothing else.
        """
        try:
            parse_task_id(data)
        except InvalidTaskId:
            pass


class TaskLevelTests(SynchronousTestCase):
    """
    The algebra of L{TaskLevel}.
    """

    @DETERMINISTIC
    @given(st.lists(st.integers(1, 10**6), min_size=1, max_size=20))
    def test_childThenParent(self, level: List[int]) -> None:
        """
        The parent of a child is the original level, and a next sibling sorts
        after its original.
        """
        original = TaskLevel(tuple(level))
        self.assertEqual(original.child().parent(), original)
        self.assertEqual(original.child().level, tuple(level) + (1,))
        self.assertGreater(original.next_sibling().level, original.level)

    @DETERMINISTIC
    @given(st.lists(st.integers(1, 10**9), min_size=0, max_size=20))
    def test_stringRoundTrip(self, level: List[int]) -> None:
        """
        L{TaskLevel.from_string} inverts L{TaskLevel.to_string}, the root
        included.
        """
        original = TaskLevel(tuple(level))
        self.assertEqual(TaskLevel.from_string(original.to_string()), original)

    def test_fromStringRejects(self) -> None:
        """
        A malformed level string raises L{InvalidTaskId}.
        """
        for text in ["", "//", "1/2", "/0", "/x", "//1", "/1/"]:
            self.assertRaises(InvalidTaskId, TaskLevel.from_string, text)

    def test_rootString(self) -> None:
        """
        The root (the empty level) is written C{"/"}, and C{"/"} read as
        the root, as Eliot does.
        """
        self.assertEqual(TaskLevel(()).to_string(), "/")
        self.assertEqual(TaskLevel.from_string("/"), TaskLevel(()))

    def test_topHasNoParent(self) -> None:
        """
        The empty level has no parent.
        """
        self.assertIsNone(TaskLevel(()).parent())

    def test_eliotAPI(self) -> None:
        """
        As Eliot's: a level is made from a list, compares in writing order,
        gives its list, and knows its siblings.
        """
        level = TaskLevel(level=[2, 1])
        self.assertEqual(level, TaskLevel((2, 1)))
        self.assertEqual(level.as_list(), [2, 1])
        self.assertLess(TaskLevel([2]), level)
        self.assertLess(level, level.next_sibling())
        self.assertTrue(level.is_sibling_of(TaskLevel([2, 7])))
        self.assertFalse(level.is_sibling_of(TaskLevel([3, 1])))
        self.assertEqual(len({level, TaskLevel([2, 1])}), 1)


class LevelRunsTests(SynchronousTestCase):
    """
    L{LevelRuns}: runs of sibling levels, held as runs.
    """

    def test_runsJoined(self) -> None:
        """
        Runs that touch are joined and empty ones left out, so that equal
        levels make equal sequences; runs out of order are refused.
        """
        joined = LevelRuns((4,), [(2, 3), (5, 4), (4, 6), (9, 9)])
        self.assertEqual(joined, LevelRuns((4,), [(2, 6), (9, 9)]))
        self.assertEqual(joined, [(4, 2), (4, 3), (4, 4), (4, 5), (4, 6), (4, 9)])
        self.assertNotEqual(joined, LevelRuns((5,), [(2, 6), (9, 9)]))
        self.assertEqual(LevelRuns((4,), []), LevelRuns((5,), [(3, 2)]))
        self.assertRaises(ValueError, LevelRuns, (), [(5, 6), (6, 7)])

    def test_searchedAsAList(self) -> None:
        """
        C{index} and C{count} answer as the list of the levels does, with
        bounds too.
        """
        runs = LevelRuns((3,), [(2, 4), (7, 9)])
        levels: List[object] = list(runs)
        for value in levels + [(3, 5), (3,), "x"]:
            for bounds in [(), (2,), (0, 3), (-3,), (1, -1), (-100, 100), (4, 2)]:
                expected: object
                try:
                    expected = levels.index(value, *bounds)
                except ValueError:
                    expected = ValueError
                if expected is ValueError:
                    self.assertRaises(ValueError, runs.index, value, *bounds)
                else:
                    self.assertEqual(runs.index(value, *bounds), expected)
            self.assertEqual(runs.count(value), levels.count(value))

