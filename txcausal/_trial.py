# -*- test-case-name: txcausal.test.test_trial -*-
"""
L{redirectLogsForTrial}: under Twisted's C{trial}, send txcausal's messages
to twisted.logger, so they land in C{_trial_temp/test.log}.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from typing import Callable, Optional, Sequence

from twisted.logger import LogEvent, globalLogPublisher

from ._output import Destination, add_destinations
from ._twistedlog import TwistedDestination

#: The names of the C{trial} script.
_TRIAL_SCRIPT = re.compile(r"trial(-?[0-9]+(\.[0-9]+)*)?(\.exe|-script\.py)?")


def isTrialProgram(argv0: str) -> bool:
    """
    Tell whether C{argv0} (a C{sys.argv[0]}) is trial: the C{trial}
    script (also under a name with Python's version, as distributions
    install it: Debian's C{trial3}, C{trial-3.11}), C{python -m
    twisted.trial}, or a C{trial -j N} worker.
    """
    parts = os.path.normpath(argv0).replace("\\", "/").split("/")
    if _TRIAL_SCRIPT.fullmatch(parts[-1]):
        return True
    if parts[-3:] == ["twisted", "trial", "__main__.py"]:
        return True
    return parts[-4:] == ["twisted", "trial", "_dist", "workertrial.py"]


class TrialRedirector:
    """
    Adds one L{TwistedDestination} when the program is trial, once.

    @ivar destination: The destination added, if any.
    """

    def __init__(
        self,
        argv: Callable[[], Sequence[str]],
        publisher: Callable[[LogEvent], None],
        addDestination: Callable[[Destination], None],
    ) -> None:
        """
        @param argv: Returns the program's C{sys.argv}.
        @param publisher: Where the destination emits events.
        @param addDestination: Registers a destination.
        """
        self._argv = argv
        self._publisher = publisher
        self._addDestination = addDestination
        self._lock = threading.Lock()
        self.destination: Optional[TwistedDestination] = None

    def redirect(self) -> Optional[TwistedDestination]:
        """
        Add the destination if the program is trial and it was not added
        yet.

        @return: The destination (also when added by an earlier call), or
            C{None} when not running under trial.
        """
        with self._lock:
            if self.destination is None:
                argv = self._argv()
                if argv and isTrialProgram(argv[0]):
                    self.destination = TwistedDestination(self._publisher)
                    self._addDestination(self.destination)
            return self.destination


_REDIRECTOR = TrialRedirector(lambda: sys.argv, globalLogPublisher, add_destinations)


def redirectLogsForTrial() -> Optional[TwistedDestination]:
    """
    When running under Twisted's C{trial} (the C{trial} script,
    C{python -m twisted.trial}, or a C{trial -j N} worker), send every
    txcausal message to twisted.logger, so each lands in
    C{_trial_temp/test.log} as a line of JSON.  Does nothing under pytest or
    in production; calling it again does nothing more.

    Messages go in at C{info} level, or C{error} for failed actions and
    tracebacks, but never as a failure, so a test that expects an action to
    fail is not turned into an error.

    @return: The L{TwistedDestination} added (pass it to
        L{txcausal.remove_destination} to undo), or C{None} outside trial.
    """
    return _REDIRECTOR.redirect()


__all__ = ["redirectLogsForTrial", "isTrialProgram"]
