# -*- test-case-name: txcausal.test.test_errors -*-
"""
Exceptions in logs: the fields a failed action or traceback gets from an
exception, extractors that add more, and L{write_traceback}.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple, Type, cast

from . import _output
from ._context import _get_action
from ._json import safe_repr, safe_str
from ._message import _stamp_and_write
from ._safe import reason_text, traceback_text
from ._types import Field, MessageType
from ._wire import (
    CANCELLED_FIELD,
    EXCEPTION_FIELD,
    MESSAGE_TYPE_FIELD,
    REASON_FIELD,
    TRACEBACK_FIELD,
    TRACEBACK_MESSAGE_TYPE,
    dropped_message,
    exception_name,
)

if TYPE_CHECKING:
    from ._interfaces import ILogger

ExcInfo = Tuple[Optional[Type[BaseException]], Optional[BaseException], Optional[TracebackType]]

_EXTRACTORS: Dict[type, Callable[[Any], Dict[str, Any]]] = {}
_EXTRACTORS_LOCK = threading.Lock()


def register_exception_extractor(
    exception_class: Type[BaseException], extractor: Callable[[Any], Dict[str, Any]]
) -> None:
    """
    Add the fields C{extractor(exception)} returns to failed actions and
    tracebacks whose exception is an instance of C{exception_class} (the most
    specific registered class wins).
    """
    with _EXTRACTORS_LOCK:
        _EXTRACTORS[exception_class] = extractor


def extract_fields(exception: BaseException) -> Dict[str, Any]:
    """
    @return: The fields registered extractors give for C{exception}; an
        extractor that raises adds an C{extractor_failure} field instead.
    """
    mro = type(exception).__mro__
    for cls in mro:
        extractor = _EXTRACTORS.get(cls)
        if extractor is not None:
            break
    else:
        for cls in mro:
            extractor = _BUILTIN_BY_NAME.get(f"{cls.__module__}.{cls.__qualname__}")
            if extractor is not None:
                break
        else:
            return {}
    try:
        return dict(extractor(exception))
    except Exception as e:
        return {"extractor_failure": f"{exception_name(e)}: {safe_str(e)}"}


register_exception_extractor(OSError, lambda e: {} if e.errno is None else {"errno": e.errno})

#: Built-in extractors for classes named rather than imported, so that the
#: core does not import Twisted's Deferred machinery.  A Deferred cancelled
#: with C{.cancel()} fails with C{CancelledError}: an action finished by that
#: failure gets C{"cancelled": true}, its status staying one of Eliot's three.
_BUILTIN_BY_NAME: Dict[str, Callable[[Any], Dict[str, Any]]] = {
    "twisted.internet.defer.CancelledError": lambda e: {CANCELLED_FIELD: True},
}


def _exception_class_name(value: Any) -> str:
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return str(value)


def _reason_text(value: Any) -> str:
    return reason_text(value) if isinstance(value, BaseException) else str(value)


#: Tracebacks keep the exception object in C{reason} until written, so that
#: tests can pick them out by class (see L{MemoryLogger.flush_tracebacks}).
TRACEBACK_MESSAGE = MessageType(
    TRACEBACK_MESSAGE_TYPE,
    [
        Field(REASON_FIELD, _reason_text, "The exception, as text."),
        Field(EXCEPTION_FIELD, _exception_class_name, "The exception's qualified class name."),
        Field.for_types(TRACEBACK_FIELD, [str], "The formatted traceback."),
    ],
    "An unexpected exception was logged.",
)
TRACEBACK_MESSAGE._serializer.allow_additional_fields = True


def write_traceback(logger: Optional["ILogger"] = None, exc_info: Optional[ExcInfo] = None) -> None:
    """
    Log the exception being handled (or C{exc_info}) as an
    C{eliot:traceback} message inside the current action.

    @param exc_info: A C{sys.exc_info()} tuple; default: the current one.
        (Given in C{logger}'s place, as in C{write_traceback(sys.exc_info())},
        it is taken as C{exc_info} rather than raising inside the caller's
        exception handler.)
    """
    if isinstance(logger, tuple):
        logger, exc_info = None, logger
    if exc_info is None:
        exc_info = sys.exc_info()
    typ, exception, tb = exc_info
    if exception is None:
        return
    write_traceback_message(logger, exception, traceback_text(typ, exception, tb))


def failure_traceback(failure: Any) -> str:
    """
    The C{traceback} field for a Twisted C{Failure}, formatted without
    reading or checking any source file (the caller is usually the reactor
    thread): as L{write_traceback} writes it while the failure still has
    its traceback, else (a cleaned failure) its brief traceback, as
    C{writeFailure} writes it.

    @param failure: A L{twisted.python.failure.Failure}.
    """
    tb = getattr(failure, "tb", None)
    if tb is None:
        return cast(str, failure.getBriefTraceback())
    return traceback_text(failure.type, failure.value, tb)


def write_traceback_message(
    logger: Optional["ILogger"], exception: BaseException, text: str, **extra: Any
) -> None:
    """
    Log an C{eliot:traceback} message for C{exception} with the already
    formatted traceback C{text}.
    """
    fields = extract_fields(exception)
    fields.update(extra)
    fields[MESSAGE_TYPE_FIELD] = TRACEBACK_MESSAGE_TYPE
    fields[REASON_FIELD] = exception
    fields[EXCEPTION_FIELD] = type(exception)
    fields[TRACEBACK_FIELD] = text
    _stamp_and_write(fields, _get_action(), logger, TRACEBACK_MESSAGE._serializer)


def report_unbridged(what: str, error: Exception, **source: object) -> None:
    """
    Log a report that one C{what} from another logging system (the
    C{source} keyword names it and gives it, e.g. C{record=record}) could
    not be turned into a message, because of C{error}: a
    C{txcausal:messages_dropped} message counting it, with its C{repr}.
    Never raises.
    """
    try:
        fields = {key: safe_repr(value, 1000) for key, value in source.items()}
        report = dropped_message(1, f"{what} could not be bridged",
                                 exception=exception_name(error), **fields)
        _output._DEFAULT_LOGGER.write(report, None)
    except Exception:
        pass
