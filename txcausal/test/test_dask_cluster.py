"""
Tests for L{txcausal.dask} on a real distributed cluster: one
C{LocalCluster} of two worker processes, each logging to a file of its own,
started by the first test that needs it and shared by the others (trial has
no class fixtures), closed once they have all run (or, when only some run,
when the test process exits); and the manual's
example, run as a script with a cluster of its own.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import logging
import os
import re
import shutil
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

import dask
import dask.array as da
import dask.dataframe as dd
import orjson
import pandas as pd
from dask.base import annotate
from dask.delayed import delayed
from distributed import Client, LocalCluster, futures_of, get_worker, wait
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination, Ledger
from txcausal.dask import (
    CausalSchedulerPlugin,
    compute_with_trace,
    get_events,
    persist_with_trace,
)
from txcausal.parse import read_messages

from ._dask_tasks import add, fail, fail_once, log_to_directory, multiply
from ._helpers import IsolatedOutputMixin, examples_dir, run_python
from ._reading import cli
from .test_dask import assert_traced, manual_bag, of_type, one_tree, twisted_method_pickling

Message = Dict[str, Any]
#: How long the cluster may take to do what a test waits for.
_PATIENCE = 60.0


def _task_count(dask_scheduler: Any) -> int:
    return len(dask_scheduler.tasks)


def _log_event(n: int) -> int:
    get_worker().log_event("txcausal-worker", {"n": n})
    return n


def _eventually(what: str, check: Callable[[], Any]) -> Any:
    """
    Wait for the cluster: call C{check} until it returns something true.

    @raise AssertionError: If it never does in L{_PATIENCE} seconds.
    """
    deadline = time.monotonic() + _PATIENCE
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"the cluster never got to: {what}")
        time.sleep(0.01)
    return result


class _Cluster:
    """
    The tests' cluster: this process holds the client and the scheduler
    (logging to C{main.log}); two worker processes log to C{<pid>.log}.
    """

    def __init__(self) -> None:
        self.client: Optional[Client] = None
        self.cluster: Optional[LocalCluster] = None
        self.directory = ""
        self.destination: Optional[FileDestination] = None

    def start(self) -> Client:
        if self.client is None:
            self.directory = tempfile.mkdtemp(prefix="txcausal-dask-")
            self.destination = FileDestination(open(self.main_log, "ab"))
            # silence_logs: test_taskError's task fails on purpose; the
            # worker would log it on standard error.
            # Its scratch space (the scheduler's, the workers') in its directory.
            with dask.config.set({"temporary-directory": self.directory}):
                self.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None,
                                            silence_logs=logging.CRITICAL)
            self.client = Client(self.cluster)
            atexit.register(self.stop)
            self.client.run(log_to_directory, self.directory)
            self.client.register_plugin(CausalSchedulerPlugin())
        return self.client

    @property
    def main_log(self) -> str:
        return os.path.join(self.directory, "main.log")

    def files(self) -> List[str]:
        return sorted(glob.glob(os.path.join(self.directory, "*.log")))

    def idle(self) -> None:
        """
        Wait until the scheduler has forgotten every task, so that nothing
        it logs later reaches another test's destinations.
        """
        assert self.client is not None
        client = self.client
        _eventually("forget every task",
                    lambda: client.run_on_scheduler(_task_count) == 0)

    def stop(self) -> None:
        client, self.client = self.client, None
        cluster, self.cluster = self.cluster, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if self.destination is not None:
            self.destination.file.close()
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


_CLUSTER = _Cluster()


def teardown_module() -> None:
    """
    Under pytest, stop the cluster the tests share and remove its directory
    once they have run (under trial, it is stopped at exit).
    """
    _CLUSTER.stop()


class ClusterTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Traced computations and the scheduler's story on a distributed cluster
    with two worker processes.
    """

    def setUp(self) -> None:
        destinations = self.isolate()
        self.client = _CLUSTER.start()
        assert _CLUSTER.destination is not None
        destinations.add(_CLUSTER.destination)
        self.addCleanup(self.done)
        self.addCleanup(_CLUSTER.idle)

    def done(self) -> None:
        """
        After the last of these tests, close the cluster: its processes
        have no business in the rest of the suite.
        """
        _PENDING.discard(self._testMethodName)
        if not _PENDING:
            _CLUSTER.stop()

    def logged(self) -> Dict[str, List[Message]]:
        """
        @return: The messages of each log file so far.
        """
        return {path: list(read_messages([path])) for path in _CLUSTER.files()}

    def task(self, uuid: str) -> List[Message]:
        """
        @return: The messages of a task, from all the files.
        """
        return [m for found in self.logged().values() for m in found if m["task_uuid"] == uuid]

    def computation(self, action_type: str = "dask:compute") -> List[Message]:
        """
        @return: The messages of the latest computation's task.
        """
        starts = of_type(list(read_messages([_CLUSTER.main_log])), action_type)
        return self.task(starts[-1]["task_uuid"])

    def test_oneTreeAcrossWorkers(self) -> None:
        """
        The manual's computation gives 42, in one tree whose tasks, and the
        calls inside them, were logged in the workers' files.
        """
        (result,) = compute_with_trace(manual_bag())
        self.assertEqual(result, 42)
        messages = self.computation()
        one_tree(messages)
        self.assertEqual(len(assert_traced(self, messages)), 4)
        uuid = messages[0]["task_uuid"]
        main = [m for m in self.logged()[_CLUSTER.main_log] if m["task_uuid"] == uuid]
        self.assertEqual(of_type(main, "dask:task"), [])
        self.assertEqual(len(of_type(messages, multiply.__module__ + ".multiply")), 6)
        tree = cli(["tree", "-u", uuid, *_CLUSTER.files()])[1]
        self.assertNotIn("continued", tree)
        self.assertNotIn("incomplete", tree)

    def test_arrayAndDataFrame(self) -> None:
        """
        Array and DataFrame graphs, Dask's task spec with fused tasks, are
        traced on the workers, in a Twisted program too (whose pickler of
        methods fails DataFrame graphs sent untraced).
        """
        (total,) = compute_with_trace((da.ones((4, 4), chunks=2) * 2).sum())
        self.assertEqual(total, 32)
        messages = self.computation()
        one_tree(messages)
        self.assertGreaterEqual(len(assert_traced(self, messages)), 4)
        frame = pd.DataFrame({"k": ["a", "b", "a", "b"], "v": [1, 2, 3, 4]})
        twisted_method_pickling()
        (sums,) = compute_with_trace(dd.from_pandas(frame, npartitions=2).groupby("k").v.sum())
        self.assertEqual(sums.to_dict(), frame.groupby("k").v.sum().to_dict())
        messages = self.computation()
        one_tree(messages)
        self.assertGreaterEqual(len(assert_traced(self, messages)), 2)

    def test_persist(self) -> None:
        """
        Persisted on the cluster, the tasks log inside the C{dask:persist}
        action as they run.
        """
        (persisted,) = persist_with_trace(delayed(add)(delayed(multiply)(3), 21))
        wait(persisted)
        self.assertEqual(persisted.compute(), 42)
        messages = self.computation("dask:persist")
        one_tree(messages)
        self.assertEqual(len(assert_traced(self, messages, "dask:persist")), 2)

    def test_keyAlreadyHeld(self) -> None:
        """
        A computation of a key the cluster already holds (persisted here)
        does not run it again: its tree holds no task, only the position
        handed off, and what ran is in the first computation's tree; the
        scheduler's C{update-graph} event says no task was new.
        """
        def graphs() -> List[Dict[str, Any]]:
            return [m["dask_event"]
                    for m in of_type(self.logged()[_CLUSTER.main_log], "scheduler")
                    if m["dask_event"].get("action") == "update-graph"]

        # The scheduler's events reach the log when they reach the client:
        # each computation's is waited for, so the last one is the second's.
        before = len(graphs())
        value = delayed(multiply)(3, dask_key_name="shared-key")
        (persisted,) = persist_with_trace(value)
        self.addCleanup(self.client.cancel, futures_of(persisted))
        wait(persisted)
        _eventually("the persist's update-graph event", lambda: graphs()[before:])
        self.assertEqual(compute_with_trace(value), (21,))
        events = _eventually("the computation's update-graph event",
                             lambda: graphs()[before + 1:])
        first = self.computation("dask:persist")
        self.assertEqual([m["key"] for m in of_type(first, "dask:task")], ["shared-key"])
        second = self.computation()
        self.assertEqual(of_type(second, "eliot:remote_task"), [])
        tree = cli(["tree", "-u", second[0]["task_uuid"], *_CLUSTER.files()])[1]
        self.assertIn("↳ /2 continued in another process", tree)
        self.assertNotIn("incomplete", tree)
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["metrics"]["new_tasks"], 0)
        self.assertEqual(events[0]["metrics"]["tasks"], 1)

    def test_annotationsKept(self) -> None:
        """
        Annotations of the graph, here the worker the tasks must run on,
        still apply to the traced tasks.
        """
        pids = self.client.run(os.getpid)
        worker = sorted(pids)[1]
        with annotate(workers=[worker]):
            values = [delayed(multiply)(n) for n in range(4)]
        self.assertEqual(compute_with_trace(values), ([0, 7, 14, 21],))
        uuid = self.computation()[0]["task_uuid"]
        files = [path for path, found in self.logged().items()
                 if of_type([m for m in found if m["task_uuid"] == uuid], "dask:task")]
        self.assertEqual(files, [os.path.join(_CLUSTER.directory, f"{pids[worker]}.log")])

    def test_story(self) -> None:
        """
        The C{dask:transition} messages in the log tell what
        C{Scheduler.story(key)} told: the transitions of the key and those
        whose recommendations name it (here: of the task depending on
        it); and C{txcausal story KEY} finds them in the log files.
        """
        first = delayed(multiply)(3)
        value = delayed(add)(first, 21)
        self.assertEqual(compute_with_trace(value), (42,))
        _CLUSTER.idle()
        story = self.client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.story(first.key))
        expected = [(t.key, t.start, t.finish, t.stimulus_id) for t in story]
        self.assertIn((value.key, "processing", "memory"), [t[:3] for t in expected])
        status, out, err = cli(["story", "--json", first.key, *_CLUSTER.files()])
        self.assertEqual((status, err), (0, ""))
        logged = [orjson.loads(line) for line in out.splitlines()]
        transitions = of_type(logged, "dask:transition")
        self.assertEqual([(m["key"], m["start"], m["finish"], m["stimulus_id"])
                          for m in transitions], expected)
        workers = {m.get("worker") for m in transitions
                   if m["key"] == first.key and m["finish"] in ("processing", "memory")}
        self.assertEqual(len(workers), 1)
        self.assertTrue(str(workers.pop()).startswith("tcp://127.0.0.1:"))
        self.assertEqual([m["key"] for m in of_type(logged, "dask:task")],
                         [first.key, value.key])

    def test_taskError(self) -> None:
        """
        A task that raises fails its remote action on the worker; the
        scheduler's transition to C{erred} says why.
        """
        value = delayed(fail)()
        self.assertRaises(ZeroDivisionError, compute_with_trace, value)
        failed = [m for m in self.computation() if m.get("action_status") == "failed"]
        self.assertEqual([m["action_type"] for m in failed],
                         ["eliot:remote_task", "dask:compute"])
        erred = [m for m in of_type(self.logged()[_CLUSTER.main_log], "dask:transition")
                 if m["key"] == value.key and m["finish"] == "erred"]
        self.assertIn("nothing to divide", erred[0]["exception_text"])

    def test_retried(self) -> None:
        """
        A task that raised and was run again (C{annotate(retries=...)})
        holds both attempts, the failed one and the one that succeeded, in
        the computation's one tree when the failed attempt's file is read
        before the other's (as when the same worker ran both): the
        computation waits for the attempt that succeeded.  Read after it,
        the failed attempt comes out after the whole computation, as any
        attempt read after its task was shown does.
        """
        with annotate(retries=2):
            value = delayed(fail_once)(5, os.path.join(_CLUSTER.directory, "flaky"))
        self.assertEqual(compute_with_trace(value), (10,))
        uuid = self.computation()[0]["task_uuid"]
        where = {m["action_status"]: path for path, found in self.logged().items()
                 for m in of_type([m for m in found if m["task_uuid"] == uuid],
                                  "eliot:remote_task") if m["action_status"] != "started"}
        self.assertEqual(sorted(where), ["failed", "succeeded"])
        for files in itertools.permutations(_CLUSTER.files()):
            status, tree, err = cli(["tree", "-u", uuid, *files])
            self.assertEqual((status, err), (0, ""))
            heads = [line for line in tree.splitlines() if line.startswith(uuid)]
            whole = tree.split("\n\n")[0]
            self.assertRegex(whole, r"eliot:remote_task/2/\d+/\d+ ⇒ succeeded")
            late = files.index(where["failed"]) > files.index(where["succeeded"])
            if late and files.index(where["failed"]) > files.index(_CLUSTER.main_log):
                self.assertEqual(heads[0], uuid, files)
                self.assertEqual(len(heads), 2, files)
            else:
                self.assertEqual(heads, [uuid], files)
                self.assertRegex(whole, r"eliot:remote_task/2/\d+/\d+ ⇒ failed")

    def test_retriedAllFailed(self) -> None:
        """
        A task that raised at every attempt it had (C{retries=1}, as an
        annotation or as C{dask.compute}'s argument): each attempt's
        C{dask:task} gives its C{retries}, and the failed computation waits
        for as many failed attempts: one tree, whatever the order of the
        files.
        """
        with annotate(retries=1):
            annotated = delayed(fail)()
        for value, kwargs in [(annotated, {}), (delayed(fail)(), {"retries": 1})]:
            self.assertRaises(ZeroDivisionError, compute_with_trace, value, **kwargs)
            messages = self.computation()
            self.assertEqual([m.get("retries") for m in of_type(messages, "dask:task")], [1, 1])
            uuid = messages[0]["task_uuid"]
            for files in itertools.permutations(_CLUSTER.files()):
                status, tree, err = cli(["tree", "-u", uuid, *files])
                self.assertEqual((status, err), (0, ""))
                heads = [line for line in tree.splitlines() if line.startswith(uuid)]
                failed = re.findall(r"eliot:remote_task/2/\d+/\d+ ⇒ failed", tree)
                self.assertEqual((heads, len(failed)), ([uuid], 2), files)

    def test_events(self) -> None:
        """
        Events logged with C{log_event} by a worker, the client and the
        scheduler are in the log under their topic: L{get_events} reads
        them back as C{Client.get_events} gives them, and a L{Ledger} fed
        the log files them under their topic.
        """
        self.assertEqual(compute_with_trace([delayed(_log_event)(n) for n in (1, 2)]),
                         ([1, 2],))
        self.client.log_event("txcausal-client", "hello")
        self.client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.log_event("txcausal-scheduler", [1, 2]))
        topics = ["txcausal-worker", "txcausal-client", "txcausal-scheduler"]
        expected = {topic: _eventually(topic, partial_events(self.client, topic))
                    for topic in topics}
        self.assertEqual(len(expected["txcausal-worker"]), 2)
        everything = get_events(_CLUSTER.files())
        for topic in topics:
            fromLog = get_events(_CLUSTER.files(), topic)
            self.assertEqual([msg for _, msg in fromLog],
                             [as_json(msg) for _, msg in expected[topic]])
            self.assertEqual(everything[topic], fromLog)
        ledger = Ledger(max_per_topic=None)
        for message in read_messages(_CLUSTER.files()):
            ledger(message)
        self.assertEqual([m["dask_event"] for _, m in ledger.get_events("txcausal-client")],
                         ["hello"])


