"""
A ThreadedWriter in front of a slow destination: logging costs the reactor
microseconds while the destination takes 20 ms a message on the writer's
thread, and stopping the writer waits until everything is written.

    python threaded_writer_service.py
"""

import sys
import time

from twisted.internet.task import deferLater, react

from txcausal import FileDestination, log_message, start_action
from txcausal.logwriter import ThreadedWriter


class SlowStdout(FileDestination):
    """Writes to stdout, as slowly as a congested network disk."""

    def __call__(self, message):
        time.sleep(0.02)
        FileDestination.__call__(self, message)


async def main(reactor):
    writer = ThreadedWriter(SlowStdout(sys.stdout), reactor)
    writer.startService()
    started = time.perf_counter()
    with start_action(action_type="demo:burst", count=10):
        for n in range(10):
            log_message(message_type="demo:item", n=n)
    cost = time.perf_counter() - started
    # The reactor is free while the writer works: it runs this timer.
    await deferLater(reactor, 0.01, lambda: None)
    await writer.stopService()
    print(f"logging took {cost * 1000:.1f} ms; writing about 240 ms", file=sys.stderr)


if __name__ == "__main__":
    react(main, [])
