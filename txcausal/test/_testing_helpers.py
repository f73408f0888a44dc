"""
Helpers shared by the tests of L{txcausal.testing}: run a decorated test
method as the only test of an inner test case, and log a traceback.
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from txcausal import write_traceback


def boom(logger: Any = None) -> None:
    """
    Log a traceback of a L{ValueError}.
    """
    try:
        raise ValueError("kaboom")
    except ValueError:
        write_traceback(logger)


def run_inner(method: Callable[..., Any], base: type = SynchronousTestCase,
              **attributes: Any) -> Tuple[Any, Any]:
    """
    Run C{method} as the only test of an inner test case.

    @param attributes: More attributes of the inner test case class.
    @return: The test case and the trial L{TestResult}.
    """
    inner = type("Inner", (base,), {"test_it": method, **attributes})
    case = inner("test_it")
    result = TestResult()
    case.run(result)
    return case, result


def failure_text(result: TestResult) -> str:
    """
    @return: The message of the one failure of C{result}, or of its one
        error (trial reports a failure in a cleanup as an error).
    """
    [(_, failure)] = result.failures + result.errors
    return str(failure.value)  # type: ignore[union-attr]


class CleanupCase(SynchronousTestCase):
    """
    A trial test case, not run, whose cleanups a test runs by hand.

    @ivar cleanups: The cleanups added, in order.
    """

    # Not a test of its own for pytest, which collects imported test cases.
    __test__ = False

    def __init__(self) -> None:
        super().__init__("run_cleanups")
        self.cleanups: List[Tuple[Callable[..., Any], Tuple[Any, ...], Any]] = []

    def addCleanup(  # type: ignore[override]
        self, f: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        self.cleanups.append((f, args, kwargs))

    def run_cleanups(self) -> List[Exception]:
        """
        Run the cleanups, last added first, as trial does.

        @return: What they raised.
        """
        errors: List[Exception] = []
        while self.cleanups:
            f, args, kwargs = self.cleanups.pop()
            try:
                f(*args, **kwargs)
            except Exception as e:
                errors.append(e)
        return errors


class NoCleanups:
    """
    A test class without C{addCleanup}, as a pytest test class is.
    """

    failureException = AssertionError

    def assertEqual(self, first: Any, second: Any) -> None:
        if first != second:
            raise AssertionError(f"{first!r} != {second!r}")
