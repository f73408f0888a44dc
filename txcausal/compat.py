# -*- test-case-name: txcausal.test.test_compat_names -*-
"""
Eliot's old spellings, in one place, for migrating code that uses them.

txcausal has one spelling for each name.  Eliot 1.18 keeps older ones
(C{startAction}, C{writeTraceback}, C{addDestination},
C{action.addSuccessFields}...), and names of its own (C{EliotHandler},
C{EliotJSONEncoder}, C{validateLogging}, C{issuperset}).  This module has them all, each
warning with a C{DeprecationWarning} that names the spelling to use, so that
such code runs first and is fixed warning by warning.  The migration is one
line per import of C{eliot}: import C{txcausal.compat} in its place::

    from eliot import startAction, Message       # before
    from txcausal.compat import startAction, Message

    import eliot                                 # or, before
    import txcausal.compat as eliot

This module holds every name of C{eliot}'s top level (the current ones are
txcausal's own objects, without a warning).  Importing it also gives the
classes their Eliot method names: C{Action.addSuccessFields},
C{serializeTaskId}, C{continueTask}; C{TaskLevel.fromString},
C{toString}; C{Field.forTypes}, C{forValue}; C{ActionType.asTask};
C{MemoryLogger.flushTracebacks}; C{LoggedAction.ofType},
C{fromMessages}, C{startMessage}, C{endMessage}; C{LoggedMessage.ofType}.
Eliot's modules are its attributes too, as they are of C{eliot}: C{testing},
C{twisted}, C{json} and the others of L{SUBMODULES} are txcausal's modules of
the same name (C{eliot.testing.capture_logging} is
L{txcausal.testing.capture_logging}).
Once no warning is left, import from C{txcausal} and drop this module.
"""

from __future__ import annotations

import importlib
import json as _json
import warnings
from functools import wraps
from types import ModuleType
from typing import Any, Callable, Dict, Iterable, Tuple, TypeVar

from . import (
    Action,
    ActionType,
    Field,
    FileDestination,
    ILogger,
    Logger,
    MemoryLogger,
    Message,
    MessageType,
    TaskLevel,
    ValidationError,
    __version__,
    add_destinations,
    add_global_fields,
    current_action,
    fields,
    log_call,
    log_message,
    preserve_context,
    register_exception_extractor,
    remove_destination,
    start_action,
    start_task,
    to_file,
    write_traceback,
)
from ._capture import validate_logging
from ._deferred import writeFailure as _writeFailure
from ._jsondefault import json_default
from ._loggedaction import LoggedAction, LoggedMessage
from .filter import CausalFilter
from .stdlib import CausalHandler

_F = TypeVar("_F", bound=Callable[..., Any])


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=3)


