# -*- test-case-name: txcausal.test.test_treq -*-
"""
HTTP clients that carry the current task to the server.

Wrap any L{IAgent} in L{TracingAgent}, or call this module's L{get},
L{head}, L{post}, L{put}, L{patch}, L{delete} and L{request} as you would
treq's (treq's response helpers C{content}, C{text_content}, C{json_content}
and C{collect} are here too, so this module replaces C{import treq})::

    from txcausal import start_action
    from txcausal import treq

    async def fetch(url):
        with start_action(action_type="app:fetch"):
            response = await treq.get(url)
            return await response.text()

Each request is logged as a C{txcausal:http:client} action (C{method},
C{url} without credentials or query string; C{status} on success) and sends
a fresh position inside it as C{X-Eliot-Task-Id} and C{traceparent}, so a
server using L{txcausal.web} (or Eliot, or OpenTelemetry) continues the
task.  The action fails only when no response arrives (connection error,
timeout, cancellation: a request the caller cancels, treq's C{timeout=}
included, fails with C{cancelled: true}, whatever the error); a 4xx or 5xx
response is a response: the action succeeds with its C{status}, and
deciding that it is an error is the caller's job, in the caller's own
action.

With this module's functions, on an agent they make (without C{agent=})
on Twisted's L{HTTPConnectionPool<twisted.web.client.HTTPConnectionPool>}
(treq's global pool, one made for C{persistent=False}, or one given as
C{pool=}), txcausal sees every connection made for a request, and treq
follows redirects above that agent.  An attempt the pool makes again by
itself (on a new connection, after a kept one was cut before the
response) is sent at a fresh position, the first then listed in
C{retried_task_levels} too.  A request that never had a connection (its
host name was not found, or its connection was refused, timed out or
cancelled while it was made: C{DNSLookupError}, C{ConnectError} and its
subclasses, C{ConnectingCancelledError}, of L{twisted.internet.error}) was
never sent: its position is listed in C{unsent_task_levels} too, so that
readers do not wait for a server's part of it.  A request that failed once
it had a connection, or whose connection error is that of the pool's
retry, may have reached a server, and is not listed.

An agent of the caller's own (given as C{agent=}, or wrapped in
L{TracingAgent}), or a pool of another kind given as C{pool=}, may connect
unseen (with an endpoint of its own, for a redirect or a retry): its
retries are sent with the first attempt's headers, and nothing is listed
as retried or unsent, since a server may have continued the position.
treq's global pool is read when these functions first use it (and again
once another pool is set with C{treq.api.set_global_pool}): a pool whose
class, C{getConnection} or C{_newConnection} is changed later is read as it
was then, so make such a change before the pool's first request.

Call these functions, and L{TracingAgent.request}, from the reactor thread,
as treq's (from another thread, use C{blockingCallFromThread}).
"""

from __future__ import annotations

from contextvars import Context, copy_context
from typing import Any, Dict, List, Optional, Tuple

import treq as _treq
import treq.api as _treq_api
import twisted.internet
from treq.api import default_pool, default_reactor
from treq.content import collect, content, json_content, text_content
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IBodyProducer, IResponse
from zope.interface import implementer

from ._action import Action, start_action
from ._attempts import AttemptsPool
from ._context import _ACTION
from ._interfaces import ILogger
from ._outgoing import never_sent, outgoing
from ._wire import CANCELLED_FIELD, CLIENT_ACTION_TYPE, UNSENT_TASK_LEVELS_FIELD

