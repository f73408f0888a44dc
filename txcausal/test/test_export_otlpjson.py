"""
Tests for the encoding of C{txcausal export --format otlp-json}: the OTLP
JSON Protobuf encoding (the proto3 JSON mapping with OTLP's deviations: ids
in hex, enums as integers, lowerCamelCase keys only), checked with
C{opentelemetry-proto}'s messages and protobuf's own JSON parser.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import orjson
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from twisted.trial.unittest import SynchronousTestCase

from txcausal import Action, log_message, start_action, write_traceback
from txcausal._cli._export_otlp import otlp_json
from txcausal.otel import SpanDestination

from ._helpers import IsolatedOutputMixin
from ._reading import cli
from .test_export import TwoProcesses, write_log

#: The OTLP fields holding ids, and how many hex digits each has.
ID_FIELDS = {"traceId": 32, "spanId": 16, "parentSpanId": 16}
#: The 64-bit integer fields of spans, events and attribute values: decimal
#: strings in the proto3 JSON mapping.
INT64_FIELDS = {"startTimeUnixNano", "endTimeUnixNano", "timeUnixNano", "intValue"}
#: The enum fields: integers in OTLP JSON, never names.
ENUM_FIELDS = {"kind", "code"}
LOWER_CAMEL_CASE = re.compile(r"[a-z][a-zA-Z0-9]*")


def items(value: Any) -> Iterator[Tuple[str, Any]]:
    """
    @return: Every key and value of every JSON object inside C{value}.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from items(item)
    elif isinstance(value, list):
        for item in value:
            yield from items(item)


def encoding_problems(line: bytes) -> List[str]:
    """
    @return: How one line breaks the OTLP JSON encoding rules.
    """
    problems = []
    for key, value in items(orjson.loads(line)):
        if not LOWER_CAMEL_CASE.fullmatch(key):
            problems.append(f"{key}: not lowerCamelCase")
        if key in ID_FIELDS and not re.fullmatch(f"[0-9a-f]{{{ID_FIELDS[key]}}}", value):
            problems.append(f"{key}: not {ID_FIELDS[key]} hex digits: {value!r}")
        if key in INT64_FIELDS and not (isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
            problems.append(f"{key}: not a decimal string: {value!r}")
        if key in ENUM_FIELDS and type(value) is not int:
            problems.append(f"{key}: not an integer: {value!r}")
    return problems


def parse_otlp_json(line: bytes) -> ExportTraceServiceRequest:
    """
    Parse one OTLP JSON line with protobuf's JSON parser, its hex ids turned
    back into the base64 of the standard mapping; unknown field names are
    errors.
    """
    request = orjson.loads(line)
    _ids_to_base64(request)
    parsed: ExportTraceServiceRequest = json_format.ParseDict(request, ExportTraceServiceRequest())
    return parsed


def _ids_to_base64(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ID_FIELDS:
                value[key] = base64.b64encode(bytes.fromhex(item)).decode("ascii")
            else:
                _ids_to_base64(item)
    elif isinstance(value, list):
        for item in value:
            _ids_to_base64(item)


class OTLPJSONEncodingTests(TwoProcesses, SynchronousTestCase):
    """
    The lines of C{--format otlp-json} follow OTLP's JSON encoding.
    """

    def test_sameMessageAsProtobuf(self) -> None:
        """
        A line parsed by protobuf's JSON parser (ids read as hex) is the
        C{ExportTraceServiceRequest} the OTLP exporter sends for the same
        spans.
        """
        self.logTwoProcesses()
        spans = list(self.live.get_finished_spans())
        line = otlp_json(spans)
        self.assertEqual(parse_otlp_json(line), encode_spans(spans))

    def test_rules(self) -> None:
        """
        Every line C{txcausal export --format otlp-json} writes for logs of
        several processes has lowerCamelCase keys only, ids in hex of their
        length, 64-bit integers as decimal strings and enums as integers,
        and parses as an C{ExportTraceServiceRequest} with 16-byte trace ids
        and 8-byte span ids.
        """
        client, server = self.logTwoProcesses()
        extra = write_log(Path(self.mktemp()), [{
            "task_uuid": self.task_uuid, "task_level": [9, 1], "timestamp": 1.5,
            "action_type": "app:late", "action_status": "started", "n": 2**40,
            "names": ["a", "b"], "nested": {"k": [1, None]}}])
        status, out, err = cli(["export", "--format", "otlp-json", client, server, extra])
        self.assertEqual(status, 0, err)
        lines = out.encode("utf-8").splitlines()
        self.assertTrue(lines)
        seen: Dict[str, int] = {}
        for line in lines:
            self.assertEqual(encoding_problems(line), [])
            for key, _ in items(orjson.loads(line)):
                seen[key] = seen.get(key, 0) + 1
            request = parse_otlp_json(line)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        self.assertEqual((len(span.trace_id), len(span.span_id)), (16, 8))
                        self.assertIn(len(span.parent_span_id), (0, 8))
        # The rules were checked on every kind of field they are about.
        self.assertLessEqual(set(ID_FIELDS) | INT64_FIELDS | ENUM_FIELDS, set(seen))


class LiveAndFilesTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    The spans C{txcausal export} builds from log files are those
    L{SpanDestination} built while the messages were logged, to the last
    field of their OTLP encoding.
    """

    def test_identical(self) -> None:
        """
        For a task of two processes with fields of every kind (those JSON
        cannot hold as they are too), events,
        success fields, a failure with its traceback and a continuation,
        each span exported from the files encodes exactly as the span built
        live: ids, parent, flags, kind, times, attributes, events, status.
        """
        live = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(live))
        client: List[Dict[str, Any]] = []
        server: List[Dict[str, Any]] = []
        client_spans = SpanDestination(tracer_provider)
        self.isolate().add(client.append, client_spans)
        with start_action(action_type="client:main", text="a", number=3, ratio=0.5, flag=True,
                          names=["x", "y"], mixed=[1, "x"], nested={"k": [1]}, nothing=None,
                          huge=2**70, negative=-(2**63), pair=(1, 2), raw=b"bytes",
                          path=Path("/tmp/x"), odd=object(), nan=float("nan")) as main:
            log_message(message_type="client:step", n=1, tags=["t"], big=2**64,
                        limits=[float("inf"), 1.0])
            with start_action(action_type="txcausal:http:client", method="GET") as request:
                task_id = request.serialize_task_id()
                self.isolate().add(server.append, SpanDestination(tracer_provider))
                with Action.continue_task(task_id=task_id, method="GET"):
                    try:
                        with start_action(action_type="server:work"):
                            try:
                                raise ZeroDivisionError("nothing to divide")
                            except ZeroDivisionError:
                                write_traceback()
                                raise
                    except ZeroDivisionError:
                        pass
                self.isolate().add(client.append, client_spans)
            main.add_success_fields(result=[1.5, 2.5])
        base = Path(self.mktemp())
        base.mkdir()
        status, out, err = cli(["export", "--format", "otlp-json",
                                write_log(base / "client.log", client),
                                write_log(base / "server.log", server)])
        self.assertEqual(status, 0, err)
        exported = {span.span_id: span for line in out.encode("utf-8").splitlines()
                    for resource in parse_otlp_json(line).resource_spans
                    for scope in resource.scope_spans for span in scope.spans}
        built = {span.span_id: span for resource in encode_spans(live.get_finished_spans())
                 .resource_spans for scope in resource.scope_spans for span in scope.spans}
        self.assertEqual(len(built), 4)
        self.assertEqual(sorted(built), sorted(exported))
        for key, span in built.items():
            self.assertEqual(exported[key], span)
