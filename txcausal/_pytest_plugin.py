# -*- test-case-name: txcausal.test.test_pytest_plugin -*-
"""
The C{txcausal} pytest plugin, registered through the C{pytest11} entry
point: the C{causal_logger} fixture captures what a test logs, and the test
fails if a traceback was logged and not flushed or a message is invalid.

The checks run right after the test function, as part of the test (pytest
reports a failure, not a teardown error); a traceback logged later, by the
teardown of a fixture that depends on C{causal_logger}, and not flushed
there, fails that teardown (an error at teardown, with the same report).
Tests decorated with C{pytest_twisted.inlineCallbacks} or C{pytest_twisted.ensureDeferred} are
checked once their L{twisted.internet.defer.Deferred} has fired.  When a test using the fixture
fails, its report has a C{txcausal} section with the captured messages as a
tree.

This module imports only pytest at import time, so it costs nothing to runs
that do not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, FrozenSet, Generator, Iterator

import pytest

if TYPE_CHECKING:
    from ._memory import MemoryLogger

_LOGGER_KEY = pytest.StashKey["MemoryLogger"]()
#: The identities of the tracebacks the test's check saw.
_SEEN_KEY = pytest.StashKey[FrozenSet[int]]()


@pytest.fixture
def causal_logger(request: pytest.FixtureRequest) -> Iterator["MemoryLogger"]:
    """
    A L{txcausal.MemoryLogger} that replaces the default logger for the
    test, so it captures everything logged without an explicit logger, from
    any thread.  Take out expected tracebacks with
    C{causal_logger.flush_tracebacks(ExceptionType)}.
    """
    from . import _output
    from ._memory import MemoryLogger

    logger = MemoryLogger()
    previous = _output.swap_logger(logger)
    request.node.stash[_LOGGER_KEY] = logger
    try:
        yield logger
    finally:
        if _output._DEFAULT_LOGGER is logger:
            _output.swap_logger(previous)
    _check_teardown(request.node, logger)


def _check_teardown(item: pytest.Item, logger: "MemoryLogger") -> None:
    """
    Fail the teardown if a fixture that depends on C{causal_logger} logged
    a traceback as it tore down and did not flush it: those the test's own
    check saw (see L{pytest_runtest_call}) are left out.  A test whose call
    never ran (skipped, or its setup failed) is not checked: its setup's
    report stands alone.
    """
    seen = item.stash.get(_SEEN_KEY, None)
    if seen is None:
        return
    late = [m for m in logger.tracebackMessages if id(m) not in seen]
    if not late:
        return
    from ._capture import UnflushedTracebacks, _as_assertion
    from ._failure_tree import logged_tree

    message = f"{_as_assertion(UnflushedTracebacks(late))}\n\n{logged_tree(logger)}"
    pytest.fail(message, pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    """
    After a test that used C{causal_logger}: check what it logged, or add
    the captured tree to its report if it failed.
    """
    outcome = yield
    logger = item.stash.get(_LOGGER_KEY, None)
    if logger is None:
        return
    from ._capture import _as_assertion, check_for_errors
    from ._failure_tree import logged_tree

    item.stash[_SEEN_KEY] = frozenset(map(id, logger.tracebackMessages))
    if outcome.excinfo is not None:
        item.add_report_section("call", "txcausal", logged_tree(logger))
        return
    try:
        check_for_errors(logger)
    except Exception as e:
        # Reported like pytest.fail(pytrace=False): the message says it all,
        # txcausal's frames would not.
        message = f"{_as_assertion(e)}\n\n{logged_tree(logger)}"
        outcome.force_exception(pytest.fail.Exception(message, pytrace=False))
