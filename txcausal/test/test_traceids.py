"""
Tests for L{txcausal._traceids}: the trace and span ids of tasks and
actions.
"""

from __future__ import annotations

from hashlib import sha256
from typing import List
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from txcausal._action import Action
from txcausal._tasklevel import parse_task_id
from txcausal._traceids import (
    position,
    span_hex,
    span_id,
    trace_id,
    uuid_trace_hex,
    uuid_trace_id,
)

HYPOTHESIS = settings(derandomize=True, deadline=None)
UUID_TEXT = "1e0be9be-ae56-49ef-9bce-60e850a7db09"


class TraceIdTests(SynchronousTestCase):
    """
    Tests for L{trace_id} and L{uuid_trace_id}.
    """

    def test_uuid(self) -> None:
        """
        A task UUID's trace id is its 128 bits, whatever the case of its
        hex digits.
        """
        self.assertEqual(trace_id(UUID_TEXT), UUID(UUID_TEXT).int)
        self.assertEqual(trace_id(UUID_TEXT.upper()), UUID(UUID_TEXT).int)

    def test_notUUID(self) -> None:
        """
        A task id that is not a UUID gets the first 128 bits of the SHA-256
        of its text; L{uuid_trace_id} says 0 for it.
        """
        for text in ["not-a-uuid", "+e0be9be-ae56-49ef-9bce-60e850a7db09", "", "é"]:
            expected = int(sha256(text.encode()).hexdigest()[:32], 16)
            self.assertEqual((trace_id(text), uuid_trace_id(text)), (expected, 0), text)

    def test_zeroUUID(self) -> None:
        """
        The all-zero UUID, which cannot be a trace id, is hashed too.
        """
        zero = str(UUID(int=0))
        self.assertEqual(uuid_trace_id(zero), 0)
        self.assertNotEqual(trace_id(zero), 0)


class SpanIdTests(SynchronousTestCase):
    """
    Tests for L{span_id} and L{position}.
    """

    def test_position(self) -> None:
        """
        An action's position is written as C{serialize_task_id} writes
        positions; a task's root action's ends at the C{@}.
        """
        self.assertEqual(position(UUID_TEXT, [1, 22]), UUID_TEXT + "@/1/22")
        self.assertEqual(position(UUID_TEXT, []), UUID_TEXT + "@")

    def test_hash(self) -> None:
        """
        The span id is the first 64 bits of the SHA-256 of the position.
        """
        digest = sha256(f"{UUID_TEXT}@/3/1".encode()).hexdigest()
        self.assertEqual(span_id(UUID_TEXT, [3, 1]), int(digest[:16], 16))

    def test_distinct(self) -> None:
        """
        Different actions of a task, and the same level in different tasks,
        get different span ids.
        """
        ids = {span_id(UUID_TEXT, level) for level in [[], [1], [2], [1, 1], [11], [1, 1, 1]]}
        ids.add(span_id(str(uuid4()), [1]))
        self.assertEqual(len(ids), 7)

    @HYPOTHESIS
    @given(st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
                     st.just(str(UUID(int=0))), st.text(max_size=40)),
           st.lists(st.integers(1, 10**12), max_size=8))
    def test_hexForms(self, task_uuid: str, level: List[int]) -> None:
        """
        The hex forms the C{traceparent} header is made of are the ids'
        digits, lower case: 16 for a span id, 32 for a UUID's trace id, none
        for what is not a UUID or is the zero UUID.
        """
        self.assertEqual(span_hex(task_uuid, level), f"{span_id(task_uuid, level):016x}")
        trace = uuid_trace_id(task_uuid)
        self.assertEqual(uuid_trace_hex(task_uuid), f"{trace:032x}" if trace else "")

    @HYPOTHESIS
    @given(st.lists(st.integers(1, 10**6), max_size=8), st.integers(0, 5))
    def test_continuationIsChild(self, level: List[int], used: int) -> None:
        """
        The action continuing a position handed out by an action starts one
        level below that position: its parent's span id (the id of its
        level without the last element) is the span id of the action that
        handed the position out.
        """
        client = Action(None, UUID_TEXT, level, "client")
        for _ in range(used):
            client.serialize_task_id()
        uuid, continued = parse_task_id(client.serialize_task_id())
        self.assertEqual(span_id(uuid, continued[:-1]), span_id(UUID_TEXT, level))
