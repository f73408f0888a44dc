"""
Txcausal logs are Eliot logs: Eliot's own tools read them, and task ids
cross between the two libraries in both directions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import eliot
from eliot.parse import Parser
from twisted.trial.unittest import SynchronousTestCase

from txcausal import Action, log_message, start_action, start_task, to_file

from ._helpers import IsolatedOutputMixin, read_json_lines, run_python

UUID = "0fd4c5a0-3e3a-4d4b-9b9c-0e4a4e8a8f00"


def _shape(action: Any) -> Tuple[Any, ...]:
    """
    Summarize an Eliot C{WrittenAction} tree: type, status and children.
    """
    children: List[Any] = []
    for child in action.children:
        if hasattr(child, "action_type"):
            children.append(_shape(child))
        else:
            children.append(("message", child.contents.get("message_type")))
    return (action.action_type, action.status, tuple(children))


class EliotToolsTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Eliot's parser and eliot-tree read a real txcausal log file.
    """

    def setUp(self) -> None:
        self.isolate()
        self.path = Path(self.mktemp())
        with self.path.open("wb") as f:
            to_file(f)
            with start_task(action_type="parent", x=1):
                log_message(message_type="info", n=1)
                with start_action(action_type="child"):
                    log_message(message_type="info", n=2)
                try:
                    with start_action(action_type="failing"):
                        raise ValueError("boom")
                except ValueError:
                    pass
                with start_action(action_type="remote_call") as call:
                    task_id = call.serialize_task_id()
                    with Action.continue_task(task_id=task_id, process="server"):
                        log_message(message_type="server_work")

    def test_eliotParser(self) -> None:
        """
        Eliot 1.18's L{Parser} rebuilds the task tree we logged, with the
        continued task nested where it was serialized.
        """
        messages = read_json_lines(self.path)
        tasks = list(Parser.parse_stream(messages))
        self.assertEqual(len(tasks), 1)
        self.assertEqual(_shape(tasks[0].root()), (
            "parent", "succeeded", (
                ("message", "info"),
                ("child", "succeeded", (("message", "info"),)),
                ("failing", "failed", ()),
                ("remote_call", "succeeded", (
                    ("eliot:remote_task", "succeeded", (("message", "server_work"),)),
                )),
            ),
        ))

    def test_eliotTree(self) -> None:
        """
        The third-party C{eliot-tree} command renders the file without
        error, showing every action and status.
        """
        result = run_python(["-c", "import sys; from eliottree._cli import main; sys.exit(main())",
                             str(self.path)])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        for text in ["parent/1", "child/3/1", "failing/4/2 ⇒ failed", "eliot:remote_task/5/2/1",
                     "builtins.ValueError", "server_work/5/2/2", "parent/6 ⇒ succeeded"]:
            self.assertIn(text, result.stdout)


class TaskIdInteropTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Serialized task ids cross between Eliot and txcausal.
    """

    def test_continueEliotTaskId(self) -> None:
        """
        A task id serialized by Eliot 1.18 is continued by txcausal at the
        same task and position.
        """
        messages = self.collect()
        eliot_logger = eliot.MemoryLogger()
        with eliot.start_action(eliot_logger, action_type="eliot_side") as action:
            task_id = action.serialize_task_id()
        with Action.continue_task(task_id=task_id):
            pass
        self.assertEqual(messages[0]["task_uuid"], action.task_uuid)
        self.assertEqual(messages[0]["task_level"], [2, 1])

    def test_eliotContinuesOurs(self) -> None:
        """
        Eliot 1.18's C{Action.continue_task} continues a txcausal task id.
        """
        self.collect()
        with start_action(action_type="ours") as action:
            task_id = action.serialize_task_id()
        eliot_logger = eliot.MemoryLogger()
        with eliot.Action.continue_task(eliot_logger, task_id):
            pass
        first: Dict[str, Any] = eliot_logger.messages[0]
        self.assertEqual((first["task_uuid"], first["task_level"]), (action.task_uuid, [2, 1]))
