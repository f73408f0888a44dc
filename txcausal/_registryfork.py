# -*- test-case-name: txcausal.test.test_reentry_registry_fork,txcausal.test.test_output_exit -*-
"""
L{RegistryFork}: the destination registry's fork hook, which makes the
child's registry whole whatever the parent's other threads were doing with
it as the process forked.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Tuple


class RegistryFork:
    """
    The fork hook of L{txcausal._destinations.Destinations}, which sets the
    attributes declared here.
    """

    _lock: threading.Lock
    _destinations: Tuple[Any, ...]
    #: The last route planned; its last item, the destinations it was planned
    #: for (see L{txcausal._route.Route}).
    _route: Tuple[Any, ...]
    _parked: Deque[Dict[str, Any]]
    _buffer_size: int
    _buffer: Optional[Deque[Dict[str, Any]]]
    _overflowed: int
    _shown: List[Dict[str, Any]]
    _emptied: bool
    dropped: int

    def _replan(self) -> None:
        """See L{txcausal._destinations.Destinations._replan}."""
        raise NotImplementedError()

    def afterForkInChild(self) -> None:
        """
        In a forked child: a new lock (a thread of the parent may have held
        it), and nothing parked nor kept after the parent's last destination
        was removed: those are the parent's to send or report.  Those logged
        before the first destination stay, for the child's (a daemon forks
        before it configures its logging).

        The fork does not wait for another thread adding or removing a
        destination (that thread may wait for a lock the forking thread
        holds), so the child may start halfway through that change: its
        route is planned anew from the destinations listed, and with none
        listed and no buffer (the one before was taken, the new one not made
        yet) it keeps what it logs for its next destination, as after the
        last was removed; a destination listed and refused as the route is
        planned is left out, as the parent's C{Destinations.add} leaves it
        out.  A C{Destinations.add} on the forking thread (a signal handler
        forked in it) sends that buffer on to the destinations it adds.
        """
        self._lock = threading.Lock()
        self._parked.clear()
        if self._buffer is not None and self._emptied:
            self._buffer.clear()
            self._shown = []
            self.dropped -= self._overflowed
            self._overflowed = 0
        try:
            self._replan()
        except BaseException:
            # A destination being added was refused as its route was planned
            # (its attributes raised, or an interrupt): as the parent's add
            # leaves it, the destinations of the last route planned.
            self._destinations = self._route[4]
            self._replan()
        if self._buffer is None and not self._destinations:
            self._buffer = deque(maxlen=self._buffer_size)
            self._emptied = True
