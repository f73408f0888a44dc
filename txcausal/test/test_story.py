"""
Tests for L{txcausal._story}: the causal story of a key in task trees.
"""

from __future__ import annotations

from typing import List

from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, start_action
from txcausal.parse import (
    KeyMatcher,
    StoryCollector,
    WrittenAction,
    collect_story,
    parse_files,
    parse_messages,
    story_of,
)
from txcausal.test._helpers import CapturingMixin
from txcausal.test._reading import Message, end, lines, msg, only, start


def request(uuid: str, key: str, when: float = 1.0) -> List[Message]:
    """
    A request whose key is bound only at its start: no other message
    mentions it.
    """
    return [
        start(uuid, [1], when, "http:request", request_id=key),
        msg(uuid, [2], when + 0.1, message_type="db:query", table="users"),
        start(uuid, [3, 1], when + 0.2, "cache:get"),
        end(uuid, [3, 2], when + 0.3, "cache:get"),
        end(uuid, [4], when + 0.4, "http:request"),
    ]


def batch(uuid: str, key: str) -> List[Message]:
    """
    A batch job handling several items, one of them C{key}.
    """
    return [
        start(uuid, [1], 5.0, "batch:run"),
        msg(uuid, [2], 5.1, message_type="batch:item", item="other"),
        start(uuid, [3, 1], 5.2, "batch:handle", item=key),
        msg(uuid, [3, 2], 5.3, message_type="batch:transition", state="memory"),
        end(uuid, [3, 3], 5.4, "batch:handle"),
        msg(uuid, [4], 5.5, message_type="batch:item", item=key),
        start(uuid, [5, 1], 5.6, "batch:handle", item="other"),
        end(uuid, [5, 2], 5.7, "batch:handle"),
        end(uuid, [6], 5.8, "batch:run"),
    ]


def kinds(node: WrittenAction) -> List[object]:
    return [
        kinds(c) if isinstance(c, WrittenAction) else c.get("message_type")
        for c in node.children
    ]


class StoryOfTests(CapturingMixin, SynchronousTestCase):
    """
    Tests for L{story_of}.
    """

    def test_boundAtStart(self) -> None:
        """
        A key bound only when a task starts brings the whole task, its
        root action marked.
        """
        task = only(list(parse_messages(request("R", "req-1"))))
        story = story_of(task, KeyMatcher(["req-1"]))
        assert story is not None
        self.assertEqual(kinds(task.root), ["db:query", []])
        self.assertEqual((story.matched(task.root), story.start_time), (True, 1.0))
        self.assertEqual(story.hidden, {})

    def test_subtreeOfMention(self) -> None:
        """
        An action that mentions the key brings its whole subtree; its
        ancestors keep only the children that lead to a mention, the
        others counted as hidden.
        """
        task = only(list(parse_messages(batch("B", "inc-123"))))
        story = story_of(task, KeyMatcher(["inc-123"]))
        assert story is not None
        handle, item = task.root.children
        assert isinstance(handle, WrittenAction) and not isinstance(item, WrittenAction)
        self.assertEqual(kinds(handle), ["batch:transition"])
        self.assertEqual([story.matched(handle), story.matched(item)], [True, True])
        self.assertFalse(story.matched(task.root))
        self.assertEqual(story.hidden_under(task.root), 2)

    def test_mentionsInsideMarked(self) -> None:
        """
        Inside the subtree of an action that mentions the key, the
        messages that mention it again are marked too, and the others
        are not.
        """
        task = only(list(parse_messages(request("R", "req-1")[:1] + [
            msg("R", [2], 1.1, message_type="db:query", table="users", request="req-1"),
            msg("R", [3], 1.2, message_type="db:done"),
            end("R", [4], 1.3, "http:request"),
        ])))
        story = story_of(task, KeyMatcher(["req-1"]))
        assert story is not None
        again, other = task.root.children
        self.assertEqual((story.matched(again), story.matched(other)), (True, False))

    def test_strays(self) -> None:
        """
        A message that did not fit its task's tree (a duplicate level) is
        in the story when it mentions the key, and marked.
        """
        messages = request("R", "x")
        messages.insert(-1, msg("R", [2], 1.35, message_type="dup", user="u-9"))
        task = only(list(parse_messages(messages)))
        (stray,) = task.strays
        story = story_of(task, KeyMatcher(["u-9"]))
        assert story is not None
        self.assertTrue(story.matched(stray))
        self.assertIsNone(story_of(task, KeyMatcher(["u-10"])))

    def test_taskUUID(self) -> None:
        """
        A key that is a task's UUID brings that whole task.
        """
        task = only(list(parse_messages(batch("B", "x"))))
        story = story_of(task, KeyMatcher(["B"]))
        assert story is not None
        self.assertEqual(len(task.root.children), 4)

    def test_notInStory(self) -> None:
        """
        A task that does not mention the key is not in its story, nor
        changed.
        """
        task = only(list(parse_messages(batch("B", "x"))))
        self.assertIsNone(story_of(task, KeyMatcher(["y"])))
        self.assertEqual(len(task.root.children), 4)

    def test_emptyKeyRefused(self) -> None:
        """
        An empty key, which every string contains, is refused with a
        C{ValueError} that says so, by L{KeyMatcher} and so by
        L{collect_story}.
        """
        for keys in ([""], ["a", ""]):
            error = self.assertRaises(ValueError, KeyMatcher, keys)
            self.assertIn("empty key", str(error))
        tasks = list(parse_messages(batch("B", "x")))
        self.assertRaises(ValueError, collect_story, tasks, [""])

    def test_otherProcess(self) -> None:
        """
        The part of a task continued in another process's log is in the
        story of a key its parent bound.
        """
        parent = [
            start("X", [1], 1.0, "client:call", order="o-7"),
            end("X", [3], 2.0, "client:call", remote_task_levels=["/2"]),
        ]
        child = [start("X", [2, 1], 1.5, "eliot:remote_task"),
                 msg("X", [2, 2], 1.6, message_type="server:work"),
                 end("X", [2, 3], 1.7, "eliot:remote_task")]
        tasks = parse_files([lines(*child).splitlines(), lines(*parent).splitlines()])
        (story,), omitted = collect_story(tasks, ["o-7"])
        self.assertEqual((kinds(story.task.root), omitted), ([["server:work"]], 0))

    def test_logged(self) -> None:
        """
        The story of a key bound only at a task's start, logged by
        txcausal, holds the task's other messages.
        """
        logger = self.capture()
        with start_action(action_type="http:request", request_id="r-9"):
            log_message(message_type="app:step")
        (story,), _ = collect_story(parse_messages(logger.messages), ["r-9"])
        self.assertEqual(kinds(story.task.root), ["app:step"])


class StoryCollectorTests(SynchronousTestCase):
    """
    Tests for L{StoryCollector}.
    """

    def test_timeOrderAndBound(self) -> None:
        """
        Stories come in time order; past C{max_tasks}, the latest are left
        out and counted.
        """
        collector = StoryCollector(KeyMatcher(["k"]), max_tasks=2)
        for uuid, when in [("C", 3.0), ("A", 1.0), ("N", 9.0), ("B", 2.0)]:
            for task in parse_messages(request(uuid, "k" if uuid != "N" else "n", when)):
                collector.add(task)
        self.assertEqual([s.task.uuid for s in collector.stories()], ["A", "B"])
        self.assertEqual(collector.omitted, 1)
        self.assertRaises(ValueError, StoryCollector, KeyMatcher(["k"]), 0)
