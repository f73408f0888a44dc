# -*- test-case-name: txcausal.test.test_testing -*-
"""
Capturing and checking what a test logs: L{capture_logging},
L{validate_logging}, L{check_for_errors}, and L{render_messages}, which
draws captured messages as a tree for failure reports.

A decorated test may be synchronous, return a L{Deferred} (trial), or be an
C{async def} method (trial runs those with C{ensureDeferred}; the standard
library's C{IsolatedAsyncioTestCase} awaits them): the checks run when the
test's own work is done, and their failure is the test's failure.
"""

from __future__ import annotations

import inspect
from functools import wraps
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from unittest import SkipTest

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from . import _output
from ._json import safe_repr
from ._memory import MemoryLogger
from ._wire import (
    ACTION_STATUS_FIELD,
    ACTION_TYPE_FIELD,
    MESSAGE_TYPE_FIELD,
    TASK_LEVEL_FIELD,
    TASK_UUID_FIELD,
    TIMESTAMP_FIELD,
    TRACEBACK_FIELD,
)

Assertion = Optional[Callable[..., Any]]
#: What the decorators return: the test method takes C{logger}, the
#: decorated one does not.
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

#: Limits that keep a failure report readable.
MAX_TREE_LINES = 200
MAX_VALUE_LENGTH = 160

_HIDDEN = frozenset([TASK_UUID_FIELD, TASK_LEVEL_FIELD, TIMESTAMP_FIELD, MESSAGE_TYPE_FIELD,
                     ACTION_TYPE_FIELD, ACTION_STATUS_FIELD, TRACEBACK_FIELD])


class UnflushedTracebacks(AssertionError):
    """
    Tracebacks were logged that the test did not expect: a bug, or a
    traceback the test should take out with
    L{MemoryLogger.flush_tracebacks}.

    @ivar tracebacks: The C{eliot:traceback} messages.
    """

    def __init__(self, tracebacks: List[Dict[str, Any]]) -> None:
        self.tracebacks = tracebacks
        texts = "\n".join(str(m.get(TRACEBACK_FIELD, "")).rstrip() for m in tracebacks)
        super().__init__(
            f"{len(tracebacks)} unexpected traceback(s) logged (if expected, take them out "
            f"with logger.flush_tracebacks(ExceptionType)):\n{texts}"
        )


def check_for_errors(logger: MemoryLogger) -> None:
    """
    Check what a test logged: no traceback left unflushed, every message
    valid.

    @raise UnflushedTracebacks: If tracebacks were not flushed.
    @raise txcausal.ValidationError: If a typed message does not match its
        type.
    @raise TypeError: If a message cannot be encoded as JSON.
    """
    __tracebackhide__ = True
    if logger.tracebacks:
        raise UnflushedTracebacks(list(logger.tracebacks))
    logger.validate()


def _display(message: Dict[str, Any], serializer: Optional[Any]) -> Dict[str, Any]:
    """
    @return: C{message} as destinations would see it, or as logged if its
        serializer fails.
    """
    if serializer is None:
        return message
    try:
        shown = dict(message)
        serializer.serialize(shown)
        return shown
    except Exception:
        return message


def _render_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return safe_repr(value, MAX_VALUE_LENGTH)


def _render_line(message: Dict[str, Any]) -> str:
    level = list(message.get(TASK_LEVEL_FIELD) or [1])
    status = message.get(ACTION_STATUS_FIELD)
    if ACTION_TYPE_FIELD in message and status is not None:
        depth, title = len(level) - 1, f"{message[ACTION_TYPE_FIELD]} => {status}"
    else:
        depth = len(level) - 1 if level[-1] == 1 else len(level)
        title = str(message.get(MESSAGE_TYPE_FIELD, "<no message_type>"))
    position = "".join(f"/{n}" for n in level)
    fields = " ".join(f"{key}={_render_value(value)}" for key, value in message.items()
                      if key not in _HIDDEN)
    return f"  {'    ' * depth}{position} {title}  {fields}".rstrip()


