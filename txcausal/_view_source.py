# -*- test-case-name: txcausal.test.test_webview_task,txcausal.test.test_webview_ring -*-
"""
What the web view's resource asks of where tasks come from: an index of
task summaries, a way to load one task, a search over messages.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Set

from attrs import define, field, frozen
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.task import CooperativeTask, Cooperator
from twisted.internet.threads import deferToThreadPool
from zope.interface import Attribute, Interface

from ._parse import Task, WrittenAction, parse_messages
from ._view_index import _never

Message = Dict[str, Any]
#: Decides whether a message matches a search.
Predicate = Callable[[Message], bool]
#: Runs a function off the reactor thread, firing with its result.
RunInThread = Callable[[Callable[[], Any]], "Deferred[Any]"]
#: Runs an iterator's steps a few at a time between the reactor's other
#: work (C{twisted.internet.task.cooperate}).
Cooperate = Callable[[Iterator[None]], "CooperativeTask[Iterator[None]]"]


def off_reactor(reactor: Any) -> RunInThread:
    """
    How the web view runs its work off the reactor thread by default.

    @param reactor: The reactor the web view runs in.
    @return: A function running a function in C{reactor}'s thread pool,
        if it has one (it provides C{IReactorThreads}); else in-line, the
        result there at once (a C{Clock} in tests, a tool without
        threads).
    """
    if not IReactorThreads.providedBy(reactor):
        return maybeDeferred

    def run(f: Callable[[], Any]) -> "Deferred[Any]":
        return deferToThreadPool(reactor, reactor.getThreadPool(), f)

    return run


def on_reactor(reactor: Any) -> Cooperate:
    """
    How the web view runs the steps of work done in the reactor thread (a
    ring's search) by default.

    @param reactor: The reactor the web view runs in.
    @return: A cooperator's C{cooperate} whose turns are scheduled with
        C{reactor.callLater}, if C{reactor} has threads (as
        L{off_reactor}); else one running every step in-line, the result
        there at once (a C{Clock} in tests).
    """
    threaded: Any = reactor  # Its callLater, if it has threads.
    if not IReactorThreads.providedBy(reactor):
        in_line = Cooperator(terminationPredicateFactory=lambda: lambda: False,
                             scheduler=lambda f: f())  # type: ignore[arg-type,return-value]
        return in_line.cooperate
    return Cooperator(scheduler=lambda f: threaded.callLater(0, f)).cooperate


@frozen(eq=False)
class LoadedTask:
    """
    One task read back for viewing.

    @ivar task: The task tree, joined across every source.
    @ivar sources: The source (process) of each message, by C{id()} of the
        message dictionary.
    @ivar source_names: The name of each source.
    @ivar unavailable: How many messages could no longer be read (a file
        truncated or rewritten since it was indexed).
    @ivar dropped: How many messages were not kept (the task's summary in
        the index counts them too).
    """

    task: Task
    sources: Dict[int, int]
    source_names: List[str]
    unavailable: int = 0
    dropped: int = 0


@define(eq=False)
class Search:
    """
    A search of a source's messages, each run continuing where the last
    stopped: a source that grows is not read again from its start.

    @ivar predicate: Decides whether one message matches.
    @ivar needle: If given, lower-cased bytes that a JSON line must hold
        (in any case) for its message to match: the pre-filter of
        L{MessageReader<txcausal.parse.MessageReader>}.
    @ivar found: The UUIDs of the tasks found so far.
    @ivar progress: Where the runs got to, kept by the source as it likes
        (positions in files, messages seen per task).
    @ivar stop: Tells a run done off the reactor thread to stop (raising
        L{QueryStopped<txcausal.webview.QueryStopped>}) before its
        next batch: the reactor is stopping.
    @ivar cooperate: Runs the steps of a run done in the reactor thread,
        if the source has no cooperator of its own; C{None}: Twisted's
        global one.
    """

    predicate: Predicate
    needle: Optional[bytes] = None
    found: Set[str] = field(factory=set)
    progress: Dict[Any, Any] = field(factory=dict)
    stop: Callable[[], bool] = _never
    cooperate: Optional[Cooperate] = None


class ITaskSource(Interface):
    """
    The tasks a L{TaskViewResource<txcausal.webview.TaskViewResource>}
    shows.

    Methods are called in the reactor thread.  The index may be filled
    from any thread, and is queried off the reactor thread (its
    C{listing}, on the resource's worker): it has its own lock.
    """

    index = Attribute("The C{TaskIndex} of the tasks.")

    def load(uuid: str) -> "Deferred[Optional[LoadedTask]]":
        """
        Read task C{uuid} back in full.

        A source may also take a keyword argument C{stop} (as L{TaskRing
        <txcausal.webview.TaskRing>} and L{LogFiles<txcausal.webview.LogFiles>}
        do), a callable that tells a load done off the reactor thread to
        stop (failing with L{QueryStopped<txcausal.webview.QueryStopped>})
        before it reads its next message: the reactor is stopping, or no
        request waits for the page any more.  The
        resource passes it if the source's C{load} takes it, or takes any
        keyword argument (C{**kwargs}), or its signature cannot be read
        (told once, from its signature, when the resource is made; C{load}
        itself is looked up at each request); a source whose C{load} takes
        only C{uuid} is called so, and its loads cannot be stopped early.

        A C{load} that names a keyword argument C{build} (not one that
        takes any, C{**kwargs}, nor one whose signature cannot be read)
        is passed a callable that makes the page's body
        (bytes) from the L{LoadedTask}; a source that reads off the reactor
        thread calls it in the same job (as L{LogFiles
        <txcausal.webview.LogFiles>} does), its C{Deferred} firing with
        the bytes, so that the reactor thread only writes them.  Every
        other source returns the L{LoadedTask}, built into the page in the
        reactor thread.

        @return: A L{twisted.internet.defer.Deferred} firing with the task, or C{None} if unknown.
        """

    def search(search: Search) -> "Deferred[FrozenSet[str]]":
        """
        Continue C{search} over the messages it has not looked at yet,
        adding the tasks of which a message matches to its C{found}.  Not
        called again with the same search before the last call's result.

        @return: A L{twisted.internet.defer.Deferred} firing with the tasks found so far, among
            those the source still knows.
        """

    def status() -> Dict[str, Any]:
        """
        A JSON-compatible description of the source: what is read, what
        was skipped.
        """


def takes_stop(load: Callable[..., Any]) -> bool:
    """
    Whether C{load}, a source's C{load}, is to be passed C{stop}: it takes
    that keyword argument, or any (C{**kwargs}), or its signature cannot
    be read (see L{ITaskSource.load}).  A decorator's own signature is the
    one read, not that of the function it wraps.
    """
    try:
        parameters = inspect.signature(load, follow_wrapped=False).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "stop" and p.kind is not p.POSITIONAL_ONLY or p.kind is p.VAR_KEYWORD
               for p in parameters)


def takes_build(load: Callable[..., Any]) -> bool:
    """
    Whether C{load}, a source's C{load}, is to be passed C{build}: it names
    it, as a keyword argument (see L{ITaskSource.load}).  Not one taking
    any keyword argument (C{**kwargs}: a wrapper passing them on to a
    C{load} that takes C{build} would get the page's body where it expects
    a L{LoadedTask}; a decorator's signature reads so), nor one whose
    signature cannot be read.
    """
    try:
        parameters = inspect.signature(load, follow_wrapped=False).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "build" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               for p in parameters)


def only_task(uuid: str, messages: List[Message]) -> Task:
    """
    Join the messages of one task into its tree (an empty, incomplete
    tree if there are none).  Messages that came after the tree was
    complete (duplicates) are kept as its strays.
    """
    tasks = list(parse_messages(messages))
    if not tasks:
        return Task(uuid, WrittenAction(uuid, ()), False, [])
    for later in tasks[1:]:
        tasks[0].strays.extend(later.messages())
    return tasks[0]
