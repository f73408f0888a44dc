# -*- test-case-name: txcausal.test.test_output -*-
"""
The L{Logger} that serializes messages and sends them to a
L{txcausal._destinations.Destinations}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from zope.interface import implementer

from ._interfaces import ILogger
from ._json import serialization_failure_messages

if TYPE_CHECKING:
    from ._destinations import Destinations


@implementer(ILogger)
class Logger:
    """
    Serializes messages and sends them to a
    L{txcausal._destinations.Destinations}.
    """

    __slots__ = ("_destinations",)

    def __init__(self, destinations: Optional[Destinations] = None) -> None:
        """
        @param destinations: Where to send messages; default: the
            process-wide destinations, which
            L{txcausal.add_destinations} adds to.
        """
        if destinations is None:
            from ._output import _DESTINATIONS
            destinations = _DESTINATIONS
        self._destinations: Destinations = destinations

    def write(self, dictionary: Dict[str, Any], serializer: Optional[Any] = None) -> None:
        """
        Serialize (a copy of) C{dictionary} with C{serializer}, if given, and
        send it.  A serializer failure sends an C{eliot:traceback} and an
        C{eliot:serialization_failure} message instead.  Never raises.
        """
        if serializer is not None:
            try:
                dictionary = dictionary.copy()
                serializer.serialize(dictionary)
            except Exception as e:
                for report in serialization_failure_messages(dictionary, e):
                    self._destinations.send(report)
                return
        self._destinations.send(dictionary)
