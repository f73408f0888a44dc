"""
Tests for C{txcausal demo}.
"""

from __future__ import annotations

import io
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli import main
from txcausal.parse import parse_files

from ._helpers import IsolatedOutputMixin, run_python


class DemoTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    The demo logs two checkout tasks, one failing, and prints their trees.
    """

    def test_logAndTree(self) -> None:
        """
        The log file holds two complete tasks, the second failed in its
        charge, and the printed tree shows both.
        """
        self.isolate()
        log = Path(self.mktemp())
        out = io.StringIO()
        self.assertEqual(main(["demo", "--log", str(log), "--no-color"], stdout=out), 0)
        tasks = list(parse_files([str(log)]))
        self.assertEqual(len(tasks), 2)
        self.assertEqual([(t.complete, t.root.status) for t in tasks],
                         [(True, "succeeded"), (True, "failed")])
        text = out.getvalue()
        self.assertIn(f"Logged two checkouts to {log}", text)
        self.assertIn("shop:charge/3/2 ⇒ failed", text)
        self.assertIn("reason: 950.0 is over the card limit of 100.0", text)

    def test_consoleScript(self) -> None:
        """
        C{python -m txcausal demo} works as a command, writing its default
        log file in the current directory.
        """
        cwd = Path(self.mktemp())
        cwd.mkdir()
        result = run_python(["-m", "txcausal", "demo", "--ascii"], cwd=cwd)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue((cwd / "txcausal-demo.log").exists())
        self.assertIn("shop:checkout/1 => started", result.stdout)
