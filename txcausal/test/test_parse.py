"""
Tests for L{txcausal.parse}: building task trees from messages in any order,
and reading log files forgivingly.
"""

from __future__ import annotations

import gzip
import io
from hashlib import sha256
from typing import Any, Dict, List

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.logger import Logger, jsonFileLogObserver
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, start_action
from txcausal.parse import (
    TWISTED_MESSAGE_TYPE,
    LineError,
    MessageReader,
    Parser,
    Task,
    WrittenAction,
    parse_files,
    parse_messages,
)
from txcausal.test._helpers import CapturingMixin

Message = Dict[str, Any]
_settings = settings(derandomize=True, deadline=None, max_examples=60)


def msg(uuid: str, level: List[int], ts: float, **fields: Any) -> Message:
    """
    A message of task C{uuid} at C{level}.
    """
    return dict(fields, task_uuid=uuid, task_level=level, timestamp=ts)


def start(uuid: str, level: List[int], ts: float, kind: str, **fields: Any) -> Message:
    return msg(uuid, level, ts, action_type=kind, action_status="started", **fields)


def end(
    uuid: str, level: List[int], ts: float, kind: str, status: str = "succeeded", **fields: Any
) -> Message:
    return msg(uuid, level, ts, action_type=kind, action_status=status, **fields)


def sample_task(uuid: str = "T") -> List[Message]:
    """
    A task: root action with a message, a child action with a message, and
    a failed child action, in log order.
    """
    return [
        start(uuid, [1], 10.0, "app:main", user="alice"),
        msg(uuid, [2], 10.1, message_type="app:note", n=1),
        start(uuid, [3, 1], 10.2, "app:child"),
        msg(uuid, [3, 2], 10.3, message_type="app:row"),
        end(uuid, [3, 3], 10.5, "app:child", result=42),
        start(uuid, [4, 1], 10.6, "app:fail"),
        end(uuid, [4, 2], 10.7, "app:fail", "failed", exception="builtins.KeyError", reason="k"),
        end(uuid, [5], 11.0, "app:main", duration=0.75),
    ]


def shape(node: WrittenAction) -> Any:
    """
    A comparable summary of a tree: (type, status, children shapes).
    """
    children = [
        shape(c) if isinstance(c, WrittenAction) else c.get("message_type") for c in node.children
    ]
    return (node.action_type, node.status, children)


def only(tasks: List[Task]) -> Task:
    if len(tasks) != 1:
        raise AssertionError(f"expected one task, got {len(tasks)}")
    return tasks[0]


