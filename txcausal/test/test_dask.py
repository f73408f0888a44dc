"""
Tests for L{txcausal.dask}, with real Dask: the local schedulers in this
process, the multiprocessing scheduler, and one distributed cluster of two
worker processes shared by the tests that need it.
"""

from __future__ import annotations

from typing import Any, Dict, List

import cloudpickle
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_call

from ._helpers import IsolatedOutputMixin


def _pickled_by_value() -> Any:
    """
    A function that pickle cannot import, as one defined in C{__main__}:
    cloudpickle (with which Dask sends tasks) pickles it by value.
    """

    @log_call
    def multiply(x: int, y: int = 7) -> int:
        return x * y

    return multiply


class LogCallPicklingTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Functions decorated with L{log_call} travel to Dask's workers.
    """

    def test_byValue(self) -> None:
        """
        A L{log_call} function that cloudpickle pickles by value still logs
        its calls once unpickled.
        """
        messages: List[Dict[str, Any]] = self.collect()
        multiply = cloudpickle.loads(cloudpickle.dumps(_pickled_by_value()))
        self.assertEqual(multiply(6), 42)
        self.assertEqual([(m["action_status"], m.get("x"), m.get("result")) for m in messages],
                         [("started", 6, None), ("succeeded", None, 42)])
