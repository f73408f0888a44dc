"""
Tests for the C{parent_span_id} field of a start message (a bare
C{traceparent}'s parent-id, or any field of that name a program logs): only
16 hex digits, not all zero, name a parent span; anything else is not used,
live or exported, and never breaks a batch of spans.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from twisted.trial.unittest import SynchronousTestCase

from txcausal import start_action, start_task
from txcausal._otel_spans import named_parent
from txcausal._traceids import span_id

from ._reading import cli
from .test_export import spans_of, write_log
from .test_otel import SpanMixin

#: Values of 16 characters that C{int(value, 16)} reads, or reads as 0, but
#: that are no span id.
NOT_SPAN_IDS = [
    "-000000000000001",
    "+000000000000001",
    "0x00000000000001",
    " 00000000000001 ",
    "0000_00000000001",
    "000000000000001\n",
    "0000000000000000",
    "\u0661" * 16,  # Arabic-Indic digit one: int() reads it.
]


class NamedParentTests(SynchronousTestCase):
    """
    L{named_parent} reads a span id from C{parent_span_id}.
    """

    def test_hexDigits(self) -> None:
        """
        Sixteen hex digits, in either case, are the parent's span id.
        """
        self.assertEqual(named_parent({"parent_span_id": "00f067aa0ba902b7"}), 0xF067AA0BA902B7)
        self.assertEqual(named_parent({"parent_span_id": "00F067AA0BA902B7"}), 0xF067AA0BA902B7)

    def test_notSpanIds(self) -> None:
        """
        Signs, prefixes, separators, spaces, other digits, all zeros, other
        lengths and types name no parent.
        """
        for value in NOT_SPAN_IDS + ["f067aa0ba902b7", "00f067aa0ba902b7a", 12, None, b"0" * 16]:
            self.assertIsNone(named_parent({"parent_span_id": value}), repr(value))
        self.assertIsNone(named_parent({}))
        self.assertIsNone(named_parent(None))


class LiveTests(SpanMixin, SynchronousTestCase):
    """
    L{txcausal.otel.SpanDestination} and a C{parent_span_id} that is no span
    id.
    """

    def test_rootAction(self) -> None:
        """
        A task's root action is a root span, and the batch encodes.
        """
        exporter = self.spans()
        for value in NOT_SPAN_IDS:
            with start_task(action_type="app:user", parent_span_id=value):
                pass
        spans = exporter.get_finished_spans()
        self.assertEqual([s.parent for s in spans], [None] * len(NOT_SPAN_IDS))
        encode_spans(spans)

    def test_nestedAction(self) -> None:
        """
        An action inside another is its child, as if it had no
        C{parent_span_id}; one with a span id there is that span's child.
        """
        exporter = self.spans()
        with start_task(action_type="app:outer") as outer:
            with start_action(action_type="app:bad", parent_span_id="-000000000000001"):
                pass
            with start_action(action_type="app:good", parent_span_id="00f067aa0ba902b7"):
                pass
        spans = self.byName(exporter)
        outer_id = span_id(outer.task_uuid, [])
        parent = spans["app:bad"].parent
        self.assertEqual((parent and parent.span_id, parent and parent.is_remote),
                         (outer_id, False))
        self.assertEqual(spans["app:good"].parent.span_id, 0xF067AA0BA902B7)  # type: ignore
        encode_spans(list(spans.values()))


class ExportTests(SynchronousTestCase):
    """
    C{txcausal export} and a C{parent_span_id} that is no span id.
    """

    def test_reported(self) -> None:
        """
        The span's parent is the enclosing action's (none for a task's
        root), every span is exported, and the message whose field was not
        used is named on standard error.
        """
        uuid, other = "22222222-2222-4222-8222-222222222222", "11111111-1111-4111-8111-111111111111"
        messages: List[Dict[str, Any]] = [
            {"task_uuid": other, "task_level": [1], "action_type": "good",
             "action_status": "started", "timestamp": 1.0},
            {"task_uuid": other, "task_level": [2], "action_type": "good",
             "action_status": "succeeded", "timestamp": 2.0},
            {"task_uuid": uuid, "task_level": [1], "action_type": "user",
             "action_status": "started", "timestamp": 1.0, "parent_span_id": "-000000000000001"},
            {"task_uuid": uuid, "task_level": [2, 1], "action_type": "inner",
             "action_status": "started", "timestamp": 1.5, "parent_span_id": "0x00000000000001"},
            {"task_uuid": uuid, "task_level": [2, 2], "action_type": "inner",
             "action_status": "succeeded", "timestamp": 1.6},
            {"task_uuid": uuid, "task_level": [3], "action_type": "user",
             "action_status": "succeeded", "timestamp": 2.0},
        ]
        status, out, err = cli(["export", "--format", "otlp-json",
                                write_log(Path(self.mktemp()), messages)])
        self.assertEqual(status, 0, err)
        spans = {s["name"]: s for s in spans_of(out)}
        self.assertEqual(sorted(spans), ["good", "inner", "user"])
        self.assertNotIn("parentSpanId", spans["user"])
        self.assertEqual(spans["inner"]["parentSpanId"], f"{span_id(uuid, []):016x}")
        self.assertIn(f"message '{uuid}'/1: parent_span_id '-000000000000001' is not a span id",
                      err)
        self.assertIn(f"message '{uuid}'/2/1: parent_span_id '0x00000000000001' is not a span id",
                      err)
        self.assertIn("exported 3 spans from 2 tasks, 2 parent_span_id fields not used", err)
