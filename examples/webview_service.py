"""
The web view inside a running service: a TaskRing keeps the recent tasks,
and the view is mounted at /tasks/ behind HTTP basic authentication (the
view checks no credentials itself).  The script asks for the task list with
and without the password, prints what it got, and stops:

    python webview_service.py
"""

import treq
from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.portal import IRealm, Portal
from twisted.internet.task import react
from twisted.web.guard import BasicCredentialFactory, HTTPAuthSessionWrapper
from twisted.web.resource import IResource, Resource
from twisted.web.server import Site
from zope.interface import implementer

from txcausal import add_destinations, start_action
from txcausal.webview import TaskRing, TaskViewResource


@implementer(IRealm)
class TasksRealm:
    def __init__(self, view):
        self.view = view

    def requestAvatar(self, avatarId, mind, *interfaces):
        return IResource, self.view, lambda: None


def guarded(view):
    checker = InMemoryUsernamePasswordDatabaseDontUse(admin=b"s3cret")
    portal = Portal(TasksRealm(view), [checker])
    return HTTPAuthSessionWrapper(portal, [BasicCredentialFactory(b"tasks")])


async def main(reactor):
    ring = TaskRing(max_tasks=500)
    add_destinations(ring)
    root = Resource()
    root.putChild(b"tasks", guarded(TaskViewResource(ring, reactor)))
    port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
    url = f"http://127.0.0.1:{port.getHost().port}/tasks/api/tasks"

    with start_action(action_type="shop:restock", sku="plum"):
        pass

    anonymous = await treq.get(url)
    print("without a password:", anonymous.code)
    admin = await treq.get(url, auth=("admin", "s3cret"))
    for task in (await admin.json())["tasks"]:
        print("task:", task["type"], task["status"], task["messages"], "messages")
    await port.stopListening()


react(main, [])
