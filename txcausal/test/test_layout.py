"""
The package's layout keeps to the style's bounds.
"""

from __future__ import annotations

from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import txcausal

#: The most lines a module of the package has (the style says split past it).
MAX_MODULE_LINES = 450


class LayoutTests(SynchronousTestCase):
    """
    The modules of C{txcausal} (its tests aside).
    """

    def test_modulesWithinBound(self) -> None:
        """
        Every module of the package is at most L{MAX_MODULE_LINES} lines.
        """
        package = Path(txcausal.__file__).parent
        modules = [p for p in package.rglob("*.py") if "test" not in p.relative_to(package).parts]
        self.assertGreater(len(modules), 50)
        long = {}
        for module in modules:
            with module.open("rb") as f:
                count = sum(1 for _ in f)
            if count > MAX_MODULE_LINES:
                long[str(module.relative_to(package))] = count
        self.assertEqual(long, {})
