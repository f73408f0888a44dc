"""
Tests for L{txcausal.dask}, with real Dask: the local schedulers in this
process, the multiprocessing scheduler, and (in L{test_dask_cluster}) a
distributed cluster of worker processes.
"""

from __future__ import annotations

import copyreg
import glob
import os
import pickle
import shutil
import tempfile
import types
from functools import partial
from typing import Any, Dict, List

import cloudpickle
import dask.array as da
import dask.bag as db
import dask.dataframe as dd
import pandas as pd
from dask._task_spec import Task as DaskTask
from dask.base import compute, optimize
from dask.delayed import Delayed, delayed
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_call, start_action
from txcausal._dask_graph import key_text, trace_graph
from txcausal.dask import compute_with_trace, persist_with_trace
from txcausal.parse import Task, parse_messages, read_messages

from ._dask_tasks import Scale, add, fail, log_to_directory, multiply
from ._helpers import IsolatedOutputMixin, run_python
from ._reading import cli, lines, only

Message = Dict[str, Any]


def manual_bag() -> Any:
    """
    The manual's computation: 42.
    """
    return db.from_sequence([1, 2, 3]).map(multiply).fold(add)


def of_type(messages: List[Message], kind: str) -> List[Message]:
    return [m for m in messages if kind in (m.get("message_type"), m.get("action_type"))]


def one_tree(messages: List[Message]) -> Task:
    """
    @return: The one task of C{messages}, which is complete and handed
        nothing off without its other part being there.
    """
    task = only(list(parse_messages(messages)))
    if not task.complete:
        raise AssertionError(f"incomplete task: {messages}")
    return task


def assert_traced(test: SynchronousTestCase, messages: List[Message],
                  action_type: str = "dask:compute") -> List[Message]:
    """
    Check that each C{dask:task} message is the first thing inside an
    C{eliot:remote_task} action that continues the computation's action.

    @return: The C{dask:task} messages.
    """
    [computation] = [m for m in of_type(messages, action_type)
                     if m["action_status"] == "started"]
    level = computation["task_level"][:-1]
    tasks = of_type(messages, "dask:task")
    test.assertTrue(tasks)
    remote = {tuple(m["task_level"][:-1]) for m in of_type(messages, "eliot:remote_task")}
    for message in tasks:
        test.assertEqual(message["task_uuid"], computation["task_uuid"])
        test.assertEqual(message["task_level"][-1], 2)
        test.assertIn(tuple(message["task_level"][:-1]), remote)
        test.assertEqual(message["task_level"][:len(level)], level)
    return tasks


class LogCallPicklingTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Functions decorated with L{log_call} travel to Dask's workers.
    """

    def test_byValue(self) -> None:
        """
        A L{log_call} function that cloudpickle pickles by value (as Dask
        sends the functions of C{__main__}) still logs its calls.
        """

        @log_call
        def triple(x: int) -> int:
            return x * 3

        messages = self.collect()
        unpickled = cloudpickle.loads(cloudpickle.dumps(triple))
        self.assertEqual(unpickled(14), 42)
        self.assertEqual([(m["action_status"], m.get("x"), m.get("result")) for m in messages],
                         [("started", 14, None), ("succeeded", None, 42)])


def twisted_method_pickling() -> None:
    """
    Pickle methods as a Twisted program does: C{twisted.persisted.styles}
    (imported by twisted.web.server, twistd and trial) registers a pickler
    for methods whose pickles of class methods cannot be loaded.
    """
    from twisted.persisted import styles

    if copyreg.dispatch_table.get(types.MethodType) is not styles.pickleMethod:
        raise AssertionError("twisted.persisted.styles no longer pickles methods: "
                             "these tests have nothing to check")


class TwistedPicklingTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Traced tasks travel to Dask's scheduler and workers in a Twisted
    program too.
    """

    def test_classMethods(self) -> None:
        """
        A traced task calling a class method, as a DataFrame reduction
        does, is pickled so that it loads and runs, although Twisted's
        pickler of methods makes pickles of class methods that do not load.
        """
        twisted_method_pickling()
        messages = self.collect()
        task = DaskTask("x", Scale.scale, 7)
        self.assertRaises(AttributeError, pickle.loads, pickle.dumps(task))
        with start_action(action_type="dask:compute") as action:
            traced = trace_graph({"x": task}, action)
        loaded = pickle.loads(pickle.dumps(traced))
        self.assertEqual(loaded["x"]({}), 42)
        self.assertEqual([m["key"] for m in of_type(messages, "dask:task")], ["x"])


