"""
txcausal's modules named after Eliot's (C{prettyprint}, C{tai64n},
C{serializers}, C{filter}) give what Eliot 1.18's give, run side by side.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Dict, List

import eliot.filter
import eliot.prettyprint
import eliot.serializers
import eliot.tai64n
from twisted.trial.unittest import SynchronousTestCase

from txcausal import filter as causal_filter
from txcausal import prettyprint, serializers, tai64n

MESSAGES: List[Dict[str, Any]] = [
    {"task_uuid": "u1", "task_level": [1], "timestamp": 1700000000.123456,
     "action_type": "app:a", "action_status": "started", "x": 1},
    {"task_uuid": "u1", "task_level": [2, 3], "timestamp": 0.5, "message_type": "app:m",
     "text": "two\nlines\tand a tab", "nested": {"list": list(range(30)), "z": None},
     "b": True},
    {"task_uuid": "u2", "task_level": [1], "timestamp": 1e9, "message_type": ""},
]


class PrettyPrintTests(SynchronousTestCase):
    """
    L{prettyprint} formats messages as C{eliot.prettyprint} does.
    """

    def test_pretty(self) -> None:
        """
        L{prettyprint.pretty_format}, in UTC and local time.
        """
        for message in MESSAGES:
            for local in (False, True):
                self.assertEqual(prettyprint.pretty_format(message, local),
                                 eliot.prettyprint.pretty_format(message, local))

    def test_compact(self) -> None:
        """
        L{prettyprint.compact_format}, in UTC and local time.
        """
        for message in MESSAGES:
            for local in (False, True):
                self.assertEqual(prettyprint.compact_format(message, local),
                                 eliot.prettyprint.compact_format(message, local))

    def test_requiredFields(self) -> None:
        """
        The fields every message has.
        """
        self.assertEqual(set(prettyprint.REQUIRED_FIELDS), eliot.prettyprint.REQUIRED_FIELDS)


class TAI64NTests(SynchronousTestCase):
    """
    L{tai64n} encodes and decodes as C{eliot.tai64n} does.
    """

    def test_encode(self) -> None:
        """
        The same labels, and each decodes back to its time.
        """
        for timestamp in [0.0, 1.5, 1700000000.123456, 1e9]:
            self.assertEqual(tai64n.encode(timestamp), eliot.tai64n.encode(timestamp))
            self.assertAlmostEqual(tai64n.decode(tai64n.encode(timestamp)), timestamp, places=5)
            self.assertEqual(tai64n.decode(tai64n.encode(timestamp)),
                             eliot.tai64n.decode(eliot.tai64n.encode(timestamp)))

    def test_notALabel(self) -> None:
        """
        Text that is not a label raises L{ValueError}.
        """
        for text in ["@12", "@" + "zz" * 12, ""]:
            self.assertRaises(ValueError, tai64n.decode, text)


class SerializersTests(SynchronousTestCase):
    """
    L{serializers} serialize as C{eliot.serializers} do.
    """

    def test_same(self) -> None:
        """
        Timestamps, identity and MD5 digests.
        """
        dt = datetime(2024, 1, 31, 12, 0, 5, 42, tzinfo=timezone.utc)
        self.assertEqual(serializers.timestamp(dt), eliot.serializers.timestamp(dt))
        self.assertEqual(serializers.md5hex(b"data"), eliot.serializers.md5hex(b"data"))
        value = object()
        self.assertIs(serializers.identity(value), value)


class FilterTests(SynchronousTestCase):
    """
    C{python -m txcausal.filter} filters as C{python -m eliot.filter} does.
    """

    def run_filter(self, main: Any, *args: str) -> SimpleNamespace:
        lines = [json.dumps(m) + "\n" for m in MESSAGES]
        fake = SimpleNamespace(argv=["filter", *args], stdin=iter(lines), stdout=io.StringIO(),
                               stderr=io.StringIO())
        fake.status = main(fake)
        return fake

    def test_sameOutput(self) -> None:
        """
        The same expressions give the same output: whole messages, a field,
        C{SKIP}, and datetimes written in ISO 8601.
        """
        for expr in ["J", "J.get('x', SKIP)",
                     "datetime.fromtimestamp(J['timestamp'], tz=None) + timedelta(days=1)"]:
            ours = self.run_filter(causal_filter.main, expr)
            theirs = self.run_filter(eliot.filter.main, expr)
            self.assertEqual((ours.status, ours.stdout.getvalue()),
                             (theirs.status, theirs.stdout.getvalue()))

    def test_usage(self) -> None:
        """
        Without exactly one argument it prints its usage and returns 1.
        """
        fake = self.run_filter(causal_filter.main)
        self.assertEqual((fake.status, fake.stderr.getvalue()), (1, causal_filter.USAGE))