class ParserTests(SynchronousTestCase):
    """
    Tests for L{Parser} and L{parse_messages}.
    """

    def test_inOrder(self) -> None:
        """
        A task logged in order becomes one complete tree with the start
        fields, children in level order, and statuses.
        """
        task = only(list(parse_messages(sample_task())))
        self.assertTrue(task.complete)
        self.assertEqual(task.uuid, "T")
        self.assertEqual(
            shape(task.root),
            (
                "app:main",
                "succeeded",
                ["app:note", ("app:child", "succeeded", ["app:row"]), ("app:fail", "failed", [])],
            ),
        )
        assert task.root.start_message is not None
        self.assertEqual(task.root.start_message["user"], "alice")
        self.assertEqual(task.strays, [])

    def test_completeTaskReturnedAtOnce(self) -> None:
        """
        L{Parser.add} returns the task from the call that adds its last
        missing message and forgets it: memory is bounded by open tasks.
        """
        parser = Parser()
        messages = sample_task()
        results = [parser.add(m) for m in messages]
        self.assertEqual(results[:-1], [None] * (len(messages) - 1))
        self.assertIsInstance(results[-1], Task)
        self.assertEqual(parser.open_count(), 0)

    def test_anyOrderCompletesOnLastMessage(self) -> None:
        """
        When the finish message comes first, the task is only complete once
        the last missing message arrives.
        """
        messages = sample_task()
        parser = Parser()
        order = [
            messages[-1],
            messages[0],
            messages[4],
            messages[2],
            messages[1],
            messages[6],
            messages[5],
        ]
        self.assertEqual([parser.add(m) for m in order], [None] * 7)
        task = parser.add(messages[3])
        assert task is not None
        self.assertTrue(task.complete)

    @_settings
    @given(st.permutations(list(range(8))))
    def test_orderDoesNotMatter(self, order: List[int]) -> None:
        """
        Any order of the same messages gives the same complete tree.
        """
        messages = sample_task()
        expected = shape(only(list(parse_messages(messages))).root)
        task = only(list(parse_messages([messages[i] for i in order])))
        self.assertTrue(task.complete)
        self.assertEqual(shape(task.root), expected)

    def test_interleavedTasks(self) -> None:
        """
        Interleaved messages of several tasks are separated by task UUID.
        """
        a, b = sample_task("A"), sample_task("B")
        mixed = [m for pair in zip(a, b, strict=True) for m in pair]
        tasks = list(parse_messages(mixed))
        self.assertEqual([t.uuid for t in tasks], ["A", "B"])
        self.assertTrue(all(t.complete for t in tasks))

    def test_durationFromFieldOrTimestamps(self) -> None:
        """
        The duration is the finish message's C{duration} field if present,
        else the difference of the timestamps.
        """
        task = only(list(parse_messages(sample_task())))
        self.assertEqual(task.root.duration, 0.75)
        child = task.root.children[1]
        assert isinstance(child, WrittenAction)
        self.assertAlmostEqual(child.duration, 0.3)
        self.assertEqual(child.start_time, 10.2)
        self.assertEqual(child.end_time, 10.5)

    def test_missingEnd(self) -> None:
        """
        A task whose root never finished is returned by L{Parser.flush},
        marked incomplete, with no duration.
        """
        tasks = list(parse_messages(sample_task()[:-1]))
        task = only(tasks)
        self.assertFalse(task.complete)
        self.assertEqual(task.root.status, "started")
        self.assertIsNone(task.root.duration)

    def test_missingStart(self) -> None:
        """
        A task whose start message is missing is kept, incomplete, with the
        action type read from its finish message.
        """
        task = only(list(parse_messages(sample_task()[1:])))
        self.assertFalse(task.complete)
        self.assertIsNone(task.root.start_message)
        self.assertEqual(task.root.action_type, "app:main")
        self.assertEqual(task.root.status, "succeeded")

    def test_missingMiddle(self) -> None:
        """
        A gap between start and finish keeps the task incomplete and is
        listed by L{WrittenAction.missing_levels}.
        """
        messages = sample_task()
        del messages[1]
        task = only(list(parse_messages(messages)))
        self.assertFalse(task.complete)
        self.assertEqual(task.root.missing_levels(), [(2,)])

    def test_loneMessage(self) -> None:
        """
        A message logged outside any action is a complete task of its own.
        """
        task = only(list(parse_messages([msg("L", [1], 1.0, message_type="app:hello")])))
        self.assertTrue(task.complete)
        self.assertEqual([c.get("message_type") for c in task.root.children], ["app:hello"])  # type: ignore[union-attr]

    def test_duplicateIsStray(self) -> None:
        """
        A second message at an already filled level is kept as a stray, not
        lost and not overwriting the first.
        """
        messages = sample_task()
        duplicate = dict(messages[1], n=2)
        task = only(list(parse_messages(messages[:2] + [duplicate] + messages[2:])))
        self.assertEqual(task.strays, [duplicate])
        self.assertEqual(task.root.children[0].get("n"), 1)  # type: ignore[union-attr]
        self.assertIn(duplicate, list(task.messages()))

    def test_crossProcessJoin(self) -> None:
        """
        Messages of a task continued in another process (same task UUID,
        levels under the serialized position) join the parent's tree, in
        whichever order the two logs are read.
        """
        parent = [
            start("X", [1], 1.0, "client:main"),
            start("X", [2, 1], 1.1, "client:request"),
            end("X", [2, 3], 1.9, "client:request"),
            end("X", [3], 2.0, "client:main"),
        ]
        child = [
            start("X", [2, 2, 1], 1.2, "eliot:remote_task"),
            msg("X", [2, 2, 2], 1.3, message_type="server:handled"),
            end("X", [2, 2, 3], 1.4, "eliot:remote_task"),
        ]
        for messages in (parent + child, child + parent):
            task = only(list(parse_messages(messages)))
            self.assertTrue(task.complete)
            self.assertEqual(
                shape(task.root),
                (
                    "client:main",
                    "succeeded",
                    [
                        (
                            "client:request",
                            "succeeded",
                            [("eliot:remote_task", "succeeded", ["server:handled"])],
                        )
                    ],
                ),
            )

    def test_failedTask(self) -> None:
        """
        L{Task.failed} tells whether an action of the task failed or it
        logged a traceback.
        """
        self.assertTrue(only(list(parse_messages(sample_task()))).failed)
        traced = msg("TB", [1], 1.0, message_type="eliot:traceback")
        self.assertTrue(only(list(parse_messages([traced]))).failed)
        ok = [m for m in sample_task() if "app:fail" != m.get("action_type")]
        ok[-1] = dict(ok[-1], task_level=[4])
        self.assertFalse(only(list(parse_messages(ok))).failed)

    def test_messagesInLevelOrder(self) -> None:
        """
        L{Task.messages} yields every message in level order.
        """
        messages = sample_task()
        task = only(list(parse_messages(reversed(messages))))
        self.assertEqual(list(task.messages()), messages)


