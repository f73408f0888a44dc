# -*- test-case-name: txcausal.test.test_journald -*-
"""
A client of journald's native protocol, in pure Python.

An entry is a list of fields, C{NAME=value} lines; a value holding a newline
is written binary-safe instead: the name, a newline, the value's length as a
64-bit little-endian integer, the value and a newline.  The entry goes to
journald's socket as one datagram or, when it is too large for one, into a
sealed memfd whose descriptor is sent instead, in an empty datagram.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import sys
import threading
import time
from array import array
from typing import Callable, Iterable, Optional, Tuple

#: Where journald listens for native protocol entries.
JOURNAL_SOCKET = "/run/systemd/journal/socket"

#: The send buffer asked for, as systemd's own client does, so that a burst
#: of entries finds room rather than a full queue (C{EAGAIN}).
SEND_BUFFER = 8 * 1024 * 1024
#: Sets the send buffer past C{net.core.wmem_max}, given C{CAP_NET_ADMIN}:
#: Linux's number, which Python's socket module does not name (elsewhere
#: the number means another option: only C{SO_SNDBUF} is asked for).
_SO_SNDBUFFORCE: int = getattr(socket, "SO_SNDBUFFORCE",
                               32 if sys.platform.startswith("linux") else socket.SO_SNDBUF)

#: The longest one wait for room in journald's queue may be, in seconds: a
#: longer timeout is waited for in several (C{poll} takes at most 2**31 - 1
#: milliseconds, about 24.8 days).
_LONGEST_WAIT = 3600.0

#: The errors that mean an entry is too large for a datagram.
_TOO_LARGE = frozenset([errno.EMSGSIZE, errno.ENOBUFS])
#: The errors that mean the journald this socket was connected to is gone
#: (restarted, say): connecting again may reach the new one.
_PEER_GONE = frozenset([errno.ECONNREFUSED, errno.ENOTCONN, errno.ECONNRESET])
#: A sealed memfd cannot change any more; journald requires these seals
#: (Linux's, as journald is: elsewhere the module imports, and sends fail).
_SEALS = sum(getattr(fcntl, name, 0) for name in
             ["F_SEAL_SHRINK", "F_SEAL_GROW", "F_SEAL_WRITE", "F_SEAL_SEAL"])


def encode_entry(fields: Iterable[Tuple[bytes, bytes]]) -> bytes:
    """
    Encode fields as one journal entry.

    @param fields: C{(name, value)} pairs; a name is uppercase letters,
        digits and underscores, not starting with an underscore.
    """
    parts = []
    for name, value in fields:
        if b"\n" in value:
            parts.append(b"%s\n%s%s\n" % (name, len(value).to_bytes(8, "little"), value))
        else:
            parts.append(b"%s=%s\n" % (name, value))
    return b"".join(parts)


def raise_send_buffer(sock: socket.socket, size: int = SEND_BUFFER) -> None:
    """
    Ask for a send buffer of C{size} bytes, as systemd's client does: past
    the system's limit if allowed (C{SO_SNDBUFFORCE}), else up to it
    (C{SO_SNDBUF}).  A socket whose buffer cannot be raised is used as it
    is: a smaller buffer only fills sooner.  One already larger is left
    alone (Linux reports twice the size asked for).
    """
    try:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= 2 * size:
            return
    except OSError:
        pass
    for option in (_SO_SNDBUFFORCE, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, size)
        except OSError:
            continue
        return


class JournalSocket:
    """
    Sends encoded entries to journald.  Thread-safe, and usable on both
    sides of a fork.

    A send waits at most C{timeout} seconds for room in journald's queue.
    Once one has waited that long in vain, the next ones do not wait,
    until one gets through: a stuck journald costs one timeout, not one per
    entry.
    """

    def __init__(self, path: str = JOURNAL_SOCKET, timeout: float = 1.0,
                 socket_factory: Callable[..., socket.socket] = socket.socket) -> None:
        """
        @param path: journald's socket.
        @param timeout: How long a send may wait for room, in seconds.
        @param socket_factory: Makes the socket, as C{socket.socket} does.
        @raise ValueError: If C{timeout} is not a number from 0 to
            C{threading.TIMEOUT_MAX} (negative, NaN, infinite).
        """
        if not 0 <= timeout <= threading.TIMEOUT_MAX:
            raise ValueError(
                f"timeout must be a number of seconds from 0 to threading.TIMEOUT_MAX, "
                f"not {timeout!r}")
        self.path = path
        self._timeout = timeout
        self._socket_factory = socket_factory
        self._socket: Optional[socket.socket] = None
        # Re-entrant: a message logged on a thread holding it, in close (a
        # signal handler, a finalizer), connects again inside it, as a
        # send after the close would (close has let go of the socket in one
        # step); inside _connect it cannot be, but for a destination that
        # is not guarded against its own messages (see txcausal._feedback).
        self._lock = threading.RLock()
        self._stuck = False

    def send(self, entry: bytes) -> None:
        """
        Send an entry (see L{encode_entry}).

        @raise OSError: If journald cannot be reached (no socket: a
            C{FileNotFoundError}; nobody listening: a
            C{ConnectionRefusedError}), its queue stayed full (a
            C{BlockingIOError}), or the entry could not be sent otherwise.
        """
        sock = self._socket or self._connect(None)
        try:
            self._send(sock, entry)
        except OSError as e:
            if e.errno not in _PEER_GONE:
                raise
            # Connect again, once, and give the new journald this entry.
            self._send(self._connect(sock), entry)

    def _connect(self, stale: Optional[socket.socket]) -> socket.socket:
        """
        Connect to journald, unless another thread did meanwhile.

        @param stale: The socket found not to work, if any.
        @return: The connected socket.
        """
        with self._lock:
            if self._socket is not None and self._socket is not stale:
                return self._socket
            sock = self._socket_factory(socket.AF_UNIX, socket.SOCK_DGRAM)
            raise_send_buffer(sock)
            try:
                sock.connect(self.path)
            except OSError as e:
                sock.close()
                raise OSError(e.errno, e.strerror, self.path) from None
            sock.setblocking(False)
            # A thread still sending through the stale one fails that send.
            if stale is not None:
                stale.close()
            self._socket = sock
            return sock

    def _send(self, sock: socket.socket, entry: bytes) -> None:
        """
        Send C{entry} as a datagram or, too large for one, through a memfd.
        """
        try:
            self._waiting(sock, lambda: sock.send(entry))
        except OSError as e:
            if e.errno not in _TOO_LARGE:
                raise
            self._send_memfd(sock, entry)

    def _send_memfd(self, sock: socket.socket, entry: bytes) -> None:
        """
        Write C{entry} to a memfd, seal it and send its descriptor.
        """
        fd = os.memfd_create("txcausal-journal", os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC)
        try:
            view = memoryview(entry)
            while view:
                view = view[os.write(fd, view):]
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array("i", [fd]))]
            self._waiting(sock, lambda: sock.sendmsg([], rights))
        finally:
            os.close(fd)

    def _waiting(self, sock: socket.socket, send: Callable[[], int]) -> None:
        """
        Call C{send}, waiting for room in journald's queue while it is full,
        up to the timeout (not at all while stuck).

        @raise BlockingIOError: If there was no room in time.
        """
        deadline = None
        while True:
            try:
                send()
            except BlockingIOError:
                if deadline is None:
                    deadline = time.monotonic() + (0.0 if self._stuck else self._timeout)
                left = deadline - time.monotonic()
                if left > 0:
                    wait = min(left, _LONGEST_WAIT)
                    if self.wait_writable(sock, wait) or wait < left:
                        continue
                self._stuck = True
                raise BlockingIOError(
                    errno.EAGAIN, f"journald's queue stayed full for {self._timeout} s; "
                    "not waiting again until an entry gets through", self.path) from None
            self._stuck = False
            return

    @staticmethod
    def wait_writable(sock: socket.socket, timeout: float) -> bool:
        """
        Wait until journald's queue has room for one more datagram.

        @return: Whether it does, before C{timeout} seconds.
        """
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        return bool(poller.poll(timeout * 1000))

    def close(self) -> None:
        """
        Close the socket; a later send connects again.
        """
        with self._lock:
            sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()
