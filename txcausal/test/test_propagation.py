"""
Tests for L{txcausal._propagation}: the HTTP header codecs.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http_headers import Headers

from txcausal._action import Action
from txcausal._outgoing import outgoing, traceparent_for
from txcausal._propagation import (
    _REMOTE_TRACE,
    LOGGED_VALUE_LENGTH,
    MAX_HEADER_LENGTH,
    REMOTE_LEVEL_BASE,
    REQUEST_PARTS,
    Incoming,
    RemoteTrace,
    RequestParts,
    _incoming,
    escape_value,
    incoming,
)
from txcausal._tasklevel import parse_task_id
from txcausal._traceids import span_id
from txcausal._wire import ATTEMPT_OF_FIELD

UUID_TEXT = "1e0be9be-ae56-49ef-9bce-60e850a7db09"
TRACE_ID = "1e0be9beae5649ef9bce60e850a7db09"
SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01".encode()
HYPOTHESIS = settings(derandomize=True, deadline=None, max_examples=300)


def headers(**raw: List[bytes]) -> Headers:
    """
    Build L{Headers}; C{x_eliot_task_id} stands for C{X-Eliot-Task-Id}.
    """
    return Headers({name.replace("_", "-").encode(): values for name, values in raw.items()})


class EscapeValueTests(SynchronousTestCase):
    """
    Tests for L{escape_value}.
    """

    def test_printableASCII(self) -> None:
        """
        Control characters and non-ASCII bytes come out as backslash
        escapes, so a rejected value cannot forge log lines.
        """
        self.assertEqual(escape_value(b"a\nb\xff\xc3\xa9"), "a\\nb\\xff\\xc3\\xa9")

    @HYPOTHESIS
    @given(value=st.binary(max_size=40) | st.text(max_size=40).map(str.encode),
           limit=st.integers(1, 50))
    def test_asRepr(self, value: bytes, limit: int) -> None:
        """
        A value is escaped as C{repr} shows bytes, whether or not it holds
        anything to escape.
        """
        shown = repr(value[:limit])[2:-1]
        if len(value) > limit:
            shown += f"... ({len(value)} bytes)"
        self.assertEqual(escape_value(value, limit), shown)

    def test_truncated(self) -> None:
        """
        A long value is cut to L{LOGGED_VALUE_LENGTH} bytes and its full
        length noted.
        """
        text = escape_value(b"x" * 5000)
        self.assertEqual(text, "x" * LOGGED_VALUE_LENGTH + "... (5000 bytes)")


class IncomingTaskIdTests(SynchronousTestCase):
    """
    Tests for L{incoming} with C{X-Eliot-Task-Id}.
    """

    def test_noHeaders(self) -> None:
        """
        Without headers, a request starts a new task and logs nothing extra.
        """
        found = incoming(Headers())
        self.assertEqual((found.task_id, found.fields, found.trace), (None, {}, None))

    def test_valid(self) -> None:
        """
        A valid task id is continued as given.
        """
        found = incoming(headers(x_eliot_task_id=[f"{UUID_TEXT}@/2/3".encode()]))
        self.assertEqual((found.task_id, found.fields), (f"{UUID_TEXT}@/2/3", {}))

    def test_root(self) -> None:
        """
        A task id at the root, C{<uuid>@/}, is continued there, as
        L{Action.continue_task} (and Eliot's) continues it.
        """
        for value in [f"{UUID_TEXT}@/".encode(), f" {UUID_TEXT}@/ ".encode()]:
            found = incoming(headers(x_eliot_task_id=[value]))
            self.assertEqual((found.task_id, found.task_uuid, found.level, found.fields),
                             (f"{UUID_TEXT}@/", UUID_TEXT, [], {}))

    def assertRejected(self, values: List[bytes], reason: str) -> Dict[str, Any]:
        """
        Check that C{values} of C{X-Eliot-Task-Id} give a new task and a
        rejection for C{reason}.
        """
        found = incoming(headers(x_eliot_task_id=values))
        self.assertIsNone(found.task_id)
        rejection = found.fields["rejected_headers"]["x-eliot-task-id"]
        self.assertEqual(rejection["reason"], reason)
        return rejection  # type: ignore[no-any-return]

    def test_repeated(self) -> None:
        """
        A repeated header is rejected, and both values are logged.
        """
        value = f"{UUID_TEXT}@/1".encode()
        rejection = self.assertRejected([value, value], "repeated header")
        self.assertEqual(rejection["values"], [value.decode()] * 2)
        self.assertEqual(rejection["count"], 2)

    def test_oversized(self) -> None:
        """
        A value over 1 KiB is rejected, and logged truncated.
        """
        value = f"{UUID_TEXT}@".encode() + b"/1" * MAX_HEADER_LENGTH
        rejection = self.assertRejected([value], f"longer than {MAX_HEADER_LENGTH} bytes")
        self.assertTrue(rejection["values"][0].endswith(f"... ({len(value)} bytes)"))

    def test_nonASCII(self) -> None:
        """
        A non-ASCII value is rejected, and logged escaped.
        """
        rejection = self.assertRejected([f"{UUID_TEXT}@/1\u00e9".encode()], "not ASCII")
        self.assertTrue(rejection["values"][0].endswith("@/1\\xc3\\xa9"))

    def test_malformed(self) -> None:
        """
        A value that is not C{<uuid>@/<level>...} is rejected.
        """
        for value in [b"", b"nope", f"{UUID_TEXT}@/0".encode(), f"{UUID_TEXT}/1".encode(),
                      f"{UUID_TEXT}@".encode(), f"{UUID_TEXT}@//".encode()]:
            self.assertRejected([value], "malformed task id")


class FakeRandom:
    """
    What L{RequestParts} uses of L{random.Random}: the starts are given,
    and reseeding is counted.
    """

    def __init__(self, *starts: int) -> None:
        self.starts = list(starts)
        self.seeded = 0

    def seed(self) -> None:
        self.seeded += 1

    def randrange(self, stop: int) -> int:
        assert stop == REQUEST_PARTS
        return self.starts.pop(0)


class RequestPartsTests(SynchronousTestCase):
    """
    Tests for L{RequestParts}.
    """

    def test_consecutive(self) -> None:
        """
        The parts follow each other from the random start, from 1 to
        L{REQUEST_PARTS} and round again, never 0 (no level has a 0).
        """
        parts = RequestParts(FakeRandom(REQUEST_PARTS - 2))  # type: ignore[arg-type]
        self.assertEqual([parts() for _ in range(4)], [REQUEST_PARTS - 1, REQUEST_PARTS, 1, 2])

    def test_restart(self) -> None:
        """
        L{RequestParts.restart}, called in a forked child, reseeds and
        starts from a new random number, so that parent and child do not
        give the same parts.
        """
        random = FakeRandom(5, 100)
        parts = RequestParts(random)  # type: ignore[arg-type]
        parts()
        parts.restart()
        self.assertEqual((parts(), random.seeded), (101, 2))

    def test_forkedChildDiffers(self) -> None:
        """
        A forked child does not give its parent's next part to the next
        request continued from a bare C{traceparent}: the process's parts
        restart from a new random number in the child.
        """
        bare = headers(traceparent=[TRACEPARENT])
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            level = incoming(bare).level
            os.write(write, str(level[-1] if level else 0).encode())
            os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        child = int(os.read(read, 100))
        os.close(read)
        level = incoming(bare).level
        assert level is not None
        self.assertNotIn(child, (0, level[-1]))


class IncomingTraceparentTests(SynchronousTestCase):
    """
    Tests for L{incoming} with W3C Trace Context headers.
    """

    def test_continuesTraceAsTask(self) -> None:
        """
        A bare C{traceparent} continues the task whose UUID is the trace-id,
        under a top-level position derived from the parent-id, which is
        logged, at a position of the request's own inside it.
        """
        found = incoming(headers(traceparent=[TRACEPARENT]))
        top = REMOTE_LEVEL_BASE + int(SPAN_ID[:8], 16)
        assert found.level is not None
        self.assertEqual((len(found.level), found.level[0]), (2, top))
        self.assertEqual(found.task_id, f"{UUID_TEXT}@/{top}/{found.level[1]}")
        self.assertEqual(found.fields, {"parent_span_id": SPAN_ID, "attempt_of": f"/{top}"})
        self.assertEqual(found.trace, RemoteTrace(UUID_TEXT, "01", None))

    def test_sameTraceparentTwice(self) -> None:
        """
        Two requests with the same bare C{traceparent} (a retry below an
        OpenTelemetry client's span, a proxy, one context injected into two
        calls) are continued at positions of their own, both under the
        calling span's.
        """
        found = [incoming(headers(traceparent=[TRACEPARENT])) for _ in range(3)]
        top = REMOTE_LEVEL_BASE + int(SPAN_ID[:8], 16)
        self.assertEqual({tuple(f.level[:-1]) for f in found if f.level}, {(top,)})
        self.assertEqual(len({f.task_id for f in found}), 3)
        self.assertEqual([f.fields for f in found],
                         [{"parent_span_id": SPAN_ID, "attempt_of": f"/{top}"}] * 3)

    def test_taskIdWins(self) -> None:
        """
        With both headers, C{X-Eliot-Task-Id} gives the position; the trace
        flags still come from C{traceparent} when it is the same trace.
        """
        found = incoming(headers(x_eliot_task_id=[f"{UUID_TEXT}@/4".encode()],
                                 traceparent=[TRACEPARENT.replace(b"-01", b"-00")]))
        self.assertEqual((found.task_id, found.fields), (f"{UUID_TEXT}@/4", {}))
        self.assertEqual(found.trace, RemoteTrace(UUID_TEXT, "00", None))

    def test_otherTraceIgnored(self) -> None:
        """
        A C{traceparent} of another trace than the task's passes nothing on.
        """
        other = f"{uuid4()}@/4"
        found = incoming(headers(x_eliot_task_id=[other.encode()], traceparent=[TRACEPARENT]))
        self.assertEqual((found.task_id, found.trace), (other, None))

    def test_taskIdWithInvalidTraceparent(self) -> None:
        """
        With C{X-Eliot-Task-Id}, a C{traceparent} of the task's trace in
        upper case, or with other characters than hex digits in the place of
        the trace-id's, is rejected: the task is continued, nothing is
        passed on.
        """
        task_id = f"{UUID_TEXT.upper()}@/4"
        bad = [TRACEPARENT.upper(), TRACEPARENT.replace(TRACE_ID.encode(), b"\n" * 32),
               TRACEPARENT.replace(TRACE_ID.encode(), TRACE_ID.upper().encode())]
        for value in bad:
            found = incoming(headers(x_eliot_task_id=[task_id.encode()], traceparent=[value]))
            self.assertEqual((found.task_id, found.trace), (task_id, None), value)
            self.assertIn("traceparent", found.fields["rejected_headers"])

    def test_fallsBackToTraceparent(self) -> None:
        """
        A rejected C{X-Eliot-Task-Id} is logged and a valid C{traceparent}
        is continued instead.
        """
        found = incoming(headers(x_eliot_task_id=[b"junk"], traceparent=[TRACEPARENT]))
        self.assertTrue(found.task_id.startswith(UUID_TEXT))  # type: ignore[union-attr]
        self.assertEqual(found.fields["rejected_headers"]["x-eliot-task-id"]["values"], ["junk"])

    def test_invalidTraceparents(self) -> None:
        """
        Version C{ff}, version C{00} with extra parts, upper case, all-zero
        ids and wrong lengths are rejected: a new task starts.
        """
        bad = [b"ff" + TRACEPARENT[2:], TRACEPARENT + b"-x", TRACEPARENT.upper(),
               f"00-{'0' * 32}-{SPAN_ID}-01".encode(), f"00-{TRACE_ID}-{'0' * 16}-01".encode(),
               TRACEPARENT[:-1], b"00-xyz"]
        for value in bad:
            found = incoming(headers(traceparent=[value]))
            self.assertIsNone(found.task_id, value)
            self.assertIn("traceparent", found.fields["rejected_headers"])

    def test_futureVersion(self) -> None:
        """
        A later version is read by its version-00 prefix, as W3C requires.
        """
        found = incoming(headers(traceparent=[b"01" + TRACEPARENT[2:] + b"-more"]))
        self.assertEqual(found.fields["parent_span_id"], SPAN_ID)

    def test_tracestateJoined(self) -> None:
        """
        Several C{tracestate} headers are one list, normalized.
        """
        found = incoming(headers(traceparent=[TRACEPARENT], tracestate=[b"a=1, b=2", b"c=3"]))
        self.assertEqual(found.trace, RemoteTrace(UUID_TEXT, "01", "a=1,b=2,c=3"))

    def test_tracestateRejected(self) -> None:
        """
        A malformed C{tracestate} is logged and dropped; the trace is still
        continued.
        """
        for value in [b"A=1", b"a=1,a=2", b"a", b"a=\xff", b"a=1" + b",b=2" * 40]:
            found = incoming(headers(traceparent=[TRACEPARENT], tracestate=[value]))
            self.assertEqual(found.trace, RemoteTrace(UUID_TEXT, "01", None), value)
            self.assertIn("tracestate", found.fields["rejected_headers"])


class OutgoingTests(SynchronousTestCase):
    """
    Tests for L{outgoing}.
    """

    def setUp(self) -> None:
        self.action = Action(None, UUID_TEXT, [3], "app:test")

    def test_doesNotMutate(self) -> None:
        """
        The caller's headers are copied, not changed.
        """
        original = Headers({b"accept": [b"text/plain"], b"tracestate": [b"mine=1"]})
        sent = outgoing(self.action, original)
        self.assertEqual(list(original.getAllRawHeaders()),
                         [(b"Accept", [b"text/plain"]), (b"Tracestate", [b"mine=1"])])
        self.assertEqual(sent.getRawHeaders(b"accept"), [b"text/plain"])
        self.assertEqual(sent.getRawHeaders(b"tracestate"), [b"mine=1"])

    def test_headersAgree(self) -> None:
        """
        C{X-Eliot-Task-Id} is a fresh position in the action; C{traceparent}
        has the task's trace-id and, as parent-id, the span id of the action
        (the parent of the server's action at that position).
        """
        sent = outgoing(self.action, None)
        task_id = sent.getRawHeaders(b"x-eliot-task-id")[0]  # type: ignore[index]
        self.assertEqual(task_id, f"{UUID_TEXT}@/3/1".encode())
        self.assertEqual(sent.getRawHeaders(b"traceparent"),
                         [f"00-{TRACE_ID}-{span_id(UUID_TEXT, [3]):016x}-01".encode()])

    def test_freshPositions(self) -> None:
        """
        Every request (a retry too) gets a new position.
        """
        first = outgoing(self.action, None).getRawHeaders(b"x-eliot-task-id")
        second = outgoing(self.action, None).getRawHeaders(b"x-eliot-task-id")
        self.assertNotEqual(first, second)

    def test_passesTraceStateOn(self) -> None:
        """
        The trace flags and C{tracestate} received with the task are sent on,
        but not with another task.
        """
        token = _REMOTE_TRACE.set(RemoteTrace(UUID_TEXT, "00", "v=1"))
        self.addCleanup(_REMOTE_TRACE.reset, token)
        sent = outgoing(self.action, None)
        self.assertEqual(sent.getRawHeaders(b"tracestate"), [b"v=1"])
        self.assertTrue(sent.getRawHeaders(b"traceparent")[0].endswith(b"-00"))  # type: ignore[index]
        other = outgoing(Action(None, str(uuid4()), [1], "t"), None)
        self.assertFalse(other.hasHeader(b"tracestate"))

    def test_zeroUUIDHasNoTraceparent(self) -> None:
        """
        A task whose UUID is all zeros (possible from Eliot) cannot be a
        trace: no C{traceparent} is sent, even one the caller set.
        """
        action = Action(None, str(UUID(int=0)), [1], "t")
        sent = outgoing(action, Headers({b"traceparent": [TRACEPARENT]}))
        self.assertFalse(sent.hasHeader(b"traceparent"))
        self.assertIsNone(traceparent_for(str(UUID(int=0)), [1]))


def same_request(found: Incoming) -> Incoming:
    """
    @return: C{found} without the part of its position that is the
        request's own, when it continues a bare C{traceparent} (which two
        readings of one request's headers cannot agree on).
    """
    if found.level is None or ATTEMPT_OF_FIELD not in found.fields:
        return found
    assert found.task_id is not None
    return found._replace(task_id=found.task_id.rpartition("/")[0], level=found.level[:-1])


header_values = st.lists(st.one_of(
    st.binary(max_size=80),
    st.text(alphabet="0123456789abcdef-@/", max_size=80).map(str.encode),
    st.sampled_from([TRACEPARENT, f"{UUID_TEXT}@/1/2".encode(), b"x" * 2000]),
), max_size=3)


class FuzzTests(SynchronousTestCase):
    """
    Hypothesis tests of the header parsing.
    """

    @HYPOTHESIS
    @given(task_ids=header_values, traceparents=header_values, tracestates=header_values)
    def test_neverRaises(self, task_ids: List[bytes], traceparents: List[bytes],
                         tracestates: List[bytes]) -> None:
        """
        Whatever the headers, parsing gives either a valid position or none,
        and every rejected value is logged as bounded printable ASCII.
        """
        raw = Headers()
        for name, values in [(b"x-eliot-task-id", task_ids), (b"traceparent", traceparents),
                             (b"tracestate", tracestates)]:
            if values:
                raw.setRawHeaders(name, values)
        found = incoming(raw)
        if found.task_id is not None:
            parse_task_id(found.task_id)
        for rejection in found.fields.get("rejected_headers", {}).values():
            for text in rejection["values"]:
                self.assertTrue(text.isascii() and text.isprintable(), text)
                self.assertLessEqual(len(text), 4 * LOGGED_VALUE_LENGTH + 30)

    @HYPOTHESIS
    @given(uuid=st.uuids(), level=st.lists(st.integers(1, 10**9), min_size=1, max_size=20))
    def test_roundTrip(self, uuid: UUID, level: List[int]) -> None:
        """
        What L{outgoing} sends, L{incoming} continues: the same position,
        and a C{traceparent} of the same trace.
        """
        action = Action(None, str(uuid), level, "t")
        sent = outgoing(action, None)
        found = incoming(sent)
        self.assertEqual(found.task_id, sent.getRawHeaders(b"x-eliot-task-id")[0].decode())  # type: ignore[index]
        if uuid.int:
            self.assertEqual(found.trace, RemoteTrace(str(uuid), "01", None))

    @HYPOTHESIS
    @given(task_ids=header_values, traceparents=header_values, tracestates=header_values,
           uuid=st.uuids(), level=st.lists(st.integers(1, 10**10 - 1), min_size=1, max_size=3),
           blanks=st.sampled_from([b"", b" ", b"\t "]))
    def test_fastPathAgrees(self, task_ids: List[bytes], traceparents: List[bytes],
                            tracestates: List[bytes], uuid: UUID, level: List[int],
                            blanks: bytes) -> None:
        """
        Whatever the headers, L{incoming} (which matches well-formed headers
        at once) says what the step-by-step checks of L{_incoming} say:
        arbitrary values, and those L{outgoing} sends, padded with blanks;
        the numbers of a level (the longest C{TASK_ID_PATTERN} allows
        included) are C{int}s, which C{==} would not tell from C{float}s.
        """
        sent = outgoing(Action(None, str(uuid), level, "t"), None)
        for raw in (sent, Headers()):
            for name, values in [(b"x-eliot-task-id", task_ids), (b"traceparent", traceparents),
                                 (b"tracestate", tracestates)]:
                if values:
                    raw.setRawHeaders(name, values)
            found = incoming(raw)
            self.assertEqual(same_request(found), same_request(_incoming(raw)))
            self.assertTrue(all(type(n) is int for n in found.level or []), found.level)
        padded = Headers({name: [blanks + value + blanks for value in values]
                          for name, values in outgoing(Action(None, str(uuid), level, "t"),
                                                       None).getAllRawHeaders()})
        found = incoming(padded)
        self.assertEqual(same_request(found), same_request(_incoming(padded)))
        self.assertTrue(all(type(n) is int for n in found.level or []), found.level)
