"""
Tests for the messages that do not fit their task's tree (a task's strays)
and for tasks given up by C{--max-open}, in C{txcausal export} and
C{txcausal stats}: nothing is left out without a count, and no two spans
share a trace and span id.
"""

from __future__ import annotations

import io
from typing import Any, Dict, Iterator, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import _parse
from txcausal._parse import Parser, WrittenAction, stray_trees
from txcausal._traceids import span_hex

from ._reading import cli, lines


def spans(out: str) -> Iterator[Dict[str, Any]]:
    """
    @return: The spans of OTLP JSON lines.
    """
    for line in out.splitlines():
        for resource in orjson.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                yield from scope["spans"]


def message(uuid: str, level: List[int], when: float, **fields: Any) -> Dict[str, Any]:
    """
    @return: A message of task C{uuid} at C{level}.
    """
    return {"task_uuid": uuid, "task_level": level, "timestamp": when, **fields}


#: Two tasks, each given up once by C{--max-open 1} (and A's later part
#: given up again): the finish of each comes in a later part.
GIVEN_UP = lines(*(message(uuid, [level], when, action_type=uuid.lower(), action_status=status)
                   for uuid, level, when, status in [
                       ("A", 1, 1.0, "started"), ("B", 1, 1.5, "started"),
                       ("A", 2, 2.0, "succeeded"), ("B", 2, 2.5, "succeeded")]))


#: Action C{b} at C{[2, 1]}-C{[2, 2]}, where a plain message already sits at
#: C{[2]}: it does not fit the tree of task C{k}.
STRAY_ACTION = lines(
    message("k", [1], 1.0, action_type="a", action_status="started"),
    message("k", [2], 2.0, message_type="m"),
    message("k", [2, 1], 2.1, action_type="b", action_status="started"),
    message("k", [2, 2], 2.2, action_type="b", action_status="succeeded"),
    message("k", [3], 3.0, action_type="a", action_status="succeeded"),
)


def attribute(span: Dict[str, Any], key: str) -> Any:
    """
    @return: The value of a span's attribute, C{None} if it has none.
    """
    for item in span.get("attributes", []):
        if item["key"] == key:
            return next(iter(item["value"].values()))
    return None


class OTLPStrays(SynchronousTestCase):
    """
    An action whose messages do not fit the tree is exported as a span;
    stray messages in no span are counted and reported.
    """

    def test_stray_action(self) -> None:
        """
        Action C{b} (shown by C{tree} under "not in the tree") is a span,
        child of C{a}, and the summary says one span came from strays.
        """
        status, out, err = cli(["export", "--format", "otlp-json"], STRAY_ACTION)
        found = {span["name"]: span for span in spans(out)}
        self.assertEqual(sorted(found), ["a", "b"])
        self.assertEqual(found["b"]["parentSpanId"], span_hex("k", ()))
        self.assertEqual(found["b"]["spanId"], span_hex("k", (2,)))
        self.assertIn("exported 2 spans", err)
        self.assertIn("1 from messages not in their task's tree", err)
        self.assertEqual(status, 0)

    def test_stray_message_counted(self) -> None:
        """
        A plain message whose level is taken is in no span: it is reported
        and counted in the summary.
        """
        data = lines(
            message("d", [1], 1.0, action_type="a", action_status="started"),
            message("d", [2], 2.0, message_type="m"),
            message("d", [2], 2.5, message_type="again"),
            message("d", [3], 3.0, action_type="a", action_status="succeeded"))
        status, out, err = cli(["export", "--format", "otlp-json"], data)
        self.assertEqual([span["name"] for span in spans(out)], ["a"])
        self.assertIn("message 'd'/2: not in its task's tree, in no span", err)
        self.assertIn("1 message not in its task's tree, in no span", err)

    def test_stray_untimed(self) -> None:
        """
        A stray copy of an action whose time is unusable is reported and
        counted as an action without a time (as one in the tree is), not as
        a message in no span.
        """
        data = lines(
            message("u", [1], 1.0, action_type="a", action_status="started"),
            message("u", [1], 1e12, action_type="a", action_status="started"),
            message("u", [2], 2.0, action_type="a", action_status="succeeded"))
        status, out, err = cli(["export", "--format", "otlp-json"], data)
        self.assertEqual([span["name"] for span in spans(out)], ["a"])
        self.assertIn("its action has no span: no timestamp from 1970 to 2554", err)
        self.assertIn(", 1 action without a time", err)
        self.assertNotIn("in no span", err)
        self.assertEqual(status, 0)

    def test_stray_untimed_messages(self) -> None:
        """
        The plain messages logged in a stray action with no usable time are
        in no span: they are reported and counted as such.
        """
        data = lines(
            message("k", [1], 1.0, action_type="a", action_status="started"),
            message("k", [2], 2.0, message_type="m"),
            message("k", [2, 1], 1e12, action_type="b", action_status="started"),
            message("k", [2, 2], 2.15, message_type="inner"),
            message("k", [2, 3], 1e12, action_type="b", action_status="succeeded"),
            message("k", [3], 3.0, action_type="a", action_status="succeeded"))
        status, out, err = cli(["export", "--format", "otlp-json"], data)
        self.assertEqual([span["name"] for span in spans(out)], ["a"])
        self.assertIn("message 'k'/2/1: its action has no span", err)
        self.assertIn("message 'k'/2/2: not in its task's tree, in no span", err)
        self.assertIn(", 1 action without a time, 1 message not in its task's tree, in no span\n",
                      err)

    def test_stray_parent(self) -> None:
        """
        A stray action whose parent position holds a plain message (no span)
        is the child of the nearest enclosing action that has a span.
        """
        data = lines(
            message("d", [1], 1.0, action_type="a", action_status="started"),
            message("d", [2], 2.0, message_type="m"),
            message("d", [2, 2, 1], 2.1, action_type="c", action_status="started"),
            message("d", [2, 2, 2], 2.2, action_type="c", action_status="succeeded"),
            message("d", [3], 3.0, action_type="a", action_status="succeeded"))
        found = {span["name"]: span for span in spans(cli(["export", "--format", "otlp-json"],
                                                           data)[1])}
        self.assertEqual(found["c"]["parentSpanId"], found["a"]["spanId"])


