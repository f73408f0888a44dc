"""
Tests for the pins of C{tox -e lowest}: C{.ci/lowest.txt} pins each
requirement of C{setup.cfg} (and of its C{otel} extra) at its floor, so that
the oldest versions txcausal claims to support are the ones tested.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Dict

from twisted.trial.unittest import SynchronousTestCase

from ._helpers import bench_root

#: C{name >= version} in C{install_requires}.
_FLOOR = re.compile(r"^([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)$")
#: C{name == version} in C{.ci/lowest.txt}.
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)\s*==\s*([0-9][0-9A-Za-z.]*)$")


def _release(version: str) -> tuple[int, ...]:
    """
    @return: C{version}'s release numbers, trailing zeros dropped (C{5.5}
        and C{5.5.0} are the same release).
    """
    numbers = [int(part) for part in version.split(".")]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def _lines(text: str) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in text.splitlines()
            if line.split("#", 1)[0].strip()]


class LowestPinsTests(SynchronousTestCase):
    """
    C{.ci/lowest.txt} against C{setup.cfg}.
    """

    def _read(self) -> tuple[Dict[str, str], Dict[str, str]]:
        root: Path = bench_root()
        config = configparser.ConfigParser()
        config.read(root / "setup.cfg", encoding="utf-8")
        floors: Dict[str, str] = {}
        for line in (_lines(config["options"]["install_requires"])
                     + _lines(config["options.extras_require"]["otel"])):
            match = _FLOOR.match(line)
            self.assertIsNotNone(match, f"setup.cfg: {line!r} has no '>=' floor")
            assert match is not None
            floors[match.group(1).lower()] = match.group(2)
        pins: Dict[str, str] = {}
        for line in _lines((root / ".ci" / "lowest.txt").read_text(encoding="utf-8")):
            match = _PIN.match(line)
            self.assertIsNotNone(match, f".ci/lowest.txt: {line!r} is not 'name == version'")
            assert match is not None
            pins[match.group(1).lower()] = match.group(2)
        return floors, pins

    def test_pinsAreTheFloors(self) -> None:
        """
        Each requirement is pinned at its floor, and nothing else is pinned.
        """
        floors, pins = self._read()
        self.assertEqual(sorted(pins), sorted(floors))
        for name, floor in floors.items():
            self.assertEqual(_release(pins[name]), _release(floor), name)

    def test_release(self) -> None:
        """
        Trailing zeros do not make another release; other numbers do.
        """
        self.assertEqual(_release("5.5"), _release("5.5.0"))
        self.assertNotEqual(_release("5.5"), _release("5.50"))
