# -*- test-case-name: txcausal.test.test_webview -*-
"""
A live browser view of tasks, served by twisted.web: a task list with
filters, and a page per task with its tree and a waterfall timeline.

From log files, run C{txcausal web FILE...}.  In a running service, keep
the most recent tasks in a L{TaskRing} and mount a L{TaskViewResource} in
the service's own site, behind its own authentication::

    from twisted.web.resource import Resource
    from txcausal import add_destinations
    from txcausal.webview import TaskRing, TaskViewResource

    ring = TaskRing(max_tasks=1000)
    add_destinations(ring)
    root = Resource()
    root.putChild(b"tasks", TaskViewResource(ring))  # behind a guard!

The view renders everything logged as text (never as markup) and sends a
Content-Security-Policy that forbids inline script; it shows only the
tasks of its source and never serves a file by name.
"""

from __future__ import annotations

from ._view_files import LogFiles
from ._view_index import QueryStopped
from ._view_resource import CONTENT_SECURITY_POLICY, TaskViewResource
from ._view_ring import TaskRing
from ._view_source import ITaskSource, LoadedTask, Search

__all__ = [
    "TaskViewResource",
    "TaskRing",
    "LogFiles",
    "ITaskSource",
    "LoadedTask",
    "Search",
    "QueryStopped",
    "CONTENT_SECURITY_POLICY",
]
