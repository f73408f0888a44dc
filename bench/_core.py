# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenarios 1, 2, 3 and 8: a standalone message, a message inside an action,
a nested action pair, and the floor (the encoder and the file alone), each
library writing with its synchronous file destination.  The same operations
run through each library's C{ThreadedWriter} in L{bench._threaded}.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List

import attrs

from . import _peers
from ._harness import Contender, Prepared, Row, Settings, Workdir, compare, measure
from ._peers import FIELDS, MESSAGE_TYPE

ELIOT = "eliot 1.18"
#: Eliot given an unbuffered file: one system call per message, as txcausal.
ELIOT_UNBUFFERED = "eliot 1.18, unbuffered file"
STDLIB = "stdlib logging + JSON formatter"
STRUCTLOG = "structlog + JSONRenderer"
TWISTED = "twisted.logger jsonFileLogObserver"
FLOOR = "floor: orjson + write"
#: How each configuration is named in the scenario column.
FILE, THREADED = "FileDestination", "ThreadedWriter"


# The operations of scenarios 1, 2 and 3, given txcausal's or Eliot's module:
# the same code whether the library writes with its file destination here or
# through its ThreadedWriter (bench._threaded_child).

def standalone(library: Any) -> Callable[[], None]:
    """
    @return: Logging the benchmark message with C{library.log_message}.
    """
    log_message = library.log_message
    return lambda: log_message(MESSAGE_TYPE, **FIELDS)


def in_action(library: Any) -> Prepared:
    """
    Start an action with C{library.start_action} and make it current.

    @return: Logging the benchmark message (inside the action), and leaving
        and finishing the action.
    """
    action = library.start_action(action_type="bench:action")
    context = action.context()
    context.__enter__()

    def leave() -> None:
        context.__exit__(None, None, None)
        action.finish()

    return standalone(library), leave


def nested_pair(start_action: Any) -> Callable[[], None]:
    """
    @return: Starting and finishing a parent action and a child action
        (four messages).
    """
    def op() -> None:
        with start_action(action_type="bench:parent", key="value"):
            with start_action(action_type="bench:child", count=1):
                pass

    return op


# Scenario 1: a standalone message (a task of its own for txcausal and Eliot).

def _tx_message(directory: Path) -> Prepared:
    import txcausal

    _, teardown = _peers.txcausal_file(directory)
    return standalone(txcausal), teardown


def _eliot_message(directory: Path, buffered: bool = True) -> Prepared:
    import eliot

    _, teardown = _peers.eliot_file(directory, buffered)
    return standalone(eliot), teardown


def _stdlib_message(directory: Path) -> Prepared:
    logger, teardown = _peers.stdlib_logger(directory)
    return (lambda: logger.info(MESSAGE_TYPE, extra=FIELDS)), teardown


def _structlog_message(directory: Path) -> Prepared:
    logger, teardown = _peers.structlog_logger(directory)
    return (lambda: logger.info(MESSAGE_TYPE, **FIELDS)), teardown


def _twisted_message(directory: Path) -> Prepared:
    logger, teardown = _peers.twisted_logger(directory)
    return (lambda: logger.info(MESSAGE_TYPE, **FIELDS)), teardown


def _floor(task_level: List[int]) -> Any:
    """
    The floor for a message at C{task_level}: the same dictionary txcausal
    writes, already built, encoded and written.
    """
    def setup(directory: Path) -> Prepared:
        message: Dict[str, Any] = {
            **FIELDS, "message_type": MESSAGE_TYPE,
            "task_uuid": "5f0e8e8a-3c1b-4d57-9d0e-7a3c4f1b2e6d", "task_level": task_level,
            "timestamp": time.time(),
        }
        file, teardown = _peers.floor_file(directory)
        return _peers.floor_writer(file, message), teardown

    return setup


# Scenario 2: a message inside an action that is current.

def _tx_in_action(directory: Path) -> Prepared:
    import txcausal

    _, close = _peers.txcausal_file(directory)
    op, leave = in_action(txcausal)

    def teardown() -> None:
        leave()
        close()

    return op, teardown


