"""
txcausal as a drop-in for Eliot: the programs of L{txcausal.test.dropin},
written for Eliot 1.18 as its manual writes them, run under Eliot and then
with their imports swapped for txcausal's; what they log is compared message
by message (types, statuses, task levels, field names and values), ignoring
task UUIDs, timestamps and object addresses.  Every difference must be one
of L{txcausal.test._dropin_compare.KNOWN_DIFFERENCES}, the rows of the
"Coming from Eliot" table in C{docs/quickstart.md}, and each of those must
be seen.  The harness is in L{txcausal.test._dropin_run} and
L{txcausal.test._dropin_compare}; its own tests are in
L{txcausal.test.test_dropin_harness}.
"""

from __future__ import annotations

from typing import Set

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from ._dropin_compare import KNOWN_DIFFERENCES, compare_program, program_names
from ._dropin_run import RENAMED
from ._helpers import docs_dir


class DropInTests(SynchronousTestCase):
    """
    Each program logs the same under Eliot 1.18 and under txcausal, but for
    the documented differences.
    """

    def check(self, name: str) -> None:
        outcome = compare_program(name)
        if outcome.skipped:
            raise SkipTest(outcome.skipped)
        self.assertEqual(outcome.unexplained, [], "\n\n".join(outcome.unexplained))

    def test_everyDifferenceSeen(self) -> None:
        """
        Each documented difference is shown by at least one program, so the
        list stays true.
        """
        seen: Set[str] = set()
        for name in program_names():
            seen |= compare_program(name).seen
        self.assertEqual(sorted(d.name for d in KNOWN_DIFFERENCES if d.name not in seen), [])

    def test_differencesAreDocumented(self) -> None:
        """
        Each documented difference is a row of the "Coming from Eliot"
        table, as are the renamed names.
        """
        text = (docs_dir() / "quickstart.md").read_text()
        table = text[text.index("## Coming from Eliot"):]
        rows = [line.split("|")[1].strip() for line in table.splitlines()
                if line.startswith("| ")]
        self.assertEqual([d.row for d in KNOWN_DIFFERENCES if d.row not in rows], [])
        for (module, name), _ in RENAMED.items():
            self.assertIn(f"eliot.{module + '.' if module else ''}{name}", table)

    def test_programsCoverTheManual(self) -> None:
        """
        There is a program for each section of the manual.
        """
        sections = {"messages", "values", "actions", "log_call", "types", "errors", "threads",
                    "processes", "testing", "twisted", "threaded_writer", "outputs", "stdlib",
                    "asyncio", "reading", "journald", "dask"}
        self.assertEqual(sections - {n[len("prog_"):] for n in program_names()}, set())


def _add_program_tests() -> None:
    for name in program_names():
        def test(self: DropInTests, name: str = name) -> None:
            self.check(name)

        test.__doc__ = f"C{{{name}.py}} logs the same under Eliot 1.18 and txcausal."
        setattr(DropInTests, f"test_{name[len('prog_'):]}", test)


_add_program_tests()