#: The cluster tests that have not run yet.
_PENDING = {name for name in dir(ClusterTests) if name.startswith("test_")}


def partial_events(client: Client, topic: str) -> Callable[[], Any]:
    return lambda: client.get_events(topic)


def as_json(value: Any) -> Any:
    """
    @return: C{value} as it is read back from JSON (tuples become lists).
    """
    return orjson.loads(orjson.dumps(value))


class ExampleTests(SynchronousTestCase):
    """
    C{examples/dask_cluster.py}, the manual's example.
    """

    def test_manualExample(self) -> None:
        """
        The example prints 42 and leaves one log file per process, which
        together hold one tree, shown whole by C{txcausal tree}.  It makes
        the directory it is given.
        """
        parent = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, parent, True)
        directory = os.path.join(parent, "logs")
        result = run_python([str(examples_dir() / "dask_cluster.py"), directory], timeout=300,
                            env={"TMPDIR": parent})
        self.assertEqual((result.returncode, result.stdout), (0, "Result: 42\n"), result.stderr)
        files = sorted(glob.glob(os.path.join(directory, "*.log")))
        self.assertEqual(len(files), 3)
        messages = list(read_messages(files))
        [main] = [m for m in messages if m.get("action_type") == "__main__.main_computation"
                  and m["action_status"] == "succeeded"]
        self.assertEqual(main["result"], 42)
        task = [m for m in messages if m["task_uuid"] == main["task_uuid"]]
        one_tree(task)
        self.assertEqual(len(assert_traced(self, task)), 4)
        self.assertEqual(len(of_type(task, "__main__.multiply")), 6)
        tree = cli(["tree", "-u", main["task_uuid"], *files])[1]
        self.assertNotIn("continued", tree)
        self.assertIn("result: 42", tree)
        self.assertTrue(of_type(messages, "dask:transition"))
