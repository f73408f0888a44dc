"""
Cross-process tasks, server side: divide two numbers over HTTP.

Each request continues the task of the client that sent it (see
cross_process_client.py), so the two logs make one tree:

    python examples/cross_process_server.py 5000 > server.log
"""

import sys

from twisted.internet.defer import Deferred
from twisted.internet.task import react
from twisted.web.resource import Resource
from twisted.web.server import Site

from txcausal import add_global_fields, log_message, start_action, to_file
from txcausal.web import TracingResource


def divide(x, y):
    with start_action(action_type="divide", x=x, y=y) as action:
        result = x / y
        action.add_success_fields(result=result)
    return result


class Divide(Resource):
    isLeaf = True

    def render_GET(self, request):
        x = int(request.args[b"x"][0])
        y = int(request.args[b"y"][0])
        return str(divide(x, y)).encode("ascii")


def main(reactor, port="5000"):
    add_global_fields(process="server")
    to_file(sys.stdout)
    site = Site(TracingResource(Divide()))
    listening = reactor.listenTCP(int(port), site, interface="127.0.0.1")
    log_message(message_type="server:listening", port=listening.getHost().port)
    return Deferred()  # Serve until interrupted.


if __name__ == "__main__":
    react(main, sys.argv[1:])
