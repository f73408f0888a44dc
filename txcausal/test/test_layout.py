"""
The package's layout keeps to the style's bounds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from twisted.trial.unittest import SynchronousTestCase

import txcausal

from ._helpers import docs_dir

#: The most lines a module of the package has (the style says split past it).
MAX_MODULE_LINES = 450
#: The widest line of prose in the documentation (tables and code blocks
#: aside, which cannot be wrapped).
MAX_DOC_WIDTH = 100


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

    def test_docsWithinWidth(self) -> None:
        """
        Every line of prose in C{README.md} and C{docs/*.md} is at most
        L{MAX_DOC_WIDTH} characters: tables and code blocks aside.
        """
        root = docs_dir().parent
        pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
        self.assertGreater(len(pages), 10)
        wide: Dict[str, int] = {}
        for page in pages:
            fenced = False
            for number, line in enumerate(page.read_text("utf-8").splitlines(), 1):
                if line.startswith("```"):
                    fenced = not fenced
                elif not fenced and not line.startswith("|") and len(line) > MAX_DOC_WIDTH:
                    wide[f"{page.relative_to(root)}:{number}"] = len(line)
        self.assertEqual(wide, {})
