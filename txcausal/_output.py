# -*- test-case-name: txcausal.test.test_output -*-
"""
Where messages go: the process-wide destination registry (see
L{txcausal._destinations.Destinations}, with its buffer for messages logged
before the first destination), and the L{Logger} that serializes and
dispatches; L{to_file} adds a L{txcausal._file.FileDestination}.
"""

from __future__ import annotations

import atexit
import os
from typing import IO, Any, Dict, Optional

from ._destinations import EARLY_BUFFER_SIZE as EARLY_BUFFER_SIZE
from ._destinations import Destination as Destination
from ._destinations import Destinations as Destinations
from ._failure_reports import _last_resort
from ._file import FileDestination
from ._jsondefault import EncoderClass, JSONDefault, checked_default
from ._logger import Logger as Logger


def _report_lost(source: object, report: Dict[str, Any],
                 stream: Optional[IO[str]] = None, to_source: bool = True) -> None:
    """
    Send a report of messages C{source} lost through the default logger.
    When no destination but C{source} (or a writer in front of it) would take
    it, write it to C{stream} too (see L{_last_resort}); if C{to_source} is
    false (C{source} makes nothing of it), only keep it, marked shown, for a
    destination added later (L{Destinations.keep_shown}).
    """
    logger = _DEFAULT_LOGGER
    if (getattr(logger, "_destinations", None) is _DESTINATIONS
            and not _DESTINATIONS.has_other_than(source)):
        _last_resort(report, stream)
        if not to_source:
            _DESTINATIONS.keep_shown(report)
            return
    logger.write(report)


#: The process-wide destinations.
_DESTINATIONS = Destinations()
#: The logger actions and messages use when given none; swapped by tests.
_DEFAULT_LOGGER: Any = Logger(_DESTINATIONS)
atexit.register(_DESTINATIONS.finish)
os.register_at_fork(after_in_child=_DESTINATIONS.afterForkInChild)


def add_destinations(*destinations: Destination) -> None:
    """
    Send every message from now on (and those buffered so far) to these
    destinations as well.

    @param destinations: Callables providing L{IDestination}.
    @raise TypeError: If one of them is not callable; none is added.
    """
    _DESTINATIONS.add(*destinations)


def remove_destination(destination: Destination) -> None:
    """
    Stop sending messages to C{destination}.

    @raise ValueError: If it was never added.
    """
    _DESTINATIONS.remove(destination)


def add_global_fields(**fields: Any) -> None:
    """
    Add these fields to every message from now on, e.g. C{process="api"}.
    """
    _DESTINATIONS.add_global_fields(**fields)


def to_file(output_file: IO[Any], encoder: EncoderClass = None,
            json_default: JSONDefault = None) -> FileDestination:
    """
    Write every message, as JSON lines, to C{output_file}.

    @param encoder: Deprecated, as in Eliot 1.18: a L{json.JSONEncoder}
        subclass; pass C{json_default} instead.
    @param json_default: A function for types JSON does not know (see
        L{txcausal.json.json_default}).
    @return: The L{FileDestination} added, to remove it later.
    @raise TypeError: If both are given, or either is not what it should
        be.
    """
    destination = FileDestination(output_file, json_default=checked_default(json_default,
                                                                             encoder))
    add_destinations(destination)
    return destination


def swap_logger(logger: Any) -> Any:
    """
    Replace the default logger, which actions and messages created from now
    on without a logger write to (tests do this to capture messages).

    @param logger: An L{ILogger}.
    @return: The previous one, to swap it back.
    """
    global _DEFAULT_LOGGER
    previous, _DEFAULT_LOGGER = _DEFAULT_LOGGER, logger
    return previous
