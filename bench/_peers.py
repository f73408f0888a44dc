# -*- test-case-name: txcausal.test.test_bench -*-
"""
Each library set up to write JSON lines to its own file, and torn down
again, so that only one library's destination is live while it is timed.

Every peer but twisted.logger encodes with orjson (txcausal and Eliot 1.18
do by default; the stdlib formatter and structlog's renderer are given it),
so their figures compare the logging machinery, not JSON encoders.
twisted.logger's C{jsonFileLogObserver} takes no encoder and encodes with
the standard library's C{json}: its figures compare encoders too.  Every
peer hands each message to the operating system as it is logged: a write and
a flush (Eliot, the stdlib, structlog, twisted.logger), or one direct write
(txcausal, and the floor).

Each library that writes to both gets a binary or a text file as asked
(C{text}); the stdlib's C{FileHandler} writes text only, the floor and
Eliot's unbuffered file bytes only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO, Any, Callable, Dict, Tuple

import orjson

#: The fields of the benchmark message, besides its type.
FIELDS: Dict[str, Any] = {"key": "value", "count": 1, "ratio": 0.5}
MESSAGE_TYPE = "bench:message"

Teardown = Callable[[], None]


def _open(path: Path, text: bool) -> IO[Any]:
    """
    Open C{path} to write, as text (UTF-8) or bytes.
    """
    return open(path, "w", encoding="utf-8") if text else open(path, "wb")


def txcausal_file(directory: Path, text: bool = False) -> Tuple[IO[Any], Teardown]:
    """
    Make a txcausal L{FileDestination} the only txcausal destination.

    @param text: Give it a text file (else a binary one).
    """
    import txcausal

    file = _open(directory / "txcausal.log", text)
    destination = txcausal.to_file(file)

    def teardown() -> None:
        txcausal.remove_destination(destination)
        file.close()

    return file, teardown


def eliot_file(directory: Path, buffered: bool = True,
               text: bool = False) -> Tuple[IO[Any], Teardown]:
    """
    Add an Eliot file destination with C{eliot.to_file}; Eliot's registry is
    separate from txcausal's.

    @param buffered: Give it a buffered file, as usual (a write and a flush
        per message), or an unbuffered one (one system call per message, as
        txcausal makes; binary only).
    @param text: Give it a text file (else a binary one).
    """
    import eliot
    from eliot._output import Logger

    file: IO[Any] = (_open(directory / "eliot.log", text) if buffered
                     else open(directory / "eliot.log", "wb", buffering=0))
    eliot.to_file(file)
    destination = Logger._destinations._destinations[-1]

    def teardown() -> None:
        eliot.remove_destination(destination)
        file.close()

    return file, teardown


_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName",
}


class JSONFormatter(logging.Formatter):
    """
    The usual JSON formatter for the standard library (as python-json-logger
    does): the message, time, level and logger name, plus every C{extra}
    field.
    """

    def format(self, record: logging.LogRecord) -> str:
        data = {"message_type": record.getMessage(), "timestamp": record.created,
                "level": record.levelname, "logger": record.name}
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                data[key] = value
        return orjson.dumps(data).decode("utf-8")


def stdlib_logger(directory: Path) -> Tuple[logging.Logger, Teardown]:
    """
    A stdlib logger with a C{FileHandler} (flushes each record) and the
    JSON formatter, not propagating to the root logger.
    """
    logger = logging.getLogger(f"bench.{directory.name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(directory / "stdlib.log", encoding="utf-8")
    handler.setFormatter(JSONFormatter())
    logger.addHandler(handler)

    def teardown() -> None:
        logger.removeHandler(handler)
        handler.close()

    return logger, teardown


def _orjson_text(value: Any, **options: Any) -> str:
    """
    orjson for structlog's C{JSONRenderer} in front of a text file.
    """
    return orjson.dumps(value, **options).decode("utf-8")


def structlog_logger(directory: Path, context: bool = False,
                     text: bool = False) -> Tuple[Any, Teardown]:
    """
    structlog as its documentation recommends for speed: a filtering bound
    logger, orjson through C{JSONRenderer}, a C{BytesLogger} (flushes each
    line); or, for a text file, a C{WriteLogger} (writes and flushes each
    line).

    @param context: Also merge the context variables bound with
        C{structlog.contextvars}.
    @param text: Give it a text file (else a binary one).
    """
    import structlog

    file: Any = _open(directory / "structlog.log", text)
    processors: list[Any] = [
        structlog.processors.TimeStamper(fmt=None, key="timestamp"),
        structlog.processors.JSONRenderer(serializer=_orjson_text if text else orjson.dumps),
    ]
    if context:
        processors.insert(0, structlog.contextvars.merge_contextvars)
    output = structlog.WriteLogger(file) if text else structlog.BytesLogger(file)
    logger = structlog.wrap_logger(
        output, processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    ).bind()
    return logger, file.close


def twisted_logger(directory: Path, text: bool = True) -> Tuple[Any, Teardown]:
    """
    A C{twisted.logger.Logger} observed only by a C{jsonFileLogObserver}
    (which writes UTF-8 to a binary file).

    @param text: Give it a text file (else a binary one).
    """
    from twisted.logger import Logger, jsonFileLogObserver

    file = _open(directory / "twisted.log", text)
    return Logger(namespace="bench", observer=jsonFileLogObserver(file)), file.close


def floor_file(directory: Path) -> Tuple[IO[bytes], Teardown]:
    """
    A plain binary file, for the floor: the encoder and the file, no
    logging library.
    """
    file = open(directory / "floor.log", "wb")
    return file, file.close


def floor_writer(file: IO[bytes], message: Dict[str, Any]) -> Callable[[], None]:
    """
    @return: A function encoding C{message} with orjson and writing it to
        C{file} with one system call, the least a file destination can do
        for each message to reach the operating system as it is logged.
    """
    dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    write = file.raw.write  # type: ignore[attr-defined]

    def op() -> None:
        write(dumps(message, option=option))

    return op
