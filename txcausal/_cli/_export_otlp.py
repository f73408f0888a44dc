# -*- test-case-name: txcausal.test.test_export -*-
"""
C{txcausal export --endpoint URL} and C{--format otlp-json}: tasks as
OpenTelemetry spans (see L{txcausal._otel_tasks}), sent with the SDK's
OTLP/HTTP exporter or written as OTLP JSON, in batches.  The only part of
the command that imports OpenTelemetry.
"""

from __future__ import annotations

import argparse
import base64
import os
from collections import OrderedDict
from typing import Any, Callable, Dict, List
from urllib.parse import urlsplit, urlunsplit

import orjson
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .._otel_spans import PARENT_SPAN_ID_FIELD, UNFINISHED_ATTRIBUTE, SpanBuilder
from .._otel_tasks import PartIds, stray_spans, task_spans
from .._parse import DEFAULT_MAX_OPEN, Task, WrittenAction
from ._common import MAX_REPORTED, StrayReport, Streams, describe
from ._export import Counts
from ._text import counted

#: Spans per request or per JSON line.
BATCH_SIZE = 512
#: The path of OTLP/HTTP's traces endpoint.
TRACES_PATH = "/v1/traces"
#: The OTLP JSON fields that hold ids: hex in OTLP JSON, base64 in protobuf's
#: JSON mapping.
_ID_FIELDS = frozenset(["traceId", "spanId", "parentSpanId"])