def _renamed(old: str, new: str, function: _F) -> _F:
    """
    @return: C{function} under its old name C{old}, warning that C{new} is
        its name now.
    """

    @wraps(function)
    def alias(*args: Any, **kwargs: Any) -> Any:
        _warn(old, new)
        return function(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    return alias  # type: ignore[return-value]


startAction = _renamed("startAction", "txcausal.start_action", start_action)
startTask = _renamed("startTask", "txcausal.start_task", start_task)
writeTraceback = _renamed("writeTraceback", "txcausal.write_traceback", write_traceback)
writeFailure = _renamed("eliot.writeFailure", "txcausal.twisted.writeFailure", _writeFailure)
write_failure = _renamed("eliot.write_failure", "txcausal.twisted.writeFailure", _writeFailure)


def _add_destination(destination: Callable[[Dict[str, Any]], None]) -> None:
    """
    Eliot's C{add_destination}: add one destination.
    """
    add_destinations(destination)


addDestination = _renamed("addDestination", "txcausal.add_destinations", _add_destination)
add_destination = _renamed("add_destination", "txcausal.add_destinations", _add_destination)
removeDestination = _renamed("removeDestination", "txcausal.remove_destination",
                             remove_destination)
addGlobalFields = _renamed("addGlobalFields", "txcausal.add_global_fields", add_global_fields)
validateLogging = _renamed("validateLogging", "txcausal.testing.validate_logging",
                           validate_logging)


def issuperset(a: Dict[Any, Any], b: Dict[Any, Any]) -> bool:
    """
    C{eliot.testing.issuperset}: whether dict C{a} has every item of C{b}.
    """
    _warn("issuperset", "txcausal.testing.assertContainsFields")
    items = a.items()
    return all(pair in items for pair in b.items())


def use_asyncio_context() -> None:
    """
    Eliot's switch to per-coroutine contexts: nothing to do, the current
    action is a C{contextvars} variable already.
    """
    _warn("use_asyncio_context", "nothing (the context follows coroutines already)")


class EliotHandler(CausalHandler):
    """
    Eliot's name for L{txcausal.stdlib.CausalHandler}.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _warn("EliotHandler", "txcausal.stdlib.CausalHandler")
        super().__init__(*args, **kwargs)


class EliotFilter(CausalFilter):
    """
    Eliot's name for L{txcausal.filter.CausalFilter}.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _warn("EliotFilter", "txcausal.filter.CausalFilter")
        super().__init__(*args, **kwargs)


class EliotJSONEncoder(_json.JSONEncoder):
    """
    Eliot's deprecated encoder class: its C{default} is
    L{txcausal.json.json_default}.  Subclasses are still accepted as
    C{encoder=}; write a function for C{json_default=} instead.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn("EliotJSONEncoder is deprecated: pass a function calling "
                      "txcausal.json.json_default as json_default=", DeprecationWarning,
                      stacklevel=2)
        super().__init__(*args, **kwargs)

    def default(self, o: Any) -> Any:
        return json_default(o)


class _OldName:
    """
    A deprecated method name on a class: reading it warns, then gives the
    attribute of the new name (bound as that one is).
    """

    def __init__(self, old: str, new: str) -> None:
        self._old = old
        self._new = new

    def __get__(self, instance: Any, owner: type) -> Any:
        _warn(f"{owner.__name__}.{self._old}", f"{owner.__name__}.{self._new}")
        return getattr(owner if instance is None else instance, self._new)


#: The classes' Eliot method (and attribute) names, and the names they have now.
METHOD_NAMES: Tuple[Tuple[type, str, str], ...] = (
    (Action, "addSuccessFields", "add_success_fields"),
    (Action, "serializeTaskId", "serialize_task_id"),
    (Action, "continueTask", "continue_task"),
    (TaskLevel, "fromString", "from_string"),
    (TaskLevel, "toString", "to_string"),
    (Field, "forTypes", "for_types"),
    (Field, "forValue", "for_value"),
    (ActionType, "asTask", "as_task"),
    (MemoryLogger, "flushTracebacks", "flush_tracebacks"),
    (LoggedAction, "ofType", "of_type"),
    (LoggedAction, "fromMessages", "from_messages"),
    (LoggedAction, "startMessage", "start_message"),
    (LoggedAction, "endMessage", "end_message"),
    (LoggedMessage, "ofType", "of_type"),
)


def _install(names: Iterable[Tuple[type, str, str]]) -> None:
    for cls, old, new in names:
        setattr(cls, old, _OldName(old, new))


_install(METHOD_NAMES)

#: Eliot's public modules, attributes of this module as of C{eliot}: each is
#: txcausal's module of the same name.
SUBMODULES = frozenset(["dask", "filter", "journald", "json", "logwriter", "parse", "prettyprint",
                        "serializers", "stdlib", "tai64n", "testing", "twisted"])


def __getattr__(name: str) -> ModuleType:
    """
    Eliot's modules, as attributes: txcausal's of the same name, imported
    when first asked for.
    """
    if name in SUBMODULES:
        return importlib.import_module(f"txcausal.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    # Eliot's top level, as txcausal has it
    "Message", "Action", "preserve_context", "Field", "fields", "MessageType", "ActionType",
    "ILogger", "Logger", "MemoryLogger", "FileDestination", "register_exception_extractor",
    "current_action", "ValidationError", "write_traceback", "start_action", "start_task",
    "add_destinations", "remove_destination", "add_global_fields", "to_file", "log_call",
    "log_message", "__version__",
    # Eliot's old spellings, warning
    "startAction", "startTask", "writeTraceback", "writeFailure", "write_failure",
    "addDestination", "add_destination", "removeDestination", "addGlobalFields",
    "use_asyncio_context",
    # Eliot's names for txcausal's classes and helpers, warning
    "EliotHandler", "EliotFilter", "EliotJSONEncoder", "validateLogging", "issuperset",
]