#: Where C{from twisted.internet import reactor} finds the global reactor
#: (once it is installed, or patched in by a test).
_INTERNET = vars(twisted.internet)
#: C{@} as a byte: C{bytes} finds an integer in itself at a fifth of the
#: cost of a one-byte C{bytes}, which it first tries as an integer.
_AT = ord("@")
#: The usual methods as logged, found at once (decoding costs several times
#: a lookup).
_METHODS = {method.encode("ascii"): method for method in (
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}


def _loggable_url(uri: bytes) -> str:
    """
    @return: C{uri} without user info, query string or fragment, which
        often hold secrets.
    """
    # Plain byte operations: parsing the URL costs as much as logging it.
    url = uri.partition(b"#")[0].partition(b"?")[0]
    if _AT in url:
        scheme, separator, rest = url.partition(b"://")
        authority, slash, path = rest.partition(b"/")
        if separator and _AT in authority:
            url = scheme + separator + authority.rpartition(b"@")[2] + slash + path
    return url.decode("ascii", "backslashreplace")


@implementer(IAgent)
class TracingAgent:
    """
    An L{IAgent} that logs each request as an action and sends the task's
    position in its headers, without modifying the caller's L{Headers}.

    Use it under C{treq.client.HTTPClient} or anything else that takes an
    agent: C{HTTPClient(TracingAgent(Agent(reactor)))}.
    """

    #: Whether the caller's L{Headers} are copied (see L{_OwnHeadersAgent}).
    _copyHeaders = True
    #: Whether txcausal sees every connection the agent makes for a request
    #: (see L{_OwnHeadersAgent}), so that a request that failed before any
    #: connection was made can be told from one sent; an agent of the
    #: caller's own may have sent it (a redirect's first hop, a retry of its
    #: pool) before failing to connect.  Read on the failure path only.
    _connectionsSeen = False

    def __init__(self, agent: IAgent, logger: Optional[ILogger] = None) -> None:
        """
        @param agent: The agent that makes the requests.
        @param logger: Where the actions go; default: the global logger.
        """
        self._agent = agent
        self._logger = logger

    def request(self, method: bytes, uri: bytes, headers: Optional[Headers] = None,
                bodyProducer: Optional[IBodyProducer] = None) -> "Deferred[IResponse]":
        """
        Make the request inside a new C{txcausal:http:client} action, a
        child of the current action (or a new task).

        @return: A L{Deferred} firing with the response once its headers
            have arrived; its callbacks run with the caller's action current
            (and so does the next hop of a redirect), instead of whatever the
            reactor had.  Cancelling it cancels the request.
        """
        context = copy_context()
        known = _METHODS.get(method) if type(method) is bytes else None
        action = start_action(self._logger, CLIENT_ACTION_TYPE,
                              method=known or method.decode("ascii", "backslashreplace"),
                              url=_loggable_url(uri))
        # Current while the agent asks its pool for a connection: an
        # AttemptsPool sends the pool's own retries at fresh positions of it.
        token = _ACTION.set(action)
        try:
            sent = outgoing(action, headers, self._copyHeaders)
            inner = self._agent.request(method, uri, sent, bodyProducer)
        except BaseException as e:
            _failed(action, e, False, self)
            raise
        finally:
            # Set above in this very context: reset cannot fail.
            _ACTION.reset(token)
        cancelled: List[bool] = []

        def cancel(_: object) -> None:
            cancelled.append(True)
            inner.cancel()

        outer: "Deferred[IResponse]" = Deferred(cancel)
        inner.addBoth(_ended, action, context, outer, cancelled, self)
        return outer


def _ended(result: Any, action: Action, context: Context, outer: "Deferred[Any]",
           cancelled: List[bool], agent: TracingAgent) -> None:
    """
    Finish C{action} with C{result}, the response or the failure of the
    request, then fire C{outer} with it in C{context}, the caller's.

    @param cancelled: Not empty if the caller cancelled C{outer}: a failure
        then gets C{cancelled: true}, whatever the agent failed with (for
        Twisted's L{Agent}, C{ResponseNeverReceived} once the request is
        sent, C{DNSLookupError} while its host name is resolved).
    @param agent: The L{TracingAgent} that made the request.
    """
    if not isinstance(result, Failure):
        try:
            action.add_success_fields(status=result.code)
            action.finish()
        except BaseException:
            result = Failure()  # type: ignore[no-untyped-call]
        else:
            context.run(outer.callback, result)
            return
    _failed(action, result.value, bool(cancelled), agent)
    context.run(outer.errback, result)


def _failed(action: Action, error: BaseException, cancelled: bool,
            agent: TracingAgent) -> None:
    """
    Finish C{action} with C{error}, with C{cancelled: true} if the caller
    cancelled the request; and, if C{agent} sees the request's connections
    and C{error} says that no server got it (see L{never_sent}), with the
    position it handed off listed in C{unsent_task_levels} too.
    """
    fields: Dict[str, Any] = {}
    if cancelled:
        fields[CANCELLED_FIELD] = True
    if agent._connectionsSeen:
        unsent = never_sent(action, error)
        if unsent is not None:
            fields[UNSENT_TASK_LEVELS_FIELD] = unsent
    action.finish(error, **fields)


class _OwnHeadersAgent(TracingAgent):
    """
    The L{TracingAgent} of the calls of L{request}: the L{Headers} it gets
    are treq's own for the call (never the caller's: L{request} gives treq
    a copy), so it adds its headers to them rather than copying them, which
    costs more than the rest of building the headers.  It keeps nothing of a
    call: the shared agent's is made once (see L{_SharedAgent}).  A
    redirect's next hop gets the same L{Headers} again, and sets the same
    headers anew.

    Around an agent of this module's own (see L{_new_agent}), which treq
    wraps in its redirect agent rather than the other way round, it sees
    every connection made for a request: it then lists the position of
    one that failed before any connection was made as unsent.
    """

    _copyHeaders = False

    def __init__(self, agent: IAgent, logger: Optional[ILogger] = None,
                 connectionsSeen: bool = False) -> None:
        """
        @param agent: The agent that makes the requests.
        @param logger: Where the actions go; default: the global logger.
        @param connectionsSeen: Whether C{agent} is one L{_new_agent} made.
        """
        super().__init__(agent, logger)
        self._connectionsSeen = connectionsSeen


class _SharedAgent:
    """
    The L{Agent} of the calls to L{request} that name no agent, pool or
    persistence, and no reactor other than the global one.  treq makes a
    new one on its global pool for each such call; this one is made once,
    and again when the global reactor (C{twisted.internet.reactor}, which a
    test may patch) or the global pool (C{treq.api.get_global_pool}) is not
    the one it was made with.  Both are looked up at each call, as treq
    does.

    Only the global reactor's agent is kept: a call that names another
    reactor gets an agent of its own, as treq's does, so that a test's
    reactor is not kept alive after the test.  (A weak reference to the
    reactor would not do: the agent refers to its reactor.)  A reactor
    patched in as the global one is kept until a later call finds another.

    Whether txcausal sees the global pool's connections (see
    L{_sees_connections}) is decided when the agent is made: a pool whose
    class or connecting methods are changed afterwards is read as it was.

    Called from the reactor thread only, as treq's functions are; the cache
    is still read once and replaced in one assignment.
    """

    def __init__(self) -> None:
        #: The global reactor and pool the agent was made with, the agent,
        #: the L{_OwnHeadersAgent} around it for the global logger, and
        #: whether txcausal sees the pool's connections.
        self._cached: Tuple[Any, Any, Any, Optional[TracingAgent], bool] = (
            None, None, None, None, False)

    def get(self, reactor: Any) -> Tuple[IAgent, Optional[TracingAgent], Any, bool]:
        """
        @param reactor: The call's C{reactor} argument, C{None} included.
        @return: What L{_new_agent} returns for C{reactor} and treq's global
            pool, with the agent's L{_OwnHeadersAgent} for the global logger
            after the agent when it is the shared one (C{None} otherwise).
        """
        installed = _INTERNET.get("reactor")
        if reactor is None:
            reactor = installed
        if reactor is None or reactor is not installed:
            agent, reactor, seen = _new_agent(reactor, None, None)
            return agent, None, reactor, seen
        cached = self._cached
        if cached[0] is not reactor or cached[1] is not _treq_api.get_global_pool():  # type: ignore[no-untyped-call]
            agent, _, seen = _new_agent(reactor, None, None)
            cached = self._cached = (reactor, _treq_api.get_global_pool(), agent,  # type: ignore[no-untyped-call]
                                     _OwnHeadersAgent(agent, connectionsSeen=seen), seen)
        return cached[2], cached[3], reactor, cached[4]


#: The methods of Twisted's pool that make its connections: with these,
#: every connection it makes for a request (the pool's retry's too) is made
#: with the endpoint it was given for the request.
_CONNECTING = ("getConnection", "_newConnection")


def _sees_connections(pool: Any) -> bool:
    """
    @return: Whether txcausal sees every connection C{pool} makes for a
        request through the endpoint an L{AttemptsPool} hands it: whether
        it is Twisted's L{HTTPConnectionPool} (a subclass too, unless it
        changes how the pool connects).  A pool of another kind may connect
        with an endpoint of its own, or send a request again on a
        connection it chose, unseen.
    """
    if not isinstance(pool, HTTPConnectionPool):
        return False
    cls, own = type(pool), getattr(pool, "__dict__", {})
    return all(getattr(cls, name, None) is getattr(HTTPConnectionPool, name, None)
               and name not in own for name in _CONNECTING)


def _new_agent(reactor: Any, pool: Any, persistent: Optional[bool]) -> Tuple[IAgent, Any, bool]:
    """
    @return: The L{Agent} treq makes for a call that names no agent, the
        reactor it uses (C{reactor}, or the global one), and whether
        txcausal sees every connection it makes for a request (see
        L{_sees_connections}): it is then on an L{AttemptsPool}, so that a
        retry the pool makes by itself is sent at a fresh position; on the
        pool itself otherwise.
    """
    reactor = default_reactor(reactor)  # type: ignore[no-untyped-call]
    pool = default_pool(reactor, pool, persistent)  # type: ignore[no-untyped-call]
    seen = _sees_connections(pool)
    if seen:
        pool = AttemptsPool(pool)
    return Agent(reactor, pool=pool), reactor, seen  # type: ignore[no-untyped-call]


def request(method: str, url: Any, data: Any = None, *, agent: Optional[IAgent] = None,
            pool: Any = None, persistent: Optional[bool] = None, reactor: Any = None,
            headers: Any = None, logger: Optional[ILogger] = None,
            **kwargs: Any) -> "Deferred[Any]":
    """
    Make an HTTP request, as L{treq.request} does, logged as an action whose
    position the server can continue.

    @param agent: The agent to wrap; default: treq's (an L{Agent} on the
        shared connection pool, or on C{pool}).
    @param pool: The connection pool of treq's agent, as treq takes it.  On
        Twisted's L{HTTPConnectionPool<twisted.web.client.HTTPConnectionPool>},
        txcausal sees every connection made for a request; a pool of another
        kind may connect unseen, and its requests are logged as those of an
        agent of the caller's own (see this module's docstring).
    @param headers: Never modified.
    @param logger: Where the actions go; default: the global logger.
    @param kwargs: Any other keyword argument of L{treq.request}.
    @return: A L{Deferred} firing with treq's response.
    """
    tracing = None
    seen = False
    if agent is None:
        if pool is None and persistent is not False:
            agent, tracing, reactor, seen = _shared_agent.get(reactor)
        else:
            agent, reactor, seen = _new_agent(reactor, pool, persistent)
    if tracing is None or logger is not None:
        tracing = _OwnHeadersAgent(agent, logger, connectionsSeen=seen)
    if isinstance(headers, (Headers, dict)):
        # treq sets Content-Type on a Headers it is given: give it a copy.
        headers = headers.copy()
    return _treq.request(method, url, data=data, agent=tracing, headers=headers,
                         reactor=reactor, **kwargs)


def get(url: Any, headers: Any = None, **kwargs: Any) -> "Deferred[Any]":
    """
    Make a C{GET} request; see L{request}.
    """
    return request("GET", url, headers=headers, **kwargs)


def head(url: Any, **kwargs: Any) -> "Deferred[Any]":
    """
    Make a C{HEAD} request; see L{request}.
    """
    return request("HEAD", url, **kwargs)


def post(url: Any, data: Any = None, **kwargs: Any) -> "Deferred[Any]":
    """
    Make a C{POST} request; see L{request}.
    """
    return request("POST", url, data, **kwargs)


def put(url: Any, data: Any = None, **kwargs: Any) -> "Deferred[Any]":
    """
    Make a C{PUT} request; see L{request}.
    """
    return request("PUT", url, data, **kwargs)


def patch(url: Any, data: Any = None, **kwargs: Any) -> "Deferred[Any]":
    """
    Make a C{PATCH} request; see L{request}.
    """
    return request("PATCH", url, data, **kwargs)


def delete(url: Any, **kwargs: Any) -> "Deferred[Any]":
    """
    Make a C{DELETE} request; see L{request}.
    """
    return request("DELETE", url, **kwargs)


_shared_agent = _SharedAgent()

__all__ = ["TracingAgent", "CLIENT_ACTION_TYPE", "request", "get", "head", "post", "put", "patch",
           "delete", "content", "text_content", "json_content", "collect"]
