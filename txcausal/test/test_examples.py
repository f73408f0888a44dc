"""
The core examples in C{examples/} run and log what their docs say.
"""

from __future__ import annotations

from typing import Any, Dict, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from ._helpers import run_example


def _messages(name: str) -> List[Dict[str, Any]]:
    result = run_example(name)
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def _by_type(messages: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [m for m in messages if kind in (m.get("action_type"), m.get("message_type"))]


class CoreExamplesTests(SynchronousTestCase):
    """
    Run each core example as a script.
    """

    def test_actionsTree(self) -> None:
        """
        C{actions_tree.py} logs two checkout tasks: the first succeeds with a
        total despite an unknown item, the second fails in its charge.
        """
        messages = _messages("actions_tree.py")
        checkouts = _by_type(messages, "shop:checkout")
        self.assertEqual([m["action_status"] for m in checkouts],
                         ["started", "succeeded", "started", "failed"])
        self.assertEqual(checkouts[1]["total"], 1.25)
        self.assertEqual(checkouts[3]["reason"], "over the card limit")
        unknown = _by_type(messages, "shop:checkout:unknown_item")
        self.assertEqual((unknown[0]["sku"], unknown[0]["task_uuid"]),
                         ("plum", checkouts[0]["task_uuid"]))

    def test_crossThread(self) -> None:
        """
        C{cross_thread.py} logs the workers' actions inside the batch task.
        """
        messages = _messages("cross_thread.py")
        self.assertEqual(len({m["task_uuid"] for m in messages}), 1)
        resized = _by_type(messages, "images:resize")
        self.assertEqual(sorted(m["name"] for m in resized if "name" in m), ["cat.png", "dog.png"])
        self.assertTrue(all(len(m["task_level"]) == 3 for m in resized))

    def test_stdlibBridge(self) -> None:
        """
        C{stdlib_bridge.py} puts the legacy error record inside the failing
        action and the info record in the main action.
        """
        messages = _messages("stdlib_bridge.py")
        records = _by_type(messages, "eliot:stdlib")
        self.assertEqual([(m["log_level"], m["task_level"]) for m in records],
                         [("ERROR", [3, 2]), ("INFO", [4])])
        failed = [m for m in messages if m.get("action_status") == "failed"]
        self.assertEqual(failed[0]["task_level"], [3, 3])
