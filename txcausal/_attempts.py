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
tells the request's attempts apart by when a connection is made: one made
before the pool answered (its L{Deferred} fired, at once for a connection
it kept) is for the first attempt, however many it makes; one made after
that is a retry's, and the request sent through it gets a fresh position
of the request's action in its headers first (see
L{txcausal._outgoing.resend}), where the pool's retry reads them.  A
request that is not retried costs that one endpoint and nothing else.  A
connection made for a retry marks the request's action (its list of
retried positions, empty until the retry is sent): the request had a
connection, so a connection error it then fails with does not mean that
it was never sent.  Only public interfaces are used: the pool's
C{getConnection(key, endpoint)} and the L{Deferred} it returns, the
endpoint's C{connect}, and the connection's C{request}, whose request has
C{headers}.

This holds for a pool that makes every connection for a request with the
endpoint it is given, as Twisted's L{twisted.web.client.HTTPConnectionPool}
does; one that connects with an endpoint of its own would retry unseen, so
L{txcausal.treq} puts only Twisted's pool in an L{AttemptsPool}.
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
        # Once it has fired (at once, for a kept connection), a connection
        # made is for another attempt.
        attempts.answer = found
        return found


@implementer(IStreamClientEndpoint)
class _AttemptEndpoint:
    """
    The endpoint the pool makes the request's new connections with.

    @ivar answer: What the pool's C{getConnection} returned for the
        request, once it has returned: until it has fired, the pool has not
        given the request a connection, and those it makes are for the
        first attempt (a pool may connect at once, later, or more than
        once); once it has, a connection it makes is for another attempt.
    """

    __slots__ = ("_endpoint", "_action", "_remote", "answer")

    def __init__(self, endpoint: IStreamClientEndpoint, action: "Action",
                 remote: Optional[RemoteTrace]) -> None:
        self._endpoint = endpoint
        self._action = action
        self._remote = remote
        self.answer: "Optional[Deferred[Any]]" = None

    def connect(self, protocolFactory: IProtocolFactory) -> "Deferred[Any]":
        """
        Connect with the wrapped endpoint; the request sent through a
        connection made after the pool answered goes at a fresh position.
        """
        connected: "Deferred[Any]" = self._endpoint.connect(protocolFactory)
        answer = self.answer
        if answer is None or not answer.called:
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
