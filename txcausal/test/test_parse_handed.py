"""
Junk in the lists of handed-off levels of a finish message
(C{remote_task_levels}, C{retried_task_levels}, C{unsent_task_levels}): a
level with a part too long to be a slot number (over 20 digits) is
skipped, by the parser, C{tree} and the web view alike, and the well-formed
levels beside it still count.
"""

from __future__ import annotations

from typing import Any, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._parse_place import _handed_off
from txcausal.parse import Parser, WrittenAction
from txcausal.test._reading import cli, end, lines, start
from txcausal.webview import TaskRing, TaskViewResource

from ._web_helpers import StubTreq
from ._webview_cases import ViewTestCase, at_once, inline

#: Levels with a part of more digits than C{int} reads from a string
#: (4,300 by default), at the top and one level down.
JUNK = ["/" + "9" * 5000, "/" + "0" * 5000 + "2", "/2/" + "9" * 5000]

#: The fields of a finish message that list handed-off levels.
FIELDS = ["remote_task_levels", "retried_task_levels", "unsent_task_levels"]


def task(field: str) -> List[Any]:
    """
    A task whose root action handed off C{/2} and lists it, after the junk
    levels, in C{field} too.
    """
    return [start("J", [1], 1.0, "txcausal:http:client"),
            end("J", [3], 2.0, "txcausal:http:client", "failed", exception="builtins.OSError",
                **{"remote_task_levels": ["/2"], field: [*JUNK, "/2"]})]


class JunkLevelsTests(SynchronousTestCase):
    """
    The parser and C{tree} given junk levels.
    """

    def test_parser(self) -> None:
        """
        L{Parser.add} takes the messages; the position well named is handed
        off, and waited for but where the field says it never will be.
        """
        for field in FIELDS:
            parser = Parser()
            returned = [t for t in map(parser.add, task(field)) if t is not None]
            self.assertEqual(len(returned), 0 if field == FIELDS[0] else 1, field)
            [found] = returned or parser.flush()
            root = found.root
            assert isinstance(root, WrittenAction)
            self.assertEqual((root.handed_off_levels(), root.missing_levels()), ([(2,)], []),
                             field)

    def test_tree(self) -> None:
        """
        C{tree} and C{tree --json} show the task, the well-named position
        handed off.
        """
        for field in FIELDS:
            status, out, err = cli(["tree"], lines(*task(field)))
            self.assertEqual((status, err), (0, ""), field)
            self.assertIn("↳ /2 ", out)
            status, out, err = cli(["tree", "--json"], lines(*task(field)))
            self.assertEqual((status, err), (0, ""), field)
            [root] = orjson.loads(out)["children"]
            self.assertEqual(root["handed_off"], [[2]], field)


class SlotDigitsTests(SynchronousTestCase):
    """
    Where a part of a level stops being read as a slot number: past 20
    digits, as many as 2**64 has.
    """

    def test_twentyDigits(self) -> None:
        """
        A part of 20 digits, the action's own slot or its parent's, is read
        as a slot; the same level with a part of 21 digits is skipped.
        """
        def handed(digits: int) -> Any:
            def part(n: int) -> str:
                return str(n).zfill(digits)

            levels = [f"/2/{part(3)}", f"/{part(2)}/4"]
            return _handed_off({"remote_task_levels": levels}, (2,), 5)

        self.assertEqual((handed(20), handed(21)), ({3, 4}, set()))


class JunkLevelsViewTests(ViewTestCase):
    """
    The web view's task document given junk levels.
    """

    def test_taskDocument(self) -> None:
        """
        C{api/task/<uuid>} answers with the task, the well-named position
        handed off.
        """
        for field in FIELDS:
            ring = TaskRing(cooperate=at_once)
            for message in task(field):
                ring(message)
            self.stub = StubTreq(TaskViewResource(ring, self.clock, runInThread=inline))
            [root] = self.json("api/task/J")["children"]
            self.assertEqual(root["handed_off"], [[2]], field)