class OTLPDuplicateSpanId(SynchronousTestCase):
    """
    No two spans of an export share a trace and span id: the second span of
    one action gets a span id of its own, linked to the first.
    """

    def assertUnique(self, out: str) -> List[Dict[str, Any]]:
        found = list(spans(out))
        ids = [(span["traceId"], span["spanId"]) for span in found]
        self.assertEqual(len(ids), len(set(ids)), ids)
        return found

    def test_ends_twice(self) -> None:
        """
        An action that ends twice: the second finish is a span of its own,
        with a span id derived from the action's, marked and linked to the
        first.
        """
        data = lines(
            message("i", [1], 1.0, action_type="a", action_status="started"),
            message("i", [2, 1], 1.5, action_type="b", action_status="started"),
            message("i", [2, 2], 2.0, action_type="b", action_status="succeeded"),
            message("i", [2, 3], 2.5, action_type="b", action_status="failed",
                    exception="x", reason="y"),
            message("i", [3], 3.0, action_type="a", action_status="succeeded"))
        found = self.assertUnique(cli(["export", "--format", "otlp-json"], data)[1])
        self.assertEqual([span["name"] for span in found], ["a", "b", "b"])
        original = span_hex("i", (2,))
        self.assertEqual(found[1]["spanId"], original)
        self.assertEqual(found[2]["spanId"], span_hex("i", (2,), 2))
        self.assertEqual(attribute(found[2], "txcausal.copy_of"), original)
        self.assertEqual([link["spanId"] for link in found[2]["links"]], [original])

    def test_task_ends_twice(self) -> None:
        """
        A task whose root action ends twice: the second finish comes after
        the task was complete, as a task of its own; its span still has an
        id of its own.
        """
        data = lines(
            message("j", [1], 1.0, action_type="a", action_status="started"),
            message("j", [2], 2.0, action_type="a", action_status="succeeded"),
            message("j", [3], 3.0, action_type="a", action_status="failed",
                    exception="x", reason="y"))
        first, second = self.assertUnique(cli(["export", "--format", "otlp-json"], data)[1])
        self.assertEqual(second["spanId"], span_hex("j", (), 2))
        self.assertEqual(attribute(second, "txcausal.copy_of"), first["spanId"])

    def test_given_up(self) -> None:
        """
        A task given up by C{--max-open} whose finish comes later: the span
        of the finish has its own span id, and the summary counts the tasks
        given up.
        """
        status, out, err = cli(["export", "--format", "otlp-json", "--max-open", "1"], GIVEN_UP)
        found = self.assertUnique(out)
        self.assertEqual(len(found), 4)
        copies = [span for span in found if attribute(span, "txcausal.copy_of")]
        self.assertEqual(sorted(attribute(span, "txcausal.start_missing") for span in copies),
                         [True, True])
        self.assertIn("tasks given up by --max-open", err)

    def test_given_up_counted_once(self) -> None:
        """
        The summary counts the tasks given up, not the give-ups: A's later
        part given up again is not another task.
        """
        err = cli(["export", "--format", "otlp-json", "--max-open", "1"], GIVEN_UP)[2]
        self.assertIn("txcausal: 2 tasks given up by --max-open 1 (exported in parts)", err)

    def test_given_up_parents(self) -> None:
        """
        The spans of a later part of a task given up have copy ids, and the
        parent of each is a span of the export: the enclosing action's span
        in the same part (C{b}'s, for C{c}), else its own span id, that of
        its span in the first part (C{a}'s, for C{b}: the finish of C{a}
        is in a third part, as X's finish gives C{A} up again).
        """
        data = lines(
            message("A", [1], 1.0, action_type="a", action_status="started"),
            message("X", [1], 1.5, action_type="x", action_status="started"),
            message("A", [2, 1], 2.0, action_type="b", action_status="started"),
            message("A", [2, 2, 1], 2.1, action_type="c", action_status="started"),
            message("A", [2, 2, 2], 2.2, action_type="c", action_status="succeeded"),
            message("A", [2, 3], 2.3, action_type="b", action_status="succeeded"),
            message("X", [2], 2.5, action_type="x", action_status="succeeded"),
            message("A", [3], 3.0, action_type="a", action_status="succeeded"))
        found = self.assertUnique(cli(["export", "--format", "otlp-json", "--max-open", "1"],
                                      data)[1])
        self.assertEqual(sorted(span["name"] for span in found), ["a", "a", "b", "c", "x", "x"])
        ids = {span["spanId"] for span in found}
        parents = {span["name"]: span.get("parentSpanId") for span in found}
        self.assertEqual(parents["c"], span_hex("A", (2,), 2))
        self.assertEqual(parents["b"], span_hex("A", ()))
        self.assertLessEqual({p for p in parents.values() if p}, ids)


