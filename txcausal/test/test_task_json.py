"""
Tests for L{txcausal._task_json}: tasks as JSON documents for tools.
"""

from __future__ import annotations

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal.parse import parse_messages, task_document
from txcausal.test._reading import end, msg, only, sample_task, start


class TaskDocumentTests(SynchronousTestCase):
    """
    Tests for L{task_document}.
    """

    def test_nested(self) -> None:
        """
        A task is a document with nested action and message nodes, their
        times, durations, status and fields.
        """
        document = task_document(only(list(parse_messages(sample_task()))))
        self.assertEqual(orjson.loads(orjson.dumps(document)), document)
        self.assertEqual(
            {k: document[k] for k in ("task_uuid", "complete", "failed", "start_time", "end_time")},
            {"task_uuid": "T", "complete": True, "failed": True, "start_time": 10.0,
             "end_time": 11.0},
        )
        (root,) = document["children"]
        self.assertEqual(
            {k: root[k] for k in ("action_type", "task_level", "status", "duration", "fields")},
            {"action_type": "app:main", "task_level": [1], "status": "succeeded",
             "duration": 0.75, "fields": {"user": "alice"}},
        )
        note, child, failing = root["children"]
        self.assertEqual(note, {"message_type": "app:note", "task_level": [2],
                                "timestamp": 10.1, "fields": {"n": 1}})
        self.assertEqual((child["end_fields"], child["children"][0]["message_type"]),
                         ({"result": 42}, "app:row"))
        self.assertEqual(failing["end_fields"], {"exception": "builtins.KeyError", "reason": "k"})

    def test_gaps(self) -> None:
        """
        Missing levels are listed as runs, handed-off ones apart.
        """
        messages = [start("G", [1], 1.0, "a"), msg("G", [3], 1.1),
                    end("G", [7], 2.0, "a", remote_task_levels=["/5"])]
        (root,) = task_document(only(list(parse_messages(messages))))["children"]
        self.assertEqual(root["missing"], [[[2], [2]], [[4], [4]], [[6], [6]]])
        self.assertEqual(root["handed_off"], [[5]])

    def test_retried(self) -> None:
        """
        Handed-off levels whose attempt was cut off before a response and
        sent again are listed in C{retried} too; odd entries are ignored.
        """
        messages = [start("G", [1], 1.0, "txcausal:http:client"),
                    end("G", [4], 2.0, "txcausal:http:client", remote_task_levels=["/2", "/3"],
                        retried_task_levels=["/2", "/9", 2, "/3/1"])]
        (root,) = task_document(only(list(parse_messages(messages))))["children"]
        self.assertEqual((root["handed_off"], root["retried"]), ([[2], [3]], [[2]]))
        messages[1] = end("G", [4], 2.0, "txcausal:http:client", remote_task_levels=["/2", "/3"])
        (root,) = task_document(only(list(parse_messages(messages))))["children"]
        self.assertNotIn("retried", root)

    def test_unsent(self) -> None:
        """
        Handed-off levels whose request failed before any connection was
        made are listed in C{unsent} too; odd entries are ignored.
        """
        messages = [start("G", [1], 1.0, "txcausal:http:client"),
                    end("G", [4], 2.0, "txcausal:http:client", remote_task_levels=["/2", "/3"],
                        unsent_task_levels=["/3", "/9", 3, "/2/1"])]
        (root,) = task_document(only(list(parse_messages(messages))))["children"]
        self.assertEqual((root["handed_off"], root["unsent"]), ([[2], [3]], [[3]]))
        self.assertNotIn("retried", root)
        messages[1] = end("G", [4], 2.0, "txcausal:http:client", remote_task_levels=["/2", "/3"])
        (root,) = task_document(only(list(parse_messages(messages))))["children"]
        self.assertNotIn("unsent", root)

    def test_marked(self) -> None:
        """
        Nodes the caller marks have C{"match": true}; actions with children
        left out, C{"hidden"}.
        """
        task = only(list(parse_messages(sample_task())))
        note = task.root.children[0]
        document = task_document(task, lambda n: n is note, lambda a: 2 if a is task.root else 0)
        (root,) = document["children"]
        self.assertEqual((root["children"][0].get("match"), root.get("match")), (True, None))
        self.assertEqual(root["hidden"], 2)

    def test_continued(self) -> None:
        """
        A task continued from another process starts at its top action.
        """
        messages = [start("C", [2, 2, 1], 1.0, "eliot:remote_task"),
                    end("C", [2, 2, 2], 1.5, "eliot:remote_task")]
        document = task_document(only(list(parse_messages(messages))))
        self.assertEqual((document["continued_from"], document["complete"]), ([2, 2], True))
        self.assertEqual(document["children"][0]["action_type"], "eliot:remote_task")

    def test_failedMessage(self) -> None:
        """
        A message that tells of a failure (a logged traceback) is marked
        C{"failed": true}; others are not.
        """
        messages = [start("F", [1], 1.0, "a"), msg("F", [2], 1.1, message_type="app:note"),
                    msg("F", [3], 1.2, message_type="eliot:traceback", exception="E",
                        reason="r", traceback="T"), end("F", [4], 2.0, "a")]
        (root,) = task_document(only(list(parse_messages(messages))))["children"]
        self.assertEqual([node.get("failed") for node in root["children"]], [None, True])
