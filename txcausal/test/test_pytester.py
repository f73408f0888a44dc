"""
The pytest fixture, checked with pytest's own C{pytester}: a capture-based
test whose checks fail is reported failed by pytest.

These are pytest-style tests (trial does not collect them; the trial-style
checks of the same behaviour are in L{txcausal.test.test_pytest_plugin}).
They need the C{pytester} plugin: the README's test command enables it with
C{-p pytester}; without it they are skipped.
"""

from __future__ import annotations

from typing import Any

import pytest

INNER = '''
import threading
from txcausal import MessageType, fields, log_message, write_traceback

def boom():
    try:
        raise ValueError("kaboom")
    except ValueError:
        write_traceback()

def test_clean(causal_logger):
    log_message("inner:ok", n=1)
    assert causal_logger.messages[0]["n"] == 1

def test_unflushedTraceback(causal_logger):
    boom()

def test_tracebackFromThread(causal_logger):
    thread = threading.Thread(target=boom)
    thread.start()
    thread.join()

def test_invalidMessage(causal_logger):
    MessageType("inner:typed", fields(n=int)).log(n="one")

def test_flushedTraceback(causal_logger):
    boom()
    assert len(causal_logger.flush_tracebacks(ValueError)) == 1
'''


@pytest.fixture
def inner(request: Any) -> Any:
    """
    pytest's C{pytester}, or a skip when the plugin is not enabled.
    """
    try:
        return request.getfixturevalue("pytester")
    except pytest.FixtureLookupError:
        pytest.skip("run pytest with -p pytester")


def test_failingChecksFailTests(inner: Any) -> None:
    """
    An unflushed traceback (also from another thread) or an invalid message
    fails the test using C{causal_logger}; clean and flushed tests pass.
    """
    inner.makepyfile(test_inner=INNER)
    result = inner.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=3)
    failed = sorted(line.split("::")[1].split(" ")[0] for line in result.outlines
                    if line.startswith("FAILED"))
    assert failed == ["test_invalidMessage", "test_tracebackFromThread",
                      "test_unflushedTraceback"], result.outlines
    result.stdout.fnmatch_lines(["*ValueError*kaboom*"])
