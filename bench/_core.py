# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenarios 1, 2, 3 and 8: a standalone message, a message inside an action,
a nested action pair, and the floor (the encoder and the file alone), each
library writing with its synchronous file destination, to a binary file and
to a text file.  The same operations run through each library's
C{ThreadedWriter} in L{bench._threaded}.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

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
#: How each kind of file is named after C{FILE} in the scenario column.
BINARY, TEXT = "binary file", "text file"
#: The target ratio to Eliot of scenarios 1, 2 and 3 with C{FILE}, on
#: either kind of file.
TARGETS = {1: 2.5, 2: 1.8, 3: 1.6}


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

def _tx_message(directory: Path, text: bool = False) -> Prepared:
    import txcausal

    _, teardown = _peers.txcausal_file(directory, text)
    return standalone(txcausal), teardown


def _eliot_message(directory: Path, buffered: bool = True, text: bool = False) -> Prepared:
    import eliot

    _, teardown = _peers.eliot_file(directory, buffered, text)
    return standalone(eliot), teardown


def _stdlib_message(directory: Path) -> Prepared:
    logger, teardown = _peers.stdlib_logger(directory)
    return (lambda: logger.info(MESSAGE_TYPE, extra=FIELDS)), teardown


def _structlog_message(directory: Path, text: bool = False) -> Prepared:
    logger, teardown = _peers.structlog_logger(directory, text=text)
    return (lambda: logger.info(MESSAGE_TYPE, **FIELDS)), teardown


def _twisted_message(directory: Path, text: bool = False) -> Prepared:
    logger, teardown = _peers.twisted_logger(directory, text)
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

def _tx_in_action(directory: Path, text: bool = False) -> Prepared:
    import txcausal

    _, close = _peers.txcausal_file(directory, text)
    op, leave = in_action(txcausal)

    def teardown() -> None:
        leave()
        close()

    return op, teardown


def _eliot_in_action(directory: Path, buffered: bool = True, text: bool = False) -> Prepared:
    import eliot

    _, close = _peers.eliot_file(directory, buffered, text)
    op, leave = in_action(eliot)

    def teardown() -> None:
        leave()
        close()

    return op, teardown


def _structlog_in_context(directory: Path, text: bool = False) -> Prepared:
    import structlog

    logger, close = _peers.structlog_logger(directory, context=True, text=text)
    structlog.contextvars.bind_contextvars(task_uuid="5f0e8e8a-3c1b-4d57-9d0e-7a3c4f1b2e6d",
                                           action_type="bench:action")

    def teardown() -> None:
        structlog.contextvars.clear_contextvars()
        close()

    return (lambda: logger.info(MESSAGE_TYPE, **FIELDS)), teardown


# Scenario 3: a nested action pair: parent and child, start and finish.

def _tx_nested(directory: Path, text: bool = False) -> Prepared:
    from txcausal import start_action

    _, teardown = _peers.txcausal_file(directory, text)
    return nested_pair(start_action), teardown


def _eliot_nested(directory: Path, buffered: bool = True, text: bool = False) -> Prepared:
    from eliot import start_action

    _, teardown = _peers.eliot_file(directory, buffered, text)
    return nested_pair(start_action), teardown


def _contenders(text: bool, lines: int,
                *setups: Tuple[str, Callable[..., Prepared], int]) -> List[Contender]:
    """
    @param lines: The lines each call writes (L{Contender.lines}).
    @return: Contenders writing to a text or a binary file, each from its
        name, setup taking the directory and C{text}, and the lines its
        setup and teardown write besides; on a binary file, Eliot with an
        unbuffered file too, which has no text form.
    """
    contenders = [Contender(name, partial(setup, text=text), lines, extra)
                  for name, setup, extra in setups]
    if not text:
        eliot, extra = next((setup, extra) for name, setup, extra in setups if name == ELIOT)
        contenders.insert(2, Contender(ELIOT_UNBUFFERED, partial(eliot, buffered=False),
                                       lines, extra))
    return contenders


def _measure_kind(settings: Settings, workdir: Workdir, text: bool) -> Dict[str, Dict[str, float]]:
    """
    Time scenarios 1, 2 and 3 with every library writing to a text or a
    binary file (the stdlib's to text only, the floor's to binary only).

    @return: The figures of each scenario: C{"alone"}, C{"inside"},
        C{"nested"}.
    """
    alone = _contenders(text, 1, ("txcausal", _tx_message, 0), (ELIOT, _eliot_message, 0),
                        (STRUCTLOG, _structlog_message, 0), (TWISTED, _twisted_message, 0))
    # txcausal and Eliot start the action at setup and finish it at teardown.
    inside = _contenders(text, 1, ("txcausal", _tx_in_action, 2), (ELIOT, _eliot_in_action, 2),
                         (STRUCTLOG, _structlog_in_context, 0))
    nested = _contenders(text, 4, ("txcausal", _tx_nested, 0), (ELIOT, _eliot_nested, 0))
    if text:
        alone.append(Contender(STDLIB, _stdlib_message, 1))
    else:
        alone.append(Contender(FLOOR, _floor([1]), 1))
        inside.append(Contender(FLOOR, _floor([2]), 1))
    iterations, repeats = settings.iterations(20_000), settings.repeats
    return {
        "alone": measure(alone, workdir, iterations, repeats),
        "inside": measure(inside, workdir, iterations, repeats),
        "nested": measure(nested, workdir, settings.iterations(5_000), repeats),
    }


#: Each of scenarios 1, 2 and 3: its figures, name and measure.
_SCENARIOS = [
    (1, "alone", "1 standalone message", "time per message"),
    (2, "inside", "2 message in action", "time per message"),
    (3, "nested", "3 nested action pair", "time per pair (4 messages)"),
]
_NOTES = {(2, STRUCTLOG): "context via structlog.contextvars"}


def _rows(figures: Dict[str, Dict[str, float]], kind: str) -> List[Row]:
    """
    The rows of scenarios 1, 2 and 3 for one kind of file: against Eliot
    with the targets, then against every other library measured.
    """
    rows = []
    for number, key, name, measure_ in _SCENARIOS:
        scenario, got = f"{name}, {FILE}, {kind}", figures[key]
        rows.append(compare(scenario, measure_, "us", got, ELIOT, TARGETS[number]))
        rows += [compare(scenario, measure_, "us", got, peer,
                         note=_NOTES.get((number, peer), ""))
                 for peer in got if peer not in ("txcausal", ELIOT, FLOOR)]
    return rows


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenarios 1, 2 and 3 on binary then text files, and 8.
    """
    binary = _measure_kind(settings, workdir, text=False)
    text = _measure_kind(settings, workdir, text=True)
    return [
        *_rows(binary, BINARY),
        *_rows(text, TEXT),
        _against_floor(f"scenario 2 ({BINARY}) against the floor", binary["inside"], 1 / 2),
        _against_floor(f"scenario 1 ({BINARY}) against the floor", binary["alone"], None),
    ]


def _against_floor(measure_: str, figures: Dict[str, float], minimum: Any) -> Row:
    """
    A row comparing txcausal with the floor, saying how many times the
    floor's cost txcausal's is.
    """
    row = compare("8 floor", measure_, "us", figures, FLOOR, minimum,
                  target=f"within {1 / minimum:g}x (>= {minimum:.2f}x)" if minimum else "")
    if not row.ratio:
        return row
    return attrs.evolve(row, note=f"txcausal costs {1 / row.ratio:.2f}x the floor")
