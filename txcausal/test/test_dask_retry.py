"""
End-to-end test of a Dask task whose worker process dies while it runs the
task: a real C{LocalCluster} of two worker processes, each logging to a
file of its own, and the files read back as C{txcausal tree} reads them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any, List, Tuple
from unittest import SkipTest

from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal.parse import WrittenAction, parse_messages, read_messages

from ._helpers import IsolatedOutputMixin

try:
    import dask.bag as db
    from distributed import Client, LocalCluster

    from txcausal.dask import compute_with_trace

    from ._dask_tasks import LogToDirectory, die_once
except ImportError:  # pragma: no cover
    DISTRIBUTED = False
else:
    DISTRIBUTED = True


class WorkerDeathTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    A task that Dask runs again after its worker died is a separate
    attempt in the tree.
    """

    def setUp(self) -> None:
        if not DISTRIBUTED:  # pragma: no cover
            raise SkipTest("needs Dask's distributed: pip install 'txcausal[dask]'")
        self.directory = tempfile.mkdtemp(prefix="txcausal-dask-retry-")
        main = open(os.path.join(self.directory, "main.log"), "ab")
        self.addCleanup(main.close)
        self.isolate().add(FileDestination(main))

    def compute(self) -> Any:
        """
        Sum a bag of four partitions on a cluster of two worker processes
        (the nanny starting a new one in place of the dead), the worker
        that first runs the third partition dying while it runs it.
        """
        mark = os.path.join(self.directory, "died")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None,
                          silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
            client.register_plugin(LogToDirectory(self.directory))
            bag = db.from_sequence([1, 2, 3, 4], npartitions=4)
            (result,) = compute_with_trace(bag.map(die_once, mark=mark).sum())
        self.assertTrue(os.path.exists(mark), "no worker died")
        return result

    def test_deadAttemptAndRetry(self) -> None:
        """
        The tree shows the dead attempt started and never finished, and the
        retry, complete, right after it under the same parent; every other
        attempt is complete, and no message is left out of the tree.
        """
        self.assertEqual(self.compute(), 20)
        paths = sorted(os.path.join(self.directory, name) for name in os.listdir(self.directory)
                       if name.endswith(".log"))
        # The files in either order: main.log (the computation) last, then
        # first, before the dead worker's.
        for ordered in (paths, paths[::-1]):
            [task] = [t for t in parse_messages(read_messages(ordered))
                      if t.root.action_type == "dask:compute"]
            self.assertEqual((task.complete, task.strays), (False, []))
            runs = [_run(a) for a in task.root.children if isinstance(a, WrittenAction)]
            dead = runs.index(("started", [3]))
            self.assertEqual(runs[dead:dead + 2], [("started", [3]), ("succeeded", [3])])
            # Dask computes again the partitions whose results the dead
            # worker held: more attempts, each complete.
            self.assertEqual({(status, tuple(xs)) for status, xs in runs[:dead] + runs[dead + 2:]},
                             {("succeeded", (1,)), ("succeeded", (2,)), ("succeeded", (4,)),
                              ("succeeded", ())})


def _run(attempt: WrittenAction) -> Tuple[Any, List[Any]]:
    """
    @return: An attempt's status, and the values of the C{test:working}
        messages it logged.
    """
    return attempt.status, [m["x"] for m in attempt.messages()
                            if m.get("message_type") == "test:working"]