def _level_key(message: Dict[str, Any]) -> Tuple[int, ...]:
    try:
        return tuple(int(n) for n in message.get(TASK_LEVEL_FIELD) or ())
    except (TypeError, ValueError):
        return ()


def render_messages(messages: Iterable[Dict[str, Any]]) -> str:
    """
    Draw messages as trees, one per task, in the order tasks started; each
    line gives the level, the type and the fields of one message, indented
    by its depth in the task.

    @param messages: Message dictionaries.
    @return: The drawing, at most L{MAX_TREE_LINES} lines.
    """
    tasks: Dict[str, List[Dict[str, Any]]] = {}
    for message in messages:
        tasks.setdefault(str(message.get(TASK_UUID_FIELD)), []).append(message)
    lines: List[str] = []
    for uuid, task in tasks.items():
        lines.append(f"task {uuid}")
        lines.extend(_render_line(m) for m in sorted(task, key=_level_key))
    if len(lines) > MAX_TREE_LINES:
        hidden = len(lines) - MAX_TREE_LINES
        lines = lines[:MAX_TREE_LINES] + [f"... and {hidden} more lines"]
    return "\n".join(lines)


def logged_tree(logger: MemoryLogger) -> str:
    """
    @return: What C{logger} captured, drawn by L{render_messages} under a
        heading.
    """
    shown = [_display(message, serializer) for message, serializer in logger._pairs()]
    if not shown:
        return "Captured log messages: none"
    return f"Captured log messages ({len(shown)}):\n{render_messages(shown)}"


def _with_tree(testcase: Any, error: BaseException, logger: MemoryLogger) -> BaseException:
    """
    Add the captured tree to a test's failure.

    An assertion failure becomes the test case's C{failureException} with the
    tree in its message (every runner prints that); any other exception
    gets the tree as a note (shown by pytest and unittest, not by trial).
    """
    tree = logged_tree(logger)
    if isinstance(error, AssertionError):
        failure_class = getattr(testcase, "failureException", AssertionError)
        try:
            replacement = failure_class(f"{error}\n\n{tree}")
        except Exception:
            replacement = AssertionError(f"{error}\n\n{tree}")
        replacement.__suppress_context__ = True
        return replacement.with_traceback(error.__traceback__)
    if hasattr(error, "add_note"):
        error.add_note(tree)
    return error


