# -*- test-case-name: txcausal.test.test_action,txcausal.test.test_tasklevel -*-
"""
Actions and tasks: an action logs a start message, the messages and child
actions inside it, and a finish message; a task is an action with no parent.
"""

from __future__ import annotations

from contextvars import Token
from time import monotonic
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from zope.interface import implementer

from . import _output
from ._action_context import _ActionContext, _restore, _restore_elsewhere
from ._context import _ACTION, _get_action
from ._errors import extract_fields
from ._interfaces import IAction, ILogger
from ._message import _stamp_and_write
from ._safe import reason_text
from ._tasklevel import MAX_TASK_LEVEL_DEPTH, TaskLevel, parse_task_id
from ._uuid import new_task_uuid
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    DURATION_FIELD,
    EXCEPTION_FIELD,
    FAILED_STATUS,
    MESSAGE_TYPE_FIELD,
    PARENT_TASK_ID_FIELD,
    REASON_FIELD,
    REMOTE_TASK_LEVELS_FIELD,
    RETRIED_TASK_LEVELS_FIELD,
    STARTED_STATUS,
    SUCCEEDED_STATUS,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    exception_name,
)

if TYPE_CHECKING:
    from ._types import _ActionSerializers, _MessageSerializer

_T = TypeVar("_T")

#: The context tokens of nested entries into one action, innermost first.
_TokenStack = Tuple["Token[Optional[Action]]", Any]


