"""
Tests for the C{txcausal} command (L{txcausal._cli}): in process for the
details, and as a real subprocess on real files for what users run.
"""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import orjson
from twisted.logger import Logger, jsonFileLogObserver
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli import main, render_lines
from txcausal._cli._common import PROGRESS_MIN_BYTES, Progress
from txcausal._cli._tree import TreeOptions
from txcausal.test._helpers import run_example, run_python
from txcausal.test.test_parse import end, lines, msg, sample_task, start

# 2001-09-09 01:46:40 UTC
T0 = 1_000_000_000.0


def small_task(uuid: str = "T") -> List[Any]:
    return [
        start(uuid, [1], T0, "app:main", user="alice"),
        msg(uuid, [2], T0 + 0.25, message_type="app:note", nested={"a": [1, {"b": "x"}]}),
        end(
            uuid,
            [3],
            T0 + 0.5,
            "app:main",
            "failed",
            exception="builtins.KeyError",
            reason="boom\nsecond line",
        ),
    ]


def cli(args: List[str], stdin: bytes = b"") -> Tuple[int, str, str]:
    """
    Run L{main} in process.

    @return: The exit status, standard output and standard error.
    """
    out, err = io.StringIO(), io.StringIO()
    status = main(args, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


class TreeCommandTests(SynchronousTestCase):
    """
    Tests for C{txcausal tree}.
    """

    def test_tree(self) -> None:
        """
        Each task is its UUID then a tree: action type and level, status,
        start time and duration, fields nested below, the finish message
        last; values are cut at a newline.
        """
        status, out, err = cli(["tree"], lines(*small_task()))
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(
            out,
            """\
T
└── app:main/1 ⇒ started 2001-09-09 01:46:40.000Z ⧖ 0.500s
    ├── user: alice
    ├── app:note/2 2001-09-09 01:46:40.250Z
    │   └── nested:
    │       └── a:
    │           ├── 0: 1
    │           └── 1:
    │               └── b: x
    └── app:main/3 ⇒ failed 2001-09-09 01:46:40.500Z
        ├── exception: builtins.KeyError
        └── reason: boom…

""",
        )

    def test_ascii(self) -> None:
        """
        C{--ascii} draws with ASCII only.
        """
        out = cli(["tree", "--ascii"], lines(*small_task()))[1]
        self.assertTrue(out.isascii())
        self.assertIn("`-- app:main/1 => started", out)
        self.assertIn("|-- app:note/2", out)

    def test_fieldLimit(self) -> None:
        """
        C{--field-limit} cuts long values; 0 shows them whole, continuation
        lines aligned under the tree.
        """
        task = [msg("L", [1], T0, message_type="m", text="x" * 30, more="a\nb")]
        self.assertIn("text: xxxxx…\n", cli(["tree", "-l", "5"], lines(*task))[1])
        whole = cli(["tree", "-l", "0"], lines(*task))[1]
        self.assertIn("text: " + "x" * 30 + "\n", whole)
        self.assertIn("├── more: a\n    │   b\n", whole)

    def test_selectTask(self) -> None:
        """
        C{--task-uuid} shows only the tasks named.
        """
        data = lines(*small_task("A"), *small_task("B"), *small_task("C"))
        out = cli(["tree", "-u", "B"], data)[1]
        self.assertEqual(re.findall(r"^[A-C]$", out, re.M), ["B"])
        out = cli(["tree", "-u", "A", "-u", "C"], data)[1]
        self.assertEqual(re.findall(r"^[A-C]$", out, re.M), ["A", "C"])

    def test_failedOnly(self) -> None:
        """
        C{--failed} shows only tasks in which an action failed or a
        traceback was logged.
        """
        ok = [start("OK", [1], T0, "app:main"), end("OK", [2], T0, "app:main")]
        traced = msg("TB", [1], T0, message_type="eliot:traceback")
        out = cli(["tree", "--failed"], lines(*ok, *small_task("BAD"), traced))[1]
        self.assertEqual(re.findall(r"^\w+$", out, re.M), ["BAD", "TB"])

    def test_incomplete(self) -> None:
        """
        Incomplete tasks are shown, marked, with what is missing.
        """
        task = sample_task()
        out = cli(["tree"], lines(task[0], task[2], task[4]))[1]
        self.assertIn("T [incomplete]\n", out)
        self.assertIn("│   ├── missing /3/2\n", out)
        self.assertIn("no finish message", out)
        out = cli(["tree"], lines(task[-1]))[1]
        self.assertIn("app:main ⇒ start missing", out)

    def test_missingInLevelOrder(self) -> None:
        """
        A missing level is shown in its place among the children.
        """
        task = sample_task()
        del task[1]
        out = cli(["tree"], lines(*task))[1]
        self.assertIn("    ├── missing /2\n    ├── app:child/3/1", out)

    def test_timeZone(self) -> None:
        """
        Times are UTC by default (C{Z}); C{--local} shows the local offset.
        """
        self.assertIn("01:46:40.000Z", cli(["tree"], lines(*small_task()))[1])
        local = cli(["tree", "--local"], lines(*small_task()))[1]
        self.assertRegex(local, r"\d\d:\d\d:\d\d\.000[+-]\d\d:\d\d")

    def test_color(self) -> None:
        """
        No color when not writing to a terminal, unless C{--color}.
        """
        self.assertNotIn("\x1b[", cli(["tree"], lines(*small_task()))[1])
        self.assertIn("\x1b[", cli(["tree", "--color"], lines(*small_task()))[1])
        self.assertNotIn("\x1b[", cli(["tree", "--no-color"], lines(*small_task()))[1])

    def test_renderLines(self) -> None:
        """
        L{render_lines} renders byte lines to a file object and returns the
        number of tasks, for benchmarks and embedding.
        """
        out = io.StringIO()
        data = lines(*small_task("A"), *small_task("B")).splitlines(keepends=True)
        self.assertEqual(render_lines(data, out, TreeOptions(task_uuids=frozenset(["B"]))), 1)
        self.assertTrue(out.getvalue().startswith("B\n"))

    def test_badLinesReported(self) -> None:
        """
        Unreadable lines are reported on standard error with their line
        number; the rest renders and the status is 0.
        """
        status, out, err = cli(["tree"], b"garbage\n" + lines(*small_task()))
        self.assertEqual(status, 0)
        self.assertIn("└── app:main/1", out)
        self.assertEqual(err, "txcausal: <stdin>:1: skipped: malformed JSON: 'garbage'\n")

    def test_manyBadLinesSummarized(self) -> None:
        """
        After 20 reports for a file, the rest of its bad lines are counted.
        """
        err = cli(["tree"], b"x\n" * 25)[2]
        self.assertEqual(err.count("malformed"), 20)
        self.assertIn("<stdin>: 5 more unreadable lines skipped", err)

    def test_missingFile(self) -> None:
        """
        A file that cannot be opened is reported; the status is 1.
        """
        status, out, err = cli(["tree", self.mktemp()])
        self.assertEqual((status, out), (1, ""))
        self.assertIn("No such file", err)


class PrettyCommandTests(SynchronousTestCase):
    """
    Tests for C{txcausal pretty}.
    """

    def test_blocks(self) -> None:
        """
        Each message is a block: task and level with the time, the type and
        status, then every field, nested values indented and multi-line
        strings aligned.
        """
        out = cli(["pretty"], lines(*small_task()))[1]
        blocks = out.split("\n\n")
        self.assertEqual(
            blocks[0], "T/1  2001-09-09 01:46:40.000Z\n  app:main ⇒ started\n  user: alice"
        )
        self.assertIn("  nested:\n    a:\n      0: 1\n      1:\n        b: x", blocks[1])
        self.assertIn("  reason: boom\n          second line", blocks[2])


class FilterCommandTests(SynchronousTestCase):
    """
    Tests for C{txcausal filter}.
    """

    def select(self, *args: str) -> List[Any]:
        data = lines(*sample_task("A"), *small_task("B"))
        status, out, err = cli(["filter", *args], data)
        self.assertEqual((status, err), (0, ""))
        return [orjson.loads(line) for line in out.splitlines()]

    def levels(self, *args: str) -> List[Tuple[str, List[int]]]:
        return [(m["task_uuid"], m["task_level"]) for m in self.select(*args)]

    def test_fieldEquals(self) -> None:
        """
        C{--field} matches equal values, as JSON or as text, with dotted
        paths into nested values.
        """
        self.assertEqual(self.levels("--field", "result=42"), [("A", [3, 3])])
        self.assertEqual(self.levels("--field", 'result="42"'), [])
        self.assertEqual(self.levels("--field", "user=alice"), [("A", [1]), ("B", [1])])
        self.assertEqual(self.levels("--field", "nested.a.1.b=x"), [("B", [2])])

    def test_contains(self) -> None:
        """
        C{--contains} matches a substring of the field's text.
        """
        self.assertEqual(self.levels("--contains", "reason=second"), [("B", [3])])

    def test_typeAndStatus(self) -> None:
        """
        C{--type} takes globs, C{--status} statuses; repeated, any matches.
        """
        self.assertEqual(self.levels("--type", "app:c*", "--status", "succeeded"), [("A", [3, 3])])
        self.assertEqual(len(self.select("--status", "failed", "--status", "started")), 6)

    def test_timeAndTask(self) -> None:
        """
        C{--since}/C{--until} take ISO 8601 or epoch seconds; C{--task-uuid}
        selects tasks.
        """
        self.assertEqual(self.levels("--since", "2001-09-09T01:46:40.3Z"), [("B", [3])])
        self.assertEqual(
            self.levels("--since", "10.6", "--until", "10.8"), [("A", [4, 1]), ("A", [4, 2])]
        )
        self.assertEqual(len(self.select("--task-uuid", "B")), 3)

    def test_badCondition(self) -> None:
        """
        A condition without C{=} is a usage error, not a traceback.
        """
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        self.assertRaises(SystemExit, main, ["filter", "--field", "nope"])
        self.assertIn("expected FIELD=VALUE", err.getvalue())

    def test_pipesIntoTree(self) -> None:
        """
        The output of C{filter} is input for C{tree}.
        """
        filtered = cli(["filter", "--task-uuid", "B"], lines(*sample_task("A"), *small_task("B")))[
            1
        ]
        self.assertEqual(
            cli(["tree"], filtered.encode())[1], cli(["tree"], lines(*small_task("B")))[1]
        )


class StoryCommandTests(SynchronousTestCase):
    """
    Tests for C{txcausal story}.
    """

    def test_story(self) -> None:
        """
        The story of a key is, in time order, the messages of the task with
        that UUID and those that mention the key as a whole word.
        """
        data = lines(
            msg("M2", [1], T0 + 2, message_type="web:request", path="/users/42/cart"),
            msg("M1", [1], T0 + 1, message_type="db:load", user_id=42),
            msg("M3", [1], T0 + 3, message_type="db:load", user_id=420),
            start("42", [1], T0 + 0.5, "app:job"),
        )
        out = cli(["story", "42"], data)[1].splitlines()
        self.assertEqual(
            out,
            [
                "2001-09-09 01:46:40.500Z 42/1 app:job ⇒ started",
                "2001-09-09 01:46:41.000Z M1/1 db:load  user_id=42",
                "2001-09-09 01:46:42.000Z M2/1 web:request  path=/users/42/cart",
            ],
        )

    def test_json(self) -> None:
        """
        C{--json} writes the story as JSON lines.
        """
        out = cli(["story", "k", "--json"], lines(msg("M", [1], T0, message_type="x", key="k")))[1]
        self.assertEqual(orjson.loads(out)["key"], "k")


class ProgressTests(SynchronousTestCase):
    """
    Tests for the progress indicator.
    """

    def test_bigFilesOnly(self) -> None:
        """
        Progress is shown for big files only, and erased at the end.
        """
        err = io.StringIO()
        progress = Progress(err)
        progress("small", 10, 100)
        self.assertEqual(err.getvalue(), "")
        progress("big", PROGRESS_MIN_BYTES, 2 * PROGRESS_MIN_BYTES)
        self.assertEqual(err.getvalue(), "\rtxcausal: reading big  50%")
        progress.clear()
        self.assertTrue(err.getvalue().endswith("\r\x1b[K"))


def txcausal(*args: str, cwd: Path) -> "subprocess.CompletedProcess[str]":
    """
    Run C{python -m txcausal} as a subprocess.
    """
    return run_python(["-m", "txcausal", *args], cwd=cwd, timeout=120)


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
        self.assertEqual(len(story.stdout.splitlines()), 1)

    def test_twoProcesses(self) -> None:
        """
        The logs of a task continued in a second process join into one
        complete tree, whichever file comes first.
        """
        run_example("reading_two_processes.py", str(self.dir))
        for files in (["parent.log", "worker.log"], ["worker.log", "parent.log"]):
            result = txcausal("tree", *files, cwd=self.dir)
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
