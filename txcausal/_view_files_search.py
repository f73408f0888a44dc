# -*- test-case-name: txcausal.test.test_webview_files,txcausal.test.test_webview_text_end -*-
"""
The searches of L{LogFiles<txcausal._view_files.LogFiles>}: the files read
again, in a thread, from where a search's last run stopped, rather than
their messages kept (L{search_files}).
"""

from __future__ import annotations

from itertools import chain
from typing import Callable, FrozenSet, Iterator, List, Optional, Set

from ._parse_input import MessageReader
from ._stream_state import StreamState
from ._tail_files import Generation
from ._twisted_records import Repeats
from ._view_index import QueryStopped, TaskIndex
from ._view_source import Search
from ._wire import TASK_UUID_FIELD


class Look:
    """
    What a search reads of a generation (see L{LogFiles.search
    <txcausal._view_files.LogFiles.search>}), as seen in the reactor's
    thread: up to C{end}, the text event numbered early at C{numbered_at},
    if any, counted there, and, until it ends, its early task UUID
    C{early}.
    """

    __slots__ = ("generation", "end", "numbered_at", "early")

    def __init__(self, generation: Generation) -> None:
        state = generation.state
        self.generation = generation
        self.end = state.settled_offset(generation.line_end)
        self.numbered_at = state.numbered_at
        early = state.numbered()
        self.early: Optional[str] = None if early is None else early[TASK_UUID_FIELD]


def search_files(search: Search, looks: List[Look], numbered: Set[str], index: TaskIndex,
                 max_line: int) -> FrozenSet[str]:
    """
    Continue C{search} over the generations of C{looks}, in a thread.

    @param numbered: The early task UUIDs of the text events numbered but
        not ended yet: not taken for forgotten before they are indexed.
    @param index: The index of the files: the tasks it no longer knows are
        not found.
    @param max_line: Lines longer than this many bytes are skipped.
    @raise QueryStopped: Before its next batch of lines, once C{search.stop}
        says so.
    """
    predicate, found = search.predicate, search.found
    reader = MessageReader(needle=search.needle, fold_case=True, max_line=max_line)
    for look in looks:
        generation, end = look.generation, look.end
        # The state is kept: a Twisted record's task UUID depends on
        # the records before it in every file opened (see Repeats):
        # one count for them, as the index keeps.
        start, state = search.progress.get(generation.number, (0, None))
        counted = "repeats"
        if state is None:
            repeats = search.progress.get(counted)
            if repeats is None:  # Counted from where the index counted.
                before = generation.state.before
                repeats = search.progress[counted] = (
                    Repeats() if before is None else before.copy())
            state = StreamState(generation.name, repeats=repeats)
        try:
            at = look.numbered_at
            if at is not None and start < at:
                # Numbered where the index numbered it, so counted alike.
                _search_lines(search, reader, generation, start, at, state, False)
                state.number()
                early = state.numbered()
                if early is not None and predicate(early):
                    found.add(early[TASK_UUID_FIELD])
                start = at
            if look.early is not None:  # Read once it ends.
                end = start
            _search_lines(search, reader, generation, start, end, state, look.early is None)
        except OSError:
            # Closed: its messages are no longer shown, nor counted.
            search.progress[counted] = None
        search.progress[generation.number] = (end, state)
    with index.locked:
        forgotten = [uuid for uuid in found if not index.knows(uuid) and uuid not in numbered]
    found.difference_update(forgotten)
    return frozenset(found)


def _search_lines(search: Search, reader: MessageReader, generation: Generation,
                  start: int, end: int, state: StreamState, finish: bool) -> None:
    """
    Add to C{search} the tasks of the messages of C{generation} between
    offsets C{start} and C{end}, and, if C{finish}, of the text event
    pending at C{end}.
    """
    predicate, found = search.predicate, search.found
    batches = _until(search.stop, generation.batches(start, end))
    messages = reader.decode(batches, state)
    for message in chain(messages, reader.finish(state)) if finish else messages:
        if predicate(message):
            found.add(message[TASK_UUID_FIELD])


def _until(stop: Callable[[], bool], batches: Iterator[List[bytes]]
           ) -> Iterator[List[bytes]]:
    """
    C{batches}, as long as C{stop} does not say to stop.

    @raise QueryStopped: Before the next batch, once it does.
    """
    for batch in batches:
        if stop():
            raise QueryStopped()
        yield batch