class KeyTextTests(SynchronousTestCase):
    """
    L{key_text} writes Dask keys as Eliot does.
    """

    def test_keys(self) -> None:
        """
        A string key is itself; a tuple key's parts are joined by C{-}.
        """
        self.assertEqual(key_text("inc-abc"), "inc-abc")
        self.assertEqual(key_text(("sum-ab12", 0, 3)), "sum-ab12-0-3")


class LocalSchedulerTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    L{compute_with_trace} and L{persist_with_trace} with the schedulers
    that run tasks in this process.
    """

    def setUp(self) -> None:
        self.messages = self.collect()

    def test_manualExampleThreaded(self) -> None:
        """
        The manual's computation on the threaded scheduler gives 42, and
        logs one tree: a C{dask:compute} action with each task run inside
        it, the calls of L{log_call} functions inside their task, and the
        aggregation's dependencies naming the tasks it combines.
        """
        (result,) = compute_with_trace(manual_bag(), scheduler="threads")
        self.assertEqual(result, 42)
        one_tree(self.messages)
        tasks = assert_traced(self, self.messages)
        by_level = {tuple(m["task_level"][:-1]): m for m in tasks}
        calls = [m for m in self.messages if m.get("action_status") == "started"
                 and m["action_type"] in (multiply.__module__ + ".multiply",
                                          add.__module__ + ".add")]
        self.assertEqual(len(calls), 5)
        for call in calls:
            self.assertIn(tuple(call["task_level"][:-2]), by_level)
        [aggregate] = [m for m in tasks if len(m["dependencies"]) == 3]
        self.assertEqual(sorted(aggregate["dependencies"]),
                         sorted(m["key"] for m in tasks if not m["dependencies"]))

    def test_synchronous(self) -> None:
        """
        The synchronous scheduler, and results nested in Python containers,
        are handled as C{dask.compute} handles them.
        """
        result = compute_with_trace({"answer": manual_bag()}, [1], scheduler="sync")
        self.assertEqual(result, ({"answer": 42}, [1]))
        one_tree(self.messages)
        self.assertEqual(len(assert_traced(self, self.messages)), 4)

    def test_delayed(self) -> None:
        """
        For Delayed objects, each C{dask:task} names the task's key and the
        keys of those it depends on.
        """
        x = delayed(multiply)(2)
        y = delayed(add)(x, 28)
        (result,) = compute_with_trace(y, scheduler="threads")
        self.assertEqual(result, 42)
        tasks = {m["key"]: m["dependencies"] for m in assert_traced(self, self.messages)}
        self.assertEqual(tasks, {key_text(x.key): [], key_text(y.key): [key_text(x.key)]})

    def test_legacyGraph(self) -> None:
        """
        A graph written as Dask's old tuples is traced too; its data is
        not a task.
        """
        graph = {"x": 14, "y": (multiply, "x", 2), "z": (add, "x", "y")}
        (result,) = compute_with_trace(Delayed("z", graph), scheduler="sync")
        self.assertEqual(result, 42)
        tasks = {m["key"]: m["dependencies"] for m in assert_traced(self, self.messages)}
        self.assertEqual(tasks, {"y": ["x"], "z": ["x", "y"]})

    def test_array(self) -> None:
        """
        Array graphs, fused by Dask's optimisation, are traced.
        """
        array = da.ones((4, 4), chunks=2) * 2
        (total,) = compute_with_trace(array.sum(), scheduler="threads")
        self.assertEqual(total, 32)
        one_tree(self.messages)
        self.assertGreaterEqual(len(assert_traced(self, self.messages)), 4)

    def test_dataframe(self) -> None:
        """
        DataFrame graphs, optimised as expressions, are traced.
        """
        frame = pd.DataFrame({"k": ["a", "b", "a", "b"], "v": [1, 2, 3, 4]})
        computed = compute_with_trace(
            dd.from_pandas(frame, npartitions=2).groupby("k").v.sum(), scheduler="threads")
        self.assertEqual(computed[0].to_dict(), frame.groupby("k").v.sum().to_dict())
        one_tree(self.messages)
        self.assertGreaterEqual(len(assert_traced(self, self.messages)), 2)

    def test_alreadyOptimised(self) -> None:
        """
        A collection that C{dask.optimize} already optimised is traced.
        """
        (optimised,) = optimize(manual_bag())
        (result,) = compute_with_trace(optimised, scheduler="threads")
        self.assertEqual(result, 42)
        one_tree(self.messages)
        self.assertGreaterEqual(len(assert_traced(self, self.messages)), 4)

    def test_failure(self) -> None:
        """
        A task that raises fails its C{eliot:remote_task} action and the
        computation's, and the exception reaches the caller.
        """
        self.assertRaises(ZeroDivisionError, compute_with_trace, delayed(fail)(),
                          scheduler="sync")
        assert_traced(self, self.messages)
        finishes = [(m["action_type"], m["action_status"], m.get("reason"))
                    for m in self.messages if m.get("action_status") == "failed"]
        self.assertEqual(finishes, [("eliot:remote_task", "failed", "nothing to divide"),
                                    ("dask:compute", "failed", "nothing to divide")])

    def test_storyOfOneKey(self) -> None:
        """
        C{txcausal story KEY} of one task of a large computation shows the
        computation's C{remote_task_levels} (one level per task) as their
        number, as C{tree} does; C{--field-limit 0} shows them whole.
        """
        bag = db.from_sequence(range(100), npartitions=100).map(lambda v: v + 1)
        self.assertEqual(compute_with_trace(bag.sum(), scheduler="sync"), (5050,))
        data = lines(*self.messages)
        [finish] = [m for m in self.messages if "remote_task_levels" in m]
        handed = finish["remote_task_levels"]
        self.assertGreater(len(handed), 100)
        key = of_type(self.messages, "dask:task")[17]["key"]
        status, story, err = cli(["story", key], data)
        self.assertEqual((status, err), (0, ""))
        summary = f"remote_task_levels: {len(handed)} levels, first {handed[0]}, last {handed[-1]}"
        self.assertIn(summary, story)
        self.assertLess(len(story.splitlines()), 40)
        self.assertNotIn(f": {handed[1]}\n", story)
        status, tree, err = cli(["tree", "-u", finish["task_uuid"]], data)
        self.assertEqual((status, err, tree.count(summary)), (0, "", 1))
        status, whole, err = cli(["story", "--field-limit", "0", key], data)
        self.assertNotIn(summary, whole)
        self.assertEqual([f"── {i}: {level}\n" in whole for i, level in enumerate(handed)],
                         [True] * len(handed))

    def test_persist(self) -> None:
        """
        L{persist_with_trace} runs the tasks inside a C{dask:persist} action
        and returns collections holding the results.
        """
        (persisted,) = persist_with_trace(manual_bag(), scheduler="threads")
        tasks = len(assert_traced(self, self.messages, "dask:persist"))
        self.assertEqual(compute(persisted, scheduler="sync"), (42,))
        self.assertEqual(len(of_type(self.messages, "dask:task")), tasks)

    def test_notCollections(self) -> None:
        """
        Values that are not Dask collections come back as they are.
        """
        self.assertEqual(compute_with_trace(1, "a"), (1, "a"))


class MultiprocessingTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    With the multiprocessing scheduler, tasks log in the pool's processes.
    """

    def test_oneTreeAcrossProcesses(self) -> None:
        """
        The pool's processes, logging to files of their own, log the tasks
        into the tree of this process's computation.
        """
        messages = self.collect()
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory, True)
        (result,) = compute_with_trace(manual_bag(), scheduler="processes", num_workers=2,
                                       initializer=partial(log_to_directory, directory))
        self.assertEqual(result, 42)
        files = glob.glob(os.path.join(directory, "*.log"))
        remote = list(read_messages(files))
        self.assertTrue(remote)
        self.assertEqual(of_type(messages, "dask:task"), [])
        one_tree(messages + remote)
        self.assertEqual(len(assert_traced(self, messages + remote)), 4)



class ImportTests(SynchronousTestCase):
    """
    The integration's names, and what importing txcausal costs.
    """

    def test_eliotNames(self) -> None:
        """
        C{txcausal.dask} offers Eliot's names, so Eliot programs switch by
        changing the import.
        """
        import txcausal.dask

        self.assertLessEqual({"compute_with_trace", "persist_with_trace"},
                             set(txcausal.dask.__all__))
        for name in txcausal.dask.__all__:
            self.assertTrue(callable(getattr(txcausal.dask, name)), name)

    def test_daskOnlyWhenAskedFor(self) -> None:
        """
        Importing txcausal, or its journald destination, imports neither
        Dask nor distributed.
        """
        result = run_python(["-c", "import sys, txcausal, txcausal.journald; "
                             "print([m for m in ('dask', 'distributed') if m in sys.modules])"])
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, "[]\n", ""))