class StrayTreesLinear(SynchronousTestCase):
    """
    L{stray_trees} tries a stray against a bounded number of trees.
    """

    def test_putCallsLinear(self) -> None:
        """
        Many plain strays at one position: each tries at most a few trees,
        not every tree made before it (counted calls of C{_put}, not time).
        """
        n = 2000
        msgs = [message("u", [1], 1.0, action_type="a", action_status="started")]
        msgs += [message("u", [2], 1.0, message_type="m") for _ in range(n)]
        msgs.append(message("u", [3], 2.0, action_type="a", action_status="succeeded"))
        task = list(Parser().parse(msgs))[0]
        calls = [0]
        real = _parse._put

        def counting(root: WrittenAction, stray: Dict[str, Any]) -> bool:
            calls[0] += 1
            return real(root, stray)

        self.patch(_parse, "_put", counting)
        self.assertEqual(len(stray_trees(task)), n - 1)
        self.assertLessEqual(calls[0], 4 * n)


class SpanIdMemory(SynchronousTestCase):
    """
    What the OTLP writer remembers to give the spans of a task's later part
    ids of their own is bounded by C{--max-open}.
    """

    def test_givenUpForgotten(self) -> None:
        """
        Tasks given up whose other part never comes are remembered for at
        most C{max_open} tasks, like the complete ones.
        """
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import SpanLimits

        from txcausal._cli._common import Streams
        from txcausal._cli._export_otlp import OTLPJSONWriter
        from txcausal._otel_spans import SpanBuilder

        max_open = 10
        writer = OTLPJSONWriter(Streams(None, io.StringIO(), io.StringIO()),
                                SpanBuilder(Resource.create({}), SpanLimits()),
                                lambda s: None, max_open)
        parser = Parser(max_open)
        for i in range(1000):
            task = parser.add(message(f"T{i}", [1], 1.0 + i, action_type="op",
                                      action_status="started"))
            if task is not None:
                writer.write(task)
        self.assertLessEqual(len(writer._parts), max_open)
