"""
A ThreadedWriter in front of a slow destination: logging costs the reactor
a fraction of a millisecond while the destination takes 20 ms a message on
the writer's thread, and stopping the writer waits until everything is
written.  It prints the JSON lines, then what it measured.

    python threaded_writer_service.py
"""

import sys
import threading
import time

from twisted.internet.task import deferLater, react

from txcausal import FileDestination, log_message, start_action
from txcausal.logwriter import ThreadedWriter


class SlowStdout(FileDestination):
    """Writes to stdout, as slowly as a congested network disk."""

    def __init__(self, file):
        FileDestination.__init__(self, file)
        self.calls, self.busy, self.threads = 0, 0.0, set()

    def __call__(self, message):
        started = time.perf_counter()
        time.sleep(0.02)
        FileDestination.__call__(self, message)
        self.calls += 1
        self.busy += time.perf_counter() - started
        self.threads.add(threading.current_thread().name)


async def main(reactor):
    slow = SlowStdout(sys.stdout)
    writer = ThreadedWriter(slow, reactor)
    writer.startService()
    started = time.perf_counter()
    with start_action(action_type="demo:burst", count=10):
        for n in range(10):
            log_message(message_type="demo:item", n=n)
    cost = time.perf_counter() - started
    # The reactor is free while the writer works: it runs this timer.
    await deferLater(reactor, 0.01, lambda: None)
    await writer.stopService()
    print(f"logging took the reactor ({threading.current_thread().name}) "
          f"{cost * 1000:.1f} ms; the destination wrote {slow.calls} messages "
          f"in {slow.busy * 1000:.0f} ms on {', '.join(sorted(slow.threads))}",
          file=sys.stderr)


if __name__ == "__main__":
    react(main, [])
