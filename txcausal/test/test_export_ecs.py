"""
Tests for C{txcausal export --format ecs}: Elastic Common Schema documents,
checked against the ECS definitions of the fields they use.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, start_action, write_traceback
from txcausal._traceids import span_id
from txcausal.stdlib import CausalHandler

from ._reading import cli, twisted_log
from .test_export import TwoProcesses, write_log

#: The ECS fields the documents use: their type and, for some, their allowed
#: values or the format of their values.  Taken from the field definitions
#: of elastic/ecs (generated/ecs/ecs_flat.yml) at v8.11.0, the version the
#: documents declare, and checked against v9.4.0, the latest release: the
#: definitions of these fields are the same in both.
ECS_FIELDS: Dict[str, Tuple[str, Any]] = {
    "@timestamp": ("date", None),
    "ecs.version": ("keyword", re.compile(r"\d+\.\d+\.\d+")),
    "message": ("match_only_text", None),
    "log.level": ("keyword", None),
    "log.logger": ("keyword", None),
    "event.kind": ("keyword", {"alert", "asset", "enrichment", "event", "metric", "state",
                               "pipeline_error", "signal"}),
    "event.action": ("keyword", None),
    "event.outcome": ("keyword", {"failure", "success", "unknown"}),
    "event.duration": ("long", None),
    "trace.id": ("keyword", re.compile(r"[0-9a-f]{32}")),
    "span.id": ("keyword", re.compile(r"[0-9a-f]{16}")),
    "error.type": ("keyword", None),
    "error.message": ("match_only_text", None),
    "error.stack_trace": ("wildcard", None),
    # labels is an object whose values are all keywords.
    "labels.task_path": ("keyword", re.compile(r"\d{10}(/\d{10})*")),
}
#: ISO 8601 in UTC with microseconds, as the documents write dates.
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def flatten(document: Dict[str, Any], prefix: str = "") -> Iterator[Tuple[str, Any]]:
    for key, value in document.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def ecs_problems(document: Dict[str, Any]) -> List[str]:
    """
    @return: How C{document} breaks the definitions of L{ECS_FIELDS}: a field
        ECS does not define (outside the C{txcausal} namespace), or a value
        of the wrong type or format.
    """
    problems = []
    original = document.get("txcausal")
    if not isinstance(original, dict):
        problems.append("no txcausal object")
    for name, value in flatten({k: v for k, v in document.items() if k != "txcausal"}):
        if name not in ECS_FIELDS:
            problems.append(f"{name}: not an ECS field used here")
            continue
        kind, allowed = ECS_FIELDS[name]
        if kind == "date":
            if not (isinstance(value, str) and DATE.fullmatch(value)):
                problems.append(f"{name}: not an ISO 8601 date: {value!r}")
        elif kind == "long":
            if not (isinstance(value, int) and -(2**63) <= value < 2**63):
                problems.append(f"{name}: not a long: {value!r}")
        elif not isinstance(value, str):
            problems.append(f"{name}: not a string: {value!r}")
        elif isinstance(allowed, set) and value not in allowed:
            problems.append(f"{name}: not an allowed value: {value!r}")
        elif isinstance(allowed, re.Pattern) and not allowed.fullmatch(value):
            problems.append(f"{name}: malformed: {value!r}")
    problems.extend(_outcome_problems(document))
    for required in ["@timestamp", "ecs.version"]:
        if required not in dict(flatten(document)):
            problems.append(f"{required}: missing")
    return problems


#: The C{event.outcome} of an action's messages.  ECS: C{unknown} is for "an
#: attempt for which the result is unknown" (an action started); "the unknown
#: value should not be used when an outcome doesn't make logical sense for
#: the event. In such cases event.outcome should not be populated" (a
#: message that is no action's start or end).
OUTCOMES = {"started": "unknown", "succeeded": "success", "failed": "failure"}


def _outcome_problems(document: Dict[str, Any]) -> List[str]:
    """
    @return: How C{document}'s C{event.outcome} breaks the ECS guidance for
        the message it stands for.
    """
    original = document.get("txcausal")
    status = original.get("action_status") if isinstance(original, dict) else None
    expected = OUTCOMES.get(status) if isinstance(status, str) else None
    outcome = document.get("event", {}).get("outcome")
    if outcome == expected:
        return []
    return [f"event.outcome: {outcome!r} for action_status {status!r}, not {expected!r}"]


class ECSExportTests(TwoProcesses, SynchronousTestCase):
    """
    C{txcausal export --format ecs} on the logs of several processes.
    """

    def export(self, *paths: str) -> Tuple[int, List[Dict[str, Any]], str]:
        status, out, err = cli(["export", "--format", "ecs", *paths])
        return status, [orjson.loads(line) for line in out.splitlines()], err

    def richLog(self) -> str:
        """
        A third process's log: a stdlib record, a traceback, a failed
        action, a huge integer.
        """
        messages: List[Dict[str, Any]] = []
        self.isolate().add(messages.append)
        logger = logging.getLogger("txcausal.test.ecs")
        handler = CausalHandler()
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        try:
            with start_action(action_type="worker:job", big=2**70):
                logger.warning("disk %s full", "/tmp")
                try:
                    raise ZeroDivisionError("division by zero")
                except ZeroDivisionError:
                    write_traceback()
                    raise
        except ZeroDivisionError:
            pass
        return write_log(Path(self.mktemp()), messages)

    def test_fieldDefinitions(self) -> None:
        """
        Every document of logs from several processes (and a Twisted log)
        has the ECS fields it uses with the types and formats ECS defines,
        the original message under C{txcausal}.
        """
        client, server = self.logTwoProcesses()
        twisted = Path(self.mktemp())
        twisted.write_bytes(twisted_log(failure=True))
        status, documents, err = self.export(client, server, self.richLog(), str(twisted))
        self.assertEqual(status, 0, err)
        self.assertGreater(len(documents), 15)
        for document in documents:
            self.assertEqual(ecs_problems(document), [], document)
        names = {name for document in documents for name, _ in flatten(document)}
        self.assertTrue({n for n in ECS_FIELDS} <= names, set(ECS_FIELDS) - names)

    def test_values(self) -> None:
        """
        The documents say what the messages say: the time to the
        microsecond, the task as trace id and the action as span id (the
        same ids as the exported spans), the outcome, the duration in
        nanoseconds, the error; levels come from the message or its status.
        """
        client, server = self.logTwoProcesses()
        status, documents, err = self.export(client, server)
        by_action = {(d["event"]["action"], d["event"].get("outcome")): d for d in documents}
        work = by_action[("server:work", "failure")]
        original = work["txcausal"]
        self.assertEqual(work["@timestamp"], datetime.fromtimestamp(
            original["timestamp"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        self.assertEqual(work["trace"]["id"], self.task_uuid.replace("-", ""))
        self.assertEqual(work["span"]["id"],
                         f"{span_id(self.task_uuid, original['task_level'][:-1]):016x}")
        self.assertEqual(work["event"]["duration"], int(original["duration"] * 1e9))
        self.assertEqual(work["error"], {"type": "builtins.ZeroDivisionError",
                                         "message": "nothing to divide"})
        self.assertEqual((work["log"]["level"], work["message"]),
                         ("error", "server:work failed: builtins.ZeroDivisionError:"
                                   " nothing to divide"))
        started = by_action[("client:main", "unknown")]
        self.assertEqual((started["log"]["level"], started["message"]),
                         ("info", "client:main started"))
        self.assertEqual({d["trace"]["id"] for d in documents}, {work["trace"]["id"]})
        levels = [d["txcausal"]["task_level"] for d in documents]
        self.assertEqual(levels, sorted(levels), "a task's messages in level order")
        paths = [d["labels"]["task_path"] for d in documents]
        self.assertEqual(paths, sorted(paths), "task_path sorts in level order")
        self.assertEqual(work["labels"]["task_path"], "/".join(
            "%010d" % n for n in original["task_level"]))

    def test_logLevels(self) -> None:
        """
        A stdlib record keeps its level and logger; a traceback is an error
        with its stack trace; a field past 64 bits is written as read (a
        float).
        """
        status, documents, err = self.export(self.richLog())
        by_action = {d["event"].get("action"): d for d in documents}
        record = by_action["eliot:stdlib"]
        self.assertEqual((record["log"], record["message"]),
                         ({"level": "warning", "logger": "txcausal.test.ecs"}, "disk /tmp full"))
        traceback = by_action["eliot:traceback"]
        self.assertEqual(traceback["log"]["level"], "error")
        self.assertIn("ZeroDivisionError", traceback["error"]["stack_trace"])
        (started,) = [d for d in documents if d["txcausal"].get("action_status") == "started"]
        self.assertEqual(started["txcausal"]["big"], float(2**70))

    def test_badMessageSkipped(self) -> None:
        """
        A message that cannot be a document (its timestamp is not a
        number) is reported and skipped; the others are written.
        """
        messages: List[Dict[str, Any]] = []
        self.isolate().add(messages.append)
        log_message(message_type="app:fine")
        bad = {**messages[0], "task_uuid": "bad-task", "timestamp": "yesterday"}
        path = write_log(Path(self.mktemp()), [bad, messages[0]])
        status, documents, err = self.export(path)
        self.assertEqual(status, 0)
        self.assertEqual([d["event"]["action"] for d in documents], ["app:fine"])
        self.assertIn("message 'bad-task'/1: skipped: timestamp is not a number: 'yesterday'",
                      err)
        self.assertIn("wrote 1 ECS document from 2 tasks, 1 skipped", err)
