"""
The real C{txcausal} command, in a subprocess, on input that stays open:
a live pipe, a file followed as it grows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal.test._helpers import run_example, run_python
from txcausal.test._reading import end, lines, msg, sample_task, small_task, start, txcausal


class Live:
    """
    The command running on input that stays open, read line by line; a
    safety timer kills it after a minute so that a command that never
    shows anything fails its test instead of hanging the run.
    """

    def __init__(self, args: List[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "txcausal", *args], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._timer = threading.Timer(60, self.process.kill)
        self._timer.daemon = True
        self._timer.start()

    @property
    def stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin

    def read_until(self, text: str) -> str:
        """
        Read the output until a line containing C{text}.

        @raise AssertionError: If the output ends first.
        """
        assert self.process.stdout is not None
        seen = []
        for line in self.process.stdout:
            seen.append(line.decode("utf-8"))
            if text in seen[-1]:
                return "".join(seen)
        raise AssertionError(f"{text!r} never shown; output: {''.join(seen)!r}")

    def stop(self, interrupt: bool = True) -> str:
        """
        Interrupt the command; or, when its input was closed, wait for it
        to end by itself (an interrupt could then land while it exits,
        and Python report it on standard error).

        @return: What it wrote on standard error.
        """
        if interrupt and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        assert self.process.stdout is not None and self.process.stderr is not None
        if not self.process.stdout.closed:
            self.process.stdout.read()
        err = self.process.stderr.read()
        self._timer.cancel()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        self.process.wait(timeout=60)
        return err.decode("utf-8")


class StreamTests(SynchronousTestCase):
    """
    Logs as they really arrive: concatenated, live, growing and rotated.
    """

    def setUp(self) -> None:
        self.dir = Path(self.mktemp())
        self.dir.mkdir()

    def test_concatenated(self) -> None:
        """
        The logs of two processes concatenated in one stream, in either
        order, give the same single tree as the two files.
        """
        run_example("reading_two_processes.py", str(self.dir))
        files = txcausal("tree", "parent.log", "worker.log", cwd=self.dir).stdout
        self.assertEqual(len(re.findall(r"^\S+$", files, re.M)), 1)
        for order in (["parent.log", "worker.log"], ["worker.log", "parent.log"]):
            data = b"".join((self.dir / name).read_bytes() for name in order)
            result = run_python(["-m", "txcausal", "tree"], cwd=self.dir, input=data.decode())
            self.assertEqual((result.stdout, result.stderr), (files, ""))

    def test_livePipe(self) -> None:
        """
        C{pretty} and C{filter} show each message while their input pipe
        stays open, as with C{tail -f app.log | txcausal pretty}.
        """
        for command, shown in ((["pretty"], "app:main ⇒ started"), (["filter"], '"app:main"')):
            live = Live(command, self.dir)
            live.stdin.write(lines(small_task()[0]))
            live.stdin.flush()
            self.assertIn(shown, live.read_until(shown))
            live.stdin.write(lines(small_task()[1]))
            live.stdin.flush()
            live.read_until("app:note")
            live.stdin.close()
            self.assertEqual(live.stop(interrupt=False), "")

    def test_livePipeTree(self) -> None:
        """
        C{tree} on a pipe that stays open shows each ordinary task as soon
        as it finishes, and holds a task that handed a position to another
        process until that process's part arrives in the same stream, then
        shows the two joined in one tree.
        """
        client = [start("C", [1], 1.0, "client:call"),
                  end("C", [3], 2.0, "client:call", remote_task_levels=["/2"])]
        server = [start("C", [2, 1], 1.2, "eliot:remote_task"),
                  msg("C", [2, 2], 1.3, message_type="server:work"),
                  end("C", [2, 3], 1.4, "eliot:remote_task")]
        live = Live(["tree"], self.dir)
        live.stdin.write(lines(*small_task("FIRST")) + lines(*client))
        live.stdin.write(lines(*small_task("SECOND")))
        live.stdin.flush()
        shown = live.read_until("app:main/3") + live.read_until("app:main/3")
        self.assertEqual(re.findall(r"^\w+$", shown, re.M), ["FIRST", "SECOND"])
        live.stdin.write(lines(*server))
        live.stdin.flush()
        joined = live.read_until("client:call/3")
        self.assertRegex(joined, r"(?m)^C\n└── client:call/1 .*\n(.*\n)*.*server:work/2/2")
        live.stdin.close()
        self.assertEqual(live.stop(interrupt=False), "")

    def test_follow(self) -> None:
        """
        C{tree --follow} shows each task as it finishes in a growing file,
        a task left open after the idle time marked, and follows the file
        when it is rotated by rename.
        """
        path = self.dir / "app.log"
        path.write_bytes(lines(*sample_task("FIRST")))
        live = Live(["tree", "--follow", "app.log", "--idle", "0.5"], self.dir)
        live.read_until("app:main/5 ⇒ succeeded")
        with open(path, "ab") as f:
            f.write(lines(*sample_task("OPEN")[:-1]))
        self.assertIn("OPEN [still open] [incomplete]", live.read_until("[still open]"))
        os.rename(path, str(path) + ".1")
        path.write_bytes(lines(sample_task("OPEN")[-1], *sample_task("AFTER")))
        shown = live.read_until("AFTER")
        self.assertIn("OPEN\n", shown)
        self.assertEqual(live.stop(), "")

    def test_followClosedPipe(self) -> None:
        """
        C{tree --follow} whose reader went away (C{| head}, C{| true}) ends
        quietly, with status 0, at its next write, as the other commands do.
        """
        path = self.dir / "app.log"
        path.write_bytes(lines(*sample_task("FIRST")))
        live = Live(["tree", "--follow", "app.log"], self.dir)
        live.read_until("app:main/5 ⇒ succeeded")
        assert live.process.stdout is not None
        live.process.stdout.close()
        with open(path, "ab") as f:
            f.write(lines(*sample_task("SECOND")))
        err = live.stop(interrupt=False)
        self.assertEqual((live.process.returncode, err), (0, ""))