def _hex_ids(value: Any) -> Any:
    """
    Turn the base64 ids of protobuf's JSON mapping into OTLP JSON's hex,
    in place.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _ID_FIELDS and isinstance(item, str):
                value[key] = base64.b64decode(item).hex()
            else:
                _hex_ids(item)
    elif isinstance(value, list):
        for item in value:
            _hex_ids(item)
    return value


def otlp_json(spans: List[ReadableSpan]) -> bytes:
    """
    @return: One C{ExportTraceServiceRequest} in OTLP JSON (ids in hex,
        enums as integers), as a line.
    """
    request = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    return orjson.dumps(_hex_ids(request), option=orjson.OPT_APPEND_NEWLINE)


class SpanWriter:
    """
    Turn tasks into spans and hand them on in batches.
    """

    def __init__(self, streams: Streams, builder: SpanBuilder,
                 note: Callable[[str], None], remember: int = DEFAULT_MAX_OPEN) -> None:
        """
        @param note: Reports a problem on standard error.
        @param remember: For how many of the last tasks written (complete,
            or given up by C{--max-open}) to remember the next copy id (see
            L{PartIds}), so that the spans of a later part of one of them
            get span ids of their own.
        """
        self._streams = streams
        self._builder = builder
        self._note = note
        self._batch: List[ReadableSpan] = []
        self._parts: OrderedDict[str, int] = OrderedDict()
        self._remember = remember
        self.counts = Counts()
        self.failed = 0
        self.unused_parents = 0
        self.untimed = 0
        self.untimed_events = 0
        self.strays = 0
        self.left_out = StrayReport(note, "in no span")

    def write(self, task: Task) -> None:
        """
        Export the spans of one task.
        """
        self.counts.tasks += 1
        batch = self._batch
        part = PartIds(task.uuid, self._parts.pop(task.uuid, 1))
        for span in task_spans(task, self._builder, self._unused_parent, part,
                               self._untimed, self._untimed_event):
            self._add(span)
        if task.strays:
            before = len(batch)
            for span in stray_spans(task, self._builder, self._unused_parent, part,
                                    self.left_out, self._untimed, self._untimed_event):
                self._add(span)
            self.strays += len(batch) - before
        self._parts[task.uuid] = part.next_copy
        if len(self._parts) > self._remember:
            self._parts.popitem(last=False)
        if len(batch) >= BATCH_SIZE:
            self._flush()

    def _add(self, span: ReadableSpan) -> None:
        self._batch.append(span)
        if span.attributes and UNFINISHED_ATTRIBUTE in span.attributes:
            self.counts.unfinished += 1

    def _unused_parent(self, start: Dict[str, Any]) -> None:
        """
        Report a start message whose C{parent_span_id} is no span id (the
        first L{MAX_REPORTED}; the summary counts them all).
        """
        self.unused_parents += 1
        if self.unused_parents <= MAX_REPORTED:
            self._note(f"{describe(start)}: parent_span_id {start[PARENT_SPAN_ID_FIELD]!r:.100}"
                       " is not a span id (16 hex digits): the span's parent is the enclosing"
                       " action's")

    def _untimed(self, action: WrittenAction) -> None:
        """
        Report an action that has no span for want of a time (the first
        L{MAX_REPORTED}; the summary counts them all).
        """
        self.untimed += 1
        if self.untimed <= MAX_REPORTED:
            message = action.start_message or action.end_message or {}
            self._note(f"{describe(message)}: its action has no span: no timestamp from 1970"
                       " to 2554")

    def _untimed_event(self, message: Dict[str, Any]) -> None:
        """
        Report a message logged in an action, with no usable time: its event
        is at its action's start (the first L{MAX_REPORTED}; the summary
        counts them all).
        """
        self.untimed_events += 1
        if self.untimed_events <= MAX_REPORTED:
            self._note(f"{describe(message)}: no timestamp from 1970 to 2554: its span event is"
                       " at its action's start")

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            self.counts.items += len(batch)
            self.send(batch)

    def send(self, spans: List[ReadableSpan]) -> None:
        """
        Hand a batch on.
        """
        raise NotImplementedError()

    def close(self) -> int:
        """
        Send what is left and summarize.

        @return: 1 if some spans could not be sent, else 0.
        """
        self._flush()
        counts = self.counts
        sent = counts.items - self.failed
        unfinished = f" ({counts.unfinished} unfinished)" if counts.unfinished else ""
        strays = f", {self.strays} from messages not in their task's tree" if self.strays else ""
        parts = [(self.unused_parents, "parent_span_id field", " not used"),
                 (self.untimed, "action", " without a time"),
                 (self.untimed_events, "message", " without a time")]
        extra = "".join(f", {counted(count, noun)}{what}" for count, noun, what in parts if count)
        left_out = self.left_out.summary()
        left_out = f", {left_out}" if left_out else ""
        self._streams.stderr.write(f"txcausal: exported {counted(sent, 'span')}{unfinished} from"
                                   f" {counted(counts.tasks, 'task')}{strays}{extra}{left_out}\n")
        if self.failed:
            self._streams.stderr.write(f"txcausal: {counted(self.failed, 'span')} could not be"
                                       " sent\n")
            return 1
        return 0


class OTLPJSONWriter(SpanWriter):
    """
    Write spans as OTLP JSON lines on standard output.
    """

    def send(self, spans: List[ReadableSpan]) -> None:
        self._streams.stdout.write(otlp_json(spans).decode("utf-8"))


class OTLPSender(SpanWriter):
    """
    Send spans with an OTLP/HTTP span exporter; after a batch fails, the
    rest are counted as failed without trying.
    """

    def __init__(self, streams: Streams, builder: SpanBuilder, note: Callable[[str], None],
                 exporter: SpanExporter, endpoint: str, remember: int = DEFAULT_MAX_OPEN) -> None:
        super().__init__(streams, builder, note, remember)
        self._exporter = exporter
        self._endpoint = endpoint

    def send(self, spans: List[ReadableSpan]) -> None:
        if self.failed:
            self.failed += len(spans)
            return
        try:
            result = self._exporter.export(spans)
        except Exception as e:
            result = SpanExportResult.FAILURE
            self._streams.stderr.write(f"txcausal: {type(e).__name__}: {str(e)[:200]}\n")
        if result is not SpanExportResult.SUCCESS:
            self.failed += len(spans)
            self._streams.stderr.write(f"txcausal: sending spans to {self._endpoint} failed\n")

    def close(self) -> int:
        status = super().close()
        self._exporter.shutdown()
        return status


def _headers(pairs: List[str]) -> Dict[str, str]:
    """
    @raise ValueError: For a header not written C{NAME=VALUE}.
    """
    headers = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"--header must be NAME=VALUE, not {pair!r}")
        headers[name.strip()] = value
    return headers


def traces_url(endpoint: str) -> str:
    """
    @return: The URL to send spans to: C{endpoint}, with the traces path
        C{/v1/traces} when it has no path (as C{OTEL_EXPORTER_OTLP_ENDPOINT}
        is written).
    @raise ValueError: If it is not an HTTP or HTTPS URL.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--endpoint must be an http or https URL, not {endpoint!r}")
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=TRACES_PATH))
    return endpoint


def writer_for(args: argparse.Namespace, streams: Streams,
               note: Callable[[str], None]) -> SpanWriter:
    """
    @param note: Reports a problem on standard error.
    @return: The writer the arguments ask for.
    @raise ValueError: For a malformed argument.
    """
    name = args.service_name or os.environ.get("OTEL_SERVICE_NAME") or "txcausal"
    builder = SpanBuilder(Resource.create({SERVICE_NAME: name}), SpanLimits())
    # Room for the open tasks given up and as many written since.
    remember = 2 * args.max_open
    if args.format == "otlp-json":
        return OTLPJSONWriter(streams, builder, note, remember)
    url = traces_url(args.endpoint)
    exporter = OTLPSpanExporter(endpoint=url, headers=_headers(args.header), timeout=args.timeout)
    return OTLPSender(streams, builder, note, exporter, url, remember)
