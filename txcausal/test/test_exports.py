"""
The public facade re-exports the objects of the private modules, one
spelling each.
"""

from __future__ import annotations

import importlib

from twisted.trial.unittest import SynchronousTestCase

import txcausal


class ExportsTests(SynchronousTestCase):
    """
    C{txcausal.__all__}.
    """

    def test_everyNameResolves(self) -> None:
        """
        Every name in C{__all__} is an attribute of the package and is the
        very object defined in the private module it comes from.
        """
        for name in txcausal.__all__:
            value = getattr(txcausal, name)
            if name == "__version__":
                continue
            module = importlib.import_module(value.__module__)
            self.assertTrue(value.__module__.startswith("txcausal._"), name)
            self.assertIs(getattr(module, name), value, name)

    def test_noDuplicates(self) -> None:
        """
        No name is exported twice, and no two names are one object.
        """
        self.assertEqual(len(txcausal.__all__), len(set(txcausal.__all__)))
        objects = [id(getattr(txcausal, n)) for n in txcausal.__all__]
        self.assertEqual(len(objects), len(set(objects)))

    def test_version(self) -> None:
        """
        The version is a dotted string.
        """
        self.assertRegex(txcausal.__version__, r"^\d+\.\d+\.\d+")
