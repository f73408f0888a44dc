# -*- test-case-name: txcausal.test.test_export -*-
"""
C{txcausal export}: the tasks of log files as OpenTelemetry spans, sent to
an OTLP/HTTP endpoint or written as OTLP JSON lines, or their messages as
Elastic Common Schema JSON lines.

Every format reads the same way: the files (of one process or several) are
parsed into tasks, joined across processes, and each task is handed to the
format's writer as soon as it is complete.
"""

from __future__ import annotations

import argparse
from typing import Protocol

from attrs import define

from .._parse import DEFAULT_MAX_OPEN, Parser, Task
from ._common import (
    Input,
    Streams,
    add_input_arguments,
    fewer_collections,
    positive,
    report_given_up,
)

NAME = "export"
HELP = ("send tasks to a tracing backend over OTLP/HTTP, or write them as OTLP JSON or"
        " Elastic Common Schema JSON lines")

#: The formats of C{--format}, besides sending with C{--endpoint}.
FORMATS = ("otlp-json", "ecs")


class TaskWriter(Protocol):
    """
    Where a format puts the tasks read.
    """

    def write(self, task: Task) -> None:
        """
        Export one task.
        """

    def close(self) -> int:
        """
        Finish exporting and summarize on standard error.

        @return: The exit status: 0 when everything was exported.
        """


@define
class Counts:
    """
    What an export did, for its summary.
    """

    tasks: int = 0
    items: int = 0
    unfinished: int = 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal export}.
    """
    add_input_arguments(parser)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--endpoint", metavar="URL",
                       help="send spans to this OTLP/HTTP traces endpoint, e.g."
                       " http://localhost:4318/v1/traces (/v1/traces is added to a URL"
                       " without a path)")
    where.add_argument("--format", choices=FORMATS,
                       help="write to standard output: OTLP JSON lines (what the OpenTelemetry"
                       " Collector's otlpjsonfile receiver reads) or ECS JSON lines")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                        help="an HTTP header sent with the spans, e.g. for authentication"
                        " (repeatable)")
    parser.add_argument("--service-name", metavar="NAME",
                        help="the service.name of the spans (default: $OTEL_SERVICE_NAME,"
                        " else txcausal)")
    parser.add_argument("--timeout", type=positive, default=10, metavar="SECONDS",
                        help="how long to try sending each batch of spans (default 10)")
    parser.add_argument("--max-open", type=positive, default=DEFAULT_MAX_OPEN, metavar="N",
                        help="keep at most N tasks open waiting for their other messages; past"
                        f" that, export the oldest as it is (default {DEFAULT_MAX_OPEN})")


def _writer(args: argparse.Namespace, streams: Streams, source: Input) -> TaskWriter:
    if args.format == "ecs":
        from ._export_ecs import ECSWriter

        return ECSWriter(streams, source.reporter.note)
    try:
        from ._export_otlp import writer_for
    except ImportError as e:
        raise _MissingExtra(str(e)) from None
    return writer_for(args, streams, source.reporter.note)


class _MissingExtra(Exception):
    """
    The OpenTelemetry packages are not installed.
    """


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal export}.
    """
    source = Input(streams, args.files, None, args.max_line_bytes)
    try:
        writer = _writer(args, streams, source)
    except _MissingExtra as e:
        streams.stderr.write(f"txcausal: export needs OpenTelemetry: pip install"
                             f" 'txcausal[otel]' ({e})\n")
        return 2
    except ValueError as e:
        streams.stderr.write(f"txcausal: export: {e}\n")
        return 2
    parser = Parser(args.max_open)
    with fewer_collections():
        for task in parser.parse(source.messages()):
            writer.write(task)
    status = writer.close()
    report_given_up(streams, parser.given_up, args.max_open, "exported in parts")
    return max(status, source.finish())
