# -*- test-case-name: txcausal.test.test_capture -*-
"""
Capturing and checking what a test logs: L{capture_logging},
L{validate_logging} and L{check_for_errors}; a failure report shows the
captured messages as a tree (L{txcausal._failure_tree}).

A decorated test may be synchronous, return a L{Deferred} (trial), or be an
C{async def} method (trial runs those with C{ensureDeferred}; the standard
library's C{IsolatedAsyncioTestCase} awaits them): on a test case the
checks are cleanups of the test, as in Eliot, run after its own cleanups.
"""

from __future__ import annotations

import inspect
import sys
from functools import wraps
from typing import Any, Callable, Dict, List, Optional, Tuple
from unittest import SkipTest

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from . import _output
from ._failure_tree import logged_tree
from ._json import safe_str
from ._jsondefault import as_json_default
from ._memory import MemoryLogger
from ._wire import TRACEBACK_FIELD, exception_name

Assertion = Optional[Callable[..., Any]]
#: What the decorators return: the test method takes C{logger}, the
#: decorated one does not.
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


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
    if logger.tracebackMessages:
        raise UnflushedTracebacks(list(logger.tracebackMessages))
    logger.validate()


class ErrorWithLog(Exception):
    """
    A trial test raised an exception other than an assertion failure: this
    reports it with the captured messages, since trial does not print
    exception notes.  Its message starts with the original exception's
    qualified type name and message, followed by the tree; the original is
    its C{__cause__} and its C{error}, and its traceback is the original's.

    @ivar error: The exception the test raised.
    """

    def __init__(self, message: str, error: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.error = error


# Shown by test runners under its public home.
ErrorWithLog.__module__ = "txcausal.testing"


def _wraps(testcase: Any, error: BaseException) -> bool:
    """
    Whether C{error} is reported as an L{ErrorWithLog}: in a trial test case
    that trial's C{todo} does not expect to fail (trial prints no exception
    notes), and elsewhere on Python 3.10 (no exception notes).
    """
    trial = sys.modules.get("twisted.trial.unittest")
    if trial is None or not isinstance(testcase, trial.SynchronousTestCase):
        return not hasattr(error, "add_note")
    try:
        return testcase.getTodo() is None
    except Exception:
        return True


def _with_tree(testcase: Any, error: BaseException, logger: MemoryLogger) -> BaseException:
    """
    Add the captured tree to a test's failure.

    An assertion failure becomes the test case's C{failureException} with the
    tree in its message (every runner prints that).  Another exception gets
    the tree as a note (shown by pytest and unittest); in a trial test case
    it is reported as an L{ErrorWithLog} instead.
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
    if _wraps(testcase, error):
        wrapper = ErrorWithLog(f"{exception_name(error)}: {safe_str(error)}\n\n{tree}", error)
        wrapper.__cause__ = error
        return wrapper.with_traceback(error.__traceback__)
    if hasattr(error, "add_note"):
        error.add_note(tree)
    return error


class _Checks:
    """
    What one decorated test run does around the test method: report the
    test's own failure with the captured tree, then run the assertion and
    L{check_for_errors}.

    On a test case with C{addCleanup} (trial, C{unittest}), as Eliot does,
    those checks and the restoring of the default logger are cleanups of the
    test, registered before the method runs: they run after the test's own
    cleanups (which may flush tracebacks or log), also when the test fails.
    Without C{addCleanup}, they run, and the logger is restored, when the
    test's work is done.
    """

    def __init__(self, testcase: Any, logger: MemoryLogger, assertion: Assertion,
                 args: Tuple[Any, ...], kwargs: Dict[str, Any], capture: bool) -> None:
        self._testcase = testcase
        self._logger = logger
        self._assertion = assertion
        self._args = args
        self._kwargs = kwargs
        self._skipped = False
        self._restore: Callable[[], None] = lambda: None
        add_cleanup = getattr(testcase, "addCleanup", None)
        self._later = add_cleanup is not None
        if add_cleanup is not None:
            add_cleanup(self._check_errors)
            add_cleanup(self._assert)
        if capture:
            restore = _swap(logger)
            if add_cleanup is not None:
                add_cleanup(restore)
            else:
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
        if reported is error:
            return failure
        # The frames of the test's failure, which Deferreds may have cleaned
        # of its traceback.
        replacement = Failure(reported)  # type: ignore[no-untyped-call]
        replacement.frames = failure.frames
        return replacement

    def _failed(self, error: Exception) -> BaseException:
        self._restore()
        if isinstance(error, SkipTest):
            self._skipped = True
            return error
        return _with_tree(self._testcase, error, self._logger)

    def _succeeded(self, result: Any) -> Any:
        __tracebackhide__ = True
        if not self._later:
            self._restore()
            self._assert()
            self._check_errors()
        return result

    def _assert(self) -> None:
        """
        Run the assertion, unless the test was skipped.
        """
        __tracebackhide__ = True
        if self._assertion is not None and not self._skipped:
            self._reporting(self._assertion, lambda e: e, self._testcase, self._logger,
                            *self._args, **self._kwargs)

    def _check_errors(self) -> None:
        """
        Run L{check_for_errors}, unless the test was skipped.
        """
        __tracebackhide__ = True
        if not self._skipped:
            self._reporting(check_for_errors, _as_assertion, self._logger)

    def _reporting(self, check: Callable[..., Any], label: Callable[[Exception], Exception],
                   *args: Any, **kwargs: Any) -> None:
        """
        Run C{check}; its failure, as C{label} gives it, fails the test
        with the tree.
        """
        __tracebackhide__ = True
        try:
            check(*args, **kwargs)
        except SkipTest:
            raise
        except Exception as e:
            failure = _with_tree(self._testcase, label(e), self._logger)
        else:
            return
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
        _check_takes_test_case(method, "capture_logging" if capture else "validate_logging")

        def start(self: Any, a: Tuple[Any, ...], kw: Dict[str, Any]) -> Any:
            __tracebackhide__ = True
            logger = MemoryLogger(json_default=as_json_default(encoder))
            kw["logger"] = logger
            checks = _Checks(self, logger, assertion, args, kwargs, capture)
            return checks.run(method, self, *a, **kw)

        if inspect.iscoroutinefunction(method):
            # Runners tell async tests apart by their function.
            @wraps(method)
            async def async_wrapper(self: Any, *a: Any, **kw: Any) -> Any:
                __tracebackhide__ = True
                return await start(self, a, kw)

            return _without_logger(async_wrapper, method)

        @wraps(method)
        def wrapper(self: Any, *a: Any, **kw: Any) -> Any:
            __tracebackhide__ = True
            return start(self, a, kw)

        return _without_logger(wrapper, method)

    return decorator


def _without_logger(wrapper: Callable[..., Any], method: Callable[..., Any]) -> Callable[..., Any]:
    """
    Give C{wrapper} the signature of C{method} without its C{logger}
    parameter, which the wrapper supplies: pytest passes fixtures by the
    names in a test's signature, so it would look for a C{logger} fixture
    on a method of a plain test class.
    """
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return wrapper
    parameters = [p for name, p in signature.parameters.items() if name != "logger"]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return wrapper


def _check_takes_test_case(method: Callable[..., Any], decorator: str) -> None:
    """
    Refuse a C{method} whose first parameter cannot be the test case.

    @raise TypeError: If its first parameter is C{logger} or keyword-only,
        or it has none, as a module-level pytest function taking C{logger}.
    """
    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return
    first = parameters[0] if parameters else None
    if first is None or first.name == "logger" or first.kind in (first.KEYWORD_ONLY,
                                                                 first.VAR_KEYWORD):
        name = getattr(method, "__qualname__", repr(method))
        raise TypeError(
            f"{decorator} decorates a test method, whose first parameter is the test case"
            f" (self), and passes logger after it; {name} has no such parameter: on a"
            f" pytest function, take the causal_logger fixture instead")


def _swap(logger: MemoryLogger) -> Callable[[], None]:
    """
    Make C{logger} the default logger.

    @return: A function that puts the previous one back, if C{logger} is
        still the default.
    """
    previous = _output.swap_logger(logger)

    def restore() -> None:
        if _output._DEFAULT_LOGGER is logger:
            _output.swap_logger(previous)

    return restore


def validate_logging(assertion: Assertion, *assertion_args: Any, encoder_: Any = None,
                     **assertion_kwargs: Any) -> Decorator:
    """
    Decorate a test method so that it gets a fresh L{MemoryLogger} as its
    C{logger} keyword argument; when the test's work is done and its own
    cleanups have run (these checks are cleanups of the test, as in Eliot),
    C{assertion(testcase, logger, *assertion_args, **assertion_kwargs)} runs,
    also if the test failed, but not if it skipped; then L{check_for_errors}.
    A failure shows the captured messages as a tree.  The default logger is
    left alone: pass C{logger} to the code under test.

    @param assertion: A callable, or C{None} for the checks alone.
    @param encoder_: What to validate messages with: a function, as
        C{json_default=} takes it (see L{txcausal.to_file}), or, as Eliot's
        decorators take it, a L{json.JSONEncoder} subclass.
    """
    return _decorate(assertion, assertion_args, assertion_kwargs, encoder_, capture=False)


def capture_logging(assertion: Assertion, *assertion_args: Any, encoder_: Any = None,
                    **assertion_kwargs: Any) -> Decorator:
    """
    Like L{validate_logging}, but the L{MemoryLogger} also replaces the
    default logger for the test, so it captures everything logged without
    an explicit logger, from any thread.  The default logger is restored
    by a cleanup of the test, after the test's own cleanups and before the
    assertion, also when the test fails.
    """
    return _decorate(assertion, assertion_args, assertion_kwargs, encoder_, capture=True)
