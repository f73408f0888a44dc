# -*- test-case-name: txcausal.test.test_output,txcausal.test.test_compat -*-
"""
The wire format: the names of the fields and statuses txcausal writes, and
the messages it writes about itself.

The format is Eliot's, so Eliot's tools read txcausal logs.  Field names are
data, kept here as constants in one place; this module imports nothing else
of txcausal's but L{txcausal._uuid}, so every other module can use it.
"""

from __future__ import annotations

from time import time
from typing import Any, Callable, Dict, Optional, Sequence

from ._uuid import new_task_uuid

TASK_UUID_FIELD = "task_uuid"
TASK_LEVEL_FIELD = "task_level"
TIMESTAMP_FIELD = "timestamp"
MESSAGE_TYPE_FIELD = "message_type"
ACTION_TYPE_FIELD = "action_type"
ACTION_STATUS_FIELD = "action_status"
DURATION_FIELD = "duration"
EXCEPTION_FIELD = "exception"
REASON_FIELD = "reason"
TRACEBACK_FIELD = "traceback"
#: Marks an action that failed because its Deferred was cancelled.
CANCELLED_FIELD = "cancelled"
#: On an action's finish message: the levels (as C{"/2/3"}) it handed to
#: other processes with C{serialize_task_id()}; messages at those levels are
#: in another process's log, not missing.
REMOTE_TASK_LEVELS_FIELD = "remote_task_levels"
#: On the finish message of a request of txcausal's HTTP client (an
#: action of L{CLIENT_ACTION_TYPE}): those of its C{remote_task_levels}
#: whose attempt was cut off before any response and sent again at another
#: level (a connection pool's retry); readers do not wait for them.
RETRIED_TASK_LEVELS_FIELD = "retried_task_levels"
#: On the finish message of a request of txcausal's HTTP client (an
#: action of L{CLIENT_ACTION_TYPE}): those of its C{remote_task_levels}
#: whose request failed before any connection was made (its host name was
#: not found, its connection was refused, timed out or cancelled), so that
#: no other process got them; readers do not wait for them.
UNSENT_TASK_LEVELS_FIELD = "unsent_task_levels"
#: The action type of an HTTP request of txcausal's client
#: (L{txcausal.treq}): the only action whose C{retried_task_levels} and
#: C{unsent_task_levels} readers heed (on another, they are a user's fields
#: of those names).
CLIENT_ACTION_TYPE = "txcausal:http:client"
#: On the start message of a task that would have continued a position too
#: deep to continue (see L{txcausal._tasklevel.MAX_TASK_LEVEL_DEPTH}): that
#: position, as a serialized task id.
PARENT_TASK_ID_FIELD = "parent_task_id"
#: In the start message of an action that is one attempt at running what a
#: position handed to another process stands for (a Dask task, which Dask
#: may run again): the level of that position, which has no action of its
#: own; the attempt's action is below it, at an index of its own.
ATTEMPT_OF_FIELD = "attempt_of"
#: The action type of an action continuing a task in another process.
REMOTE_TASK_ACTION_TYPE = "eliot:remote_task"
#: The action type of a traced Dask computation (C{compute_with_trace}):
#: it succeeds only once every task of its graph has.
DASK_COMPUTE_ACTION_TYPE = "dask:compute"
#: The message type of the first message of a Dask task's attempt.
DASK_TASK_MESSAGE_TYPE = "dask:task"
#: In a C{dask:task} message: how many times the distributed scheduler runs
#: the task again after it raised (absent: none).
RETRIES_FIELD = "retries"


def is_attempt(message: Dict[str, Any], prefix: Sequence[int]) -> bool:
    """
    Whether C{message}, the start message of the action at level prefix
    C{prefix}, starts an attempt: an C{eliot:remote_task} action whose
    C{attempt_of} names the position just above it.  A user's field of
    that name on any other action means nothing.
    """
    return (
        len(prefix) > 1
        and message.get(ACTION_TYPE_FIELD) == REMOTE_TASK_ACTION_TYPE
        and message.get(ATTEMPT_OF_FIELD) == "".join(f"/{part}" for part in prefix[:-1])
    )

STARTED_STATUS = "started"
SUCCEEDED_STATUS = "succeeded"
FAILED_STATUS = "failed"