@implementer(IAction)
class Action:
    """
    An action in progress.  Use it as a context manager to make it current
    and finish it on exit, or L{Action.context} to make it current only.
    """

    __slots__ = (
        "_logger", "_task_uuid", "_level", "_counter", "action_type", "_finished",
        "_started", "_success_fields", "_serializers", "_token", "_handed_off", "_parent_id",
        "_retried",
    )

    def __init__(
        self,
        logger: Optional[ILogger],
        task_uuid: str,
        task_level: Union[List[int], TaskLevel],
        action_type: str,
        serializers: Optional["_ActionSerializers"] = None,
    ) -> None:
        """
        Create an action that is not yet started; prefer L{start_action} and
        L{start_task}.

        @param logger: Where to write, or C{None} for the default logger as
            it is now: the action's messages go there even if the default
            logger is swapped before it finishes.
        @param task_level: This action's position in the task.
        """
        self._logger = _output._DEFAULT_LOGGER if logger is None else logger
        self._task_uuid = task_uuid
        self._level = list(task_level.level) if isinstance(task_level, TaskLevel) else task_level
        self._counter = 0
        self.action_type = action_type
        self._finished = False
        self._started = 0.0
        self._success_fields: Optional[Dict[str, Any]] = None
        self._serializers = serializers
        self._token: Optional[_TokenStack] = None
        self._handed_off: Optional[List[str]] = None
        # Set by _outgoing.resend; [] by _attempts when it connects for a
        # retry (the request had a connection: see _outgoing.never_sent).
        self._retried: Optional[List[str]] = None
        self._parent_id: Optional[str] = None

    @property
    def task_uuid(self) -> str:
        """
        The UUID of the task this action is in.
        """
        return self._task_uuid

    @property
    def finished(self) -> bool:
        """
        Whether the action has logged its finish message.
        """
        return self._finished

    def _next_level(self) -> List[int]:
        """
        @return: The level of the next message or child action inside this
            action.
        """
        self._counter += 1
        return [*self._level, self._counter]

    def _start(self, fields: Dict[str, Any]) -> None:
        if fields and not _WRITTEN.isdisjoint(fields):
            _set_aside(fields)
        fields[ACTION_TYPE_FIELD] = self.action_type
        fields[ACTION_STATUS_FIELD] = STARTED_STATUS
        if self._parent_id is not None:
            fields[PARENT_TASK_ID_FIELD] = self._parent_id
        self._started = monotonic()
        serializers = self._serializers
        _stamp_and_write(fields, self, None, serializers.start if serializers else None)

    def serialize_task_id(self) -> bytes:
        """
        @return: A fresh position inside this action, as
            C{b"<task uuid>@/<level>/..."}, for another process to continue
            the task with L{Action.continue_task}.  Never reuse one.  The
            action's finish message lists the positions handed off in its
            C{remote_task_levels} field, so readers of this process's log
            know they were not lost.
        """
        level = "/" + "/".join(map(str, self._next_level()))
        if self._handed_off is None:
            self._handed_off = [level]
        else:
            self._handed_off.append(level)
        return f"{self._task_uuid}@{level}".encode("ascii")

    @classmethod
    def continue_task(
        cls,
        logger: Optional[ILogger] = None,
        task_id: Union[bytes, str] = b"",
        *,
        action_type: str = "eliot:remote_task",
        _serializers: Optional["_ActionSerializers"] = None,
        **fields: Any,
    ) -> "Action":
        """
        Start an action continuing a task from another process or thread.

        A position too deep for its messages to fit within
        L{MAX_TASK_LEVEL_DEPTH} levels is not continued: the action starts
        a fresh task whose start message has the C{task_id} in its
        C{parent_task_id} field.

        @param task_id: What L{Action.serialize_task_id} returned there.
        @raise InvalidTaskId: If C{task_id} is malformed.
        """
        task_uuid, level = parse_task_id(task_id)
        return cls._resume(logger, task_id, task_uuid, level, action_type, fields, _serializers)

    @classmethod
    def _resume(cls, logger: Optional[ILogger], task_id: Union[bytes, str], task_uuid: str,
                level: List[int], action_type: str, fields: Dict[str, Any],
                serializers: Optional["_ActionSerializers"] = None) -> "Action":
        """
        L{continue_task} with C{task_id} already parsed into C{task_uuid}
        and C{level}; C{fields} are the start message's, which this may
        change.
        """
        if len(level) < MAX_TASK_LEVEL_DEPTH:
            action = cls(logger, task_uuid, level, action_type, serializers)
        else:
            action = cls._fresh(logger, task_id, action_type, serializers)
        action._start(fields)
        return action

    @classmethod
    def _fresh(cls, logger: Optional[ILogger], task_id: Union[bytes, str], action_type: str,
               serializers: Optional["_ActionSerializers"]) -> "Action":
        """
        An action starting a new task in place of the position C{task_id}.
        """
        action = cls(logger, new_task_uuid(), [], action_type, serializers)
        action._parent_id = task_id.decode("ascii") if isinstance(task_id, bytes) else task_id
        return action

    def child(self, logger: Optional[ILogger], action_type: str,
              serializers: Optional["_ActionSerializers"] = None) -> "Action":
        """
        Create (without starting) a child action; nested too deep (see
        L{MAX_TASK_LEVEL_DEPTH}), a fresh task continuing a position handed
        off as to another process.

        @param logger: Where the child writes; C{None} for the default
            logger (not this action's), as in Eliot.
        """
        if len(self._level) + 2 > MAX_TASK_LEVEL_DEPTH:
            return Action._fresh(logger, self.serialize_task_id(), action_type, serializers)
        return Action(logger, self._task_uuid, self._next_level(), action_type, serializers)

    def log(self, message_type: str, **fields: Any) -> None:
        """
        Log a message inside this action, whether or not it is current.

        @param message_type: What kind of message this is.
        @param fields: The message's fields.
        """
        fields[MESSAGE_TYPE_FIELD] = message_type
        _stamp_and_write(fields, self, None, None)

    def add_success_fields(self, **fields: Any) -> None:
        """
        Add fields to the success message.  Fields named as those txcausal
        writes (C{action_status}, C{action_type}, C{task_uuid},
        C{task_level}, C{timestamp}) are kept with a C{user_} prefix
        (C{user_action_status}, ...); a C{duration} field is written instead
        of the one txcausal measures.
        """
        if self._success_fields is None:
            self._success_fields = fields
        else:
            self._success_fields.update(fields)

    def finish(self, exception: Optional[BaseException] = None, **fields: Any) -> None:
        """
        Log the finish message: success without C{exception}, failure (with
        C{exception} and C{reason} fields) with one.  Later calls do nothing.

        @param fields: Fields added to the finish message either way (they
            never replace success fields; see L{add_success_fields} for the
            names txcausal writes).
        """
        if self._finished:
            return
        self._finished = True
        serializers = self._serializers
        if exception is None and self._success_fields is None and not fields:
            # Nothing of the caller's to merge: this runs for most actions.
            message = {ACTION_STATUS_FIELD: SUCCEEDED_STATUS, ACTION_TYPE_FIELD: self.action_type,
                       DURATION_FIELD: monotonic() - self._started}
            serializer = serializers.success if serializers else None
        else:
            message, serializer = self._finish_message(exception, fields)
        if self._handed_off is not None:
            message[REMOTE_TASK_LEVELS_FIELD] = self._handed_off
            if self._retried:
                message[RETRIED_TASK_LEVELS_FIELD] = self._retried
        _stamp_and_write(message, self, None, serializer)

    def _finish_message(self, exception: Optional[BaseException], fields: Dict[str, Any]
                        ) -> "Tuple[Dict[str, Any], Optional[_MessageSerializer]]":
        """
        @return: The finish message of L{finish} but for its
            C{remote_task_levels}, and its serializer.
        """
        serializers = self._serializers
        if exception is None:
            message = self._success_fields or {}
            status = SUCCEEDED_STATUS
            serializer = serializers.success if serializers else None
        else:
            message = extract_fields(exception)
            message[EXCEPTION_FIELD] = exception_name(exception)
            message[REASON_FIELD] = reason_text(exception)
            status = FAILED_STATUS
            serializer = serializers.failure if serializers else None
        for key, value in fields.items():
            message.setdefault(key, value)
        if not _WRITTEN.isdisjoint(message):
            _set_aside(message)
        message[ACTION_STATUS_FIELD] = status
        message[ACTION_TYPE_FIELD] = self.action_type
        if DURATION_FIELD not in message:
            message[DURATION_FIELD] = monotonic() - self._started
        return message, serializer

    def context(self) -> _ActionContext:
        """
        @return: A context manager making this the current action, without
            finishing it on exit; it gives the action to C{as}.
        """
        return _ActionContext(self)

    def run(self, f: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """
        Call C{f(*args, **kwargs)} with this as the current action, without
        finishing the action.

        @return: What C{f} returned.
        """
        token = _ACTION.set(self)
        try:
            return f(*args, **kwargs)
        finally:
            _restore(token, self)

    def __enter__(self) -> "Action":
        # A stack (as nested pairs), in case the action is entered again
        # inside itself.
        self._token = (_ACTION.set(self), self._token)
        return self

    def __exit__(self, typ: Optional[Type[BaseException]], exception: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self._token is not None:
            token, self._token = self._token
            # _restore, inlined: this runs for every action.
            try:
                _ACTION.reset(token)
            except ValueError:
                _restore_elsewhere(token, self)
        self.finish(exception)

    def __repr__(self) -> str:
        return f"<Action {self.action_type!r} {self._task_uuid}@/{'/'.join(map(str, self._level))}>"


#: The fields of an action's messages that txcausal writes, and the names
#: a user's fields of those names are kept under.
_SET_ASIDE = tuple((name, "user_" + name) for name in (
    ACTION_STATUS_FIELD, ACTION_TYPE_FIELD, TASK_UUID_FIELD, TASK_LEVEL_FIELD, TIMESTAMP_FIELD))
#: Their names.
_WRITTEN = frozenset(name for name, _ in _SET_ASIDE)


def _set_aside(fields: Dict[str, Any]) -> None:
    """
    Rename a user's fields named as those txcausal writes on an action's
    messages (C{action_status}, C{action_type}, C{task_uuid}, C{task_level},
    C{timestamp}), so that txcausal's do not silently replace them.
    """
    for name, kept in _SET_ASIDE:
        if name in fields:
            fields[kept] = fields.pop(name)


def _begin(parent: Optional[Action], logger: Optional[ILogger], action_type: str,
           fields: Dict[str, Any], serializers: Optional["_ActionSerializers"]) -> Action:
    """
    Create and start an action: a child of C{parent}, or a new task.

    @raise TypeError: If C{logger} is not a logger (typically an action type
        passed positionally).
    """
    if logger is not None and not hasattr(logger, "write"):
        raise TypeError(
            f"{logger!r} is not a logger: pass the action type by name, "
            f"start_action(action_type={logger!r})"
        )
    if parent is None:
        action = Action(logger, new_task_uuid(), [], action_type, serializers)
    else:
        action = parent.child(logger, action_type, serializers)
    action._start(fields)
    return action


def start_action(logger: Optional[ILogger] = None, action_type: str = "", _serializers:
                 Optional["_ActionSerializers"] = None, **fields: Any) -> Action:
    """
    Start an action inside the current one (or a new task outside any).

    @param action_type: What kind of action, e.g. C{"myapp:frob"}.
    @param fields: Fields of the start message.
    @return: The started action; use it as a context manager.
    """
    return _begin(_get_action(), logger, action_type, fields, _serializers)


def start_task(logger: Optional[ILogger] = None, action_type: str = "", _serializers:
               Optional["_ActionSerializers"] = None, **fields: Any) -> Action:
    """
    Start a new task: an action with no parent, whatever is current.
    """
    return _begin(None, logger, action_type, fields, _serializers)
