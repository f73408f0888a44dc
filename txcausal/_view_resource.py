# -*- test-case-name: txcausal.test.test_webview,txcausal.test.test_webview_task -*-
"""
L{TaskViewResource}: the web view as a twisted.web resource, serving the
page, its static files, JSON endpoints and a stream of server-sent events.

Routes, under wherever the resource is mounted::

    ./                  the page: the task list
    ./task/<uuid>       the page: one task (a stable address)
    ./task/?uuid=<uuid> the same (for the UUIDs "." and "..")
    ./static/<name>     the page's script and style sheet, from the package
    ./api/tasks         the task list, filtered and paged (JSON)
    ./api/task/<uuid>   one task as a tree (JSON)
    ./api/task?uuid=<uuid>  the same, for any UUID
    ./api/events        changes, as they happen (text/event-stream)

Nothing else is served: no request names a file.
"""

from __future__ import annotations

import threading
from functools import partial
from importlib.resources import files
from typing import Any, Callable, Dict, List, Optional, Tuple
from weakref import WeakKeyDictionary

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorCore
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from ._view_builds import Builds, indexed_state
from ._view_events import EventStream
from ._view_index import QueryStopped
from ._view_query import BadRequest, TaskList, search_of
from ._view_source import ITaskSource, RunInThread, off_reactor, on_reactor, takes_build, takes_stop
from ._view_task import dumps, task_body

#: Log content is data: no inline script, nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_STATIC = {
    b"app.js": b"text/javascript; charset=utf-8",
    b"style.css": b"text/css; charset=utf-8",
}
#: twisted.web's requests are not annotated: take them as they come.
Request = Any


def _asset(name: str) -> bytes:
    return bytes((files("txcausal") / "_view_static" / name).read_bytes())


