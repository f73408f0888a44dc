"""
Tests for reading hostile lines (audit 23): a line the reader cannot take
is reported with its line number and skipped, and the rest of the file is
read; what a command cannot write is reported and skipped, and the rest is
written.
"""

from __future__ import annotations

from typing import List

from twisted.trial.unittest import SynchronousTestCase

from txcausal._parse_input import LineError, MessageReader
from txcausal._twisted_records import record_uuid
from txcausal.parse import read_messages
from txcausal.test._reading import cli

#: Twisted's text format, a byte that is not UTF-8 in the first event.
TEXT_NOT_UTF8 = (
    b"2026-12-07 00:00:00+0000 [-] hello \xff\xfe world\n"
    b"2026-12-07 00:00:01+0000 [-] second event\n"
)


class TwistedTextNotUTF8Tests(SynchronousTestCase):
    """
    A line of Twisted's text format holding bytes that are not UTF-8.
    """

    def test_library(self) -> None:
        """
        Both events are read, each a task of its own.
        """
        messages = list(read_messages([[*TEXT_NOT_UTF8.splitlines()]]))
        self.assertEqual(len(messages), 2)
        self.assertEqual(len({m["task_uuid"] for m in messages}), 2)

    def test_commands(self) -> None:
        """
        C{tree} and C{export --format ecs} show both events, without an
        error.
        """
        status, out, err = cli(["tree"], TEXT_NOT_UTF8)
        self.assertEqual((status, err), (0, ""))
        self.assertIn("second event", out)
        status, out, err = cli(["export", "--format", "ecs"], TEXT_NOT_UTF8)
        self.assertEqual(status, 0, err)
        self.assertEqual(len(out.splitlines()), 2)

    def test_sameUUIDForUTF8(self) -> None:
        """
        The task UUID of a record's bytes is the name-based UUID of its
        text, as before, when the bytes are UTF-8.
        """
        from uuid import UUID, uuid5

        from txcausal._twisted_records import _NAMESPACE

        data = "caf\u00e9 [-] x".encode("utf-8")
        self.assertEqual(UUID(record_uuid(data)), uuid5(_NAMESPACE, data.decode("utf-8")))
        self.assertNotEqual(record_uuid(b"\xff"), record_uuid(b"\xfe"))