class RoundTripTests(CapturingMixin, SynchronousTestCase):
    """
    Messages logged by txcausal itself parse back into the tree they came
    from.
    """

    def test_loggedActions(self) -> None:
        """
        Nested actions and messages logged with txcausal parse into a
        complete tree of the same shape.
        """
        logger = self.capture()
        with start_action(action_type="app:outer", x=1):
            log_message(message_type="app:inside")
            with start_action(action_type="app:inner"):
                pass
        messages = [orjson.loads(orjson.dumps(m)) for m in logger.messages]
        task = only(list(parse_messages(messages)))
        self.assertTrue(task.complete)
        self.assertEqual(
            shape(task.root),
            ("app:outer", "succeeded", ["app:inside", ("app:inner", "succeeded", [])]),
        )


def lines(*messages: Any) -> bytes:
    return b"".join(orjson.dumps(m) + b"\n" for m in messages)


def twisted_log(failure: bool = False) -> bytes:
    """
    Log one event with Twisted's JSON observer and return the bytes.
    """
    out = io.StringIO()
    log = Logger(namespace="app.web", observer=jsonFileLogObserver(out))
    if failure:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            log.failure("Request {n} failed", Failure(), n=7)
    else:
        log.info("Hello {who}", who="world")
    return out.getvalue().encode("utf-8")


