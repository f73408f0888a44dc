"""
Tests for the C{txcausal} command (L{txcausal._cli}) in process: what every
subcommand shares, C{pretty} and C{filter}.  The other subcommands have
their own modules; C{test_cli_process}, C{test_cli_live} and
C{test_cli_trial} run the real command.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any, List, Tuple

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import __version__
from txcausal._cli import COMMANDS, build_parser, main
from txcausal._cli._common import PROGRESS_MIN_BYTES, ErrorReporter, Progress
from txcausal.parse import LineError
from txcausal.test._helpers import run_python
from txcausal.test._reading import T0, cli, lines, msg, sample_task, small_task


class CommandTests(SynchronousTestCase):
    """
    What every subcommand shares.
    """

    def test_version(self) -> None:
        """
        C{txcausal --version} prints the version.
        """
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        self.assertRaises(SystemExit, main, ["--version"])
        self.assertEqual(out.getvalue(), f"txcausal {__version__}\n")

    def test_everyOptionHasHelp(self) -> None:
        """
        Each optional argument of each subcommand has help text.
        """
        parser = build_parser()
        subparsers = next(a for a in parser._actions if a.dest == "command")
        assert isinstance(subparsers.choices, dict)
        missing = [
            f"{name} {action.option_strings[-1]}"
            for name, sub in subparsers.choices.items()
            for action in sub._actions
            if action.option_strings and not action.help
        ]
        self.assertEqual(missing, [])
        self.assertEqual(sorted(subparsers.choices), sorted(c.NAME for c in COMMANDS))

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

    def test_fileNamesEscaped(self) -> None:
        """
        File names in reports are escaped: a name cannot drive the
        terminal or forge a line.
        """
        err = io.StringIO()
        reporter = ErrorReporter(err)
        name = "evil\x1b]0;pwned\x07\u202e\nlog"
        reporter(LineError(name, 3, "skipped: malformed JSON"))
        reporter(LineError(name, 0, "No such file"))
        for _ in range(25):
            reporter(LineError(name, 4, "skipped"))
        reporter.summarize()
        progress = Progress(err)
        progress(name, PROGRESS_MIN_BYTES, PROGRESS_MIN_BYTES)
        text = err.getvalue()
        self.assertNotIn("\x1b]", text)
        self.assertNotIn("\u202e", text)
        self.assertIn("evil\\x1b]0;pwned\\x07\\u202e\\nlog:3: skipped", text)
        self.assertEqual(text.count("\n"), 21)

    def test_lineTooLong(self) -> None:
        """
        C{--max-line-bytes} bounds the lines read, with C{K}, C{M} or C{G}
        suffixes; longer lines are reported.
        """
        data = lines(*small_task()) + b'{"x": "' + b"y" * 3000 + b'"}\n'
        status, out, err = cli(["tree", "--max-line-bytes", "2K"], data)
        self.assertEqual(err, "txcausal: <stdin>:4: skipped: longer than 2048 bytes\n")
        self.assertIn("app:main/1", out)
        self.assertIn("no task_uuid", cli(["pretty", "--max-line-bytes", "4k"], data)[2])


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


    def test_compact(self) -> None:
        """
        With C{--compact}, each message is one line, as
        C{eliot-prettyprint --compact} writes it; control characters read
        from the log are escaped.
        """
        data = lines(*small_task(), msg("T", [9], T0, message_type="app:\x1b[2J"))
        status, out, err = cli(["pretty", "--compact"], data)
        self.assertEqual((status, err), (0, ""))
        theirs = run_python(["-c", "from eliot.prettyprint import _main; _main()", "--compact"],
                            input=data.decode("utf-8"))
        self.assertEqual(theirs.returncode, 0, theirs.stderr)
        self.assertEqual(out, theirs.stdout)
        self.assertEqual(len(out.splitlines()), len(small_task()) + 1)
        key = cli(["pretty", "--compact"], lines(msg("T", [1], T0, **{"\x1b[2J": 1})))[1]
        self.assertIn(" \\x1b[2J=1", key)

    def test_compactTimeNotATime(self) -> None:
        """
        With C{--compact}, a message whose timestamp is no time (C{NaN} or an
        infinity, as Python's C{json} writes them, a number out of range,
        another value, or none) is rendered whole, the timestamp shown as
        given (C{?} for none, as without C{--compact}): nothing is lost.
        """
        given = [(b"Infinity", "Infinity"), (b"-Infinity", "-Infinity"), (b"NaN", "NaN"),
                 (b"1e300", "1e+300"), (b'"soon"', "soon"), (b"null", "null"), (b"", "?")]
        data = b"".join(
            b'{"task_uuid":"T","task_level":[%d],%s"message_type":"m","n":%d}\n'
            % (i, b'"timestamp":%s,' % value if value else b"", i)
            for i, (value, _) in enumerate(given, 1))
        status, out, err = cli(["pretty", "--compact", "--utc"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out.splitlines(), [f'T/{i} {shown} message_type="m" n={i}'
                                            for i, (_, shown) in enumerate(given, 1)])

    def test_timeNotATimeAgrees(self) -> None:
        """
        C{pretty} and C{pretty --compact} show a timestamp that is no time
        alike: a number (not a boolean) as a time, or as Python writes it
        when out of range; a string as it is, escaped as the rest of the
        line (a newline cannot split the line in two); another value
        (C{true}, C{null}, a list) as JSON; none as C{?}.
        """
        given = [(b"true", "true"), (b"null", "null"), (b"[1, 2]", "[1,2]"), (b"NaN", "NaN"),
                 (b'"a\\nb"', "a\\nb"), (b'"soon"', "soon"), (b"1e300", "1e+300"),
                 (b"", "?")]
        data = b"".join(
            b'{"task_uuid":"T","task_level":[%d],%s"message_type":"m"}\n'
            % (i, b'"timestamp":%s,' % value if value else b"")
            for i, (value, _) in enumerate(given, 1))
        status, compact, err = cli(["pretty", "--compact", "--utc"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(compact.splitlines(), [f'T/{i} {shown} message_type="m"'
                                                for i, (_, shown) in enumerate(given, 1)])
        status, blocks, err = cli(["pretty", "--utc"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(blocks.split("\n\n")[:-1], [f"T/{i}  {shown}\n  m"
                                                     for i, (_, shown) in enumerate(given, 1)])

    def test_compactTimeNotATimeInPython(self) -> None:
        """
        L{compact_format<txcausal.prettyprint.compact_format>} (and
        L{pretty_format<txcausal.prettyprint.pretty_format>}'s time line)
        shows a boolean timestamp as JSON, not as a time, and a string
        timestamp escaped as the fields are: the message stays on one line.
        """
        from txcausal.prettyprint import compact_format, pretty_format

        base = {"task_uuid": "T", "task_level": [1], "message_type": "m"}
        self.assertEqual([compact_format({**base, "timestamp": value})
                          for value in (True, "a\nb\u00e9", float("nan"))],
                         ['T/1 true message_type="m"', 'T/1 a\\nb\\u00e9 message_type="m"',
                          'T/1 nan message_type="m"'])
        self.assertEqual(pretty_format({**base, "timestamp": False}).splitlines()[1], "false")


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

    def test_fieldEqualsLongInteger(self) -> None:
        """
        Integers past 64 bits, in the log and in C{--field}, are compared
        and written exactly.
        """
        data = b"".join(json.dumps(msg(uuid, [1], 1.0, n=n, s=[n])).encode() + b"\n"
                        for uuid, n in [("A", 2**70), ("B", 2**70 + 1)])
        status, out, err = cli(["filter", "--field", f"s=[{2**70 + 1}]"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual([json.loads(line)["n"] for line in out.splitlines()], [2**70 + 1])

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
        C{--since}/C{--until} take ISO 8601, with any number of fraction
        digits, or epoch seconds; C{--task-uuid} selects tasks.
        """
        self.assertEqual(self.levels("--since", "2001-09-09T01:46:40.3Z"), [("B", [3])])
        self.assertEqual(self.levels("--since", "2001-09-09T01:46:40.26Z"), [("B", [3])])
        self.assertEqual(self.levels("--since", "2001-09-09 01:46:40.2500001"), [("B", [3])])
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

    def test_terminalEscapes(self) -> None:
        """
        Writing to a terminal, C1 controls, bidirectional overrides and line
        separators (which JSON allows raw) are written as JSON escapes;
        to a pipe, the messages are written as they were read.
        """
        hostile = msg("H", [1], T0, message_type="x", text="a\x9b31m\u202e\u2028\x7fb")
        for terminal in (True, False):
            out = _Terminal() if terminal else io.StringIO()
            main(["filter"], stdin=io.BytesIO(lines(hostile)), stdout=out, stderr=io.StringIO())
            text = out.getvalue()
            self.assertEqual(orjson.loads(text), hostile)
            self.assertEqual(text.isascii(), terminal)
            self.assertEqual("\\u202e" in text, terminal)

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




class _Terminal(io.StringIO):
    """
    A standard output that says it is a terminal.
    """

    def isatty(self) -> bool:
        return True
