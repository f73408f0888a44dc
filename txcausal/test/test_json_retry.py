"""
Tests for when L{txcausal._json_decode.decode_json} asks the standard library's
C{json} to read a line orjson refused (review 30): only when it could read
it, so that a file of truncated lines is read as fast as before.
"""

from __future__ import annotations

import json
from typing import Any, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import _json_decode
from txcausal._json_decode import NotReadExactly, decode_json
from txcausal._parse_input import LineError
from txcausal.parse import read_messages
from txcausal.test._reading import cli


class _CountingJSON:
    """
    The standard library's C{json}, counting the calls of C{loads}.
    """

    def __init__(self) -> None:
        self.calls: List[str] = []

    def loads(self, text: str, **kwargs: Any) -> Any:
        self.calls.append(text)
        return json.loads(text, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


class RetryTests(SynchronousTestCase):
    """
    L{decode_json} reads again with the standard library only the lines it
    may read.
    """

    def setUp(self) -> None:
        self.json = _CountingJSON()
        self.patch(_json_decode, "json", self.json)

    def _refused(self, text: bytes) -> None:
        with self.assertRaises(orjson.JSONDecodeError):
            decode_json(text)

    def test_truncated(self) -> None:
        """
        A line cut short (a crash) is refused without asking the standard
        library, which would refuse it too.
        """
        for text in (b'{"a":1', b'{"a":"xyz', b'{"a":[1,2', b"{"):
            self._refused(text)
        self.assertEqual(self.json.calls, [])

    def test_malformed(self) -> None:
        """
        A line with a character no JSON reader takes there is refused
        without asking the standard library, unless it holds a constant
        the standard library reads.
        """
        for text in (b'{"a":x}', b'{"a":-x}', b"garbage", b'{"a":1}}'):
            self._refused(text)
        self.assertEqual(self.json.calls, [])
        self._refused(b'{"a":NaN,"b":x}')
        self.assertEqual(len(self.json.calls), 1)

    def test_readByStdlib(self) -> None:
        """
        The lines the standard library reads and orjson refuses are read
        by the standard library.
        """
        texts = [b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}', b'{"a":1e999}',
                 b'{"a":"\\udcff"}', b'{"a":"x","\\ud800":1}']
        values = [decode_json(text) for text in texts]
        self.assertEqual(values, [{"a": "NaN"}, {"a": "Infinity"}, {"a": "-Infinity"},
                                  {"a": "Infinity"}, {"a": "\\xff"}, {"a": "x", "\\ud800": 1}])
        self.assertEqual(len(self.json.calls), len(texts))


class EscapedKeysTests(SynchronousTestCase):
    """
    Lone surrogates in keys are escaped as txcausal writes them, which can
    make two keys of one object the same.
    """

    def test_merged(self) -> None:
        """
        A line whose keys would be the same once escaped is reported with
        its line number and skipped, not read with one of its fields lost.
        """
        line = (b'{"task_uuid":"k","task_level":[1],"timestamp":1.0,"message_type":"m",'
                b'"o":{"f\\udcff":1,"f\\\\xff":2}}')
        errors: List[LineError] = []
        self.assertEqual(list(read_messages([[b'{"a":1}', line]], errors.append)), [])
        self.assertEqual([(e.lineno, e.reason) for e in errors],
                         [(1, "skipped: no task_uuid string"),
                          (2, "skipped: keys that are the same once their lone surrogates are"
                              " escaped")])

    def test_distinct(self) -> None:
        """
        Keys that stay distinct once escaped are all kept.
        """
        self.assertEqual(decode_json(b'{"f\\udcff":1,"f\\\\xfe":2,"g":{"\\ud800":3}}'),
                         {"f\\xff": 1, "f\\xfe": 2, "g": {"\\ud800": 3}})

    def test_deep(self) -> None:
        """
        Lone surrogates in values nested deeper than the escaping can go
        (which the standard library of Python 3.12 and later reads) make
        the line nested too deep, reported and skipped.
        """
        depth = 5000
        line = b'{"v":%s"\\udcff"%s}' % (b"[" * depth, b"]" * depth)
        with self.assertRaises(NotReadExactly) as raised:
            decode_json(line)
        self.assertEqual(str(raised.exception), "nested too deep")

    def test_commands(self) -> None:
        """
        The commands that write JSON report the line, and write the other
        messages (one holding C{1e999} too) as they were read.
        """
        good = (b'{"task_uuid":"g","task_level":[1],"timestamp":1.0,"message_type":"m",'
                b'"v":1e999,"w":"\\udcff"}\n')
        merged = (b'{"task_uuid":"k","task_level":[1],"timestamp":1.0,"message_type":"m",'
                  b'"f\\udcff":1,"f\\\\xff":2}\n')
        for command in (["filter"], ["tree", "--json"], ["export", "--format", "ecs"]):
            status, out, err = cli(command, good + merged + good.replace(b'"g"', b'"h"'))
            self.assertEqual(status, 0, err)
            self.assertIn("<stdin>:2: skipped: keys that are the same once their lone surrogates"
                          " are escaped\n", err)
            self.assertNotIn('"k"', out)
            text = out.replace(" ", "")
            for uuid in ("g", "h"):
                self.assertIn(f'"task_uuid":"{uuid}"', text)
            self.assertEqual(text.count('"v":"Infinity"'), 2, command)
            self.assertEqual(text.count('"w":"\\\\xff"'), 2, command)
