# -*- test-case-name: txcausal.test.test_treq_retry -*-
"""
The connection pool of the agents L{txcausal.treq} makes: each attempt at a
request is sent at a position of its own.

Twisted's L{twisted.web.client.HTTPConnectionPool} sends an idempotent request (C{GET},
C{HEAD}, ... without a body) again by itself when a connection it kept from
an earlier request fails before the response (C{retryAutomatically}, on by
default): below every L{twisted.web.iweb.IAgent}, with the same request object, so with the
same headers.  A server that got the first attempt before the connection
was cut would continue the same position twice.

The pool makes the connection for the retry from the endpoint it was given
with the request, so L{AttemptsPool} gives it an endpoint of its own: each
connection the request is sent through counts an attempt, and before the
second is sent a fresh position of the request's action is set in the
request's headers (see L{txcausal._propagation.resender}), where the
pool's retry reads them.  Only public interfaces are used: the pool's
C{getConnection(key, endpoint)}, the endpoint's C{connect}, and the
connection's C{request}, whose request has C{headers}.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.web.http_headers import Headers
from zope.interface import implementer

#: How the request being made sets a fresh position on its headers: set by
#: L{txcausal.treq.TracingAgent} while it calls the agent under it, which
#: asks its pool for a connection in that call (L{twisted.web.client.Agent}
#: does).  C{None} for other requests, whose pool is left to itself.
RESEND: ContextVar[Optional[Callable[[Headers], None]]] = ContextVar("txcausal_resend",
                                                                     default=None)


class AttemptsPool:
    """
    A connection pool as an L{twisted.web.client.Agent} uses it: the pool
    it wraps (shared with any other user of it), with every attempt at a
    traced request sent at a position of its own.
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

        @return: A L{Deferred} firing with the connection, counting the
            request's attempts when L{RESEND} is set.
        """
        resend = RESEND.get()
        if resend is None:
            return self._pool.getConnection(key, endpoint)  # type: ignore[no-any-return]
        attempts = _Attempts(resend)
        found: "Deferred[Any]" = self._pool.getConnection(key, _AttemptEndpoint(endpoint, attempts))
        return found.addCallback(attempts.through)


class _Attempts:
    """
    The attempts at one request.

    @ivar sent: How many were sent.
    """

    def __init__(self, resend: Callable[[Headers], None]) -> None:
        self._resend = resend
        self.sent = 0

    def through(self, connection: Any) -> Any:
        """
        @return: C{connection}, counting the attempts sent through it.
        """
        return connection if isinstance(connection, _Attempt) else _Attempt(connection, self)

    def sending(self, request: Any) -> None:
        """
        Count an attempt at C{request}; from the second on, it goes at a
        fresh position.
        """
        self.sent += 1
        if self.sent > 1:
            self._resend(request.headers)


class _Attempt:
    """
    A connection the request is sent through.
    """

    def __init__(self, connection: Any, attempts: _Attempts) -> None:
        self._connection = connection
        self._attempts = attempts

    def request(self, request: Any) -> "Deferred[Any]":
        """
        Send C{request}, an attempt.
        """
        self._attempts.sending(request)
        return self._connection.request(request)  # type: ignore[no-any-return]


@implementer(IStreamClientEndpoint)
class _AttemptEndpoint:
    """
    The endpoint the pool makes the request's new connections with,
    counting the attempts sent through them.
    """

    def __init__(self, endpoint: IStreamClientEndpoint, attempts: _Attempts) -> None:
        self._endpoint = endpoint
        self._attempts = attempts

    def connect(self, protocolFactory: IProtocolFactory) -> "Deferred[Any]":
        """
        Connect with the wrapped endpoint.
        """
        connected: "Deferred[Any]" = self._endpoint.connect(protocolFactory)
        return connected.addCallback(self._attempts.through)

    def __repr__(self) -> str:
        # The pool names its connections after the endpoint.
        return repr(self._endpoint)
