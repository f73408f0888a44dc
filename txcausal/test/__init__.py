"""
Tests for L{txcausal}.
"""

from __future__ import annotations

import atexit
import sys
from typing import Any, Callable, Mapping


def closeReactorLoopAtExit(
    modules: Mapping[str, Any] = sys.modules,
    register: Callable[[Callable[[], None]], Any] = atexit.register,
) -> None:
    """
    Close the asyncio event loop of an installed asyncio reactor when the
    interpreter exits.  C{trial --reactor=asyncio} installs a reactor whose
    new loop nothing closes, and the run ended with C{ResourceWarning:
    unclosed event loop}.  Does nothing for other reactors, and installs
    none.

    @param modules: Where to look for the installed reactor.
    @param register: Registers a function to call at exit.
    """
    reactor = modules.get("twisted.internet.reactor")
    loop = getattr(reactor, "_asyncioEventloop", None)
    if loop is not None:
        register(loop.close)


closeReactorLoopAtExit()
