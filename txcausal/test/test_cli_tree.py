"""
Tests for C{txcausal tree} (L{txcausal._cli._tree}), in process.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from typing import List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli import main, render_lines
from txcausal._cli._tree_text import TreeOptions
from txcausal.parse import TaskFilter
from txcausal.test._helpers import run_python
from txcausal.test._reading import (
    T0,
    OpenPipe,
    cli,
    end,
    lines,
    msg,
    sample_task,
    small_task,
    start,
    twisted_log,
)


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
└── app:main/1 ⇒ started 2001-09-09 01:46:40.000Z ⧖ 500.0ms
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

    def test_actionTypeNotText(self) -> None:
        """
        An action whose C{action_type} is not a string (a number, from a
        program's constants) is one action, as eliot-tree draws it, its
        type shown as JSON writes it.
        """
        data = lines(start("T", [1], T0, 5), end("T", [2], T0 + 1, 5))  # type: ignore[arg-type]
        status, out, err = cli(["tree", "--no-color"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertRegex(out, r"^T\n└── 5/1 ⇒ started [^\n]*\n    └── 5/2 ⇒ succeeded [^\n]*\n\n$")
        with tempfile.NamedTemporaryFile(suffix=".log") as log:
            log.write(data)
            log.flush()
            theirs = run_python(["-c", "import sys; from eliottree._cli import main; "
                                 "sys.exit(main())", "--color=never", log.name])
        self.assertEqual(theirs.returncode, 0, theirs.stderr)
        self.assertEqual([line[:13] for line in out.splitlines()],
                         [line[:13] for line in theirs.stdout.splitlines()])

    def test_actionTypeNotTextHostile(self) -> None:
        """
        An C{action_type} that orjson cannot write (an integer past 64 bits,
        also inside a list or a dict) or that is no type at all (C{null}) does
        not crash C{tree}, C{stats} or C{export}: each reads the task whole.
        """
        for kind in (2**70, {"k": 2**70}, [1, "x"], None):
            data = "".join(json.dumps(m) + "\n" for m in (
                start("T", [1], T0, kind), end("T", [2], T0 + 1, kind))).encode("utf-8")  # type: ignore[arg-type]
            status, out, err = cli(["tree", "--no-color"], data)
            self.assertEqual((status, err), (0, ""), kind)
            self.assertIn("/2 ⇒ succeeded", out, kind)
            if kind is not None:
                self.assertIn(json.dumps(kind, separators=(",", ":")), out)
            for args in (["stats"], ["export", "--format", "otlp-json"]):
                status, out, err = cli(args, data)
                self.assertEqual(status, 0, (kind, args, err))
                self.assertNotIn("error", err)
                self.assertNotEqual(out, "", (kind, args))

    def test_longIntegers(self) -> None:
        """
        An integer past 64 bits (which txcausal writes exactly) is shown
        exactly, not as a float.
        """
        data = json.dumps(msg("T", [1], T0, message_type="big", n=2**70, s=[-(2**66)]))
        out = cli(["tree"], data.encode("utf-8") + b"\n")[1]
        self.assertIn("n: 1180591620717411303424\n", out)
        self.assertIn("0: -73786976294838206464\n", out)

    def test_ascii(self) -> None:
        """
        C{--ascii} draws with ASCII only.
        """
        out = cli(["tree", "--ascii"], lines(*small_task()))[1]
        self.assertTrue(out.isascii())
        self.assertIn("`-- app:main/1 => started", out)
        self.assertIn("|-- app:note/2", out)

    def test_shortDurations(self) -> None:
        """
        An action shorter than a millisecond shows its duration in
        microseconds (C{us} with C{--ascii}) rather than as C{0.000s}; so
        does C{pretty}.
        """
        task = [start("S", [1], T0, "app:quick"), end("S", [2], T0 + 0.000042, "app:quick")]
        self.assertIn("⇒ started 2001-09-09 01:46:40.000Z ⧖ 42µs\n", cli(["tree"], lines(*task))[1])
        ascii = cli(["tree", "--ascii"], lines(*task))[1]
        self.assertIn("=> started 2001-09-09 01:46:40.000Z ~ 42us\n", ascii)
        pretty = cli(["pretty"], lines(msg("S", [1], T0, message_type="m", duration=0.0002)))[1]
        self.assertIn("  m ⧖ 200µs\n", pretty)

    def test_durationUnits(self) -> None:
        """
        A duration is shown in the unit that shows it, the same in C{tree},
        C{pretty} and C{stats}: seconds to the millisecond from a second up,
        milliseconds to a tenth from a millisecond up, microseconds below;
        rounding up to the next unit shows that unit.
        """
        for seconds, text in [(2.5, "2.500s"), (0.99996, "1.000s"), (0.0123, "12.3ms"),
                              (0.001, "1.0ms"), (0.0009996, "1.0ms"), (0.000042, "42µs"),
                              (0.0, "0µs"), (-0.0123, "-12.3ms")]:
            task = [start("S", [1], T0, "app:x"), end("S", [2], T0 + 1, "app:x", duration=seconds)]
            self.assertIn(f"started 2001-09-09 01:46:40.000Z ⧖ {text}\n",
                          cli(["tree"], lines(*task))[1])
            self.assertIn(f"  app:x ⇒ succeeded ⧖ {text}\n", cli(["pretty"], lines(task[1]))[1])
            self.assertIn(f"  {text}  S/1\n", cli(["stats"], lines(*task))[1])

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
        options = TreeOptions(select=TaskFilter(task_uuids=frozenset(["B"])))
        self.assertEqual(render_lines(data, out, options), 1)
        self.assertTrue(out.getvalue().startswith("B\n"))


class TreeSelectionTests(SynchronousTestCase):
    """
    Choosing tasks by failure, duration and time, and C{--json}.
    """

    def uuids(self, *args: str, data: bytes = b"") -> List[str]:
        status, out, err = cli(["tree", *args], data or self.data())
        self.assertEqual((status, err), (0, ""))
        return re.findall(r"^(\S+)$", out, re.M)

    def data(self) -> bytes:
        fast = [start("FAST", [1], T0, "a"), end("FAST", [2], T0 + 0.1, "a")]
        slow = [start("SLOW", [1], T0 + 10, "a"), end("SLOW", [2], T0 + 15, "a")]
        return lines(*fast, *slow)

    def test_minDuration(self) -> None:
        """
        C{--min-duration} keeps tasks with an action at least that long.
        """
        self.assertEqual(self.uuids("--min-duration", "1"), ["SLOW"])
        self.assertEqual(self.uuids("--min-duration", "0.1"), ["FAST", "SLOW"])

    def test_timeRange(self) -> None:
        """
        C{--since} and C{--until} keep tasks with a message in the range.
        """
        self.assertEqual(self.uuids("--since", "2001-09-09T01:46:45Z"), ["SLOW"])
        self.assertEqual(self.uuids("--until", "2001-09-09T01:46:40.05Z"), ["FAST"])
        self.assertEqual(self.uuids("--since", "2001-09-09T01:46:40.05", "--until",
                                    "2001-09-09T01:46:50.5+00:00"), ["FAST", "SLOW"])

    def test_failedTwisted(self) -> None:
        """
        C{--failed} also shows Twisted's C{log.failure} records.
        """
        status, out, err = cli(["tree", "--failed"], twisted_log() + twisted_log(failure=True))
        self.assertEqual(out.count("twisted:log/1"), 1)
        self.assertIn("exception: builtins.ZeroDivisionError", out)

    def test_twistedFindable(self) -> None:
        """
        The task UUID C{tree} shows for a Twisted record finds it again with
        C{tree -u} and C{story}.
        """
        data = twisted_log() + lines(*small_task())
        uuid = re.findall(r"^(\S+)\n.*twisted:log", cli(["tree"], data)[1], re.M | re.S)[0]
        self.assertIn("log_text: Hello world", cli(["tree", "-u", uuid], data)[1])
        self.assertIn("◆ twisted:log/1", cli(["story", uuid], data)[1])

    def test_repeatedTextLines(self) -> None:
        """
        Identical lines of trial's text log (its times have a resolution of
        a second, so a loop logging one line writes them) are a task each,
        each found again with C{tree -u}.
        """
        line = b"2026-12-06 04:58:39+0000 [-] polling again\n"
        data = line * 3
        out = cli(["tree"], data)[1]
        uuids = re.findall(r"^(\S+)\n.*?twisted:log/1", out, re.M | re.S)
        self.assertEqual(len(set(uuids)), 3, out)
        for uuid in uuids:
            found = cli(["tree", "-u", uuid], data)[1]
            self.assertEqual(found.count("polling again"), 1, found)

    def test_repeatsAcrossFiles(self) -> None:
        """
        The files of one C{tree} run are one stream for telling repeats
        apart: a burst of identical lines cut by a rotation (two lines in
        C{log.1}, one in C{log}) is three tasks, each found again with
        C{tree -u} over the same files.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        line = b"2026-12-06 04:58:39+0000 [-] polling again\n"
        paths = [os.path.join(directory, name) for name in ("log.1", "log")]
        for path, data in zip(paths, [line * 2, line], strict=True):
            with open(path, "wb") as f:
                f.write(data)
        out = cli(["tree", *paths])[1]
        uuids = re.findall(r"^(\S+)\n.*?twisted:log/1", out, re.M | re.S)
        self.assertEqual(len(set(uuids)), 3, out)
        for uuid in uuids:
            found = cli(["tree", "-u", uuid, *paths])[1]
            self.assertEqual(found.count("polling again"), 1, found)

    def test_json(self) -> None:
        """
        C{--json} writes each task as one JSON document per line, selected
        as the trees would be.
        """
        status, out, err = cli(["tree", "--json", "--failed"], lines(*sample_task()))
        (document,) = [orjson.loads(line) for line in out.splitlines()]
        self.assertEqual((document["task_uuid"], document["failed"]), ("T", True))
        self.assertEqual(document["children"][0]["duration"], 0.75)
        self.assertEqual(cli(["tree", "--json", "--min-duration", "5"], lines(*sample_task()))[1],
                         "")


class LiveInputTests(SynchronousTestCase):
    """
    Output is flushed whenever the input pipe has nothing more to read.
    """

    def test_idleFlush(self) -> None:
        """
        A task read from a pipe still open is written out (through the
        output's buffer) before the command waits for more.
        """
        pipe = OpenPipe(lines(*small_task()))
        while_open: List[str] = []

        class Out(io.StringIO):
            def flush(self) -> None:
                if not pipe.closed and "app:main/3" in self.getvalue():
                    while_open.append(self.getvalue())
                    pipe.close()

        with os.fdopen(pipe.read_end, "rb") as stdin:
            main(["tree"], stdin=stdin, stdout=Out(), stderr=io.StringIO())
        self.assertIn("app:main/3 ⇒ failed", "".join(while_open))
