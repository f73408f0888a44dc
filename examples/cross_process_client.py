"""
Cross-process tasks, client side: ask the server (cross_process_server.py)
to divide, carrying the task along with the request:

    python examples/cross_process_client.py 5 0 > client.log
    txcausal tree client.log server.log
"""

import sys

from twisted.internet.defer import ensureDeferred
from twisted.internet.task import react

from txcausal import add_global_fields, start_action, to_file, treq


class RemoteError(Exception):
    """
    The server answered with an error.
    """


async def remote_divide(reactor, base_url, x, y):
    with start_action(action_type="remote_divide", x=x, y=y) as action:
        response = await treq.get(base_url, params={"x": x, "y": y}, reactor=reactor)
        body = await response.text()
        if response.code != 200:
            raise RemoteError(f"HTTP {response.code}")
        result = float(body)
        action.add_success_fields(result=result)
    return result


async def run(reactor, x, y, base_url):
    with start_action(action_type="main"):
        return await remote_divide(reactor, base_url, int(x), int(y))


def main(reactor, x, y, base_url="http://127.0.0.1:5000/"):
    add_global_fields(process="client")
    to_file(sys.stdout)
    return ensureDeferred(run(reactor, x, y, base_url))


if __name__ == "__main__":
    react(main, sys.argv[1:])
