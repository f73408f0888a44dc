"""
Tests for the C{txcausal} command on hostile or odd input: valid JSON with
values of the wrong kind, deep nesting, control characters, and bugs in
rendering one record: one line on standard error, never a traceback, and the
rest still renders.  Also command lines argparse does not take by default.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli import _filter, _pretty, _tree, main
from txcausal._cli._common import BatchWriter, write_json_lines
from txcausal._cli._stats import stats_table
from txcausal._cli._text import ASCII, COLORS, PLAIN, TimeFormatter
from txcausal._cli._tree_text import TreeOptions, TreeRenderer, render_task
from txcausal.parse import KeyMatcher, action_stats, collect_story, parse_messages, task_document
from txcausal.test._reading import T0, cli, end, lines, msg, small_task, start

FORGED_KEY = "k\nfake"
FORGED_VALUE = "\x1b[2J\r├── forged: yes"


def nested(depth: int, leaf: Any = "deep-key") -> Any:
    """
    A value of lists nested C{depth} deep around C{leaf}.
    """
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def forged_task() -> List[Any]:
    """
    A task whose fields, keys and types carry terminal control sequences.
    """
    return [
        start("F\x1b[31m", [1], T0, "app:\x1b]0;title\x07main", **{FORGED_KEY: FORGED_VALUE}),
        msg("F\x1b[31m", [2], T0, message_type="note\r\x9b2J", text="a\nb\x1b[1Ac"),
        end("F\x1b[31m", [3], T0, "app:\x1b]0;title\x07main", "\x1b[32mfailed"),
    ]


class OddValueTests(SynchronousTestCase):
    """
    Valid JSON with values of the wrong kind or shape.
    """

    def test_unhashableStatus(self) -> None:
        """
        An C{action_status} that is not a string makes the message an
        ordinary one: C{tree} and C{filter --status} do not crash.
        """
        data = lines(
            msg("S", [1], T0, action_type="a", action_status={"a": 1}),
            msg("S2", [1], T0, action_type=["x"], action_status=["started"]),
            *small_task(),
        )
        status, out, err = cli(["tree"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertIn("S\n", out)
        self.assertIn("app:main/1", out)
        status, out, err = cli(["filter", "--status", "failed"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual([orjson.loads(line)["task_level"] for line in out.splitlines()], [[3]])

    def test_oddStatusIsPlain(self) -> None:
        """
        A message whose status is not a string is placed as an ordinary
        message; one whose action type is not a string is an action, as
        eliot-tree reads it, its type given as JSON text.
        """
        odd = msg("S", [1], 1.0, action_type="a", action_status={"a": 1})
        [task] = parse_messages([odd])
        self.assertEqual((task.complete, task.root.children), (True, [odd]))
        started = msg("T", [1], 1.0, action_type=["a"], action_status="started")
        [task] = parse_messages([started])
        self.assertEqual((task.complete, task.root.start_message, task.root.action_type),
                         (False, started, '["a"]'))

    def test_typeNamedLikeStatus(self) -> None:
        """
        A message type spelled like a status is shown as a type, and the
        status as a status.
        """
        data = lines(
            start("T", [1], T0, "app:main"),
            msg("T", [2], T0, message_type="succeeded"),
            end("T", [3], T0, "app:main"),
        )
        out = cli(["tree"], data)[1]
        self.assertIn("├── succeeded/2 2001", out)
        self.assertIn("└── app:main/3 ⇒ succeeded 2001", out)

    def test_deepLevelSkipped(self) -> None:
        """
        A task level deeper than a task id may be (100) is reported and
        skipped.
        """
        data = lines(msg("D", list(range(1, 3001)), T0, message_type="m"), *small_task())
        status, out, err = cli(["tree"], data)
        self.assertEqual(status, 0)
        self.assertEqual(err, "txcausal: <stdin>:1: skipped: task_level deeper than 100\n")
        self.assertIn("app:main/1", out)

    def test_deepNesting(self) -> None:
        """
        A field nested 900 deep renders, cut, in C{tree}, C{pretty} and
        C{story}, and C{filter} still writes it.
        """
        deep = msg("N", [1], T0, message_type="m", deep=nested(900))
        data = json.dumps(deep).encode() + b"\n" + lines(*small_task())
        for args in (["tree"], ["tree", "-l", "0"], ["pretty"], ["story", "deep-key"]):
            status, out, err = cli(args, data)
            self.assertEqual((status, err), (0, ""), args)
            self.assertIn("[[[[", out, args)
            self.assertLess(max(len(line) for line in out.splitlines()), 2000, args)
        status, out, err = cli(["filter", "--task-uuid", "N"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(orjson.loads(out)["deep"], nested(900))

    def test_mentionsDeep(self) -> None:
        """
        L{KeyMatcher.mentions} looks through values nested deeper than the
        recursion limit.
        """
        self.assertTrue(KeyMatcher(["deep-key"]).mentions(nested(5000)))
        self.assertFalse(KeyMatcher(["other"]).mentions(nested(5000)))


class ArgumentTests(SynchronousTestCase):
    """
    Command lines that argparse does not take by default.
    """

    def test_optionsAfterFiles(self) -> None:
        """
        Options may come after and between the files.
        """
        path = Path(self.mktemp())
        path.write_bytes(lines(*small_task("A")))
        other = Path(self.mktemp())
        other.write_bytes(lines(start("OK", [1], T0, "a"), end("OK", [2], T0, "a")))
        status, out, err = cli(["tree", str(path), "--failed", str(other)])
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(re.findall(r"^\w+$", out, re.M), ["A"])
        status, out, err = cli(["story", "A", str(path), "--json", str(other)])
        self.assertEqual((status, err), (0, ""))
        self.assertEqual({orjson.loads(line)["task_uuid"] for line in out.splitlines()}, {"A"})

    def test_negativeLimit(self) -> None:
        """
        A negative field limit is a usage error.
        """
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        self.assertRaises(SystemExit, main, ["tree", "-l", "-3"])
        self.assertIn("must not be negative", err.getvalue())


class ErrorIsolationTests(SynchronousTestCase):
    """
    A record that cannot be rendered gives one line on standard error; the
    others still render.
    """

    def broken(self, cls: Any, name: str) -> None:
        original = getattr(cls, name)

        def raising(self: Any, record: Any, *args: Any) -> Any:
            if "B" in str(record):
                raise RecursionError("maximum recursion depth exceeded")
            return original(self, record, *args)

        self.patch(cls, name, raising)

    def test_tree(self) -> None:
        """
        C{tree} reports a task it cannot render by UUID.
        """
        self.broken(TreeRenderer, "task")
        status, out, err = cli(["tree"], lines(*small_task("A"), *small_task("B")))
        self.assertEqual(status, 0)
        self.assertIn("└── app:main/1", out)
        self.assertEqual(err, "txcausal: task 'B': cannot render: RecursionError\n")

    def test_pretty(self) -> None:
        """
        C{pretty} reports a message it cannot render by task and level.
        """
        self.broken(_pretty.PrettyRenderer, "message")
        status, out, err = cli(["pretty"], lines(*small_task("A"), msg("B", [1], T0)))
        self.assertEqual(status, 0)
        self.assertIn("A/1", out)
        self.assertEqual(err, "txcausal: message 'B'/1: cannot render: RecursionError\n")

    def test_lastResort(self) -> None:
        """
        A bug anywhere else in a command gives one line on standard error
        and status 70, not a traceback.
        """
        self.patch(_tree, "render_tasks", lambda *args: 1 // 0)
        status, out, err = cli(["tree"], lines(*small_task()))
        self.assertEqual((status, out), (70, ""))
        self.assertEqual(
            err,
            "txcausal: internal error: ZeroDivisionError:"
            " 'integer division or modulo by zero'\n",
        )

    def test_filterCannotEncode(self) -> None:
        """
        C{filter} writes a message that orjson cannot encode with the
        standard library, and reports one that neither can.
        """
        deep = msg("X", [1], T0, deep=nested(300))
        # Deeper than the standard library's encoder goes on any Python:
        # 3.13 raised its C recursion limit to 10,000 and 3.14 measures the
        # C stack, on which 100,000 levels take megabytes.
        worse = msg("Y", [1], T0, deep=nested(100_000))
        out = io.StringIO()
        errors: List[str] = []
        write_json_lines([deep, worse, msg("Z", [1], T0)], BatchWriter(out), errors.append)
        written = [orjson.loads(line)["task_uuid"] for line in out.getvalue().split()]
        self.assertEqual(written, ["X", "Z"])
        self.assertEqual(errors, ["message 'Y'/1: cannot write as JSON: RecursionError"])


class ControlCharacterTests(SynchronousTestCase):
    """
    Control characters in values, keys and types are escaped, so a log
    cannot forge lines or drive the terminal.
    """

    def assertSafe(self, out: str, colors: bool = False) -> None:
        text = re.sub(r"\x1b\[[0-9;]*m", "", out) if colors else out
        for code in ("\x1b", "\r", "\x07", "\x9b"):
            self.assertNotIn(code, text)
        self.assertNotIn("\n├── forged", out)
        self.assertNotIn("\nfake", out)

    def test_commands(self) -> None:
        """
        C{tree}, C{pretty} and C{story} escape C0 and C1 control characters
        with or without color; color codes are the palette's only.
        """
        data = lines(*forged_task())
        for command in (["tree"], ["tree", "-l", "0"], ["pretty"], ["story", "F\x1b[31m"]):
            for color in (["--no-color"], ["--color"]):
                status, out, err = cli(command + color, data)
                self.assertEqual((status, err), (0, ""))
                self.assertSafe(out, color == ["--color"])
                self.assertIn("\\x1b[2J\\r├── forged: yes", out)
                self.assertIn("k\\nfake", out)
        self.assertNotIn("\x1b[2J", cli(["tree", "--color"], data)[1])

    def test_invisibleFormatting(self) -> None:
        """
        Every bidirectional control (the marks as well as the overrides and
        isolates) and the invisible characters that can disguise a value
        (zero width space, word joiner, byte-order mark) are escaped by
        C{tree}, C{pretty} and C{story}, and written as JSON escapes by
        C{filter} on a terminal, the same JSON.
        """
        hidden = "\u061c\u200b\u200e\u200f\u202e\u2060\u2066\u2069\ufeff"
        task = [start("I", [1], T0, "app:main", **{"user" + hidden: "admin" + hidden}),
                end("I", [2], T0, "app:main")]
        for command in (["tree"], ["pretty"], ["story", "I"]):
            out = cli(command, lines(*task))[1]
            self.assertFalse(set(hidden) & set(out), command)
            self.assertIn("admin" + hidden.encode("unicode-escape").decode("ascii"), out)

        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        terminal = Terminal()
        main(["filter"], stdin=io.BytesIO(lines(*task)), stdout=terminal, stderr=io.StringIO())
        written = terminal.getvalue()
        self.assertTrue(written.isascii())
        self.assertEqual([orjson.loads(line) for line in written.splitlines()], task)

    def test_multilineKeepsLayout(self) -> None:
        """
        With no field limit, a multi-line value keeps its lines, each
        indented by the renderer, with control characters escaped.
        """
        out = cli(["tree", "-l", "0"], lines(*forged_task()))[1]
        self.assertIn("│   └── text: a\n    │       b\\x1b[1Ac\n", out)
        out = cli(["pretty"], lines(*forged_task()))[1]
        self.assertIn("  text: a\n        b\\x1b[1Ac\n", out)


def _values(depth: int) -> Any:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=depth,
    )


_ODD = _values(8)
_FIELDS = ["action_status", "action_type", "message_type", "timestamp", "duration", "x"]


@st.composite
def odd_messages(draw: Any) -> Dict[str, Any]:
    """
    A well-formed message (valid UUID and level) with arbitrary JSON in
    any other field, sometimes a real status, sometimes deep nesting.
    """
    message: Dict[str, Any] = {
        name: draw(_ODD) for name in draw(st.lists(st.sampled_from(_FIELDS), max_size=4))
    }
    if draw(st.booleans()):
        message["action_status"] = draw(st.sampled_from(["started", "succeeded", "failed"]))
        message["action_type"] = draw(st.sampled_from(["a", 1, None]))
    if draw(st.integers(0, 9)) == 0:
        message["deep"] = nested(draw(st.integers(0, 1200)), draw(_ODD))
    message["task_uuid"] = draw(st.sampled_from(["A", "B", "\x1b[2J"]))
    message["task_level"] = draw(
        st.lists(st.integers(1, 4), min_size=1, max_size=150)
        | st.lists(st.integers(1, 3), min_size=1, max_size=3)
    )
    return message


class FuzzTests(SynchronousTestCase):
    """
    Arbitrary JSON values in well-formed messages, through every command's
    rendering code, in process.
    """

    @settings(derandomize=True, deadline=None, max_examples=100)
    @given(st.lists(odd_messages(), max_size=8))
    def test_neverRaises(self, messages: List[Dict[str, Any]]) -> None:
        """
        C{tree}, C{pretty}, C{filter} and C{story} render any such messages
        without raising.
        """
        errors: List[str] = []
        out = io.StringIO()
        for limit in (0, 100):
            options = TreeOptions(field_limit=limit, palette=COLORS, glyphs=ASCII)
            _tree.render_messages(messages, out, options, errors.append)
        pretty = _pretty.PrettyRenderer(TimeFormatter(), ASCII, PLAIN)
        _pretty.render_pretty(messages, pretty, BatchWriter(out), errors.append)
        for args in (["--status", "failed"], ["--type", "a*"], ["--field", "x=1"]):
            namespace = _filter_arguments(args)
            selected = _filter.select(messages, _filter.predicates(namespace))
            write_json_lines(selected, BatchWriter(out), errors.append, escape=True)
        stories, _ = collect_story(parse_messages(messages), ["A"])
        renderer = TreeRenderer(TreeOptions(palette=COLORS, glyphs=ASCII))
        for story in stories:
            self.assertTrue(render_task(renderer, story.task, [], errors.append, story))
            document = task_document(story.task, story.matched, story.hidden_under)
            write_json_lines([document], BatchWriter(out), errors.append)
        tasks = list(parse_messages(messages))
        stats_table(action_stats(tasks))
        for task in tasks:
            write_json_lines([task_document(task)], BatchWriter(out), errors.append)
        self.assertEqual(len(tasks) > 0, bool(messages))
        self.assertEqual([e for e in errors if "cannot render" in e], [])


def _filter_arguments(args: List[str]) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    _filter.add_arguments(parser)
    return parser.parse_args(args)
