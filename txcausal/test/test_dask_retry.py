"""
End-to-end test of a Dask task whose worker process dies while it runs the
task: a real C{LocalCluster} of two worker processes, each logging to a
file of its own, and the files read back as C{txcausal tree} reads them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any, List, Tuple
from unittest import SkipTest

from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal.parse import WrittenAction, parse_messages, read_messages

from ._helpers import IsolatedOutputMixin

try:
    import dask
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
        self.addCleanup(shutil.rmtree, self.directory, True)
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
        # Its scratch space (the scheduler's, the workers') in the test's directory.
        with dask.config.set({"temporary-directory": self.directory}), \
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None,
                             silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
            client.register_plugin(LogToDirectory(self.directory))
            bag = db.from_sequence([1, 2, 3, 4], npartitions=4)
            (result,) = compute_with_trace(bag.map(die_once, mark=mark).sum())
        self.assertTrue(os.path.exists(mark), "no worker died")
        return result

    def test_deadAttemptAndRetry(self) -> None:
        """
        The dead worker's file read first, the tree shows the dead attempt
        started and never finished, and the retry, complete, right after
        it under the same position (the same C{attempt_of}); every other
        attempt is complete, and no message is left out of the tree.  Read
        last, after the retry's, the dead attempt is in an incomplete task
        (a piece of its own when what was read before made the computation
        whole), and still no message is lost.
        """
        self.assertEqual(self.compute(), 20)
        dead, others = self.files()
        [task] = [t for t in parse_messages(read_messages([dead, *others]))
                  if t.root.action_type == "dask:compute"]
        self.assertEqual((task.complete, task.strays), (False, []))
        attempts = [a for a in task.root.children if isinstance(a, WrittenAction)]
        runs = [_run(a) for a in attempts]
        index = runs.index(("started", [3]))
        self.assertEqual(runs[index:index + 2], [("started", [3]), ("succeeded", [3])])
        first, retry = attempts[index:index + 2]
        assert first.start_message is not None and retry.start_message is not None
        self.assertIs(first.parent, retry.parent)
        self.assertEqual(
            {first.start_message["attempt_of"], retry.start_message["attempt_of"]},
            {"".join(f"/{part}" for part in retry.task_level[:-1])})
        # Dask computes again the partitions whose results the dead
        # worker held: more attempts, each complete.
        self.assertEqual({(status, tuple(xs)) for status, xs in runs[:index] + runs[index + 2:]},
                         {("succeeded", (1,)), ("succeeded", (2,)), ("succeeded", (4,)),
                          ("succeeded", ())})
        # Each attempt's index is the scheduler's run id of its dispatch.
        indices = [a.task_level[-1] for a in attempts]
        self.assertEqual(len(set(indices)), len(indices), indices)
        self.readLast(task.uuid, [*others, dead])

    def readLast(self, uuid: str, paths: List[str]) -> None:
        """
        Read C{paths}, the dead worker's file last, and check the pieces of
        task C{uuid}.
        """
        read = [m for m in read_messages(paths) if m["task_uuid"] == uuid]
        tasks = [t for t in parse_messages(read) if t.uuid == uuid]
        self.assertEqual(sorted(len(m["task_level"]) for t in tasks for m in t.messages()),
                         sorted(len(m["task_level"]) for m in read))
        self.assertEqual([t.strays for t in tasks], [[] for t in tasks])
        found = sorted((_run(a), t.complete) for t in tasks for a in t.root.children
                       if isinstance(a, WrittenAction) and _run(a)[1] == [3])
        self.assertEqual([(run, complete) for run, complete in found if run[0] == "started"],
                         [(("started", [3]), False)])
        self.assertEqual([run for run, complete in found], [("started", [3]), ("succeeded", [3])])

    def files(self) -> Tuple[str, List[str]]:
        """
        @return: The file of the worker that died, and the others.
        """
        paths = sorted(os.path.join(self.directory, name) for name in os.listdir(self.directory)
                       if name.endswith(".log"))
        dead = [path for path in paths if _died_in(list(read_messages([path])))]
        self.assertEqual(len(dead), 1)
        return dead[0], [path for path in paths if path != dead[0]]


def _run(attempt: WrittenAction) -> Tuple[Any, List[Any]]:
    """
    @return: An attempt's status, and the values of the C{test:working}
        messages it logged.
    """
    return attempt.status, [m["x"] for m in attempt.messages()
                            if m.get("message_type") == "test:working"]


def _died_in(messages: List[Any]) -> bool:
    """
    @return: Whether C{messages} hold an attempt at 3 that never finished.
    """
    for message in messages:
        if message.get("message_type") == "test:working" and message.get("x") == 3:
            prefix = message["task_level"][:-1]
            if not any(m["task_level"][:-1] == prefix and "action_status" in m
                       and m["task_level"][-1] > 1 for m in messages):
                return True
    return False
