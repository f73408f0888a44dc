"""
Tests for C{txcausal stats} (L{txcausal._cli._stats}), in process.
"""

from __future__ import annotations

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal.test._reading import cli, lines
from txcausal.test.test_stats import timed


class StatsCommandTests(SynchronousTestCase):
    """
    Tests for C{txcausal stats}.
    """

    def test_table(self) -> None:
        """
        One row per action type, the most total time first, each followed
        by its slowest instances with their task and level.
        """
        data = lines(*timed("A", [0.002, 3.0]), *timed("B", [0.0005], "failed"))
        status, out, err = cli(["stats", "--slowest", "1"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(
            out,
            """\
action type  count  failed       p50       p90       p99       max     total
app:job          2       0  100.000s  100.000s  100.000s  100.000s  200.000s
   100.000s  A/1
app:step         3       1     2.0ms    3.000s    3.000s    3.000s    3.002s
     3.000s  A/3/1
""",
        )

    def test_json(self) -> None:
        """
        C{--json} writes one document per action type.
        """
        out = cli(["stats", "--json"], lines(*timed("A", [1.0, 2.0])))[1]
        rows = [orjson.loads(line) for line in out.splitlines()]
        step = rows[1]
        self.assertEqual((step["action_type"], step["count"], step["p50"]), ("app:step", 2, 1.0))
        self.assertEqual(step["slowest"][0], {"duration": 2.0, "task_uuid": "A",
                                              "task_level": [3, 1]})

    def test_stray_action(self) -> None:
        """
        An action whose messages do not fit its task's tree (shown by
        C{tree} under "not in the tree") is counted.
        """
        from txcausal.test.test_export_strays import STRAY_ACTION

        status, out, err = cli(["stats"], STRAY_ACTION)
        rows = [line.split()[:2] for line in out.splitlines()[1:] if not line.startswith(" ")]
        self.assertEqual(sorted(rows), [["a", "1"], ["b", "1"]])
        self.assertEqual((status, err), (0, ""))

    def test_stray_finish_reported(self) -> None:
        """
        A second finish of an action is not counted as another action: it
        is reported, with a count.
        """
        from txcausal.test.test_export_strays import message

        data = lines(
            message("i", [1], 1.0, action_type="a", action_status="started"),
            message("i", [2, 1], 1.5, action_type="b", action_status="started"),
            message("i", [2, 2], 2.0, action_type="b", action_status="succeeded"),
            message("i", [2, 3], 2.5, action_type="b", action_status="failed"),
            message("i", [3], 3.0, action_type="a", action_status="succeeded"))
        status, out, err = cli(["stats"], data)
        rows = [line.split()[:3] for line in out.splitlines()[1:] if not line.startswith(" ")]
        self.assertEqual(sorted(rows), [["a", "1", "0"], ["b", "1", "0"]])
        self.assertIn("message 'i'/2/3: not in its task's tree, not counted", err)
        self.assertIn("1 action message not in its task's tree, not counted", err)

    def test_given_up(self) -> None:
        """
        With C{--max-open}, an action whose task was given up between its
        start and its finish is counted once, and the tasks given up are
        counted as C{export} counts them.
        """
        from txcausal.test.test_export_strays import GIVEN_UP

        status, out, err = cli(["stats", "--max-open", "1"], GIVEN_UP)
        rows = [line.split()[:2] for line in out.splitlines()[1:] if not line.startswith(" ")]
        self.assertEqual(sorted(rows), [["a", "1"], ["b", "1"]])
        self.assertIn("txcausal: 2 tasks given up by --max-open 1 (counted in parts)", err)
