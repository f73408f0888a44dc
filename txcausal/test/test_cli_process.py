"""
The real C{txcausal} command, in a subprocess, on real files: what users
run, including logs at their worst (hostile records, huge lines).  Input
that stays open (live pipes, growing and rotated files) is tested in
L{txcausal.test.test_cli_live}, trial's C{test.log} in
L{txcausal.test.test_cli_trial}.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

from twisted.logger import Logger, jsonFileLogObserver
from twisted.trial.unittest import SynchronousTestCase

from txcausal._source import DEFAULT_MAX_LINE_BYTES
from txcausal.test._helpers import run_example, run_python
from txcausal.test._reading import lines, sample_task, small_task, txcausal


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
