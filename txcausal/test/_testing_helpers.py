"""
Helpers shared by the tests of L{txcausal.testing}: run a decorated test
method as the only test of an inner test case, and log a traceback.
"""

from __future__ import annotations

from typing import Any, Callable, Tuple

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
    @return: The message of the one failure of C{result}.
    """
    [(_, failure)] = result.failures
    return str(failure.value)  # type: ignore[attr-defined]