#: The fields txcausal adds to any action's messages, which validation
#: always allows: every message has the first three, the finish message of
#: an action that handed positions to other processes the last.
ALWAYS_VALID_FIELDS = frozenset(
    [TASK_UUID_FIELD, TASK_LEVEL_FIELD, TIMESTAMP_FIELD, REMOTE_TASK_LEVELS_FIELD]
)
#: The fields txcausal itself writes: those of L{ALWAYS_VALID_FIELDS} and
#: those only its HTTP client's actions have.  Types may not define any of
#: them and they cannot be global fields; validation allows the latter only
#: where a type does not check its fields (they are not a typed message's).
RESERVED_FIELDS = ALWAYS_VALID_FIELDS | frozenset(
    [RETRIED_TASK_LEVELS_FIELD, UNSENT_TASK_LEVELS_FIELD]
)
#: The fields that place a message in its task and say what it is: the rest
#: are what it says (what readers show as fields and search for keys).
STRUCTURAL_FIELDS = frozenset(
    [
        TASK_UUID_FIELD,
        TASK_LEVEL_FIELD,
        TIMESTAMP_FIELD,
        MESSAGE_TYPE_FIELD,
        ACTION_TYPE_FIELD,
        ACTION_STATUS_FIELD,
        DURATION_FIELD,
    ]
)
#: The fields that say what a message is; with L{RESERVED_FIELDS}, no global
#: field may replace them.
KIND_FIELDS = frozenset([MESSAGE_TYPE_FIELD, ACTION_TYPE_FIELD, ACTION_STATUS_FIELD])


#: The message types of txcausal's reports about itself.
TRACEBACK_MESSAGE_TYPE = "eliot:traceback"
SERIALIZATION_FAILURE = "eliot:serialization_failure"
DESTINATION_FAILURE = "eliot:destination_failure"
MESSAGES_DROPPED = "txcausal:messages_dropped"
#: Reports values of a message that were written in another form because
#: JSON cannot encode them (the message itself is written).
UNENCODABLE_VALUES = "txcausal:unencodable_values"
#: The message type of Twisted's own log events read back from a log.
TWISTED_MESSAGE_TYPE = "twisted:log"
#: The key of the twisted.logger events that
#: L{txcausal.twisted.TwistedDestination} emits; its value is the message as
#: JSON text.  The bridges from Twisted skip events that have it.
BRIDGED_EVENT_KEY = "txcausal_json"
#: What Eliot's C{inline_callbacks} logs at each C{yield} with C{debug=True}.
YIELDED_MESSAGE_TYPE = "yielded"


def time_shown(message: Dict[str, Any], as_time: Callable[[Any], str],
               as_given: Callable[[Any], str]) -> str:
    """
    The rule for a message's time as text, the library's and the command
    line's: a number (not a boolean) as C{as_time} formats it, or as Python
    writes it when it is out of range (C{as_time} raised C{ValueError},
    C{OverflowError} or C{OSError}); a timestamp that is no time (a string,
    a boolean, C{null}, a list) as C{as_given} shows it; none as C{?}.
    """
    if TIMESTAMP_FIELD not in message:
        return "?"
    timestamp = message[TIMESTAMP_FIELD]
    if isinstance(timestamp, (int, float)) and timestamp.__class__ is not bool:
        try:
            return as_time(timestamp)
        except (ValueError, OverflowError, OSError):
            return repr(timestamp)
    return as_given(timestamp)


#: The last time a message is placed at: OTLP holds nanoseconds since 1970
#: in 64 bits (up to the year 2554).
LAST_NANOSECOND = 2**64 - 1


def nanoseconds(timestamp: Any) -> Optional[int]:
    """
    @return: A message's C{timestamp} (seconds) in nanoseconds, to the
        microsecond (as written), or C{None} if it is not a usable time: a
        number of seconds from 1970 to 2554 (L{LAST_NANOSECOND}).
    """
    if timestamp.__class__ is float or timestamp.__class__ is int:
        try:
            time = round(timestamp * 1_000_000) * 1000
        except (OverflowError, ValueError):
            return None
        return time if 0 <= time <= LAST_NANOSECOND else None
    return None


def exception_name(exception: BaseException) -> str:
    """
    @return: The qualified name of the exception's class, e.g.
        C{"builtins.ValueError"}, as Eliot writes it.
    """
    cls = type(exception)
    return f"{cls.__module__}.{cls.__qualname__}"


def standalone_message(message_type: str, **fields: Any) -> Dict[str, Any]:
    """
    Build a message of txcausal's own, as a one-message task of its own (so
    it never takes a place in the tree of the work it reports on).
    """
    fields[MESSAGE_TYPE_FIELD] = message_type
    fields[TASK_UUID_FIELD] = new_task_uuid()
    fields[TASK_LEVEL_FIELD] = [1]
    fields[TIMESTAMP_FIELD] = time()
    return fields


def dropped_message(count: int, reason: str, **fields: Any) -> Dict[str, Any]:
    """
    The report of C{count} messages that could not be delivered.

    @param reason: Why they were dropped.
    """
    return standalone_message(MESSAGES_DROPPED, count=count, reason=reason, **fields)
