# -*- test-case-name: txcausal.test.test_webview_builds,txcausal.test.test_view_builds -*-
"""
L{Builds}: a task's page built once for all the requests that ask for it
while it is built (several tabs open on one big task), never kept after.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Hashable, List

from attrs import define, field
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._view_failures import log_failure, view_log

#: Starts a build, given the callable telling it to stop between its
#: steps; fires with its result.
Start = Callable[[Callable[[], bool]], "Deferred[Any]"]


@define(eq=False)
class _Build:
    """
    One build under way.

    @ivar state: What the build was started from (the task as indexed): a
        request finding another state starts a build of its own.
    @ivar stopping: Whether the server is stopping.
    @ivar waiting: The requests' L{Deferred}s, one each.
    @ivar abandoned: Every request left (its client went away): the
        build is to stop.
    """

    state: Hashable
    stopping: Callable[[], bool]
    waiting: List["Deferred[Any]"] = field(factory=list)
    abandoned: bool = False

    def stop(self) -> bool:
        """
        Whether the build is to stop before its next step: the server is
        stopping, or nobody waits for it any more.  Called from the
        build's thread.
        """
        return self.abandoned or self.stopping()


def indexed_state(index: Any, uuid: str) -> Hashable:
    """
    What a page of task C{uuid} is built from, as C{index} (a
    L{TaskIndex<txcausal._view_index.TaskIndex>}) knows it: its summary
    (a task forgotten and seen again has another) and its counts of
    messages; C{None} for a task not known; and the index's L{epoch
    <txcausal._view_index.TaskIndex.epoch>} (a file closed since changes
    what a page is built from, not the summary).  A request made after
    either changed is not given the page of a build started before.
    """
    summary = index.get(uuid)
    if summary is None:
        return None
    return summary, summary.messages, summary.dropped, index.epoch


class Builds:
    """
    The builds of task pages under way, by what they build (a task and
    the search it is shown with).  A request for a page being built from
    the same state waits for that build rather than starting its own; a
    finished build is forgotten at once, so that memory holds only the
    pages being built and a request after a build always gets a new one.
    A build's failure (not a stop: L{QueryStopped
    <txcausal.webview.QueryStopped>}) is logged once, however
    many requests waited for it, and when none does any more (see
    L{log_failure<txcausal._view_failures.log_failure>}).

    Used in the reactor thread only.

    @ivar started: How many builds were started.
    @ivar joined: How many requests waited for a build another started.
    """

    def __init__(self, stopping: Callable[[], bool], log: Logger = view_log,
                 name: Callable[[Hashable], str] = repr) -> None:
        """
        @param stopping: Whether the server is stopping: every build is to
            stop before its next step.
        @param log: Where a build's failure is logged.
        @param name: What a build's failure calls the page of a key.
        """
        self._stopping = stopping
        self._log = log
        self._name = name
        self._building: Dict[Hashable, _Build] = {}
        self.started = 0
        self.joined = 0

    def __len__(self) -> int:
        """
        How many builds are under way and shared.
        """
        return len(self._building)

    def build(self, key: Hashable, state: Hashable, start: Start) -> "Deferred[Any]":
        """
        The result of the build of C{key} from C{state}: the one under way,
        or one started now by calling C{start} with the callable that tells
        it to stop (L{_Build.stop}).

        @return: A L{Deferred} of this request's own, firing with the
            build's result or failing with its failure, as every other
            waiter's.  Cancelling it (the request's client went away) only
            forgets this request; once none waits, the build is told to
            stop, and forgotten.
        """
        build = self._building.get(key)
        if build is not None and build.state == state:
            self.joined += 1
            return self._wait(key, build)
        build = self._building[key] = _Build(state, self._stopping)
        self.started += 1
        waiter = self._wait(key, build)
        maybeDeferred(start, build.stop).addBoth(self._done, key, build)
        return waiter

    def _wait(self, key: Hashable, build: _Build) -> "Deferred[Any]":
        """
        A new request's L{Deferred} for C{build} (of C{key}), waiting with
        the others; cancelled, it leaves the build (see L{build}).
        """
        def leave(waiter: "Deferred[Any]") -> None:
            if waiter in build.waiting:
                build.waiting.remove(waiter)
            if not build.waiting:
                build.abandoned = True
                self._forget(key, build)

        waiter: Deferred[Any] = Deferred(leave)
        build.waiting.append(waiter)
        return waiter

    def _forget(self, key: Hashable, build: _Build) -> None:
        """
        Forget C{build} as the one under way for C{key}, unless another
        (from a newer state) took its place: requests keep joining that one.
        """
        if self._building.get(key) is build:
            del self._building[key]

    def _done(self, result: Any, key: Hashable, build: _Build) -> None:
        """
        C{build} of C{key} ended with C{result}: forget it, log its failure
        (once, whoever waits; a stop is none), answer the requests still
        waiting (one cancelled meanwhile is left alone).
        """
        self._forget(key, build)
        failed = isinstance(result, Failure)
        if failed:
            log_failure(result, self._log, "building the page of {page} failed", key=key,
                        page=self._name(key))
        waiting, build.waiting = build.waiting, []
        for waiter in waiting:
            if waiter.called:
                continue
            if failed:
                waiter.errback(result)
            else:
                waiter.callback(result)
