"""
A program that logs from a C{SIGALRM} handler, a thousand times a second,
while its main thread logs without pause, then prints how many messages it
logged and from the handler.  It exits with 1 when its logging stops making
progress (deadlocked).  Run by L{txcausal.test.test_reentry}.
"""

import faulthandler
import os
import signal
import sys
import threading
import time
from typing import Any, List

from txcausal import FileDestination, add_destinations, log_message
from txcausal.logwriter import ThreadedWriter


def main(mode: str, path: str, signals: int) -> None:
    if mode == "utf16":
        add_destinations(FileDestination(open(path, "w", encoding="utf-16")))
    else:
        writer = ThreadedWriter(FileDestination(open(path, "ab")))
        writer.startService()
        if mode == "stopped":
            writer.stopThreading()
    handled: List[int] = [0]
    progress: List[int] = [0]

    def handler(*args: Any) -> None:
        log_message(message_type="sig", n=handled[0])
        handled[0] += 1

    def watchdog() -> None:
        last = -1
        while True:
            time.sleep(5)
            if progress[0] == last:
                faulthandler.dump_traceback(all_threads=True)
                os._exit(1)
            last = progress[0]

    threading.Thread(target=watchdog, daemon=True).start()
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    while handled[0] < signals:
        log_message(message_type="main", i=progress[0], pad="x" * 200)
        progress[0] += 1
    signal.setitimer(signal.ITIMER_REAL, 0)
    if mode == "running":
        writer.stopThreading()
    print(progress[0], handled[0], flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
