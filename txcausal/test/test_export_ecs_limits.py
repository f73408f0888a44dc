"""
C{txcausal export --format ecs} against the limits of the index template of
docs/elasticsearch.md, which Elasticsearch enforces by rejecting the whole
document: the C{flattened} field's C{depth_limit} (nested objects) and
Lucene's 32766-byte limit on one term (a leaf of a C{flattened} field is a
term unless longer than C{ignore_above}).  No Elasticsearch runs here: the
documents are checked statically.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli._ecs_depth import (
    DEPTH_LIMIT,
    IGNORE_ABOVE,
    REFUSED_KEYS,
    TOO_DEEP,
    UNFIT_KEYS,
    unfit,
)

from ._helpers import docs_dir
from ._reading import cli, lines

#: Lucene's limit on the length of one term, in UTF-8 bytes.
MAX_TERM_BYTES = 32766


def depth(value: Any) -> int:
    """
    @return: How many objects are nested in C{value} (itself included),
        as C{depth_limit} counts them: arrays do not count.
    """
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((depth(v) for v in value), default=0)
    return 0


def leaves(value: Any, path: str = "") -> List[Tuple[str, str]]:
    """
    @return: The key path and text of each leaf of C{value}, at any depth,
        as a C{flattened} field indexes them.
    """
    if isinstance(value, dict):
        return [leaf for k, v in value.items()
                for leaf in leaves(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v, path)]
    if value is None:
        return []
    return [(path, value if isinstance(value, str) else json.dumps(value))]


def rejected(document: Dict[str, Any]) -> List[str]:
    """
    @return: Why Elasticsearch, with the template's limits, would reject
        C{document}: too deep, a key with NUL, or a term (the leaf, or the
        keyed term C{<key path>\\0<leaf>}) past Lucene's limit.
    """
    reasons = []
    if depth(document["txcausal"]) > DEPTH_LIMIT:
        reasons.append(f"txcausal nested {depth(document['txcausal'])} deep")
    for path, leaf in leaves(document["txcausal"]):
        keyed = len(f"{path}\0{leaf}".encode("utf-8"))
        if "\0" in path:
            reasons.append("a key with NUL")
        elif keyed > MAX_TERM_BYTES and len(leaf) <= IGNORE_ABOVE:
            reasons.append(f"a keyed term of {keyed} bytes")
    return reasons


def nested(levels: int) -> Dict[str, Any]:
    """
    @return: C{levels} objects nested in one another.
    """
    value: Dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


class TemplateLimits(SynchronousTestCase):
    """
    Every document fits the template's limits; what had to change to fit
    is said.
    """

    def export(self, *messages: Dict[str, Any]) -> "tuple[List[Dict[str, Any]], str]":
        status, out, err = cli(["export", "--format", "ecs"], lines(*messages))
        self.assertEqual(status, 0, err)
        return [orjson.loads(line) for line in out.splitlines()], err

    def test_accepted(self) -> None:
        """
        Values nested deeper than the limit are written as JSON text, the
        document is reported and counted; a string longer than the term
        limit is kept (the template's C{ignore_above} leaves it unindexed).
        """
        base = {"task_uuid": "t", "timestamp": 1.0}
        documents, err = self.export(
            {**base, "task_level": [1], "message_type": "app:ok", "n": 1},
            {**base, "task_level": [2], "message_type": "app:config", "config": nested(25)},
            {**base, "task_level": [3], "message_type": "app:response", "body": "é" * 20000})
        self.assertEqual([rejected(d) for d in documents], [[], [], []])
        config = documents[1]["txcausal"]["config"]
        for _ in range(DEPTH_LIMIT - 2):
            config = config["k"]
        self.assertEqual(json.loads(config["k"]), nested(25 - DEPTH_LIMIT + 1))
        self.assertEqual(documents[2]["txcausal"]["body"], "é" * 20000)
        self.assertIn("message 't'/2: objects nested deeper than 20 written as JSON text", err)
        self.assertIn("1 with objects nested deeper than 20 or keys Elasticsearch refuses"
                      " written as JSON text", err)

    def test_keys(self) -> None:
        """
        An object with a key Elasticsearch refuses (NUL in it) or whose key
        path is too long for the keyed terms is written as JSON text (the
        message's own such fields gathered as one), reported and counted.
        """
        base = {"task_uuid": "t", "timestamp": 1.0, "message_type": "m"}
        documents, err = self.export(
            {**base, "task_level": [1], "k" * 25000: "x" * 8000},
            {**base, "task_level": [2], "q": {"k" * 40000: 1}},
            {**base, "task_level": [3], "a\0b": "v"})
        self.assertEqual([rejected(d) for d in documents], [[], [], []])
        self.assertEqual(json.loads(documents[1]["txcausal"]["q"]), {"k" * 40000: 1})
        self.assertEqual(json.loads(documents[2]["txcausal"][UNFIT_KEYS]), {"a\0b": "v"})
        self.assertIn("message 't'/3: objects with keys Elasticsearch refuses", err)
        self.assertIn("3 with objects nested deeper than 20 or keys Elasticsearch refuses"
                      " written as JSON text", err)

    def test_unfit(self) -> None:
        """
        L{unfit} finds an object too deep inside an array, and measures key
        paths in UTF-8 bytes, not characters.
        """
        self.assertEqual(unfit({"task_level": [1], "v": [1, [nested(DEPTH_LIMIT)]]}), TOO_DEEP)
        self.assertIsNone(unfit({"task_level": [1], "v": [1, [nested(DEPTH_LIMIT - 1)]]}))
        self.assertIsNone(unfit({"\u00e9" * 256: 1}))
        self.assertEqual(unfit({"\u00e9" * 257: 1}), REFUSED_KEYS)
        self.assertEqual(unfit({"q": {"k" * 500: {"k" * 11: 1}}}), REFUSED_KEYS)

    def test_atTheLimit(self) -> None:
        """
        A message nested exactly as deep as the limit is written unchanged,
        without a report.
        """
        message = {"task_uuid": "t", "timestamp": 1.0, "task_level": [1],
                   "message_type": "m", "v": nested(DEPTH_LIMIT - 1)}
        documents, err = self.export(message)
        self.assertEqual(documents[0]["txcausal"], message)
        self.assertNotIn("JSON text", err)

    def test_template(self) -> None:
        """
        The index template of docs/elasticsearch.md sets the limits the
        exporter works to, and C{ignore_above} keeps every term it indexes
        within Lucene's limit (4 UTF-8 bytes a character at most), with
        room for a key path of 512 bytes.
        """
        text = (docs_dir() / "elasticsearch.md").read_text(encoding="utf-8")
        found = re.search(r'"txcausal": (\{"type": "flattened"[^}]*\})', text)
        assert found is not None
        mapping = json.loads(found.group(1))
        self.assertEqual(mapping, {"type": "flattened", "depth_limit": DEPTH_LIMIT,
                                   "ignore_above": IGNORE_ABOVE})
        self.assertLessEqual(IGNORE_ABOVE * 4 + 512, MAX_TERM_BYTES)