class MessageReaderTests(SynchronousTestCase):
    """
    Tests for L{MessageReader}, L{txcausal.parse.read_messages} and
    L{parse_files}.
    """

    def read(self, data: bytes) -> tuple[List[Message], List[LineError]]:
        errors: List[LineError] = []
        stream = io.BytesIO(data)
        stream.name = "log.json"
        return list(MessageReader(errors.append).read([stream])), errors

    def test_garbageLinesReportedAndSkipped(self) -> None:
        """
        Malformed, truncated and non-message lines are reported with file
        name and line number; the other messages are still read.
        """
        good = sample_task()
        data = (
            lines(good[0])
            + b"not json\n"
            + lines(good[1])
            + b"[1, 2]\n"
            + b'{"task_uuid": "T", "task_level": [0]}\n\n'
            + lines(msg("T", [1] * 101, 1.0))
            + lines(good[2])
            + b'{"task_uuid": "T", "task_le'
        )
        messages, errors = self.read(data)
        self.assertEqual(messages, good[:3])
        self.assertEqual(
            [(e.source, e.lineno) for e in errors],
            [("log.json", 2), ("log.json", 4), ("log.json", 5), ("log.json", 7), ("log.json", 9)],
        )
        self.assertEqual(errors[3].reason, "skipped: task_level deeper than 100")
        self.assertTrue(str(errors[0]).startswith("log.json:2: skipped: malformed JSON"))

    def test_gzip(self) -> None:
        """
        Gzip-compressed files are read, from a path or a stream.
        """
        path = self.mktemp() + ".gz"
        with gzip.open(path, "wb") as f:
            f.write(lines(*sample_task()))
        self.assertEqual(len(list(parse_files([path]))), 1)
        messages, errors = self.read(gzip.compress(lines(*sample_task())))
        self.assertEqual((messages, errors), (sample_task(), []))

    def test_truncatedGzip(self) -> None:
        """
        A truncated gzip stream is reported, and what could be read is kept.
        """
        tasks = [m for i in range(300) for m in sample_task(sha256(b"%d" % i).hexdigest())]
        data = gzip.compress(lines(*tasks))
        messages, errors = self.read(data[: len(data) // 2])
        self.assertTrue(messages)
        self.assertEqual(len(errors), 1)
        self.assertIn("truncated or corrupt compressed data", errors[0].reason)

    def test_missingFile(self) -> None:
        """
        A file that cannot be opened is reported with line number 0.
        """
        errors: List[LineError] = []
        self.assertEqual(list(MessageReader(errors.append).read([self.mktemp()])), [])
        self.assertEqual(errors[0].lineno, 0)

    def test_twistedRecord(self) -> None:
        """
        A Twisted JSON log record becomes a C{twisted:log} message with its
        formatted text, level, namespace and time, as a task of its own.
        """
        messages, errors = self.read(twisted_log())
        self.assertEqual(errors, [])
        message = messages[0]
        self.assertEqual(message["message_type"], TWISTED_MESSAGE_TYPE)
        self.assertEqual(message["log_text"], "Hello world")
        self.assertEqual((message["log_level"], message["log_namespace"]), ("info", "app.web"))
        self.assertEqual(message["task_level"], [1])
        self.assertIsInstance(message["timestamp"], float)
        again, _ = self.read(twisted_log())
        self.assertNotEqual(again[0]["task_uuid"], "")

    def test_twistedSyntheticUUIDStable(self) -> None:
        """
        The synthetic task UUID of a Twisted record is the same every time
        the same file is read.
        """
        data = twisted_log()
        self.assertEqual(self.read(data)[0][0]["task_uuid"], self.read(data)[0][0]["task_uuid"])

    def test_twistedFailure(self) -> None:
        """
        A Twisted record with a failure gets C{exception}, C{reason} and
        C{traceback} fields.
        """
        message = self.read(twisted_log(failure=True))[0][0]
        self.assertEqual(message["exception"], "builtins.ZeroDivisionError")
        self.assertIn("ZeroDivisionError", message["traceback"])
        self.assertEqual(message["log_text"], "Request 7 failed")

    def test_needle(self) -> None:
        """
        With a needle, lines that do not contain it are skipped undecoded.
        """
        data = lines(*sample_task("A"), *sample_task("B"))
        messages = list(MessageReader(needle=b'"B"').read([io.BytesIO(data)]))
        self.assertEqual(messages, sample_task("B"))

    @_settings
    @given(
        st.lists(
            st.one_of(
                st.binary(max_size=40),
                st.text(max_size=40).map(str.encode),
                st.sampled_from([b"\x1e{}", b"\x1e[1]", b'\x1e{"log_time": 1}']),
            ),
            max_size=8,
        )
    )
    def test_arbitraryLinesNeverRaise(self, garbage: List[bytes]) -> None:
        """
        Whatever the lines contain, reading reports problems and never
        raises; valid messages among them are still read.
        """
        good = sample_task()
        data = b"\n".join(garbage) + b"\n" + lines(*good)
        messages, errors = self.read(data)
        self.assertEqual(messages[-len(good) :], good)
        for error in errors:
            self.assertIsInstance(error.reason, str)
