# -*- test-case-name: txcausal.test.test_treq_retry -*-
"""
The connection pool of the agents L{txcausal.treq} makes: each attempt at a
request is sent at a position of its own.

Twisted's L{twisted.web.client.HTTPConnectionPool} sends an idempotent
request (C{GET}, C{HEAD}, ... without a body) again by itself when a
connection it kept from an earlier request fails before the response
(C{retryAutomatically}, on by default): below every
L{twisted.web.iweb.IAgent}, with the same request object, so with the same
headers.  A server that got the first attempt before the connection was
cut would continue the same position twice.

The pool makes the connection for the retry from the endpoint it was given
with the request, so L{AttemptsPool} gives it an endpoint of its own, which
counts the connections the request is sent through: the first is the one
the pool made or kept for the request; one made after that is the
retry's, and the request sent through it gets a fresh position of the
request's action in its headers first (see L{txcausal._outgoing.resend}),
where the pool's retry reads them.  A request that is not retried costs
that one endpoint and nothing else.  A connection made for a retry marks
the request's action (its list of retried positions, empty until the
retry is sent): the request had a connection, so a connection error it
then fails with does not mean that it was never sent.  Only public
interfaces are used: the pool's C{getConnection(key, endpoint)} and the
L{Deferred} it returns, the endpoint's C{connect}, and the connection's
C{request}, whose request has C{headers}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from zope.interface import implementer

from ._context import _ACTION
from ._outgoing import remote_trace, resend
from ._propagation import RemoteTrace

if TYPE_CHECKING:
    from ._action import Action


class AttemptsPool:
    """
    A connection pool as an L{twisted.web.client.Agent} uses it: the pool
    it wraps (shared with any other user of it), with every attempt at a
    traced request sent at a position of its own.

    Only for an agent whose every request is made by
    L{txcausal.treq.TracingAgent} (the agents L{txcausal.treq} makes): the
    request's action is the current action when the agent asks its pool for
    a connection, which L{twisted.web.client.Agent} does in the call of its
    C{request}, where L{txcausal.treq.TracingAgent} makes its action current.
    (Reading it there costs nothing; a context variable of its own, set
    and reset around each request, cost about 4,000 instructions.)
    """

    def __init__(self, pool: Any) -> None:
        """
        @param pool: The L{twisted.web.client.HTTPConnectionPool} (or
            anything with its C{getConnection} and C{persistent}) that
            makes the connections.
        """
        self._pool = pool

    @property
    def persistent(self) -> bool:
        """
        Whether the wrapped pool keeps connections.
        """
        return self._pool.persistent  # type: ignore[no-any-return]

    def getConnection(self, key: Any, endpoint: IStreamClientEndpoint) -> "Deferred[Any]":
        """
        Get a connection for one request from the wrapped pool.

        @return: The wrapped pool's L{Deferred}, firing with the connection;
            when an action is current (the request's), a connection the
            pool makes for the request later (its retry) sends the request
            at a fresh position of it.
        """
        action = _ACTION.get()
        if action is None:
            return self._pool.getConnection(key, endpoint)  # type: ignore[no-any-return]
        attempts = _AttemptEndpoint(endpoint, action, remote_trace())
        found: "Deferred[Any]" = self._pool.getConnection(key, attempts)
        if found.called:
            # A connection is there (a kept one, or a new one made at
            # once): any connection made later is for another attempt.
            attempts.connections = 1
        return found


@implementer(IStreamClientEndpoint)
class _AttemptEndpoint:
    """
    The endpoint the pool makes the request's new connections with.

    @ivar connections: How many connections the request has had; a pool
        that connects later than C{getConnection} (rather than at once, or
        not at all, for a kept connection) makes the first one here.
    """

    __slots__ = ("_endpoint", "_action", "_remote", "connections")

    def __init__(self, endpoint: IStreamClientEndpoint, action: "Action",
                 remote: Optional[RemoteTrace]) -> None:
        self._endpoint = endpoint
        self._action = action
        self._remote = remote
        self.connections = 0

    def connect(self, protocolFactory: IProtocolFactory) -> "Deferred[Any]":
        """
        Connect with the wrapped endpoint; the request sent through a
        connection after the first goes at a fresh position.
        """
        self.connections += 1
        connected: "Deferred[Any]" = self._endpoint.connect(protocolFactory)
        if self.connections == 1:
            return connected
        # A retry: the request had a connection, so a connection error now
        # does not mean that it was never sent (see _outgoing.never_sent).
        if self._action._retried is None:
            self._action._retried = []
        return connected.addCallback(_Resending, self._action, self._remote)

    def __repr__(self) -> str:
        # The pool names its connections after the endpoint.
        return repr(self._endpoint)


class _Resending:
    """
    A connection for another attempt at a request.
    """

    def __init__(self, connection: Any, action: "Action", remote: Optional[RemoteTrace]) -> None:
        self._connection = connection
        self._action = action
        self._remote = remote

    def request(self, request: Any) -> "Deferred[Any]":
        """
        Send C{request} at a fresh position of the action.
        """
        resend(self._action, request.headers, self._remote)
        return self._connection.request(request)  # type: ignore[no-any-return]