def _secure(request: Request) -> None:
    request.setHeader(b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii"))
    request.setHeader(b"x-content-type-options", b"nosniff")
    request.setHeader(b"referrer-policy", b"no-referrer")
    request.setHeader(b"x-frame-options", b"DENY")


def _page_name(key: Any) -> str:
    """
    What a failed build (see L{Builds}) calls the page of C{key}, a task
    UUID and the search it is shown with.
    """
    uuid, search = key
    if search is None:
        return f"task {uuid[:200]!r}"
    kind, text = search
    return f"task {uuid[:200]!r} ({'story' if kind == 'story' else 'search'} {text[:200]!r})"


#: For each reactor, a flag set when it begins to stop: one C{before}
#: C{shutdown} trigger per reactor, however many resources it has.
_STOPPING: "WeakKeyDictionary[Any, threading.Event]" = WeakKeyDictionary()


def _stopping(reactor: Any) -> threading.Event:
    """
    The flag set when C{reactor} begins to stop (never, for a reactor
    without system events, such as a C{Clock}).  A reactor that cannot be
    a weak key (no weak references, or not hashable) gets a flag and a
    trigger for each call.
    """
    try:
        flag = _STOPPING.get(reactor)
    except TypeError:
        flag = None
    if flag is None:
        flag = threading.Event()
        try:
            _STOPPING[reactor] = flag
        except TypeError:
            pass
        if IReactorCore.providedBy(reactor):
            reactor.addSystemEventTrigger("before", "shutdown", flag.set)
    return flag


class TaskViewResource(Resource):
    """
    A browser view of the tasks of a source: a task list with filters, a
    page per task with its tree and a waterfall timeline, updated live.

    A task's page asked for again while it is built (several tabs on one
    big task) is built once for all of them.

    Mount it in a site (C{root.putChild(b"tasks", TaskViewResource(ring))})
    B{behind the application's own authentication}: it shows whatever was
    logged, and checks nobody's credentials.

    What fails while it answers (a page, the task list, a search: not a
    stop) is answered C{500} and logged once through twisted.logger, in the
    namespace C{txcausal.webview}, at the C{critical} level, as twisted.web
    logs a failed render: the application sees it in the observers it began
    logging to, and Twisted prints it on standard error until then.
    """

    isLeaf = True

    def __init__(
        self,
        source: ITaskSource,
        reactor: Any = None,
        interval: float = 0.5,
        runInThread: Optional[RunInThread] = None,
    ) -> None:
        """
        @param source: Where the tasks come from: a L{TaskRing} filled by a
            running service, or L{LogFiles}.
        @param reactor: Schedules the event stream's checks for changes,
            and lends its thread pool to the task list's queries; the
            global reactor by default.
        @param interval: Seconds between two checks for changes while a
            page is open.
        @param runInThread: Runs the task list's queries (filtering and
            ordering every task) off the reactor thread.  By default, the
            reactor's thread pool; with a reactor without threads (a
            C{Clock} in tests), in-line, in the reactor's thread.  The
            queries in flight when the reactor begins to stop (a C{before}
            C{shutdown} trigger) stop before their next run of tasks, and
            the searches and task loads of the source before their next
            batch or message, so that the thread pool stops promptly;
            their requests are answered C{503}, if the reactor still
            delivers the answer.
        """
        Resource.__init__(self)  # type: ignore[no-untyped-call]
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self._source = source
        # Its load is looked up at each request.
        self._stop_passed = takes_stop(source.load)
        self._build_passed = takes_build(source.load)
        self._run = runInThread or off_reactor(reactor)
        self._events = EventStream(source, reactor, interval, self._status)
        self._stopping = _stopping(reactor)
        self._list = TaskList(source, self._run, self._stopping.is_set, on_reactor(reactor),
                              self._status)
        self._builds = Builds(self._stopping.is_set, name=_page_name)

    def render(self, request: Request) -> Any:
        """
        Set the security headers on every answer, twisted.web's own to the
        methods not served (405, 501) included, then render.
        """
        _secure(request)
        return Resource.render(self, request)  # type: ignore[no-untyped-call]

    def render_GET(self, request: Request) -> Any:
        """
        Route a request: see the module's documentation.
        """
        path = request.postpath or []
        if not path:
            request.redirect(request.uri.split(b"?", 1)[0] + b"/")
            return b""
        route = self._routes.get((path[0], len(path)))
        if route is None:
            return self._not_found(request)
        try:
            return route(self, request, path)
        except BadRequest as e:
            return self._json(request, {"error": str(e)}, 400)

    def render_HEAD(self, request: Request) -> Any:
        """
        Like C{GET}, without the body.
        """
        return self.render_GET(request)

    def _page(self, request: Request, path: List[bytes]) -> Any:
        base = b"./" if path[0] == b"" else b"../"
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return _asset("index.html").replace(b'<base href="./">', b'<base href="%s">' % base)

    def _static(self, request: Request, path: List[bytes]) -> Any:
        kind = _STATIC.get(path[1])
        if kind is None:
            return self._not_found(request)
        request.setHeader(b"content-type", kind)
        request.setHeader(b"cache-control", b"no-cache")
        return _asset(path[1].decode("ascii"))

    def _api(self, request: Request, path: List[bytes]) -> Any:
        name = path[1:]
        if name == [b"tasks"]:
            return self._tasks(request)
        if name == [b"events"]:
            return self._events.render(request)
        if len(name) == 2 and name[0] == b"task":
            return self._task(request, name[1].decode("utf-8", "replace"))
        if name == [b"task"]:  # api/task?uuid=: any UUID, "." and ".." too.
            uuid = (request.args or {}).get(b"uuid")
            if uuid:
                return self._task(request, uuid[0].decode("utf-8", "replace"))
        return self._not_found(request)

    _routes: Dict[Tuple[bytes, int], Callable[..., Any]] = {
        (b"", 1): _page,
        (b"task", 2): _page,
        (b"static", 2): _static,
        (b"api", 2): _api,
        (b"api", 3): _api,
    }

    def _not_found(self, request: Request) -> bytes:
        return self._json(request, {"error": "not found"}, 404)

    def _json(self, request: Request, value: Any, code: int = 200) -> bytes:
        """
        Answer with C{value} as JSON (bytes: already written as JSON).
        """
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return value if isinstance(value, bytes) else dumps(value)

    def _later(self, request: Request, result: "Deferred[Tuple[int, bytes]]") -> Any:
        """
        Answer C{request} with C{result}'s code and body (written as JSON by
        the work that logs its failures: a failure there, writing the
        answer too, is logged once, where it happens), or as a stop (503)
        or a failure (500).
        """
        def write(value: Tuple[int, Any]) -> None:
            if not request.finished and not getattr(request, "_disconnected", False):
                request.write(self._json(request, value[1], value[0]))
                request.finish()

        def failed(reason: Failure) -> None:
            if isinstance(reason.value, QueryStopped):
                write((503, {"error": "the server is stopping"}))
            else:
                write((500, {"error": f"internal error: {reason.getErrorMessage()[:200]}"}))

        result.addCallback(write).addErrback(failed)
        return NOT_DONE_YET

    def _tasks(self, request: Request) -> Any:
        return self._later(request, self._list.answer(request))

    def _task(self, request: Request, uuid: str) -> Any:
        search = search_of(request)
        state = indexed_state(self._source.index, uuid)
        page = self._builds.build((uuid, search), state, partial(self._build, uuid, search))
        finished = getattr(request, "notifyFinish", None)  # Not on every wrapper.
        if finished is not None:  # Gone: only this request leaves the build.
            finished().addErrback(lambda _: page.cancel())
        return self._later(request, page)

    def _build(self, uuid: str, search: Optional[Tuple[str, str]],
               stop: Callable[[], bool]) -> "Deferred[Tuple[int, bytes]]":
        """
        Load task C{uuid} and make its page (see
        L{Builds<txcausal._view_builds.Builds>}), stopping between steps
        once C{stop} says so.
        """
        def build(loaded: Any) -> bytes:
            return task_body(loaded, search, stop)

        def tree(loaded: Any) -> Tuple[int, bytes]:
            if loaded is None:
                return 404, dumps({"error": "no such task"})
            # Built by the source in its load's job, or here.
            return 200, loaded if isinstance(loaded, bytes) else build(loaded)

        load: Callable[..., "Deferred[Any]"] = self._source.load
        passed: Dict[str, Any] = {}
        if self._stop_passed:
            passed["stop"] = stop
        if self._build_passed:
            passed["build"] = build
        return load(uuid, **passed).addCallback(tree)

    def _status(self) -> Dict[str, Any]:
        return self._source.status()