def _eliot_in_action(directory: Path, buffered: bool = True) -> Prepared:
    import eliot

    _, close = _peers.eliot_file(directory, buffered)
    op, leave = in_action(eliot)

    def teardown() -> None:
        leave()
        close()

    return op, teardown


def _structlog_in_context(directory: Path) -> Prepared:
    import structlog

    logger, close = _peers.structlog_logger(directory, context=True)
    structlog.contextvars.bind_contextvars(task_uuid="5f0e8e8a-3c1b-4d57-9d0e-7a3c4f1b2e6d",
                                           action_type="bench:action")

    def teardown() -> None:
        structlog.contextvars.clear_contextvars()
        close()

    return (lambda: logger.info(MESSAGE_TYPE, **FIELDS)), teardown


# Scenario 3: a nested action pair: parent and child, start and finish.

def _tx_nested(directory: Path) -> Prepared:
    from txcausal import start_action

    _, teardown = _peers.txcausal_file(directory)
    return nested_pair(start_action), teardown


def _eliot_nested(directory: Path, buffered: bool = True) -> Prepared:
    from eliot import start_action

    _, teardown = _peers.eliot_file(directory, buffered)
    return nested_pair(start_action), teardown


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenarios 1, 2, 3 and 8.
    """
    repeats = settings.repeats
    alone = measure([
        Contender("txcausal", _tx_message), Contender(ELIOT, _eliot_message),
        Contender(ELIOT_UNBUFFERED, partial(_eliot_message, buffered=False)),
        Contender(STDLIB, _stdlib_message), Contender(STRUCTLOG, _structlog_message),
        Contender(TWISTED, _twisted_message), Contender(FLOOR, _floor([1])),
    ], workdir, settings.iterations(20_000), repeats)
    inside = measure([
        Contender("txcausal", _tx_in_action), Contender(ELIOT, _eliot_in_action),
        Contender(ELIOT_UNBUFFERED, partial(_eliot_in_action, buffered=False)),
        Contender(STRUCTLOG, _structlog_in_context), Contender(FLOOR, _floor([2])),
    ], workdir, settings.iterations(20_000), repeats)
    nested = measure([
        Contender("txcausal", _tx_nested), Contender(ELIOT, _eliot_nested),
        Contender(ELIOT_UNBUFFERED, partial(_eliot_nested, buffered=False)),
    ], workdir, settings.iterations(5_000), repeats)
    one, two, three = (f"1 standalone message, {FILE}", f"2 message in action, {FILE}",
                       f"3 nested action pair, {FILE}")
    per_msg, per_pair = "time per message", "time per pair (4 messages)"
    return [
        compare(one, per_msg, "us", alone, ELIOT, 3),
        compare(one, per_msg, "us", alone, ELIOT_UNBUFFERED),
        compare(one, per_msg, "us", alone, STDLIB),
        compare(one, per_msg, "us", alone, STRUCTLOG),
        compare(one, per_msg, "us", alone, TWISTED),
        compare(two, per_msg, "us", inside, ELIOT, 3),
        compare(two, per_msg, "us", inside, ELIOT_UNBUFFERED),
        compare(two, per_msg, "us", inside, STRUCTLOG, note="context via structlog.contextvars"),
        compare(three, per_pair, "us", nested, ELIOT, 3),
        compare(three, per_pair, "us", nested, ELIOT_UNBUFFERED),
        _against_floor("scenario 2 against the floor", inside, 1 / 3),
        _against_floor("scenario 1 against the floor", alone, None),
    ]


def _against_floor(measure_: str, figures: Dict[str, float], minimum: Any) -> Row:
    """
    A row comparing txcausal with the floor, saying how many times the
    floor's cost txcausal's is.
    """
    row = compare("8 floor", measure_, "us", figures, FLOOR, minimum,
                  target="within 3x (>= 0.33x)" if minimum else "")
    if not row.ratio:
        return row
    return attrs.evolve(row, note=f"txcausal costs {1 / row.ratio:.2f}x the floor")
