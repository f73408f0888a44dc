# -*- test-case-name: txcausal.test.test_output -*-
"""
The destination registry: the destinations every message is sent to, the
fields added to every message, and the buffer that keeps messages logged while
there is no destination (before the first is added, or after the last is
removed).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import IO, Any, Callable, ContextManager, Deque, Dict, List, Optional, Tuple, Union

from ._failure_reports import _last_resort, report_failure
from ._feedback import count_guarded, finish_guarded
from ._file import FileDestination
from ._json import safe_repr
from ._reentry import Parked, drain, holders, holding, in_order, parked
from ._registryfork import RegistryFork
from ._route import (
    FieldSource,
    Route,
    _behind,
    _field_adder,
    _guarded,
    _registered,
    _with_fields,
    plan,
    send_routed,
)
from ._shortwrite import ShortWrite
from ._wire import (
    KIND_FIELDS,
    RESERVED_FIELDS,
    dropped_message,
)

Destination = Callable[[Dict[str, Any]], None]


#: How many messages are kept while there is no destination.
EARLY_BUFFER_SIZE = 1000
#: Why those kept for a destination that never came are lost at exit.
_AFTER_LAST_REMOVED = "logged after the last destination was removed"


class Destinations(RegistryFork):
    """
    The set of destinations every message is sent to, and the fields added
    to every message.  Thread-safe: the tuple of destinations is replaced,
    never mutated, so sending needs no lock.

    While there is no destination (before the first is added, or after the
    last is removed) messages are kept, up to C{buffer_size}, for the next
    destination added; the oldest beyond that are dropped and reported to it
    in a C{txcausal:messages_dropped} message.

    A message logged while this thread holds the lock (a signal handler, a
    finalizer, a field source's C{__eq__}) is parked and kept or sent once
    the lock is released (see L{txcausal._reentry}).  A forked child's
    registry is made whole (see L{RegistryFork}).

    @ivar dropped: How many messages were lost in all: dropped from the
        buffer, or refused by a failing destination, or by one that logged
        them from inside itself (see L{txcausal._feedback}), with no other
        destination to report to (that report goes to standard error).
    """

    def __init__(self, buffer_size: int = EARLY_BUFFER_SIZE) -> None:
        self._destinations: Tuple[Destination, ...] = ()
        self._global_fields: Dict[str, Any] = {}
        self._field_sources: Tuple[FieldSource, ...] = ()
        #: What adds the global and sourced fields; C{None} when nothing does.
        self._add_fields: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None
        #: How messages are sent (see L{txcausal._route}), replaced whole.
        self._route: Route = plan((), _registered, {}, None)
        #: The destination, when there is one only and no field to add.
        self._single: Optional[Destination] = None
        self._lock = threading.Lock()
        #: Messages logged where this thread held the lock, their fields not
        #: added yet (see L{txcausal._reentry}).
        self._parked: Parked[Dict[str, Any]] = parked()
        self._buffer_size = buffer_size
        self._buffer: Optional[Deque[Dict[str, Any]]] = deque(maxlen=buffer_size)
        self._overflowed = 0
        self._shown: List[Dict[str, Any]] = []  # Reports kept by keep_shown.
        #: Whether the last destination was removed (see L{finish}).
        self._emptied = False
        #: Set by L{finish}: where what comes later is reported.
        self._late: Optional[Tuple[Optional[IO[str]]]] = None
        self.dropped = 0
        #: Bound once: the route's sending takes it on every message.
        self._report = self._report_failure

    def add(self, *destinations: Destination) -> None:
        """
        Add destinations; when there were none, they also receive the
        messages buffered meanwhile, and a report of any that overflowed.

        @raise TypeError: If one of them is not callable; none is added.
        """
        for destination in destinations:
            if not callable(destination):
                raise TypeError(
                    f"{safe_repr(destination, 200)} is not a destination: a destination is a "
                    f"callable taking each message as a dictionary (IDestination); wrap it "
                    f"in a function, or use txcausal.FileDestination for a file")
        added = tuple(_guarded(destination, self.send, self._refused_feedback)
                      for destination in destinations)
        try:
            with self._lock:
                # Taken first: one logged meanwhile on this thread is parked,
                # and comes after them.
                buffered, self._buffer = self._buffer, None
                overflowed, self._overflowed = self._overflowed, 0
                shown, self._shown = self._shown, []
                before = self._destinations
                try:
                    self._destinations = before + added
                    self._replan()
                except BaseException:
                    # Refused as the route is planned (a destination's
                    # attributes raised, or an interrupt): as it was, with
                    # what a child forked here kept meanwhile after it.
                    if self._buffer is not None:
                        buffered = deque(buffered or (), maxlen=self._buffer_size)
                        buffered.extend(self._buffer)
                        overflowed += self._overflowed
                        shown = shown + self._shown
                    self._buffer, self._overflowed, self._shown = buffered, overflowed, shown
                    self._destinations = before
                    self._replan()
                    raise
                # Made by a child forked here (see RegistryFork): sent after.
                made, self._buffer = self._buffer, None
                if made is not None:
                    self._shown = []  # Those shown in the child: sent with it.
                overflowed, self._overflowed = overflowed + self._overflowed, 0
            pending = list(buffered or ())
            if overflowed:
                pending.append(dropped_message(
                    overflowed, f"logged while there was no destination, beyond the "
                    f"{self._buffer_size} kept"))
            pending.extend(made or ())
            for message in pending:
                self.send(message)
        finally:
            self._drain()

    def remove(self, destination: Destination) -> None:
        """
        Remove a destination, and report what it logged while it wrote and
        was not reported yet (see L{finish_guarded}); after the last one,
        messages are buffered again.

        @raise ValueError: If it was not added.
        """
        with self._holding():
            current = list(self._destinations)
            for index, added in enumerate(current):
                if _registered(added) == destination:
                    del current[index]
                    break
            else:
                raise ValueError(f"{destination!r} is not a destination")
            self._destinations = tuple(current)
            self._replan()
            if not current:
                # Emptied first: a child forked between the two lines reports
                # what it keeps at its exit.
                self._emptied = True
                if self._buffer is None:  # Not made by a child forked here.
                    self._buffer = deque(maxlen=self._buffer_size)
        finish_guarded(added, _last_resort)

    def has(self, destination: object) -> bool:
        """
        @return: Whether C{destination} was added (and not removed).
        """
        return any(_registered(added) is destination for added in self._destinations)

    def has_other_than(self, destination: object) -> bool:
        """
        @return: Whether a destination other than C{destination} was added,
            nor a writer writing to it (see L{_behind}).
        """
        return any(_registered(added) is not destination and _behind(added) is not destination
                   for added in self._destinations)

    def add_global_fields(self, **fields: Any) -> None:
        """
        Add fields to every message sent from now on; a message's own field
        of the same name wins.

        @raise ValueError: For the fields txcausal itself writes
            (C{task_uuid}, C{message_type}, ...).
        """
        forbidden = sorted((RESERVED_FIELDS | KIND_FIELDS) & fields.keys())
        if forbidden:
            raise ValueError(f"{forbidden} cannot be global fields: txcausal writes them")
        with self._holding():
            merged = dict(self._global_fields)
            merged.update(fields)
            self._global_fields = merged
            self._replan()

    def add_field_source(self, source: FieldSource) -> None:
        """
        Call C{source} as every message is sent from now on, in the thread
        logging it, and add the fields it returns; the message's own fields
        and global fields win.  An exception it raises is ignored.
        """
        with self._holding():
            self._field_sources += (source,)
            self._replan()

    def remove_field_source(self, source: FieldSource) -> None:
        """
        Stop calling C{source}.

        @raise ValueError: If it was not added.
        """
        with self._holding():
            sources = list(self._field_sources)
            sources.remove(source)
            self._field_sources = tuple(sources)
            self._replan()

    def _replan(self) -> None:
        """
        Work out the route of messages and the fields to add anew, holding
        the lock.
        """
        self._add_fields = _field_adder(self._global_fields, self._field_sources)
        self._route = plan(self._destinations, _registered,
                           {} if self._field_sources else self._global_fields,
                           self._add_fields)
        only = len(self._destinations) == 1 and self._add_fields is None
        self._single = self._destinations[0] if only else None

    def send(self, message: Dict[str, Any]) -> None:
        """
        Send a serialized message to every destination.  Never raises, but
        for a C{KeyboardInterrupt} raised while a destination runs: that
        one is reported like any failure and re-raised once every other
        destination got the message.

        Destinations that write JSON lines with the same encoder get the
        message encoded once for all of them, first; then the others get
        the message.
        """
        single = self._single
        if single is not None:
            # One destination, nothing to add: call it.  The same lines
            # open _stamp_and_write's path (txcausal._message).
            try:
                single(message)
            except BaseException as e:
                self._single_failed(message, single, e)
            return
        route = self._route
        if not route[4]:
            in_order(self._lock, self, _HOLDERS, self._parked, message, self._keep)
            return
        interrupted = send_routed(message, route, self._report)
        if interrupted is not None:
            raise interrupted

    def give_parked(self, destination: Destination, parked: "Deque[Dict[str, Any]]") -> None:
        """
        Give C{destination} the messages it parked (see
        L{txcausal._reentry.drain}), each as L{send} would: a failure is
        reported as its own, and the others are given all the same.

        @raise KeyboardInterrupt: The first one raised, once every message
            was given.
        """
        interrupted: List[KeyboardInterrupt] = []
        # Not the writer in front of it (see has_other_than): stopped by now.
        others = tuple(added for added in self._destinations if _behind(added) is not destination)

        def give(message: Dict[str, Any]) -> None:
            try:
                destination(message)
            except BaseException as e:
                raised = self._report_failure(message, destination, e, others)
                if raised is not None:
                    interrupted.append(raised)

        drain(parked, give)
        if interrupted:
            raise interrupted[0]

    def _single_failed(self, message: Dict[str, Any], single: Destination,
                       error: BaseException) -> None:
        """
        The only destination, C{single}, raised C{error} taking C{message}:
        report it (see L{_report_failure}).

        @raise KeyboardInterrupt: C{error}, when it is one.
        """
        interrupted = self._report_failure(message, single, error, (single,))
        if interrupted is not None:
            raise interrupted

    def _keep(self, message: Dict[str, Any]) -> None:
        """
        Buffer C{message} (its fields not added yet) while there is no
        destination; send it to those added meanwhile.
        """
        fielded = _with_fields(message, self._route[2])
        with self._lock:
            buffer, late = self._buffer, self._late
            if buffer is None:
                late = None
            elif late is None or not self._emptied:
                if len(buffer) == buffer.maxlen:
                    if self._shown and self._shown[0] is buffer[0]:
                        del self._shown[0]  # Shown: not lost.
                    else:
                        self._overflowed += 1
                        self.dropped += 1
                buffer.append(fielded)
                return
            else:
                self.dropped += 1
        if late is None:
            # A destination was added meanwhile.
            interrupted = send_routed(message, self._route, self._report)
            if interrupted is not None:
                raise interrupted
            return
        # After the exit's report (see _report_left), nothing else would.
        _last_resort(dropped_message(1, _AFTER_LAST_REMOVED), late[0])

    def _holding(self) -> ContextManager[None]:
        """
        Hold the lock; once it is released, keep or send what was parked
        meanwhile (see L{txcausal._reentry.holding}).
        """
        return holding(self._lock, self._parked, self._keep)

    def _drain(self) -> None:
        """
        Keep or send the messages logged where this thread held the lock, in
        order (see L{txcausal._reentry}).
        """
        if self._parked:
            drain(self._parked, self._keep)

    def keep_shown(self, report: Dict[str, Any]) -> None:
        """
        Keep C{report}, shown on standard error, for the next destination
        while there is none (before L{finish}); not lost if none comes.
        """
        with self._holding():
            buffer = self._buffer
            if buffer is not None and self._late is None and len(buffer) < self._buffer_size:
                self._shown.append(_with_fields(report, self._route[2]))
                buffer.append(self._shown[-1])

    def _report_failure(self, message: Union[Dict[str, Any], str], failed: Destination,
                        error: BaseException, destinations: Tuple[Destination, ...]
                        ) -> Optional[KeyboardInterrupt]:
        """
        See L{report_failure}, which counts in C{dropped}.
        """
        return report_failure(message, failed, error, destinations, self._count_dropped)

    def _count_dropped(self, count: int) -> None:
        self.dropped += count

    def _refused_feedback(self, destination: object) -> None:
        """
        Count a message C{destination} logged while it wrote, refused to it
        (see L{txcausal._feedback}), as dropped if no other destination got
        it, and by C{destination} if it keeps count of what it loses (see
        L{txcausal._feedback.count_guarded}).
        """
        if not self.has_other_than(destination):
            self.dropped += 1
        count_guarded(destination)

    def finish(self, stream: Optional[IO[str]] = None) -> None:
        """
        At exit, for destinations called on the thread that logs: write the
        rest of the line a full disk cut short, for each L{FileDestination}
        that keeps one (a failure counts that line as lost, and is
        reported), and report what a destination logged while it wrote and
        was not reported yet.  When there is none left, count the messages
        logged after the last was removed, kept for one that never came,
        and report them on C{stream} (by default standard error) with those
        that overflowed the buffer meanwhile.  From then on, each message
        logged with none left (also when a later exit handler removes the
        last) is reported at once.  A program that never added a destination exits
        quietly.
        """
        self._report_left(stream)
        destinations = self._destinations
        for destination in destinations:
            added = _registered(destination)
            if isinstance(added, FileDestination):
                try:
                    added.write_cut_line()
                except BaseException as e:
                    first = e.first if isinstance(e, ShortWrite) else b""
                    self._report_failure(first.decode("utf-8", "replace"), destination, e,
                                         destinations)
            finish_guarded(destination, _last_resort)

    def _report_left(self, stream: Optional[IO[str]]) -> None:
        """
        For L{finish}: count and report the messages kept after the last
        destination was removed.
        """
        with self._holding():
            self._late = (stream,)
            buffer = self._buffer
            if buffer is None or not self._emptied:
                return
            kept, overflowed = len(buffer) - len(self._shown), self._overflowed
            buffer.clear()
            self._shown = []
            self._overflowed = 0
            self.dropped += kept
        if kept or overflowed:
            _last_resort(dropped_message(kept + overflowed, _AFTER_LAST_REMOVED), stream)


#: The methods that hold a L{Destinations}' lock (see L{txcausal._reentry}).
_HOLDERS = holders(Destinations.add, Destinations.remove, Destinations.add_global_fields,
                   Destinations.add_field_source, Destinations.remove_field_source,
                   Destinations._keep, Destinations.keep_shown, Destinations._report_left)
