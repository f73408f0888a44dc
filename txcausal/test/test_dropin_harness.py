"""
The drop-in harness itself (L{txcausal.test.test_dropin}): the swap of
imports changes the import lines only, the comparison lets through only the
documented differences, and a program that proves nothing does not pass.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Dict, List

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from ._dropin_compare import Comparison, Outcome, compare_source
from ._dropin_logs import journald_ready
from ._dropin_run import COMPAT, READ_JOURNALD, swap_imports

#: A program that logs one message to its file, under Eliot as under
#: txcausal.
_LOGS_ONE = ("import sys\n"
             "from eliot import log_message, to_file\n"
             "to_file(open(sys.argv[1], 'ab'))\n"
             "log_message(message_type='app:m')\n")


class SwapTests(SynchronousTestCase):
    """
    L{swap_imports} changes the import lines only.
    """

    def test_swap(self) -> None:
        """
        C{from eliot...} lines name txcausal's modules; renamed names are
        imported under Eliot's name; other lines are left alone.
        """
        source = ("from eliot import start_action, writeFailure, Message\n"
                  "    from eliot.stdlib import EliotHandler\n"
                  "x = 'from eliot import y'\n")
        self.assertEqual(swap_imports(source),
                         "from txcausal import start_action, Message; "
                         "from txcausal.twisted import writeFailure\n"
                         "    from txcausal.stdlib import CausalHandler as EliotHandler\n"
                         "x = 'from eliot import y'\n")

    def test_parenthesized(self) -> None:
        """
        Names in parentheses over several lines, with comments, are swapped
        as on one line; blank lines keep the lines after at their numbers.
        """
        source = ("from eliot import (\n"
                  "    Logger,  # the module's\n"
                  "    writeFailure,\n"
                  ")\n"
                  "from eliot.testing import (validateLogging,\n"
                  "    LoggedAction)\n"
                  "x = 1\n")
        self.assertEqual(swap_imports(source),
                         "from txcausal import Logger; from txcausal.twisted import writeFailure\n"
                         "\n\n\n"
                         "from txcausal.compat import validateLogging; "
                         "from txcausal.testing import LoggedAction\n"
                         "\n"
                         "x = 1\n")

    def test_importEliot(self) -> None:
        """
        C{import eliot} imports txcausal under Eliot's name; another
        C{import eliot...} is refused rather than left unswapped.
        """
        self.assertEqual(swap_imports("  import eliot\n"), "  import txcausal as eliot\n")
        self.assertRaises(ValueError, swap_imports, "import eliot.twisted\n")

    def test_compat(self) -> None:
        """
        A program holding the line C{# swap: txcausal.compat} gets
        C{txcausal.compat} for C{eliot}; Eliot's other modules are
        txcausal's.
        """
        source = (f"{COMPAT}\nfrom eliot import startAction\n"
                  "from eliot.testing import LoggedAction\n")
        self.assertEqual(swap_imports(source),
                         f"{COMPAT}\nfrom txcausal.compat import startAction\n"
                         "from txcausal.testing import LoggedAction\n")
        self.assertEqual(swap_imports(f"{COMPAT}\nimport eliot\n"),
                         f"{COMPAT}\nimport txcausal.compat as eliot\n")


class ComparisonTests(SynchronousTestCase):
    """
    L{Comparison} finds what differs, and lets through only the documented
    differences.
    """

    def compare(self, eliot: List[Any], ours: List[Any]) -> Comparison:
        comparison = Comparison()
        comparison.messages(eliot, comparison.without_extra(ours))
        return comparison

    def test_undocumented(self) -> None:
        """
        A missing field, another value, a missing message and an extra one
        are each reported.
        """
        base = {"message_type": "m", "task_level": [1], "n": 1}
        self.assertEqual(len(self.compare([base], [{**base, "n": 2}]).unexplained), 1)
        self.assertEqual(len(self.compare([base], [{"task_level": [1], "n": 1}]).unexplained), 1)
        self.assertEqual(len(self.compare([base, base], [base]).unexplained), 1)
        self.assertEqual(len(self.compare([base], [base, base]).unexplained), 1)

    def test_documented(self) -> None:
        """
        A documented difference passes, and is recorded as seen; nested
        values are compared one by one.
        """
        eliot = {"action_status": "succeeded", "v": [{"b": "b'x'"}, None]}
        ours = {"action_status": "succeeded", "v": [{"b": "x"}, "NaN"], "duration": 0.1}
        report = {"message_type": "txcausal:unencodable_values"}
        comparison = self.compare([eliot], [ours, report])
        self.assertEqual(comparison.unexplained, [])
        self.assertEqual(comparison.seen, {"bytes", "nonfinite", "duration",
                                           "unencodable report"})

    def test_libraryErrors(self) -> None:
        """
        The class and the text of a L{ValidationError} are txcausal's, of
        the same field; another text is not.
        """
        eliot = {"exception": "eliot._validation.ValidationError",
                 "reason": "('x', \"Field 'foo' requires type to be one of [<class 'int'>]\")"}
        ours = {"exception": "txcausal._types.ValidationError",
                "reason": "Field 'foo' must be one of ['int'], not str"}
        self.assertEqual(self.compare([eliot], [ours]).unexplained, [])
        other = {**ours, "reason": "Field 'bar' must be one of ['int'], not str"}
        self.assertEqual(len(self.compare([eliot], [other]).unexplained), 1)


    def test_nestedTypes(self) -> None:
        """
        Values inside lists and dicts are compared with their types: C{1.0}
        is not C{1}, nor C{True} C{1}.
        """
        base = {"message_type": "m", "task_level": [1]}
        self.assertEqual(len(self.compare([{**base, "v": [1.0, {"t": True}]}],
                                          [{**base, "v": [1, {"t": 1}]}]).unexplained), 2)

    def test_daskTracing(self) -> None:
        """
        txcausal's tracing of a Dask task (an C{eliot:remote_task} action
        whose first message is C{dask:task}) is taken out: what the task
        logged moves up a level, in its place among its siblings, and the
        levels after it are renumbered, as Eliot 1.18 logs on current Dask.
        """
        def m(level: List[int], **fields: Any) -> Dict[str, Any]:
            return {"task_uuid": "u", "task_level": level, **fields}

        def action(level: List[int], kind: str, status: str) -> Dict[str, Any]:
            return m(level, action_type=kind, action_status=status)

        eliot = [action([1], "dask:compute", "started"),
                 action([2, 1], "app:work", "started"), m([2, 2], message_type="app:step"),
                 action([2, 3], "app:work", "succeeded"), m([3], message_type="app:more"),
                 m([4], message_type="app:other"),
                 action([5], "dask:compute", "succeeded")]
        ours = [action([1], "dask:compute", "started"),
                action([2, 1], "eliot:remote_task", "started"),
                m([2, 2], message_type="dask:task", key="a", dependencies=[]),
                action([2, 3, 1], "app:work", "started"), m([2, 3, 2], message_type="app:step"),
                action([2, 3, 3], "app:work", "succeeded"), m([2, 4], message_type="app:more"),
                action([2, 5], "eliot:remote_task", "succeeded"),
                action([3, 1], "eliot:remote_task", "started"),
                m([3, 2], message_type="dask:task", key="b", dependencies=["a"]),
                m([3, 3], message_type="app:other"),
                action([3, 4], "eliot:remote_task", "failed"),
                action([5], "dask:compute", "succeeded")]
        comparison = self.compare(eliot, ours)
        self.assertEqual(comparison.unexplained, [])
        self.assertEqual(comparison.seen, {"dask tracing"})
        attempts = [self._attempt(message) for message in ours]
        self.assertNotEqual(attempts, ours)
        comparison = self.compare(eliot, attempts)
        self.assertEqual(comparison.unexplained, [])
        self.assertEqual(comparison.seen, {"dask tracing"})

    @staticmethod
    def _attempt(message: Dict[str, Any]) -> Dict[str, Any]:
        """
        A message of a traced task as an attempt logs it, below the task's
        position at index 7.
        """
        level = message["task_level"]
        if len(level) < 2:
            return message
        moved = {**message, "task_level": [level[0], 7, *level[1:]]}
        if level[1:] == [1]:
            moved["attempt_of"] = f"/{level[0]}"
        return moved

    def test_remoteTaskKept(self) -> None:
        """
        An C{eliot:remote_task} action whose first message is not
        C{dask:task}, and an action of another type whose first message
        is, are not taken out.
        """
        def m(level: List[int], kind: str, status: str = "") -> Dict[str, Any]:
            if status:
                return {"task_uuid": "u", "task_level": level, "action_type": kind,
                        "action_status": status}
            return {"task_uuid": "u", "task_level": level, "message_type": kind}

        messages = [m([1], "app:main", "started"),
                    m([2, 1], "eliot:remote_task", "started"), m([2, 2], "app:m"),
                    m([2, 3], "dask:task"), m([2, 4], "eliot:remote_task", "succeeded"),
                    m([3, 1], "app:action", "started"), m([3, 2], "dask:task"),
                    m([3, 3], "app:action", "succeeded"),
                    m([4], "app:main", "succeeded")]
        comparison = Comparison()
        self.assertEqual(comparison.without_extra(messages), messages)
        self.assertEqual(comparison.seen, set())

    def test_remoteTaskLevelsOnFinishOnly(self) -> None:
        """
        C{remote_task_levels} is documented on finish messages only.
        """
        base = {"message_type": "m", "task_level": [1]}
        comparison = self.compare([base], [{**base, "remote_task_levels": ["/1"]}])
        self.assertEqual(len(comparison.unexplained), 1)


class _HarnessCase(SynchronousTestCase):
    """
    A test of L{compare_source} on a program of its own.
    """

    def assertOneDifference(self, outcome: Outcome, text: str) -> None:
        """
        Assert that the comparison found one difference, which says
        C{text}.
        """
        self.assertEqual(len(outcome.unexplained), 1, outcome.unexplained)
        self.assertIn(text, outcome.unexplained[0])


class HarnessTests(_HarnessCase):
    """
    L{compare_source} does not pass a program that proves nothing.
    """

    def test_logsNothing(self) -> None:
        """
        A program that logs nothing under Eliot is reported.
        """
        outcome = compare_source("print('hello')\n", "prog_silent.py")
        self.assertOneDifference(outcome, "logged nothing")

    def test_eliotUnreachable(self) -> None:
        """
        The program with its imports swapped cannot reach Eliot by another
        way: both runs would log the same, proving nothing.
        """
        outcome = compare_source(
            "import sys\n"
            "eliot = __import__('eliot')\n"
            "eliot.to_file(open(sys.argv[1], 'ab'))\n"
            "eliot.log_message(message_type='app:m')\n", "prog_indirect.py")
        self.assertTrue(any("under txcausal" in text and "must not import eliot" in text
                            for text in outcome.unexplained), outcome.unexplained)

    def test_errorOutput(self) -> None:
        """
        What txcausal's run writes on standard error (a report of a failed
        destination, a traceback) is reported.
        """
        outcome = compare_source(
            _LOGS_ONE + "if 'txcausal' in sys.modules:\n"
                        "    print('oops', file=sys.stderr)\n", "prog_stderr.py")
        self.assertOneDifference(outcome, "oops")


class JournalHarnessTests(_HarnessCase):
    """
    A program holding the line C{# read: journald} has what it wrote to
    journald compared too.
    """

    def setUp(self) -> None:
        journald_ready()

    def test_fieldsCompared(self) -> None:
        """
        The fields of the journal entries are compared: another
        C{SYSLOG_IDENTIFIER} under txcausal is a difference.
        """
        if importlib.util.find_spec("cffi") is None:
            raise SkipTest("cffi is not installed: Eliot's JournaldDestination needs it")
        outcome = compare_source(
            f"{READ_JOURNALD}\n"
            "import sys\n"
            "from eliot import add_destinations, log_message, to_file\n"
            "from eliot.journald import JournaldDestination\n"
            "to_file(open(sys.argv[1], 'ab'))\n"
            "ours = 'txcausal' in sys.modules\n"
            "add_destinations(JournaldDestination(identifier='other') if ours\n"
            "                 else JournaldDestination())\n"
            "log_message(message_type='app:m')\n", "prog_journal_fields.py")
        self.assertOneDifference(
            outcome, "'SYSLOG_IDENTIFIER': Eliot 'prog_journal_fields.py', txcausal 'other'")

    def test_emptyJournal(self) -> None:
        """
        A program that writes nothing to journald under Eliot is reported.
        """
        outcome = compare_source(f"{READ_JOURNALD}\n{_LOGS_ONE}", "prog_journal_empty.py")
        self.assertOneDifference(outcome, "nothing in the journal under Eliot")
