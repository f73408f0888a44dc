"""
Tests for C{txcausal story} (L{txcausal._cli._story}), in process.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli import main
from txcausal.test._reading import T0, Message, cli, end, lines, msg, start
from txcausal.test.test_story import batch, request


def attempts() -> bytes:
    """
    A Dask computation whose first task ran twice (its worker died in the
    first attempt) and whose second ran once.
    """
    def attempt(level: List[int], at: float, key: str, finished: bool = True) -> List[Message]:
        position = "".join(f"/{n}" for n in level[:-1])
        return [start("D", [*level, 1], at, "eliot:remote_task", attempt_of=position),
                msg("D", [*level, 2], at, message_type="dask:task", key=key),
                *([end("D", [*level, 3], at, "eliot:remote_task")] if finished else [])]

    return lines(start("D", [1], 1.0, "dask:compute"),
                 *attempt([2, 4], 1.1, "part-1", finished=False),
                 *attempt([2, 8], 1.2, "part-1-again"),
                 *attempt([3, 5], 1.3, "part-2"),
                 end("D", [4], 1.4, "dask:compute"))


class StoryCommandTests(SynchronousTestCase):
    """
    Tests for C{txcausal story}.
    """

    def test_trees(self) -> None:
        """
        The story of a key is a tree per task that mentions it, in time
        order: the whole task when its root action binds the key, the path
        to the mentions otherwise, each mention marked, the rest counted.
        """
        data = lines(*batch("B", "inc-123"), *request("R", "inc-123"), *request("Q", "other"))
        status, out, err = cli(["story", "inc-123", "--ascii"], data)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(
            out,
            """\
R
`-- * http:request/1 => started 1970-01-01 00:00:01.000Z ~ 400.0ms
    |-- request_id: inc-123
    |-- db:query/2 1970-01-01 00:00:01.100Z
    |   `-- table: users
    |-- cache:get/3/1 => started 1970-01-01 00:00:01.200Z ~ 100.0ms
    |   `-- cache:get/3/2 => succeeded 1970-01-01 00:00:01.300Z
    `-- http:request/4 => succeeded 1970-01-01 00:00:01.400Z

B
`-- batch:run/1 => started 1970-01-01 00:00:05.000Z ~ 800.0ms
    |-- * batch:handle/3/1 => started 1970-01-01 00:00:05.200Z ~ 200.0ms
    |   |-- item: inc-123
    |   |-- batch:transition/3/2 1970-01-01 00:00:05.300Z
    |   |   `-- state: memory
    |   `-- batch:handle/3/3 => succeeded 1970-01-01 00:00:05.400Z
    |-- * batch:item/4 1970-01-01 00:00:05.500Z
    |   `-- item: inc-123
    |-- 2 more not in the story
    `-- batch:run/6 => succeeded 1970-01-01 00:00:05.800Z

""",
        )

    def test_attemptsCounted(self) -> None:
        """
        The attempts of a Dask task are children of the computation's
        action as shown: each attempt left out of the story is counted,
        whether its task is left out whole or only some of its attempts.
        """
        log = Path(self.mktemp())
        log.write_bytes(attempts())
        for key, shown in [("part-2", ["/3/5/1"]), ("part-1-again", ["/2/8/1"])]:
            status, out, err = cli(["story", key, "--ascii", str(log)])
            self.assertEqual((status, err), (0, ""))
            self.assertEqual(re.findall(r"eliot:remote_task(/\S+) => started", out), shown)
            self.assertIn("|-- 2 more not in the story\n", out)

    def test_emptyKey(self) -> None:
        """
        An empty KEY, which would match every task, is a usage error (exit
        status 2) that says so; nothing is read.
        """
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        exit = self.assertRaises(SystemExit, main, ["story", "", "no-such-file.log"])
        self.assertEqual(exit.code, 2)
        self.assertIn("KEY is empty", err.getvalue())

    def test_wordMatches(self) -> None:
        """
        A key mentioned as a whole word or a number is matched; a longer
        number or word is not; the task named by the key is in its story.
        """
        data = lines(
            msg("M2", [1], T0 + 2, message_type="web:request", path="/users/42/cart"),
            msg("M1", [1], T0 + 1, message_type="db:load", user_id=42),
            msg("M3", [1], T0 + 3, message_type="db:load", user_id=420),
            start("42", [1], T0 + 0.5, "app:job"),
        )
        out = cli(["story", "42"], data)[1]
        self.assertEqual([line for line in out.splitlines() if line[:1].isalnum()],
                         ["42 [incomplete]", "M1", "M2"])

    def test_json(self) -> None:
        """
        C{--json} writes the messages of the story as JSON lines, as they
        were read, task by task in time order: input for C{tree}.
        """
        data = lines(*batch("B", "inc-123"), *request("R", "inc-123"), *request("Q", "other"))
        out = cli(["story", "inc-123", "--json"], data)[1]
        messages = [orjson.loads(line) for line in out.splitlines()]
        self.assertEqual([(m["task_uuid"], m["task_level"]) for m in messages],
                         [("R", [1]), ("R", [2]), ("R", [3, 1]), ("R", [3, 2]), ("R", [4]),
                          ("B", [1]), ("B", [3, 1]), ("B", [3, 2]), ("B", [3, 3]), ("B", [4]),
                          ("B", [6])])
        self.assertEqual(messages[0], request("R", "inc-123")[0])
        self.assertIn("batch:transition/3/2", cli(["tree"], out.encode())[1])

    def test_maxTasks(self) -> None:
        """
        C{--max-tasks} keeps the earliest tasks and reports how many more
        there were.
        """
        data = lines(*[msg(f"M{n}", [1], T0 + n, message_type="x", key="k") for n in range(5)])
        status, out, err = cli(["story", "k", "--max-tasks", "2"], data)
        self.assertEqual([line for line in out.splitlines() if line[:1] == "M"], ["M0", "M1"])
        self.assertEqual(err, "txcausal: 3 later tasks of the story of 'k' left out"
                              " (--max-tasks 2)\n")
