"""
A real journald for the end-to-end tests: the one running, or one started
by hand for the tests (as root, systemd's C{systemd-journald} creates its
socket itself), stopped when the test process exits; and C{journalctl} to
read back.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import IO, Any, Dict, List, Optional

import orjson
from twisted.trial.unittest import SkipTest

from txcausal._journal import JOURNAL_SOCKET

_BINARIES = ["/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"]
#: How long journald may take to start listening.
_START_TIMEOUT = 20.0


#: Where journald answers C{journalctl --sync}.
_VARLINK_SOCKET = "/run/systemd/journal/io.systemd.journal"


def listening(path: str = JOURNAL_SOCKET, kind: int = socket.SOCK_DGRAM) -> bool:
    """
    Whether something listens at C{path} (the socket file of a journald
    that has stopped stays behind, refusing connections).
    """
    probe = socket.socket(socket.AF_UNIX, kind)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


class Journald:
    """
    A running journald for the tests that need one: they call L{start} in
    C{setUp} (trial has no C{setUpClass}).  The first call finds or starts
    it; the one started is stopped when the process exits.

    @ivar process: The journald the tests started, if they did.
    """

    def __init__(self) -> None:
        self.process: Optional["subprocess.Popen[bytes]"] = None
        self._log: Optional[IO[bytes]] = None
        self._ready = False
        self._skip = ""

    def start(self) -> None:
        """
        Make sure journald runs.

        @raise SkipTest: If there is none and none can be started, saying
            why (at once, after the first time).
        """
        if self._skip:
            raise SkipTest(self._skip)
        if not self._ready:
            try:
                self._start()
            except SkipTest as e:
                self._skip = str(e)
                raise
            self._ready = True

    def _start(self) -> None:
        if shutil.which("journalctl") is None:
            raise SkipTest("journalctl is not installed (Debian: apt-get install systemd)")
        if listening():
            return
        binary = next((b for b in _BINARIES if os.access(b, os.X_OK)), None)
        if binary is None:
            raise SkipTest(f"journald is not running and {_BINARIES[0]} is not installed")
        if os.geteuid() != 0:
            raise SkipTest("journald is not running, and only root can start it by hand")
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([binary], stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=self._log)
        atexit.register(self.stop)
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        # The protocol's socket first, then the one journalctl --sync uses.
        while not (listening() and listening(_VARLINK_SOCKET, socket.SOCK_STREAM)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self._output()
                self.stop()
                raise SkipTest(f"systemd-journald started by hand did not listen: {output}")
            time.sleep(0.02)

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()[-2000:].decode("utf-8", "replace")

    def stop(self) -> None:
        """
        Stop the journald the tests started, if they did.  Runs at exit.
        """
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def journalctl(*args: str) -> bytes:
    """
    Run C{journalctl} once everything sent so far is stored.

    @return: What it writes.
    """
    _run("--sync")
    return _run("--no-pager", *args)


def _run(*args: str) -> bytes:
    result = subprocess.run(["journalctl", *args], capture_output=True, timeout=60)
    if result.returncode:
        raise AssertionError(f"journalctl {' '.join(args)} exited {result.returncode}: "
                             f"{result.stderr.decode('utf-8', 'replace')}")
    return result.stdout


def entries(*task_uuids: str) -> List[Dict[str, Any]]:
    """
    @return: The journal entries of these tasks, oldest first, as
        C{journalctl -o json} gives them.
    """
    output = journalctl("--all", "-o", "json", *(f"ELIOT_TASK={uuid}" for uuid in task_uuids))
    return [orjson.loads(line) for line in output.splitlines()]


#: The journald of this test process.
JOURNALD = Journald()
