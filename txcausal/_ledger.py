# -*- test-case-name: txcausal.test.test_ledger -*-
"""
An in-process index of recent messages and events, by topic, as Dask's
structured event ledger: C{log_event}, C{get_events}, C{subscribe} and
C{story(key)}.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, Union, overload

from zope.interface import implementer

from ._context import current_action
from ._interfaces import IDestination
from ._json import JSONLineEncoder
from ._reentry import Parked, holders, holding, in_order, parked
from ._story import KeyMatcher, story_entries
from ._wire import ACTION_TYPE_FIELD, MESSAGE_TYPE_FIELD, TASK_LEVEL_FIELD, TIMESTAMP_FIELD

Event = Tuple[float, Any]
#: What the ledger keeps: the time, the message or event, its task UUID and
#: the level of the action it was logged in (each C{None} if unknown).
_Entry = Tuple[float, Any, Optional[str], Optional[Tuple[int, ...]]]
Subscriber = Callable[[Event], None]
#: An entry parked (see L{txcausal._reentry}): its topic, then an L{_Entry}.
_Parked = Tuple[str, float, Any, Optional[str], Optional[Tuple[int, ...]]]

#: The topic of the report of a subscriber that raised.
SUBSCRIBER_FAILURE = "txcausal:subscriber_failure"
#: The topic of messages that have neither a message nor an action type.
UNTYPED = "txcausal:untyped"

_DEFAULT_SIZE = 1000
_ENCODER = JSONLineEncoder()


def _message_topic(message: Dict[str, Any]) -> str:
    kind = message.get(MESSAGE_TYPE_FIELD)
    if kind is None:
        kind = message.get(ACTION_TYPE_FIELD)
    return kind if isinstance(kind, str) else UNTYPED


@implementer(IDestination)
class Ledger:
    """
    A destination that keeps the most recent messages it receives, by topic,
    plus events logged directly with L{log_event}.

    Messages received as a destination are filed under their message or
    action type, so administrative messages (C{eliot:destination_failure},
    C{txcausal:messages_dropped}, ...) land under their own topics.

    Thread-safe: messages and events may come from any thread; subscribers
    are called, outside the ledger's lock, in the thread that logged.
    """

    def __init__(
        self,
        max_per_topic: Optional[int] = _DEFAULT_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """
        @param max_per_topic: How many entries to keep per topic, the oldest
            forgotten first; C{None} keeps everything.
        @param clock: Returns the current time, for event timestamps.
        @raise ValueError: If C{max_per_topic} is not positive.
        """
        if max_per_topic is not None and max_per_topic < 1:
            raise ValueError(f"max_per_topic must be positive or None, not {max_per_topic!r}")
        self._size = max_per_topic
        self._clock = clock
        self._lock = threading.Lock()
        #: What was logged on a thread where it held the lock (see
        #: L{txcausal._reentry}).
        self._parked: Parked[_Parked] = parked()
        self._topics: Dict[str, Deque[_Entry]] = {}
        self._subscribers: Dict[str, Tuple[Subscriber, ...]] = {}

    def __call__(self, message: Dict[str, Any]) -> None:
        """
        Receive a logged message (the L{IDestination} contract).
        """
        copy = dict(message)
        when = copy.get(TIMESTAMP_FIELD)
        if not isinstance(when, (int, float)):
            when = self._clock()
        level = copy.get(TASK_LEVEL_FIELD)
        action = tuple(level[:-1]) if isinstance(level, list) and level else None
        self._record(_message_topic(copy), float(when), copy, copy.get("task_uuid"), action)

    def log_event(self, topic: str, msg: Any) -> None:
        """
        Record a structured event under C{topic}, with the current time and
        the current task (if any), and hand it to the topic's subscribers.

        @param msg: Anything txcausal can encode as JSON.
        @raise TypeError: If C{msg} cannot be encoded as JSON.
        """
        try:
            _ENCODER.dumps({"event": msg})
        except (TypeError, ValueError) as e:
            raise TypeError(f"event for topic {topic!r} is not JSON-serializable: {e}") from None
        action = current_action()
        task = getattr(action, "task_uuid", None)
        level = getattr(action, "_level", None)
        self._record(topic, self._clock(), msg, task, None if level is None else tuple(level))

    def _record(
        self,
        topic: str,
        when: float,
        msg: Any,
        task: Optional[str],
        action: Optional[Tuple[int, ...]] = None,
    ) -> None:
        entry = (topic, when, msg, task, action)
        # Logged on a thread holding the lock (a finalizer, a signal
        # handler, a callback compared or shown by unsubscribe): parked,
        # and kept once it is released.
        in_order(self._lock, self, _HOLDERS, self._parked, entry, self._keep)

    def _keep(self, entry: _Parked) -> None:
        """
        Keep an entry of L{_record} (or parked by it: see
        L{txcausal._reentry}), and hand it to the topic's subscribers.
        """
        topic, when, msg = entry[:3]
        for subscriber in self._store(entry):
            self._notify(topic, subscriber, (when, msg))

    def _store(self, entry: _Parked) -> Tuple[Subscriber, ...]:
        """
        Keep an entry, holding the lock (unlike L{_keep}, which calls the
        subscribers outside it).

        @return: The subscribers of its topic.
        """
        topic, when, msg, task, action = entry
        with self._lock:
            entries = self._topics.get(topic)
            if entries is None:
                entries = self._topics[topic] = deque(maxlen=self._size)
            entries.append((when, msg, task, action))
            return self._subscribers.get(topic, ())

    def _notify(self, topic: str, subscriber: Subscriber, event: Event) -> None:
        try:
            subscriber(event)
        except Exception as e:
            if topic == SUBSCRIBER_FAILURE:
                return  # Do not loop reporting the failures of reporting.
            report = {"topic": topic, "subscriber": repr(subscriber), "exception": repr(e)}
            self._record(SUBSCRIBER_FAILURE, self._clock(), report, None)

    @overload
    def get_events(self, topic: str) -> Tuple[Event, ...]: ...

    @overload
    def get_events(self, topic: None = None) -> Dict[str, Tuple[Event, ...]]: ...

    def get_events(
        self, topic: Optional[str] = None
    ) -> Union[Tuple[Event, ...], Dict[str, Tuple[Event, ...]]]:
        """
        The recorded events, oldest first.

        @param topic: A topic, or C{None} for every topic.
        @return: For a topic, a tuple of C{(timestamp, msg)} (empty if the
            topic is unknown); for C{None}, a dictionary of them by topic.
        """
        with holding(self._lock, self._parked, self._keep):
            if topic is not None:
                return tuple((when, msg) for when, msg, _, _ in self._topics.get(topic, ()))
            return {
                name: tuple((when, msg) for when, msg, _, _ in entries)
                for name, entries in self._topics.items()
            }

    def topics(self) -> List[str]:
        """
        The topics that have entries, sorted.
        """
        with holding(self._lock, self._parked, self._keep):
            return sorted(self._topics)

    def subscribe(self, topic: str, callback: Subscriber) -> None:
        """
        Call C{callback((timestamp, msg))} for every later entry of C{topic}.
        If it raises, the failure is recorded under
        L{SUBSCRIBER_FAILURE} and the other subscribers still run.
        """
        with holding(self._lock, self._parked, self._keep):
            self._subscribers[topic] = self._subscribers.get(topic, ()) + (callback,)

    def unsubscribe(self, topic: str, callback: Subscriber) -> None:
        """
        Stop calling C{callback} for C{topic}.

        @raise ValueError: If it was not subscribed.
        """
        with holding(self._lock, self._parked, self._keep):
            current = self._subscribers.get(topic, ())
            if callback not in current:
                raise ValueError(f"{callback!r} is not subscribed to {topic!r}")
            index = current.index(callback)
            remaining = current[:index] + current[index + 1 :]
            if remaining:
                self._subscribers[topic] = remaining
            else:
                del self._subscribers[topic]

    def story(self, *keys: str) -> Tuple[Event, ...]:
        """
        What happened to C{keys}, among the entries kept: in time order,
        the messages and events of the tasks whose UUID is a key, those
        that mention a key, and everything logged inside an action that
        mentions one (a transition logged inside the action that carries
        C{key="inc-123"} is in the story of C{"inc-123"}).  Matching is
        that of C{txcausal story} (L{txcausal.parse.KeyMatcher}).

        @return: A tuple of C{(timestamp, msg)}.
        @raise ValueError: If a key is empty.
        """
        with holding(self._lock, self._parked, self._keep):
            snapshot = [entry for entries in self._topics.values() for entry in entries]
        return tuple(story_entries(KeyMatcher(keys), snapshot))


#: The methods that hold a L{Ledger}'s lock (see L{txcausal._reentry}).
_HOLDERS = holders(Ledger._store, Ledger.get_events, Ledger.topics, Ledger.subscribe,
                   Ledger.unsubscribe, Ledger.story)
