# -*- test-case-name: txcausal.test.test_cli_tree -*-
"""
Drawing tasks as text trees: what C{txcausal tree} and C{txcausal story}
print, and test failure reports show.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from attrs import frozen

from .._parse import DEFAULT_MAX_OPEN, Task, WrittenAction, retried_slots, unsent_slots
from .._select import TaskFilter
from .._task_story import TaskStory
from .._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    MESSAGE_TYPE_FIELD,
    REMOTE_TASK_LEVELS_FIELD,
    TASK_LEVEL_FIELD,
    TIMESTAMP_FIELD,
)
from ._common import BatchWriter, Note, ignore_note
from ._text import (
    HEADING_FIELDS,
    NESTING_LIMIT,
    PLAIN,
    UNICODE,
    Glyphs,
    Palette,
    TimeFormatter,
    clean,
    clean_lines,
    cut,
    format_duration,
    format_level,
    message_kind,
    scalar_text,
    sorted_keys,
    status_text,
)

Message = Dict[str, Any]

DEFAULT_FIELD_LIMIT = 100
#: The most levels of a C{remote_task_levels} list shown one by one (with
#: a field limit): past that, their number, the first and the last.
LEVELS_SHOWN = 10


@frozen
class TreeOptions:
    """
    How to select and draw tasks.

    @ivar field_limit: Cut field values after this many characters or at
        their first newline, and show a C{remote_task_levels} list of more
        than L{LEVELS_SHOWN} levels (one per Dask task) as their number;
        0 shows values whole.
    @ivar utc: UTC times, else local.
    @ivar select: Which tasks to show.
    @ivar max_open: The cap on open tasks (see L{Parser}).
    """

    field_limit: int = DEFAULT_FIELD_LIMIT
    utc: bool = True
    glyphs: Glyphs = UNICODE
    palette: Palette = PLAIN
    select: TaskFilter = TaskFilter()
    max_open: int = DEFAULT_MAX_OPEN


class TreeRenderer:
    """
    Render tasks as text, appending to a list of strings.

    Everything read from the log is escaped (L{clean}); values nested
    deeper than L{NESTING_LIMIT} are shown as JSON text.  For the story
    of a key, the nodes that mention it are marked and the children left
    out are counted.
    """

    def __init__(self, options: TreeOptions) -> None:
        glyphs, palette = options.glyphs, options.palette
        self._g = glyphs
        self._p = palette
        self._limit = options.field_limit
        self._fast_limit = options.field_limit or 1 << 62
        self._times = TimeFormatter(options.utc)
        tree, reset = palette.tree, palette.reset
        self._branch = tree + glyphs.branch + reset
        self._last = tree + glyphs.last + reset
        self._pipe = tree + glyphs.pipe + reset
        self._blank = glyphs.blank
        self._names: Dict[Any, str] = {}
        self._kinds: Dict[str, str] = {}
        self._statuses: Dict[Optional[str], str] = {}
        self._story: Optional[TaskStory] = None
        self._mark = f"{palette.match}{glyphs.match}{palette.reset} "

    def task(
        self, task: Task, parts: List[str], story: Optional[TaskStory] = None, note: str = ""
    ) -> None:
        """
        Render one task: its UUID, then its tree, then a blank line.

        @param story: The task's story of a key, to mark its matches.
        @param note: A word to add to the heading, e.g. C{"[still open]"}.
        """
        self._story = story
        p = self._p
        header = f"{p.uuid}{clean(task.uuid)}{p.reset}"
        if note:
            header += f" {p.warning}{note}{p.reset}"
        root, top = task.root, task.continued_action
        items: List[Any]
        if top is not None:
            header += f" {p.warning}[continued from {format_level(top.task_level)}]{p.reset}"
            items, complete = top.children if top.attempts else [top], top.complete
        else:
            complete = task.complete
            if root.start_message is not None or root.end_message is not None:
                items = [root]
            else:
                items = root.children
        if not complete:
            header += f" {p.warning}[incomplete]{p.reset}"
        parts.append(header + "\n")
        if task.strays:
            items = items + [f"{p.warning}not in the tree:{p.reset}"] + task.strays
        self._entries(items, "", parts, 0)
        parts.append("\n")

    def _name(self, key: Any) -> str:
        """
        A field name, escaped and colored (cached: names repeat).
        """
        names = self._names
        if len(names) > 10_000:
            names.clear()
        text = clean(key if key.__class__ is str else str(key))
        name = names[key] = f"{self._p.key}{text}{self._p.reset}"
        return name

    def _entries(self, items: List[Any], prefix: str, parts: List[str], depth: int) -> None:
        # The hot path: short printable string fields are written inline.
        last_index = len(items) - 1
        names, limit = self._names, self._fast_limit
        for index, item in enumerate(items):
            conn = self._last if index == last_index else self._branch
            cls = item.__class__
            if cls is tuple:
                key, value = item
                if value.__class__ is str and len(value) <= limit and value.isprintable():
                    name = names.get(key) or self._name(key)
                    parts.append(f"{prefix}{conn}{name}: {value}\n")
                    continue
            below = prefix + (self._blank if index == last_index else self._pipe)
            if self._story is not None and self._story.matched(item):
                conn += self._mark
            if cls is tuple:
                self._field(item[0], item[1], prefix + conn, below, parts, depth)
            elif cls is dict:
                self._message(item, prefix + conn, below, parts)
            elif cls is WrittenAction:
                self._action(item, prefix + conn, below, parts)
            else:  # A note of ours.
                parts.append(f"{prefix}{conn}{item}\n")

    def _fields(self, message: Message) -> List[Any]:
        return [(key, message[key]) for key in sorted_keys(message) if key not in HEADING_FIELDS]

    def _message(self, message: Message, line: str, below: str, parts: List[str]) -> None:
        kind = message.get(MESSAGE_TYPE_FIELD)
        if kind is None:
            kind = message.get(ACTION_TYPE_FIELD, "<unnamed>")
        status = message.get(ACTION_STATUS_FIELD)
        try:
            head, tail = self._kinds[kind], self._statuses[status]
        except (KeyError, TypeError):  # Not seen yet, or not a string.
            head, tail = self._heading_texts(message, kind, status)
        time = self._times(message.get(TIMESTAMP_FIELD))
        level = format_level(message[TASK_LEVEL_FIELD])
        parts.append(f"{line}{head}{level}{tail} {self._p.time}{time}{self._p.reset}\n")
        self._entries(self._fields(message), below, parts, 0)

    def _heading_texts(self, message: Message, kind: Any, status: Any) -> Tuple[str, str]:
        """
        The colored, escaped type and status of a message's heading,
        remembered when they are strings (they repeat).
        """
        p = self._p
        head = f"{p.kind}{message_kind(message)}{p.reset}"
        tail = ""
        if status is not None:
            tail = f" {self._g.arrow} {p.status(status)}{status_text(status)}{p.reset}"
        kinds, statuses = self._kinds, self._statuses
        if len(kinds) > 10_000 or len(statuses) > 100:
            kinds.clear()
            statuses.clear()
        if kind.__class__ is str:
            kinds[kind] = head
        if status is None or status.__class__ is str:
            statuses[status] = tail
        return head, tail

    def _action(self, node: WrittenAction, line: str, below: str, parts: List[str]) -> None:
        parts.append(line + self._action_heading(node) + "\n")
        start, end = node.start_message, node.end_message
        items: List[Any] = self._fields(start) if start is not None else []
        handed = node.handed_off_levels()
        hidden = 0 if self._story is None else self._story.hidden_under(node)
        if hidden:
            items.extend(node.children)
            items.append(f"{self._p.warning}{hidden} more not in the story{self._p.reset}")
        elif node.complete and not handed:
            items.extend(node.children)
        else:
            items.extend(self._with_gaps(node, handed))
            if end is None:
                items.append(f"{self._p.warning}no finish message{self._p.reset}")
        if end is not None:
            items.append(end)
        self._entries(items, below, parts, 0)

    def _with_gaps(self, node: WrittenAction, handed: List[Tuple[int, ...]]) -> List[Any]:
        """
        The children of C{node} with notes, in level order, for the levels
        missing and those handed off to another process (or cut off before
        a response and sent again, or never sent).
        """
        warning, reset, prefix = self._p.warning, self._p.reset, node.task_level
        depth = len(prefix)
        keyed: List[Tuple[int, Any]] = [(_slot(child, depth), child) for child in node.children]
        for first, last in node.gaps():
            where = format_level(prefix + (first,))
            if last > first:
                where += f" to {format_level(prefix + (last,))}"
            keyed.append((first, f"{warning}missing {where}{reset}"))
        retried, unsent = retried_slots(node), unsent_slots(node)
        for level in handed:
            if level[-1] in retried:
                how = "cut off before a response, sent again"
            elif level[-1] in unsent:
                how = "not sent: no connection was made"
            else:
                how = "continued in another process"
            keyed.append((level[-1], f"{self._g.handoff} {format_level(level)} {how}"))
        keyed.sort(key=lambda pair: pair[0])
        return [item for _, item in keyed]

    def _action_heading(self, node: WrittenAction) -> str:
        p, g = self._p, self._g
        kind = f"{p.kind}{clean(node.action_type or '<unknown action>')}{p.reset}"
        start = node.start_message
        if start is None:
            level = format_level(node.task_level) if node.task_level else ""
            return f"{kind}{level} {g.arrow} {p.warning}start missing{p.reset}"
        text = f"{kind}{format_level(start[TASK_LEVEL_FIELD])} {g.arrow} {p.good}started{p.reset}"
        text += f" {p.time}{self._times(start.get(TIMESTAMP_FIELD))}{p.reset}"
        duration = node.duration
        if duration is not None:
            text += f" {g.hourglass} {p.duration}{format_duration(duration, g.micro)}{p.reset}"
        return text

    def _field(
        self, key: Any, value: Any, line: str, below: str, parts: List[str], depth: int
    ) -> None:
        name = f"{line}{self._names.get(key) or self._name(key)}:"
        cls = value.__class__
        if cls is list and len(value) > LEVELS_SHOWN and self._limit and not depth and (
                key == REMOTE_TASK_LEVELS_FIELD):
            first, last = (clean(cut(scalar_text(level), self._limit, self._g.ellipsis))
                           for level in (value[0], value[-1]))
            parts.append(f"{name} {len(value)} levels, first {first}, last {last}\n")
            return
        if (cls is dict or cls is list) and value and depth < NESTING_LIMIT:
            parts.append(name + "\n")
            if cls is dict:
                items = [(k, value[k]) for k in sorted_keys(value)]
            else:
                items = list(enumerate(value))
            self._entries(items, below, parts, depth + 1)
            return
        text = value if cls is str else scalar_text(value)
        limit = self._limit
        if limit:
            if len(text) > limit or "\n" in text:
                text = cut(text, limit, self._g.ellipsis)
            text = clean(text)
        elif "\n" in text:
            text = clean_lines(text, "\n" + below)
        else:
            text = clean(text)
        parts.append(f"{name} {text}\n")


def _slot(child: Any, depth: int) -> int:
    """
    @return: The index of the slot C{child} is in, in its parent's of
        C{depth} levels (an attempt is in the slot of the position it is an
        attempt at).
    """
    if child.__class__ is WrittenAction:
        return child.task_level[depth]
    return child[TASK_LEVEL_FIELD][depth]  # type: ignore[no-any-return]


def render_tasks(
    tasks: Iterable[Task], writer: BatchWriter, options: TreeOptions, on_error: Note = ignore_note
) -> int:
    """
    Write the tasks that L{TreeOptions.select} keeps as trees.  A task that
    cannot be rendered is reported to C{on_error} in one line and skipped.

    @return: The number of tasks written.
    """
    renderer = TreeRenderer(options)
    select = None if options.select.everything else options.select
    count = 0
    for task in tasks:
        if select is not None and not select(task):
            continue
        if render_task(renderer, task, writer.parts, on_error):
            writer.maybe_flush()
            count += 1
    writer.flush()
    return count


def render_task(
    renderer: TreeRenderer,
    task: Task,
    parts: List[str],
    on_error: Note = ignore_note,
    story: Optional[TaskStory] = None,
    note: str = "",
) -> bool:
    """
    Render one task into C{parts}; a task that cannot be rendered is
    reported to C{on_error} in one line and left out.

    @return: Whether it was rendered.
    """
    mark = len(parts)
    try:
        renderer.task(task, parts, story, note)
    except Exception as e:
        del parts[mark:]
        on_error(f"task {task.uuid!r}: cannot render: {type(e).__name__}")
        return False
    return True


#: The options of a plain C{txcausal tree}.
DEFAULT_OPTIONS = TreeOptions()
