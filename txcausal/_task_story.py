# -*- test-case-name: txcausal.test.test_story -*-
"""
The story of a key in task trees read from logs: every task in which some
action or message mentions the key, with the whole subtree of each action
that mentions it, in time order.

L{story_of} finds the story in one task's tree (and prunes the rest away,
so that only what is shown is kept); L{StoryCollector} keeps a bounded
number of such tasks in time order.  What mentions a key is decided by
L{txcausal._story.KeyMatcher}.
"""

from __future__ import annotations

import heapq
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from attrs import define, field

from ._parse_tree import Child, Task, WrittenAction
from ._select import time_range
from ._story import KeyMatcher

#: The default bound on the tasks a story keeps.
DEFAULT_MAX_STORY_TASKS = 1000


@define(eq=False)
class TaskStory:
    """
    The part of one task that tells the story of a key.

    The task's tree is pruned: an action on the way to a match keeps only
    the children that lead to one (L{hidden} counts the others); the
    subtree of an action that mentions the key is kept whole.

    @ivar task: The task, pruned.
    @ivar start_time: The time of its first message in the story, if any.
    @ivar matches: The C{id()} of each node (message or L{WrittenAction})
        that mentions the key.
    @ivar hidden: For each pruned action, by C{id()}, how many children
        were left out.
    """

    task: Task
    start_time: Optional[float]
    matches: Set[int] = field(factory=set)
    hidden: Dict[int, int] = field(factory=dict)

    def matched(self, node: Child) -> bool:
        """
        Whether C{node} mentions the key.
        """
        return id(node) in self.matches

    def hidden_under(self, node: WrittenAction) -> int:
        """
        How many children of C{node} were left out.
        """
        return self.hidden.get(id(node), 0)


def _mentioned(node: WrittenAction, matcher: KeyMatcher) -> bool:
    return any(
        message is not None and matcher.matches(message)
        for message in (node.start_message, node.end_message)
    )


def _nothing() -> None:
    pass


def story_of(task: Task, matcher: KeyMatcher,
             tick: Callable[[], None] = _nothing) -> Optional[TaskStory]:
    """
    The story of C{matcher}'s keys in C{task}, pruning the task's tree to
    it; C{None} (and the task untouched) if nothing mentions them.

    @param tick: Called for each node (action, message or stray) looked at:
        it may raise to stop the walk (the web view's stop), leaving the
        task partly pruned.
    """
    story = TaskStory(task, None)
    if task.uuid in matcher.keys:
        story.matches.add(id(task.root))
        _mark_all(task.root, matcher, story.matches, tick)
    else:
        found = _prune(task.root, matcher, story, tick)
        strays = _strays(task, matcher, tick)
        if not found and not strays:
            return None
        story.matches.update(strays)
    span = time_range(task)
    story.start_time = None if span is None else span[0]
    return story


def _strays(task: Task, matcher: KeyMatcher, tick: Callable[[], None]) -> List[int]:
    """
    The C{id()} of each stray of C{task} that mentions a key, calling
    C{tick} for each stray.
    """
    found = []
    for message in task.strays:
        tick()
        if matcher.matches(message):
            found.append(id(message))
    return found


def _mark_all(node: WrittenAction, matcher: KeyMatcher, matches: Set[int],
              tick: Callable[[], None]) -> None:
    """
    Mark the nodes below C{node} that mention a key, calling C{tick} for
    each.
    """
    pending = [node]
    while pending:
        tick()
        node = pending.pop()
        if _mentioned(node, matcher):
            matches.add(id(node))
        for child in node.children:
            if isinstance(child, WrittenAction):
                pending.append(child)
            else:
                tick()
                if matcher.matches(child):
                    matches.add(id(child))


def _prune(node: WrittenAction, matcher: KeyMatcher, story: TaskStory,
           tick: Callable[[], None]) -> bool:
    """
    Keep the children of C{node} that are in the story, calling C{tick}
    for each node looked at.

    @return: Whether anything at or below C{node} is in the story.
    """
    tick()
    if _mentioned(node, matcher):
        story.matches.add(id(node))
        _mark_all(node, matcher, story.matches, tick)
        return True
    # Counted as shown: the attempts at a position without an action of its
    # own (a Dask task run again) are children of this action, each one.
    shown = len(node.children)
    kept: Dict[int, Child] = {}
    for index, child in node._slots.items():
        if isinstance(child, WrittenAction):
            if _prune(child, matcher, story, tick):
                kept[index] = child
        else:
            tick()
            if matcher.matches(child):
                story.matches.add(id(child))
                kept[index] = child
    if not kept:
        return False
    if len(kept) < len(node._slots):
        node._slots = kept
    hidden = shown - len(node.children)
    if hidden and not node.attempts:  # A position is not shown: its parent counts.
        story.hidden[id(node)] = hidden
    return True


class StoryCollector:
    """
    Collect the story of keys from tasks, keeping at most C{max_tasks} of
    them: the earliest, by their first message.  Past that, the later
    ones are counted in L{omitted}, not kept.

    @ivar omitted: How many tasks in the story were left out.
    """

    def __init__(self, matcher: KeyMatcher, max_tasks: int = DEFAULT_MAX_STORY_TASKS) -> None:
        """
        @raise ValueError: If C{max_tasks} is not positive.
        """
        if max_tasks < 1:
            raise ValueError(f"max_tasks must be positive, not {max_tasks!r}")
        self._matcher = matcher
        self._max = max_tasks
        # A heap of (-time, -order, story): the latest story on top.
        self._heap: List[Tuple[float, int, TaskStory]] = []
        self._order = 0
        self.omitted = 0

    def add(self, task: Task) -> Optional[TaskStory]:
        """
        Add C{task} if it is in the story.

        @return: Its story, if it is in the story.
        """
        story = story_of(task, self._matcher)
        if story is None:
            return None
        self._order += 1
        when = story.start_time if story.start_time is not None else float("inf")
        item = (-when, -self._order, story)
        if len(self._heap) < self._max:
            heapq.heappush(self._heap, item)
        else:
            self.omitted += 1
            heapq.heappushpop(self._heap, item)
        return story

    def stories(self) -> List[TaskStory]:
        """
        The stories kept, in time order (those without a time last).
        """
        return [story for _, _, story in sorted(self._heap, reverse=True)]


def collect_story(
    tasks: Iterable[Task], keys: Iterable[str], max_tasks: int = DEFAULT_MAX_STORY_TASKS
) -> Tuple[List[TaskStory], int]:
    """
    The story of C{keys} in C{tasks}.

    @return: The stories kept, in time order, and how many more were left
        out past C{max_tasks}.
    @raise ValueError: If a key is empty (see L{KeyMatcher}).
    """
    collector = StoryCollector(KeyMatcher(keys), max_tasks)
    for task in tasks:
        collector.add(task)
    return collector.stories(), collector.omitted
