# -*- test-case-name: txcausal.test.test_webview,txcausal.test.test_webview_query -*-
"""
L{TaskList}: the task list of the web view's resource (C{api/tasks}): its
filters read from a request's arguments, the searches it runs first (kept,
to be continued as the source grows), and its query, run off the reactor
thread.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from attrs import define, evolve
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._parse_input import needle_for
from ._view_failures import log_failure, view_log
from ._view_index import Query
from ._view_source import Cooperate, ITaskSource, Predicate, RunInThread, Search
from ._view_task import dumps, story_predicate, text_predicate

_MAX_LIMIT = 500
#: The largest offset: a page past it would end past the largest index.
_MAX_OFFSET = sys.maxsize - _MAX_LIMIT
#: How many searches are kept for continuing (the page's latest few).
_MAX_SEARCHES = 20
#: twisted.web's requests are not annotated: take them as they come.
Request = Any


class BadRequest(Exception):
    """
    A query argument that cannot be used.
    """


def _argument(request: Request, name: bytes) -> str:
    values = (request.args or {}).get(name)
    if not values:
        return ""
    text: str = values[0].decode("utf-8", "replace")
    return text.strip()


def _number(request: Request, name: bytes, kind: Callable[[str], Any],
            maximum: Optional[int] = None) -> Any:
    text = _argument(request, name)
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise BadRequest(f"{name.decode()}: not a number: {text[:40]!r}") from None
    if value != value or value < 0 or (maximum is not None and value > maximum):
        raise BadRequest(f"{name.decode()}: out of range: {text[:40]!r}")
    return value


def parse_query(request: Request) -> Tuple[Query, Optional[Tuple[str, str]]]:
    """
    The task list's filters from the request's arguments.

    @return: The query, and the search to run first (C{("q", text)} or
        C{("story", key)}), if any.
    @raise BadRequest: For an argument that is not understood.
    """
    limit = _number(request, b"limit", int)
    query = Query(
        failed=_argument(request, b"failed") in ("1", "true", "on"),
        action_type=_argument(request, b"type"),
        since=_number(request, b"since", float),
        until=_number(request, b"until", float),
        offset=_number(request, b"offset", int, _MAX_OFFSET) or 0,
        limit=min(limit if limit else 100, _MAX_LIMIT),
    )
    return query, search_of(request)


def search_of(request: Request) -> Optional[Tuple[str, str]]:
    """
    The search a request asks for: a story key wins over a text.
    """
    for kind in ("story", "q"):
        text = _argument(request, kind.encode("ascii"))
        if text:
            return kind, text
    return None


_Listing = Tuple[int, List[Dict[str, Any]], List[str]]


def _predicate(search: Tuple[str, str]) -> Predicate:
    kind, text = search
    return story_predicate(text) if kind == "story" else text_predicate(text)


def _described(search: Tuple[str, str]) -> str:
    kind, text = search
    return f"the story of {text[:200]!r}" if kind == "story" else repr(text[:200])


@define(eq=False)
class _Searching:
    """
    One search the pages asked for: run by the source at most once at a
    time, continued when asked again after the source changed, and started
    over after it failed.

    @ivar log: Where a run's failure is logged, once, however many
        requests waited for it.
    @ivar asked: The search as the request asked for it (see
        L{search_of}).
    @ivar version: The source's version when the last run started.
    @ivar result: The last run's answer.
    @ivar waiting: While a run is under way, who waits for it.
    """

    search: Search
    log: Logger
    asked: Tuple[str, str]
    version: int = -1
    result: Optional[FrozenSet[str]] = None
    waiting: Optional[List["Deferred[FrozenSet[str]]"]] = None

    def answer(self, source: ITaskSource, version: int) -> "Deferred[FrozenSet[str]]":
        """
        The tasks found in C{source} at C{version} (or later).
        """
        waiter: Deferred[FrozenSet[str]] = Deferred()
        if self.waiting is not None:
            self.waiting.append(waiter)
        elif self.result is not None and self.version == version:
            waiter.callback(self.result)
        else:
            self.version, self.waiting = version, [waiter]
            maybeDeferred(source.search, self.search).addBoth(self._done)
        return waiter

    def _done(self, result: Any) -> None:
        waiting, self.waiting = self.waiting or [], None
        if isinstance(result, Failure):
            log_failure(result, self.log, "searching the tasks for {what} failed",
                        search=self.asked, what=_described(self.asked))
            self.search = evolve(self.search, found=set(), progress={})
            self.result = None
            for waiter in waiting:
                waiter.errback(result)
        else:
            self.result = result
            for waiter in waiting:
                waiter.callback(result)


class TaskList:
    """
    The task list of a source, a page at a time: the search a request asks
    for run first (by the source), then the query (filtering and ordering
    every task) off the reactor thread.

    What fails (not a stop) is answered C{500} and logged once (see
    L{log_failure<txcausal._view_failures.log_failure>}): a query for the
    request that ran it, a search however many requests waited for it.

    Used in the reactor thread only.
    """

    def __init__(self, source: ITaskSource, run: RunInThread, stopping: Callable[[], bool],
                 cooperate: Cooperate, status: Callable[[], Dict[str, Any]],
                 log: Logger = view_log) -> None:
        """
        @param source: Where the tasks come from.
        @param run: Runs the queries off the reactor thread.
        @param stopping: Whether the server is stopping: the queries and
            searches stop before their next step (L{QueryStopped
            <txcausal.webview.QueryStopped>}).
        @param cooperate: Runs the steps of a search done in the reactor
            thread (see L{Search.cooperate}).
        @param status: The source's status, sent with each page.
        @param log: Where failures are logged.
        """
        self._source = source
        self._log = log
        self._run = run
        self._stopping = stopping
        self._cooperate = cooperate
        self._status = status
        self._searches: Dict[Tuple[str, str], _Searching] = {}

    def answer(self, request: Request) -> "Deferred[Tuple[int, bytes]]":
        """
        The page of the task list C{request} asks for.

        @return: A L{Deferred} firing with the answer's code and body,
            written as JSON already: what fails writing it is logged as the
            query's failure.
        @raise BadRequest: For an argument that is not understood.
        """
        query, search = parse_query(request)
        found = self._search(search) if search is not None else succeed(None)

        index = self._source.index

        def run(only: Any) -> "Deferred[Tuple[int, bytes]]":
            # Read first: a change during the query is announced again.
            version = index.version
            work = partial(index.listing, evolve(query, only=only), stop=self._stopping)
            listed = maybeDeferred(self._run, work).addCallback(page, version)
            return listed.addErrback(log_failure, self._log, "the task list's query failed",
                                     query=query)

        def page(listing: _Listing, version: int) -> Tuple[int, bytes]:
            total, rows, types = listing
            return 200, dumps({
                "total": total,
                "offset": query.offset,
                "limit": query.limit,
                "tasks": rows,
                "types": types,
                "version": version,
                "status": self._status(),
            })

        return found.addCallback(run)

    def _search(self, search: Tuple[str, str]) -> "Deferred[FrozenSet[str]]":
        """
        The answer to a search, continued as the source grows; the same
        answer while nothing changed.
        """
        known = self._searches.get(search)
        if known is None:
            if len(self._searches) >= _MAX_SEARCHES:
                self._searches.clear()
            known = self._searches[search] = _Searching(
                Search(_predicate(search), needle_for(search[1], fold_case=True),
                       stop=self._stopping, cooperate=self._cooperate),
                self._log, search,
            )
        return known.answer(self._source, self._source.index.version)
