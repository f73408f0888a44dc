"""
The real C{txcausal} command, in a subprocess, on real files: what users
run, including logs at their worst (hostile records, huge lines, live
pipes, growing and rotated files, trial's C{test.log}).
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, List

from twisted.logger import Logger, jsonFileLogObserver
from twisted.trial.unittest import SynchronousTestCase

from txcausal._source import DEFAULT_MAX_LINE_BYTES
from txcausal.test._helpers import examples_dir, run_example, run_python
from txcausal.test._reading import end, lines, msg, sample_task, small_task, start, txcausal


class CommandProcessTests(SynchronousTestCase):
    """
    The real command, in a subprocess, on real files.
    """

    def setUp(self) -> None:
        self.dir = Path(self.mktemp())
        self.dir.mkdir()

    def test_garbageLines(self) -> None:
        """
        A file with garbage and a truncated last line renders what it can;
        the bad lines are reported with file and line, without traceback.
        """
        path = self.dir / "bad.log"
        path.write_bytes(lines(*small_task()) + b"\x00\xff garbage\n" + lines(*sample_task())[:-20])
        result = txcausal("tree", "bad.log", cwd=self.dir)
        self.assertEqual(result.returncode, 0)
        self.assertIn("bad.log:4: skipped: malformed JSON", result.stderr)
        self.assertIn("bad.log:12: skipped: malformed JSON", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertIn("T [incomplete]", result.stdout)
        self.assertIn("└── app:main/1 ⇒ started", result.stdout)

    def test_gzip(self) -> None:
        """
        Gzipped files are read.
        """
        (self.dir / "log.gz").write_bytes(gzip.compress(lines(*small_task())))
        result = txcausal("tree", "log.gz", cwd=self.dir)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertIn("app:main/3 ⇒ failed", result.stdout)

    def test_twistedLog(self) -> None:
        """
        A log written by Twisted's C{jsonFileLogObserver} shows its events,
        with their formatted text, in C{tree}, C{pretty} and C{story}.
        """
        with open(self.dir / "twisted.json", "w") as f:
            log = Logger(namespace="app.web", observer=jsonFileLogObserver(f))
            log.info("Served {path} to {user}", path="/cart", user="u-17")
            log.warn("Slow request")
        tree = txcausal("tree", "twisted.json", cwd=self.dir)
        self.assertEqual(tree.stderr, "")
        self.assertIn("twisted:log/1", tree.stdout)
        self.assertIn("log_text: Served /cart to u-17", tree.stdout)
        pretty = txcausal("pretty", "twisted.json", cwd=self.dir)
        self.assertIn("log_level: warn", pretty.stdout)
        story = txcausal("story", "u-17", "twisted.json", cwd=self.dir)
        self.assertIn("◆ twisted:log/1", story.stdout)
        self.assertNotIn("Slow request", story.stdout)

    def test_twoProcesses(self) -> None:
        """
        The logs of a task continued in a second process join into one
        complete tree, whichever file comes first.  The example makes the
        directory it is given.
        """
        logs = self.dir / "new" / "logs"
        run_example("reading_two_processes.py", str(logs))
        for files in (["parent.log", "worker.log"], ["worker.log", "parent.log"]):
            result = txcausal("tree", *files, cwd=logs)
            self.assertEqual(result.stderr, "")
            self.assertEqual(len(re.findall(r"^\S+$", result.stdout, re.M)), 1)
            self.assertNotIn("incomplete", result.stdout)
            self.assertRegex(
                result.stdout, r"eliot:remote_task/2/1 ⇒ started[^\n]*\n.*worker:resized"
            )

    def test_eliotLog(self) -> None:
        """
        A log written by Eliot itself renders.
        """
        script = (
            "import sys\nfrom eliot import start_action, to_file\n"
            "to_file(open('eliot.log', 'w'))\n"
            "with start_action(action_type='legacy:job', n=1):\n    pass\n"
        )
        run_python(["-c", script], cwd=self.dir)
        result = txcausal("tree", "eliot.log", cwd=self.dir)
        self.assertIn("legacy:job/1 ⇒ started", result.stdout)
        self.assertIn("legacy:job/2 ⇒ succeeded", result.stdout)

    def test_closedPipe(self) -> None:
        """
        When the reader goes away (C{| head}), the command ends quietly.
        """
        path = self.dir / "big.log"
        path.write_bytes(b"".join(lines(*sample_task(f"task-{i}")) for i in range(3000)))
        process = subprocess.Popen(
            [sys.executable, "-m", "txcausal", "tree", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(100)
        process.stdout.close()
        stderr = process.stderr.read()
        process.stderr.close()
        self.assertEqual(process.wait(timeout=120), 0)
        self.assertEqual(stderr, b"")

    def test_help(self) -> None:
        """
        C{python -m txcausal --help} lists the subcommands.
        """
        result = txcausal("--help", cwd=self.dir)
        self.assertEqual(result.returncode, 0)
        for name in ("tree", "pretty", "filter", "story"):
            self.assertIn(name, result.stdout)


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
        self.process.stdout.read()
        err = self.process.stderr.read()
        self._timer.cancel()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        self.process.wait(timeout=60)
        return err.decode("utf-8")


class HostileFileTests(SynchronousTestCase):
    """
    Untrusted files cannot make the command reveal, hang or eat the
    machine.
    """

    def setUp(self) -> None:
        self.dir = Path(self.mktemp())
        self.dir.mkdir()

    def test_formatInjection(self) -> None:
        """
        A Twisted record whose format reaches for the reader's environment,
        or asks for a field 400 MB wide, is shown with its raw format by
        C{tree}, C{pretty}, C{filter} and C{story}.
        """
        secret = "/home/secret-marker-7f3a"
        injected = "{log_logger.__init__.__globals__[os].environ[HOME]}"
        records = [
            {"log_format": injected, "log_time": 1.0, "log_logger": {"unpersistable": True},
             "log_namespace": "evil"},
            {"log_format": "{log_time:>400000000}", "log_time": 2.0, "log_namespace": "evil"},
        ]
        import orjson

        path = self.dir / "evil.json"
        path.write_bytes(b"".join(b"\x1e" + orjson.dumps(r) + b"\n" for r in records))
        for command in (["tree"], ["pretty"], ["filter"], ["story", "evil"]):
            result = txcausal(*command, "evil.json", cwd=self.dir, env={"HOME": secret})
            self.assertEqual((result.returncode, result.stderr), (0, ""), command)
            self.assertNotIn(secret, result.stdout)
            self.assertIn("environ[HOME]", result.stdout)
            self.assertIn("log_time:>400000000", result.stdout)
            self.assertLess(len(result.stdout), 10_000)

    def test_noNewlines(self) -> None:
        """
        50 MB without a newline is reported as one line too long and
        skipped, with memory bounded by the line bound, not the input.
        """
        big = self.dir / "big.log"
        with open(big, "wb") as f:
            for _ in range(50):
                f.write(b"x" * (1 << 20))
        empty = self.dir / "empty.log"
        empty.write_bytes(lines(*small_task()))
        script = (
            "import resource, sys\n"
            "from txcausal._cli import main\n"
            "status = main(['tree', sys.argv[1]])\n"
            "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "sys.stderr.write('maxrss %d\\n' % peak)\n"
            "sys.exit(status)\n"
        )
        peaks = []
        for path in (empty, big):
            result = run_python(["-c", script, str(path.resolve())], cwd=self.dir)
            self.assertEqual(result.returncode, 0, result.stderr)
            peaks.append(int(re.findall(r"maxrss (\d+)", result.stderr)[0]) * 1024)
        self.assertIn(f"big.log:1: skipped: longer than {DEFAULT_MAX_LINE_BYTES} bytes",
                      result.stderr)
        self.assertLess(peaks[1] - peaks[0], DEFAULT_MAX_LINE_BYTES + (8 << 20))


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


class TrialLogTests(SynchronousTestCase):
    """
    trial's C{_trial_temp/test.log}, written by a real trial run, is read
    directly.
    """

    def test_trialLog(self) -> None:
        """
        C{tree} shows the tasks logged by the tests and trial's own events,
        every line read; C{--failed} the failing action.
        """
        cwd = Path(self.mktemp())
        cwd.mkdir()
        env = dict(os.environ, PYTHONPATH=str(examples_dir() / "trial_redirect"))
        trial = subprocess.run([sys.executable, "-m", "twisted.trial", "redirect_demo"],
                               cwd=cwd, env=env, capture_output=True, timeout=120)
        self.assertEqual(trial.returncode, 0, trial.stdout + trial.stderr)
        result = txcausal("tree", "_trial_temp/test.log", cwd=cwd)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertIn("demo:work/1 ⇒ started", result.stdout)
        self.assertIn("demo:step/2", result.stdout)
        self.assertIn("log_text: --> redirect_demo.test_demo.DemoTests.test_loggedWork <--",
                      result.stdout)
        failed = txcausal("tree", "--failed", "_trial_temp/test.log", cwd=cwd).stdout
        self.assertIn("demo:doomed/2 ⇒ failed", failed)
        self.assertNotIn("demo:work", failed)


#: A test module whose tests fail, log a Twisted failure and leave a failed
#: Deferred unhandled: trial writes tracebacks of its own to test.log.
_FAILING_TESTS = """
import gc
from twisted.internet import defer
from twisted.logger import Logger
from twisted.trial.unittest import TestCase
from txcausal import start_action
from txcausal.twisted import redirectLogsForTrial

