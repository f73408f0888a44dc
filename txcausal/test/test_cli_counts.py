"""
Tests for the counts the commands write on standard error: each reads in
the singular for one, and C{tree} says how many tasks C{--max-open} gave
up, as C{export} and C{stats} do.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli._text import counted

from ._reading import T0, cli, end, lines, msg, start

#: With C{--max-open 1}: task A, unfinished, is given up when B starts.
ONE_GIVEN_UP = lines(start("A", [1], T0, "a"), start("B", [1], T0 + 1, "b"),
                     end("B", [2], T0 + 2, "b"))


class CountedTests(SynchronousTestCase):
    """
    L{counted} puts a count and its noun together.
    """

    def test_counted(self) -> None:
        """
        The noun is singular for one, plural otherwise; an irregular plural
        may be given.
        """
        self.assertEqual(counted(1, "span"), "1 span")
        self.assertEqual(counted(0, "span"), "0 spans")
        self.assertEqual(counted(2, "span"), "2 spans")
        self.assertEqual(counted(1, "run of NUL bytes", "runs of NUL bytes"), "1 run of NUL bytes")
        self.assertEqual(counted(3, "run of NUL bytes", "runs of NUL bytes"),
                         "3 runs of NUL bytes")


class SingularTests(SynchronousTestCase):
    """
    Each summary line reads in the singular for a count of one.
    """

    def test_exportOTLP(self) -> None:
        """
        C{export}'s summary, for one span of one task.
        """
        err = cli(["export", "--format", "otlp-json"],
                  lines(start("s", [1], T0, "a"), end("s", [2], T0 + 1, "a")))[2]
        self.assertEqual(err, "txcausal: exported 1 span from 1 task\n")

    def test_exportUnusedParent(self) -> None:
        """
        One C{parent_span_id} not used is one field.
        """
        err = cli(["export", "--format", "otlp-json"],
                  lines(start("p", [1], T0, "a", parent_span_id="zz"),
                        end("p", [2], T0 + 1, "a")))[2]
        self.assertIn("exported 1 span from 1 task, 1 parent_span_id field not used\n", err)

    def test_exportECS(self) -> None:
        """
        C{export --format ecs}'s summary, for one document of one task.
        """
        err = cli(["export", "--format", "ecs"], lines(msg("e", [1], T0, message_type="m")))[2]
        self.assertEqual(err, "txcausal: wrote 1 ECS document from 1 task\n")

    def test_givenUp(self) -> None:
        """
        One task given up, by C{export}, C{stats}, C{tree} and C{story}.
        """
        for command, fate in [("export", "exported in parts"), ("stats", "counted in parts"),
                              ("tree", "shown in parts"), ("story", "shown in parts")]:
            args = [command, "--max-open", "1"]
            args += ["--format", "otlp-json"] if command == "export" else []
            args += ["a"] if command == "story" else []
            err = cli(args, ONE_GIVEN_UP)[2]
            self.assertIn(f"txcausal: 1 task given up by --max-open 1 ({fate})\n", err)

    def test_story(self) -> None:
        """
        C{story}'s count of later tasks left out.
        """
        data = lines(*[msg(f"M{n}", [1], T0 + n, message_type="x", key="k") for n in range(3)])
        err = cli(["story", "k", "--max-tasks", "2"], data)[2]
        self.assertEqual(err, "txcausal: 1 later task of the story of 'k' left out"
                              " (--max-tasks 2)\n")

    def test_moreUnreadable(self) -> None:
        """
        One unreadable line past those reported.
        """
        err = cli(["tree"], b"x\n" * 21)[2]
        self.assertIn("<stdin>: 1 more unreadable line skipped\n", err)


class TreeGivenUpTests(SynchronousTestCase):
    """
    C{tree} says how many tasks C{--max-open} gave up.
    """

    def test_givenUp(self) -> None:
        """
        The tasks given up are counted on standard error, after the trees;
        the tree of each is still shown.
        """
        data = lines(start("A", [1], T0, "a"), start("B", [1], T0 + 1, "b"),
                     start("C", [1], T0 + 2, "c"))
        status, out, err = cli(["tree", "--max-open", "1"], data)
        self.assertEqual(status, 0)
        self.assertEqual([line for line in out.splitlines() if line[:1] in ("A", "B", "C")],
                         ["A [incomplete]", "B [incomplete]", "C [incomplete]"])
        self.assertEqual(err, "txcausal: 2 tasks given up by --max-open 1 (shown in parts)\n")

    def test_noneGivenUp(self) -> None:
        """
        Nothing is said when no task was given up.
        """
        data = lines(start("A", [1], T0, "a"), end("A", [2], T0 + 1, "a"))
        self.assertEqual(cli(["tree", "--max-open", "1"], data)[2], "")
