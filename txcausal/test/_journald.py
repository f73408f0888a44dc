"""
A real journald for the end-to-end tests: the one running, or one started
by hand for the tests (as root, systemd's C{systemd-journald} creates its
socket itself), stopped when the test process exits; and C{journalctl} to
read back.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import IO, Any, Dict, Iterator, List, Optional

import orjson
from twisted.trial.unittest import SkipTest

from txcausal._journal import JOURNAL_SOCKET

_BINARIES = ["/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"]
#: How long journald may take to start listening.
_START_TIMEOUT = 20.0
#: Where the test processes of the machine agree on the journald they start.
_LOCKS = "/run/txcausal-tests"


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
    C{setUp} (trial has no C{setUpClass}).  Each call finds journald
    listening, or starts one (again, should it have gone); the one started
    runs until the last test process using it exits.

    Test processes share journald: two journalds started at once would
    write the same journal files, and one stopped under another process's
    tests would lose their entries.  So a process starts journald holding
    C{start.lock}, and uses it holding C{users.lock} shared (both in
    L{_LOCKS}); at exit, the last user (the one that can lock
    C{users.lock} alone) stops the journald a test process started (its
    process id is in C{journald.pid}), never one that ran before.  Should
    L{_LOCKS} not be makeable (a read-only C{/run}), the process goes on
    alone, saying so: it stops the journald it started at exit.

    @ivar process: The journald this process started, if it did.
    """

    def __init__(self, locks: str = "") -> None:
        self.process: Optional["subprocess.Popen[bytes]"] = None
        self._locks = locks or _LOCKS
        self._users: Optional[int] = None
        self._joined = False
        self._shared = False
        self._pid = 0
        self._log: Optional[IO[bytes]] = None
        self._skip = ""

    def start(self) -> None:
        """
        Make sure journald runs.

        @raise SkipTest: If there is none and none can be started, saying
            why (at once, after the first time).
        """
        if self._skip:
            raise SkipTest(self._skip)
        self._join()
        if listening():
            return
        try:
            self._start()
        except SkipTest as e:
            self._skip = str(e)
            raise

    def _join(self) -> None:
        """
        Count this process among the users of journald, once (as root: only
        root starts journald by hand).
        """
        if self._joined or os.geteuid() != 0:
            return
        try:
            os.makedirs(self._locks, exist_ok=True)
            with self._locked("start.lock"):
                self._users = os.open(os.path.join(self._locks, "users.lock"),
                                      os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fcntl.flock(self._users, fcntl.LOCK_SH)
            self._shared = True
        except OSError as e:
            if self._users is not None:
                os.close(self._users)
                self._users = None
            print(f"txcausal tests: journald not shared with other test processes ({e})",
                  file=sys.stderr)
        self._joined = True
        self._pid = os.getpid()
        atexit.register(self.stop)

    def _start(self) -> None:
        if shutil.which("journalctl") is None:
            raise SkipTest("journalctl is not installed (Debian: apt-get install systemd)")
        binary = next((b for b in _BINARIES if os.access(b, os.X_OK)), None)
        if binary is None:
            raise SkipTest(f"journald is not running and {_BINARIES[0]} is not installed")
        if os.geteuid() != 0:
            raise SkipTest("journald is not running, and only root can start it by hand")
        with self._locked("start.lock"):
            if listening():
                return
            self._stop_started()
            self._log = tempfile.TemporaryFile()
            self.process = subprocess.Popen([binary], stdin=subprocess.DEVNULL,
                                            stdout=self._log, stderr=self._log,
                                            start_new_session=True)
            self._wait_until_listening()
            if self._shared:
                with open(os.path.join(self._locks, "journald.pid"), "w") as pidfile:
                    pidfile.write(f"{self.process.pid}\n")

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        if self._joined and not self._shared:
            yield  # Not shared: no lock to take.
            return
        fd = os.open(os.path.join(self._locks, name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        # The protocol's socket first, then the one journalctl --sync uses.
        while not (listening() and listening(_VARLINK_SOCKET, socket.SOCK_STREAM)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self._output()
                self._stop_started()
                raise SkipTest(f"systemd-journald started by hand did not listen: {output}")
            time.sleep(0.02)

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()[-2000:].decode("utf-8", "replace")

    def stop(self) -> None:
        """
        Stop the journald the tests started, if this process is the last
        one using it (not in a forked child, whose lock is its parent's).
        Runs at exit.
        """
        joined, self._joined = self._joined, False
        users, self._users = self._users, None
        if not joined or os.getpid() != self._pid:
            return
        if users is None:
            self._stop_started()
            self._close_log()
            return
        try:
            with self._locked("start.lock"):
                try:
                    fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return
                self._stop_started()
        finally:
            os.close(users)
            self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _stop_started(self) -> None:
        """
        Stop the journald a test process started, if it still runs: this
        process's, and the one named in C{journald.pid} if that is a
        journald.
        """
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if not self._shared:
            return
        pidfile = os.path.join(self._locks, "journald.pid")
        try:
            with open(pidfile) as f:
                pid = int(f.read())
            os.unlink(pidfile)
        except (OSError, ValueError):
            return
        if _is_journald(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _is_journald(pid) and time.monotonic() < deadline:
                time.sleep(0.02)


def _is_journald(pid: int) -> bool:
    """
    Whether process C{pid} runs (not a zombie) C{systemd-journald}.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    name, _, rest = stat.partition(") ")
    return name.endswith("(systemd-journal") and not rest.startswith("Z")


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
