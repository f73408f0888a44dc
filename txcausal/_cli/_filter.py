# -*- test-case-name: txcausal.test.test_cli -*-
"""
C{txcausal filter}: select messages by structured conditions and write them
as JSON lines, ready to pipe into the other commands.  On a terminal, the
characters that could drive it are written as JSON escapes.

Conditions are data, never code: nothing the user types is evaluated.
Different options must all hold; repeating C{--type}, C{--status} or
C{--task-uuid} accepts any of the values given.
"""

from __future__ import annotations

import argparse
from fnmatch import fnmatchcase
from typing import Any, Callable, Dict, Iterable, Iterator, List, Sequence, Tuple

from orjson import JSONDecodeError

from .._json_decode import decode_json
from .._select import parse_time as _parse_time
from .._wire import FAILED_STATUS, STARTED_STATUS, SUCCEEDED_STATUS
from ._common import (
    BatchWriter,
    Input,
    Note,
    Streams,
    add_input_arguments,
    describe,
    ignore_note,
    is_terminal,
    write_json_lines,
)
from ._text import scalar_text

Message = Dict[str, Any]
Predicate = Callable[[Message], bool]

NAME = "filter"
HELP = "select messages by field, type, status, time or task; output JSON lines"

_MISSING = object()


def lookup(message: Message, path: str) -> Any:
    """
    The value at a dotted C{path} (C{"user.id"}, C{"rows.0"}) in a message;
    a field whose name contains dots is found first.

    @return: The value, or a private marker if there is none.
    """
    if path in message:
        return message[path]
    value: Any = message
    for part in path.split("."):
        if value.__class__ is dict:
            value = value.get(part, _MISSING)
        elif value.__class__ is list and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def split_condition(text: str) -> Tuple[str, str]:
    """
    Split C{PATH=VALUE}.

    @raise argparse.ArgumentTypeError: Without an C{=}.
    """
    path, sep, value = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    return path, value


def field_equals(path: str, text: str) -> Predicate:
    """
    The field equals C{text}: as JSON (C{42}, C{true}, C{"x"}) or as text.
    """
    try:
        expected: Any = decode_json(text.encode("utf-8"))
    except JSONDecodeError:
        expected = _MISSING

    def matches(message: Message) -> bool:
        value = lookup(message, path)
        if value is _MISSING:
            return False
        if expected is not _MISSING and value == expected and type(value) is type(expected):
            return True
        return value.__class__ not in (dict, list) and scalar_text(value) == text

    return matches


def field_contains(path: str, text: str) -> Predicate:
    """
    The text of the field (JSON for nested values) contains C{text}.
    """

    def matches(message: Message) -> bool:
        value = lookup(message, path)
        return value is not _MISSING and text in scalar_text(value)

    return matches


def type_matches(patterns: Sequence[str]) -> Predicate:
    """
    The message or action type matches one of the glob C{patterns}.
    """

    def matches(message: Message) -> bool:
        kind = message.get("message_type", message.get("action_type"))
        return isinstance(kind, str) and any(fnmatchcase(kind, p) for p in patterns)

    return matches


def one_of(field: str, values: Sequence[str]) -> Predicate:
    """
    The field is a string, one of C{values}.
    """
    accepted = frozenset(values)

    def matches(message: Message) -> bool:
        value = message.get(field)
        return value.__class__ is str and value in accepted

    return matches


def parse_time(text: str) -> float:
    """
    An argparse type: seconds since the epoch or an ISO 8601 time, with
    any number of fraction digits, UTC unless it says otherwise (see
    L{txcausal._select.iso_timestamp}).

    @raise argparse.ArgumentTypeError: If it is neither.
    """
    try:
        return _parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}") from None


def seconds(text: str) -> float:
    """
    An argparse type: a duration in seconds, 0 or more.
    """
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def time_between(since: float, until: float) -> Predicate:
    """
    The timestamp is in C{[since, until]}.
    """

    def matches(message: Message) -> bool:
        when = message.get("timestamp")
        return isinstance(when, (int, float)) and since <= when <= until

    return matches


def predicates(args: argparse.Namespace) -> List[Predicate]:
    """
    The conditions given on the command line.
    """
    result = [field_equals(*c) for c in args.field]
    result += [field_contains(*c) for c in args.contains]
    if args.type:
        result.append(type_matches(args.type))
    if args.status:
        result.append(one_of("action_status", args.status))
    if args.task_uuid:
        result.append(one_of("task_uuid", args.task_uuid))
    if args.since is not None or args.until is not None:
        since = args.since if args.since is not None else float("-inf")
        until = args.until if args.until is not None else float("inf")
        result.append(time_between(since, until))
    return result


def select(
    messages: Iterable[Message], conditions: Sequence[Predicate], on_error: Note = ignore_note
) -> Iterator[Message]:
    """
    The messages for which every condition holds.  A message that cannot
    be checked is reported to C{on_error} in one line and skipped.
    """
    for message in messages:
        try:
            selected = all(condition(message) for condition in conditions)
        except Exception as e:
            on_error(f"{describe(message)}: cannot check: {type(e).__name__}")
            continue
        if selected:
            yield message


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the options of C{txcausal filter}.
    """
    add_input_arguments(parser)
    _add_field_conditions(parser)
    _add_kind_conditions(parser)
    add_time_arguments(parser)


def _add_field_conditions(parser: argparse.ArgumentParser) -> None:
    conditions = {"action": "append", "default": [], "type": split_condition}
    parser.add_argument(
        "--field",
        metavar="FIELD=VALUE",
        help="the field (dotted path for nested ones) equals VALUE, as JSON or as text",
        **conditions,  # type: ignore[arg-type]
    )
    parser.add_argument(
        "--contains",
        metavar="FIELD=TEXT",
        help="the field's text contains TEXT",
        **conditions,  # type: ignore[arg-type]
    )


def _add_kind_conditions(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--type",
        action="append",
        default=[],
        metavar="GLOB",
        help="the message or action type matches GLOB, e.g. 'app:db:*'",
    )
    add(
        "--status",
        action="append",
        default=[],
        choices=[STARTED_STATUS, SUCCEEDED_STATUS, FAILED_STATUS],
        help="action messages with this status",
    )
    add("--task-uuid", action="append", default=[], metavar="UUID", help="messages of this task")


def add_time_arguments(parser: argparse.ArgumentParser, what: str = "messages") -> None:
    """
    Add C{--since} and C{--until}.

    @param what: What they select, for the help.
    """
    parser.add_argument(
        "--since",
        type=parse_time,
        metavar="TIME",
        help=f"only {what} at or after TIME (ISO 8601, UTC unless a zone is given, or epoch"
        " seconds)",
    )
    parser.add_argument(
        "--until", type=parse_time, metavar="TIME", help=f"only {what} at or before TIME"
    )


def run(args: argparse.Namespace, streams: Streams) -> int:
    """
    Run C{txcausal filter}.
    """
    writer = BatchWriter(streams.stdout)
    source = Input(streams, args.files, None, args.max_line_bytes, writer.idle)
    selected = select(source.messages(), predicates(args), source.reporter.note)
    write_json_lines(selected, writer, source.reporter.note, is_terminal(streams.stdout))
    return source.finish()
