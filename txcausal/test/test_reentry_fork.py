"""
Tests of a message logged on the forking thread while the fork hooks hold a
L{ThreadedWriter}'s locks (see L{txcausal._fork}): a signal handler or a
finalizer run in the fork hooks' own code, or in another library's hook run
between them, before the fork or after it in the parent.

Each runs in a process of its own: if such a message waited for a lock its
thread holds, the cleanup would wait for that lock too, and hang the suite;
the process is ended after L{HANG} seconds instead, and the test fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Tuple

import orjson
from twisted.trial.reporter import TreeReporter
from twisted.trial.unittest import SynchronousTestCase

from txcausal import FileDestination
from txcausal._fork import ForkHooks
from txcausal.logwriter import ThreadedWriter
from txcausal.test._helpers import IsolatedOutputMixin, removed_at_end, run_python

from ._writer_harness import numbered_message
from .test_logwriter_fork import _Forkable
from .test_reentry import _runTraced
from .test_reentry_locks import _reenterEachLine

#: How long a test's process may take before it is taken for hung: far more
#: than it takes (about a second), as a bound on a hang, not a timing.
HANG = 60.0

if TYPE_CHECKING:
    _Base = SynchronousTestCase
else:
    _Base = object


class _ForkWindowScenarios(_Forkable, IsolatedOutputMixin, _Base):
    """
    L{ForkHooks} re-entered on the forking thread, each test run by
    L{ForkWindowReentryTests} in a process of its own (see
    L{run_scenario}).
    """

    def _logged(self, writer: ThreadedWriter, hooks: ForkHooks,
                after: Callable[[], object]) -> List[int]:
        """
        Run the hooks before a fork, then C{after} (the hooks after it), with
        a message logged to C{writer} at each line of them, and one between
        them, on a thread joined with a timeout.

        @return: The C{n} of each message logged, in order.
        """
        logged: List[int] = []

        def handler() -> None:
            logged.append(len(logged))
            writer(numbered_message(logged[-1]))

        def fork() -> None:
            hooks.before()
            # Between the hooks: another library's, or the fork itself.
            handler()
            after()

        codes = {ForkHooks.before.__code__, ForkHooks.afterInParent.__code__,
                 ForkHooks.afterInChild.__code__}
        _runTraced(self, _reenterEachLine(codes, lambda: True, handler), fork)
        self.assertNotEqual(logged, [])
        return logged

    def _file(self) -> Tuple[FileDestination, Callable[[], List[int]]]:
        """
        @return: A L{FileDestination} writing JSON lines (which a writer
            queues batched), and what gives the C{n} of each message of
            those written.
        """
        path = self.mktemp()
        file = open(path, "wb")
        self.addCleanup(file.close)

        def ns() -> List[int]:
            file.flush()
            with open(path, "rb") as read:
                lines = [orjson.loads(line) for line in read.read().splitlines()]
            return [line["n"] for line in lines if line.get("message_type") == "test:n"]

        return FileDestination(file), ns

    def test_queuedInParent(self) -> None:
        """
        A message logged on the forking thread while the hooks hold a
        running writer's locks is queued once they are released, in the
        order logged, and written by the parent's worker.
        """
        destination, written = self._file()
        writer, _, _, hooks = self.forkable(destination)
        logged = self._logged(writer, hooks, hooks.afterInParent)
        self.perform(-1)
        self.assertEqual(written(), logged)

    def test_notInChild(self) -> None:
        """
        What the forking thread logged while the hooks held the locks before
        the fork is the parent's: the child does not write it (nor is it
        waited for).
        """
        destination, written = self._file()
        writer, _, _, hooks = self.forkable(destination)
        logged = self._logged(writer, hooks, lambda: None)
        # Those logged before the locks were held: flushed by the parent.
        flushed = written()
        self.assertNotEqual(flushed, logged)
        hooks.afterInChild()
        writer(numbered_message(-1))
        self.perform(-1)
        self.assertEqual(written(), flushed + [-1])

    def test_directInParent(self) -> None:
        """
        A message logged on the forking thread while the hooks hold the
        lock of a writer that writes on the thread that logs (after
        C{stopThreading}) is written once they are released, in order.
        """
        destination, written = self._file()
        writer = ThreadedWriter(destination)
        writer.startService()
        removed_at_end(self, writer)
        writer.stopThreading()
        hooks = ForkHooks()
        hooks.add(writer)
        logged = self._logged(writer, hooks, hooks.afterInParent)
        self.assertEqual(written(), logged)


def run_scenario(name: str) -> int:
    """
    In a process of its own: run the test C{name} of
    L{_ForkWindowScenarios}, reporting on standard output.  Its test case
    is made here, where no runner collects it.

    @return: The process's exit code: 0 when it passed.
    """
    case = type("ForkWindowScenario", (_ForkWindowScenarios, SynchronousTestCase), {})
    reporter = TreeReporter(sys.stdout)
    case(name).run(reporter)
    reporter.done()
    return 0 if reporter.wasSuccessful() else 1


class ForkWindowReentryTests(SynchronousTestCase):
    """
    L{ForkHooks} re-entered on the forking thread: the tests of
    L{_ForkWindowScenarios}, each in a process of its own, which fails the
    test rather than hangs the suite if it waits for a lock for ever.
    """

    def _passes(self, name: str) -> None:
        """
        Run the test C{name} of L{_ForkWindowScenarios} in a process of its
        own; fail with its report if it fails, or if it runs for L{HANG}
        seconds (then ended).
        """
        cwd = Path(self.mktemp())
        cwd.mkdir(parents=True)
        code = (f"import sys; from {__name__} import run_scenario; "
                f"sys.exit(run_scenario({name!r}))")
        try:
            result = run_python(["-c", code], cwd=cwd, timeout=HANG)
        except subprocess.TimeoutExpired as e:
            self.fail(f"{name} hung for {HANG:.0f} s and was ended: a message logged on the "
                      f"forking thread waited for a lock that thread held\n"
                      f"{_text(e.stdout)}{_text(e.stderr)}")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_queuedInParent(self) -> None:
        """
        See L{_ForkWindowScenarios.test_queuedInParent}.
        """
        self._passes("test_queuedInParent")

    def test_notInChild(self) -> None:
        """
        See L{_ForkWindowScenarios.test_notInChild}.
        """
        self._passes("test_notInChild")

    def test_directInParent(self) -> None:
        """
        See L{_ForkWindowScenarios.test_directInParent}.
        """
        self._passes("test_directInParent")


def _text(output: object) -> str:
    """
    @return: What a process ended by a timeout wrote, as text.
    """
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output if isinstance(output, str) else ""
