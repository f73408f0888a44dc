# -*- test-case-name: txcausal.test.test_action,txcausal.test.test_output -*-
"""
The extension points of txcausal, with their contracts.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, TypeVar

from zope.interface import Attribute, Interface

_T = TypeVar("_T")


class IDestination(Interface):
    """
    Something that receives every logged message.

    A destination is a callable taking one message dictionary.  It B{must be
    thread-safe}: messages are delivered from whichever thread logged them.
    It must not keep or mutate the dictionary after returning unless it copied
    it first: the same dictionary is given to every destination.  If it raises,
    the exception is reported to the other destinations as an
    C{eliot:destination_failure} message and logging carries on.
    """

    def __call__(message: Dict[str, Any]) -> None:
        """
        Receive one message.

        @param message: A JSON-compatible dictionary, already serialized.
        """


class ILogger(Interface):
    """
    Where actions and messages send what they log.

    C{write} must be thread-safe and must never raise: serialization or
    destination problems are reported as log messages instead.
    """

    def write(dictionary: Dict[str, Any], serializer: Optional[Any] = None) -> None:
        """
        Write one message.

        @param dictionary: The message fields, not yet serialized.
        @param serializer: An optional serializer, as a typed message of a
            L{txcausal.MessageType} or L{txcausal.ActionType} has, that turns
            rich field values into JSON-compatible ones.
        """


class IAction(Interface):
    """
    A unit of work that starts, then succeeds or fails, with messages and
    child actions logged inside it.

    An action must only be used from one thread at a time; to continue it in
    another thread use L{txcausal.preserve_context}, in another process
    L{IAction.serialize_task_id}.
    """

    task_uuid: str = Attribute("The UUID of the task (top-level action) this action is in.")
    action_type: str = Attribute("The type of this action, e.g. C{'app:frob'}.")
    finished: bool = Attribute("Whether a finish message has been written.")

    def serialize_task_id() -> bytes:
        """
        Serialize a fresh position inside this action, for another process to
        continue the task with L{txcausal.Action.continue_task}.  Each call
        returns a new position: never reuse one.
        """

    def add_success_fields(**fields: Any) -> None:
        """
        Add fields to the success message, if the action succeeds.
        """

    def finish(exception: Optional[BaseException] = None, **fields: Any) -> None:
        """
        Log the finish message: success when C{exception} is C{None}, failure
        otherwise, with C{fields} added either way (they never replace the
        fields txcausal writes).  Finishing twice does nothing the second
        time.
        """

    def context() -> Any:
        """
        A context manager that makes this the current action without
        finishing it on exit.
        """

    def child(logger: Optional[ILogger], action_type: str, serializers: Any = None) -> "IAction":
        """
        Create a child action (not yet started).
        """

    def run(f: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """
        Run C{f(*args, **kwargs)} with this as the current action, returning
        its result, without finishing the action.
        """
