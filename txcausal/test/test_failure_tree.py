"""
Tests for L{txcausal._failure_tree}: captured messages drawn for failure
reports by the renderer of C{txcausal tree}, whatever they hold.
"""

from __future__ import annotations

from io import StringIO
from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal import MessageType, fields
from txcausal._cli._text import ASCII
from txcausal._cli._tree import render_messages
from txcausal._cli._tree_text import TreeOptions, TreeRenderer
from txcausal._failure_tree import (
    MAX_TREE_LINES,
    MAX_VALUE_LENGTH,
    logged_tree,
    render_captured,
)
from txcausal.testing import MemoryLogger

from ._testing_helpers import boom

Message = Dict[str, Any]


def _messages() -> List[Message]:
    """
    @return: An action with a message and a nested action, logged out of
        order, and a lone message in a task of its own.
    """
    uuid = "u1"
    return [
        {"task_uuid": uuid, "task_level": [2, 2], "message_type": "app:in", "x": 1,
         "timestamp": 0.0},
        {"task_uuid": uuid, "task_level": [1], "action_type": "app:a",
         "action_status": "started", "timestamp": 0.0},
        {"task_uuid": uuid, "task_level": [2, 1], "action_type": "app:b",
         "action_status": "started", "timestamp": 0.0},
        {"task_uuid": "u2", "task_level": [1], "message_type": "app:alone", "timestamp": 0.0},
    ]


class Unrepresentable:
    """
    Neither JSON nor C{repr} work on it.
    """

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class RenderCapturedTests(SynchronousTestCase):
    """
    L{render_captured} draws messages as C{txcausal tree} does, in ASCII,
    with values and lines cut, and never raises.
    """

    def test_sameAsCommand(self) -> None:
        """
        The drawing is the one C{txcausal tree} writes, with ASCII glyphs,
        no colors and values cut after L{MAX_VALUE_LENGTH} characters.
        """
        out = StringIO()
        options = TreeOptions(field_limit=MAX_VALUE_LENGTH, glyphs=ASCII)
        render_messages(_messages(), out, options)
        self.assertEqual(render_captured(_messages()), out.getvalue().rstrip("\n"))

    def test_layout(self) -> None:
        """
        Each task is drawn under its UUID, its messages in level order.
        """
        self.assertEqual(render_captured(_messages()).splitlines(), [
            "u2",
            "`-- app:alone/1 1970-01-01 00:00:00.000Z",
            "",
            "u1 [incomplete]",
            "`-- app:a/1 => started 1970-01-01 00:00:00.000Z",
            "    |-- app:b/2/1 => started 1970-01-01 00:00:00.000Z",
            "    |   |-- app:in/2/2 1970-01-01 00:00:00.000Z",
            "    |   |   `-- x: 1",
            "    |   `-- no finish message",
            "    `-- no finish message",
        ])

    def test_limits(self) -> None:
        """
        Long values are cut, and so is a drawing past L{MAX_TREE_LINES}
        lines, saying how many lines were left out.
        """
        messages = [{"task_uuid": "u", "task_level": [i + 1], "message_type": "m", "v": "x" * 500}
                    for i in range(MAX_TREE_LINES)]
        lines = render_captured(messages).splitlines()
        self.assertEqual(len(lines), MAX_TREE_LINES + 1)
        self.assertRegex(lines[-1], r"^\.\.\. and \d+ more lines$")
        self.assertLess(max(len(line) for line in lines), MAX_VALUE_LENGTH + 20)

    def test_malformed(self) -> None:
        """
        Values that are not JSON are shown by their C{repr} (or a
        placeholder when that fails too); messages without a task position,
        or with a bad one, get a line of their own.
        """
        drawing = render_captured([
            {"task_uuid": "u", "task_level": [1], "message_type": "app:odd",
             "obj": Unrepresentable(), 3: "three", "big": 10**30},
            {"message_type": "app:nowhere"},
            {"task_uuid": "v", "task_level": "1", "v": object()},
            "not even a dictionary",
        ])
        self.assertIn("`-- app:odd/1 ", drawing)
        self.assertIn("|-- 3: three", drawing)
        self.assertIn(f"|-- big: {10**30}", drawing)
        self.assertIn("`-- obj: <unrepresentable Unrepresentable: RuntimeError>", drawing)
        self.assertIn("not a log message (no task_uuid string): {'message_type': 'app:nowhere'}",
                      drawing)
        self.assertRegex(drawing, r"not a log message \(task_level is not a list of positive "
                                  r"integers\): \{'task_uuid': 'v', 'task_level': '1', "
                                  r"'v': '<object object at \w+>'\}")
        self.assertIn("not a log message (not a JSON object): 'not even a dictionary'", drawing)

    def test_rendererFails(self) -> None:
        """
        A task the renderer cannot draw is listed message by message.
        """

        def fail(self: Any, task: Any, parts: List[str]) -> None:
            raise RecursionError("too deep")

        self.patch(TreeRenderer, "task", fail)
        lines = render_captured(_messages()[-1:]).splitlines()
        self.assertEqual(lines[0], "u2 (could not be drawn: RecursionError('too deep'))")
        self.assertIn("'message_type': 'app:alone'", lines[1])

    def test_remoteTaskLevels(self) -> None:
        """
        The C{remote_task_levels} of a finish message are drawn as a field.
        """
        drawing = render_captured([
            {"task_uuid": "u", "task_level": [1], "action_type": "app:a",
             "action_status": "started"},
            {"task_uuid": "u", "task_level": [2, 1], "action_type": "eliot:remote_task",
             "action_status": "started"},
            {"task_uuid": "u", "task_level": [2, 2], "action_type": "eliot:remote_task",
             "action_status": "succeeded"},
            {"task_uuid": "u", "task_level": [3], "action_type": "app:a",
             "action_status": "succeeded", "remote_task_levels": ["/2"]},
        ])
        self.assertIn("`-- app:a/3 => succeeded ?\n        `-- remote_task_levels:\n"
                      "            `-- 0: /2", drawing)


class LoggedTreeTests(SynchronousTestCase):
    """
    L{logged_tree} draws what a L{MemoryLogger} captured, for failure
    reports.
    """

    def test_serialized(self) -> None:
        """
        Typed values are shown serialized, and a message whose serializer
        fails is shown as logged.
        """
        logger = MemoryLogger()
        boom(logger)
        bad = MessageType("app:typed", fields(n=int))
        bad(n=object()).write(logger)
        tree = logged_tree(logger)
        self.assertTrue(tree.startswith("Captured log messages (2):\n"), tree)
        self.assertIn("|-- exception: builtins.ValueError\n", tree)
        self.assertIn("|-- reason: kaboom\n", tree)
        self.assertRegex(tree, r"`-- app:typed/1 [^\n]+\n    `-- n: <object object at \w+>")

    def test_empty(self) -> None:
        """
        An empty logger is said to have captured nothing.
        """
        self.assertEqual(logged_tree(MemoryLogger()), "Captured log messages: none")
