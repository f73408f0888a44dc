# -*- test-case-name: txcausal.test.test_webview_cli -*-
"""
The names C{txcausal web} answers for: a guard against DNS rebinding.

A page of any site the user visits can point its own name at 127.0.0.1
(DNS rebinding) and then read, as its own origin, whatever a server on
loopback answers; the browser still sends that name as C{Host}.  So the
view answers only requests naming it by the address it listens on (or,
on loopback or every interface, C{localhost} and the loopback literals),
with its port, or by a name the user allowed.
"""

from __future__ import annotations

import ipaddress
from typing import Any, FrozenSet, Optional, Tuple

from twisted.web.resource import Resource

from ._view_resource import _secure

#: The names of this machine's loopback interface.
LOOPBACK_NAMES = frozenset(["localhost", "127.0.0.1", "[::1]"])
REFUSED = (b"txcausal web does not answer for this host name (a page of another site may be"
           b" trying to read it); see --allowed-host\n")


def _literal(host: str) -> str:
    """
    @return: The address C{host} as C{Host} names it: IPv6 in brackets,
        lower case.
    """
    host = host.lower()
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _split(header: bytes) -> Optional[Tuple[str, int]]:
    """
    @return: The name and port of a C{Host} header (port 80 when none is
        given), or C{None} if it is not one.
    """
    try:
        text = header.decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return None
    name, colon, port = text.rpartition(":")
    if not colon or name.startswith("[") and not name.endswith("]") or text.endswith("]"):
        name, port = text, "80"
    if not name or not port.isdigit() or (":" in name and not name.startswith("[")):
        return None
    return _literal(name), int(port)


def _serves_loopback(host: str) -> bool:
    """
    Whether listening on C{host} serves the loopback interface: a loopback
    address, or every interface (C{0.0.0.0}, C{::}).
    """
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def host_allowed(header: Optional[bytes], listening: str, port: int,
                 names: FrozenSet[str]) -> bool:
    """
    Whether to answer a request with the C{Host} header C{header}.

    @param listening: The address the view listens on, as given.
    @param port: The port it listens on.
    @param names: More names to answer for, on any port (lower case).
    @return: C{True} for one of C{names}; on C{port}, for C{listening}
        itself, or, when it is a loopback address or every interface's
        (C{0.0.0.0}, C{::}: loopback is one of them), one of
        L{LOOPBACK_NAMES}.  C{False} without a C{Host}.
    """
    if header is None:
        return False
    split = _split(header)
    if split is None:
        return False
    name, given = split
    if name in names:
        return True
    if given != port:
        return False
    return name == _literal(listening) or (_serves_loopback(listening) and name in LOOPBACK_NAMES)


def allowed_name(text: str) -> str:
    """
    Read a name given to C{--allowed-host}: a host name or an address (an
    IPv6 one bracketed or not), without a port.

    @raise ValueError: For an empty name, or one with a port.
    """
    if not text:
        raise ValueError("give a host name or address")
    try:
        ipaddress.ip_address(text.strip("[]"))
        return text
    except ValueError:
        pass
    if ":" in text:
        raise ValueError(f"{text!r}: give the name without a port (it is allowed on any port)")
    return text


class HostCheck(Resource):
    """
    Answer the requests that name an allowed host with C{wrapped} (a leaf
    resource: all of the path is its), refuse the others: C{421}
    (Misdirected Request), a short text, with the view's security headers.

    @ivar port: The port it listens on (set once listening, when port 0
        picked one).
    @raise ValueError: For one of C{names} with a port (L{allowed_name}).
    """

    isLeaf = True

    def __init__(self, wrapped: Resource, listening: str, port: int,
                 names: FrozenSet[str] = frozenset()) -> None:
        Resource.__init__(self)  # type: ignore[no-untyped-call]
        self._wrapped = wrapped
        self._listening = listening
        self.port = port
        self._names = frozenset(_literal(allowed_name(name)) for name in names)

    def render(self, request: Any) -> Any:
        """
        Render with the wrapped resource, or refuse.
        """
        if host_allowed(request.getHeader(b"host"), self._listening, self.port, self._names):
            return self._wrapped.render(request)  # type: ignore[no-untyped-call]
        _secure(request)
        request.setResponseCode(421, b"Misdirected Request")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return REFUSED