class _Checks:
    """
    What one decorated test run does around the test method: restore the
    default logger when the test's work is done, then run the assertion and
    L{check_for_errors}, reporting failures with the captured tree.
    """

    def __init__(self, testcase: Any, logger: MemoryLogger, assertion: Assertion,
                 args: Tuple[Any, ...], kwargs: Dict[str, Any],
                 restore: Callable[[], None]) -> None:
        self._testcase = testcase
        self._logger = logger
        self._assertion = assertion
        self._args = args
        self._kwargs = kwargs
        self._restore = restore

    def run(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """
        Run the test method and, when it is done, the checks.
        """
        __tracebackhide__ = True
        try:
            result = method(*args, **kwargs)
        except Exception as e:
            failure = self._failed(e)
        except BaseException:
            self._restore()
            raise
        else:
            return self._then(result)
        # Raised outside the except clause, so that the test's own exception
        # keeps its cause and context.
        raise failure

    def _then(self, result: Any) -> Any:
        """
        Check now, or when the test's L{Deferred} or coroutine is done.
        """
        __tracebackhide__ = True
        if inspect.iscoroutine(result):
            return self._await(result)
        if isinstance(result, Deferred):
            return result.addCallbacks(self._succeeded, self._errored)
        return self._succeeded(result)

    async def _await(self, coroutine: Any) -> Any:
        __tracebackhide__ = True
        try:
            result = await coroutine
        except Exception as e:
            failure = self._failed(e)
        except BaseException:
            self._restore()
            raise
        else:
            return self._succeeded(result)
        raise failure

    def _errored(self, failure: Failure) -> Failure:
        error = failure.value
        if not isinstance(error, Exception):
            self._restore()
            return failure
        reported = self._failed(error)
        return failure if reported is error else Failure(reported)  # type: ignore[no-untyped-call]

    def _failed(self, error: Exception) -> BaseException:
        self._restore()
        if isinstance(error, SkipTest):
            return error
        return _with_tree(self._testcase, error, self._logger)

    def _succeeded(self, result: Any) -> Any:
        __tracebackhide__ = True
        self._restore()
        try:
            if self._assertion is not None:
                self._assertion(self._testcase, self._logger, *self._args, **self._kwargs)
            check_for_errors(self._logger)
        except SkipTest:
            raise
        except Exception as e:
            failure = _with_tree(self._testcase, _as_assertion(e), self._logger)
        else:
            return result
        raise failure


def _as_assertion(error: Exception) -> Exception:
    """
    Turn a validation error into an assertion failure naming it.
    """
    if isinstance(error, AssertionError):
        return error
    failure = AssertionError(f"Logged messages are invalid: {type(error).__name__}: {error}")
    return failure.with_traceback(error.__traceback__)


def _decorate(assertion: Assertion, args: Tuple[Any, ...], kwargs: Dict[str, Any],
              encoder: Any, capture: bool) -> Decorator:
    if assertion is not None and not callable(assertion):
        raise TypeError(f"The assertion must be callable or None, not {assertion!r}")

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        def start(self: Any, a: Tuple[Any, ...], kw: Dict[str, Any]) -> Any:
            __tracebackhide__ = True
            logger = MemoryLogger(encoder=encoder)
            restore = _swap(self, logger) if capture else (lambda: None)
            kw["logger"] = logger
            checks = _Checks(self, logger, assertion, args, kwargs, restore)
            return checks.run(method, self, *a, **kw)

        if inspect.iscoroutinefunction(method):
            # Runners tell async tests apart by their function.
            @wraps(method)
            async def async_wrapper(self: Any, *a: Any, **kw: Any) -> Any:
                __tracebackhide__ = True
                return await start(self, a, kw)

            return async_wrapper

        @wraps(method)
        def wrapper(self: Any, *a: Any, **kw: Any) -> Any:
            __tracebackhide__ = True
            return start(self, a, kw)

        return wrapper

    return decorator


def _swap(testcase: Any, logger: MemoryLogger) -> Callable[[], None]:
    """
    Make C{logger} the default logger.

    @return: A function that puts the previous one back, if C{logger} is
        still the default; it is also a cleanup of C{testcase}, in case the
        test never finishes its work.
    """
    previous = _output.swap_logger(logger)

    def restore() -> None:
        if _output._DEFAULT_LOGGER is logger:
            _output.swap_logger(previous)

    add_cleanup = getattr(testcase, "addCleanup", None)
    if add_cleanup is not None:
        add_cleanup(restore)
    return restore


def validate_logging(assertion: Assertion, *assertion_args: Any, encoder_: Any = None,
                     **assertion_kwargs: Any) -> Decorator:
    """
    Decorate a test method so that it gets a fresh L{MemoryLogger} as its
    C{logger} keyword argument; when the test's work is done,
    C{assertion(testcase, logger, *assertion_args, **assertion_kwargs)} runs,
    then L{check_for_errors}.  A failure shows the captured messages as a
    tree.  The default logger is left alone: pass C{logger} to the code
    under test.

    @param assertion: A callable, or C{None} for the checks alone.
    @param encoder_: The encoder hook to validate messages with, as given to
        L{txcausal.to_file}.
    """
    return _decorate(assertion, assertion_args, assertion_kwargs, encoder_, capture=False)


def capture_logging(assertion: Assertion, *assertion_args: Any, encoder_: Any = None,
                    **assertion_kwargs: Any) -> Decorator:
    """
    Like L{validate_logging}, but the L{MemoryLogger} also replaces the
    default logger for the test, so it captures everything logged without
    an explicit logger, from any thread.  The default logger is restored
    when the test's work is done (a returned L{Deferred} has fired, an
    C{async def} test has returned), also when it fails.
    """
    return _decorate(assertion, assertion_args, assertion_kwargs, encoder_, capture=True)
