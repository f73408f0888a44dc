"""
Unit testing what code logs, with pytest: the causal_logger fixture (from
the txcausal plugin) captures each test's messages, also in pytest-twisted
tests.  Run it with:

    cd examples && pytest testing_pytest_example.py
"""

import pytest_twisted
from twisted.internet.task import deferLater

from txcausal import start_action, write_traceback
from txcausal.testing import LoggedAction, assertHasAction


def parse_port(text):
    with start_action(action_type="config:port", text=text) as action:
        port = int(text)
        action.add_success_fields(port=port)
        return port


def load(lines):
    """Parse the good lines; log the bad ones as tracebacks and go on."""
    ports = []
    for line in lines:
        try:
            ports.append(parse_port(line))
        except ValueError:
            write_traceback()
    return ports


def test_parsePort(causal_logger):
    assert parse_port("8080") == 8080
    assertHasAction(None, causal_logger, "config:port", True, {"text": "8080"}, {"port": 8080})


def test_badLineIsLogged(causal_logger):
    assert load(["80", "eighty"]) == [80]
    [traceback] = causal_logger.flush_tracebacks(ValueError)
    assert "eighty" in str(traceback["reason"])
    ok, bad = LoggedAction.of_type(causal_logger.messages, "config:port")
    assert (ok.succeeded, bad.succeeded) == (True, False)


@pytest_twisted.ensureDeferred
async def test_later(causal_logger):
    from twisted.internet import reactor

    assert await deferLater(reactor, 0, parse_port, "443") == 443
    [action] = LoggedAction.of_type(causal_logger.messages, "config:port")
    assert action.end_message["port"] == 443