redirectLogsForTrial()

class T(TestCase):
    def test_errors(self):
        with start_action(action_type="t:errors", item=7):
            raise KeyError("boom")

    def test_loggedFailure(self):
        try:
            1 / 0
        except ZeroDivisionError:
            Logger().failure("Dividing {what}", what="things")

    def test_unhandled(self):
        defer.fail(ValueError("nobody handled me"))
        gc.collect()
"""


class TrialFailuresTests(SynchronousTestCase):
    """
    trial's C{test.log} after a run with errors: the failed actions and
    Twisted's own tracebacks are read as failures.
    """

    def test_failuresAndTracebacks(self) -> None:
        """
        C{tree --failed} shows the action that failed, the failure logged
        with Twisted's logger and the unhandled error in a Deferred, each
        with its exception; every line is read.
        """
        cwd = Path(self.mktemp())
        (cwd / "failing").mkdir(parents=True)
        (cwd / "failing" / "__init__.py").write_text("")
        (cwd / "failing" / "test_failing.py").write_text(_FAILING_TESTS)
        env = dict(os.environ, PYTHONPATH=str(cwd))
        trial = subprocess.run([sys.executable, "-m", "twisted.trial", "failing"],
                               cwd=cwd, env=env, capture_output=True, timeout=120)
        self.assertIn(b"FAILED (errors=", trial.stdout, trial.stdout + trial.stderr)
        result = txcausal("tree", "--failed", "-l", "0", "_trial_temp/test.log", cwd=cwd)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertIn("t:errors/2 ⇒ failed", result.stdout)
        self.assertIn("exception: builtins.KeyError", result.stdout)
        self.assertRegex(result.stdout, r"exception: builtins.ZeroDivisionError\n.*\n"
                         r".*log_text: Dividing things\n")
        self.assertRegex(result.stdout, r"exception: builtins.ValueError\n(.*\n)*"
                         r".*reason: nobody handled me\n")
        self.assertNotIn("exception: Failure", result.stdout)
        self.assertNotIn("--> failing.", result.stdout)


class StoryProcessTests(SynchronousTestCase):
    """
    C{txcausal story} on logs written by txcausal.
    """

    def test_keyBoundAtStart(self) -> None:
        """
        The story of a key bound only when a task starts holds that task's
        other messages, in this process's log and in the log of the
        process that continued it.
        """
        cwd = Path(self.mktemp())
        cwd.mkdir()
        run_example("reading_two_processes.py", str(cwd))
        result = txcausal("story", "cat.png", "worker.log", "parent.log", cwd=cwd)
        self.assertEqual(result.stderr, "")
        self.assertIn("◆ parent:thumbnail/1 ⇒ started", result.stdout)
        self.assertIn("worker:resized/2/2", result.stdout)
        self.assertEqual(txcausal("story", "dog.png", "worker.log", cwd=cwd).stdout, "")

    def test_example(self) -> None:
        """
        C{examples/story_of_a_key.py} finds, with the library, the task
        that C{txcausal story} shows, and counts the actions by type.  It
        makes the directory it is given.
        """
        cwd = Path(self.mktemp()) / "logs"
        printed = run_example("story_of_a_key.py", str(cwd)).stdout.splitlines()
        uuid = re.findall(r"task (\S+), items \['fig', 'kiwi'\]", printed[0])[0]
        shown = txcausal("story", "order-2", "shop.log", cwd=cwd).stdout
        self.assertEqual(re.findall(r"^\S+$", shown, re.M), [uuid])
        self.assertEqual([line.split(",")[0] for line in printed[1:]],
                         ["shop:order: 3 actions", "shop:reserve: 4 actions"])
