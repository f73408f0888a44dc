"""
Tests for C{txcausal tree --follow} (L{txcausal._cli._follow}), in process
with the waits between looks at the file replaced.
"""

from __future__ import annotations

import io
import os
from typing import Callable, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli import _follow, build_parser, main, parse_arguments
from txcausal._cli._common import Streams
from txcausal._cli._tree import options_for
from txcausal.test._reading import cli, end, lines, msg, small_task, start


class FollowCommandTests(SynchronousTestCase):
    """
    Tests for C{txcausal tree --follow FILE}.
    """

    def setUp(self) -> None:
        self.path = self.mktemp()
        self.out, self.err = io.StringIO(), io.StringIO()

    def append(self, *messages: object) -> None:
        with open(self.path, "ab") as f:
            f.write(lines(*messages))

    def follow(self, steps: List[Callable[[], None]], *options: str) -> str:
        """
        Follow the file, running a step at each wait, until they are done.
        """
        args = parse_arguments(build_parser(), ["tree", "--follow", self.path, *options])
        streams = Streams(io.BytesIO(), self.out, self.err)
        pending = list(steps)

        def sleep(seconds: float) -> None:
            if not pending:
                raise KeyboardInterrupt()
            pending.pop(0)()

        self.assertRaises(KeyboardInterrupt, _follow.run, args, streams,
                          options_for(args, streams), sleep)
        return self.out.getvalue()

    def test_finishedAndStillOpen(self) -> None:
        """
        A task is shown when it finishes; one still open after the idle
        time is shown marked, and again when it finishes.  Rotation by
        rename is followed.
        """
        self.append(start("A", [1], 1.0, "a"), start("B", [1], 1.0, "b"), end("B", [2], 2.0, "b"))

        def rotate() -> None:
            os.rename(self.path, self.path + ".1")
            self.append(msg("A", [2], 3.0, message_type="note"), end("A", [3], 4.0, "a"))

        out = self.follow([rotate, lambda: None], "--idle", "0")
        self.assertEqual([line for line in out.splitlines() if line[:1].isalpha()],
                         ["B", "A [still open] [incomplete]", "A"])
        self.assertIn("note/2", out.split("\nA\n")[1])

    def test_json(self) -> None:
        """
        With C{--json}, each shown task is a document saying whether it is
        still open.
        """
        self.append(start("A", [1], 1.0, "a"))
        out = self.follow([lambda: self.append(end("A", [2], 2.0, "a"))], "--json", "--idle", "0")
        documents = [orjson.loads(line) for line in out.splitlines()]
        self.assertEqual([(d["task_uuid"], d["still_open"]) for d in documents],
                         [("A", True), ("A", False)])

    def test_oneFile(self) -> None:
        """
        C{--follow} takes exactly one file.
        """
        self.assertEqual(cli(["tree", "--follow"])[0], 2)
        self.assertEqual(cli(["tree", "--follow", "a", "b"])[2],
                         "txcausal: tree --follow needs exactly one FILE\n")

    def test_unreadable(self) -> None:
        """
        A file that cannot be read is reported; the status is 1.
        """
        os.mkdir(self.path)
        status, out, err = cli(["tree", "--follow", self.path])
        self.assertEqual(status, 1)
        self.assertIn("Is a directory", err)

    def test_closedOutput(self) -> None:
        """
        When the reader of the output went away (C{| head}), following ends
        quietly with status 0, as the other commands do, instead of
        blaming the file.
        """

        class ClosedPipe(io.StringIO):
            def write(self, text: str) -> int:
                raise BrokenPipeError(32, "Broken pipe")

        self.append(*small_task())
        err = io.StringIO()
        status = main(["tree", "--follow", self.path], io.BytesIO(), ClosedPipe(), err)
        self.assertEqual((status, err.getvalue()), (0, ""))

    def test_possibleLossReported(self) -> None:
        """
        A file rotated twice between two looks, the file read before
        deleted by the rotation, is read all the same, and that files
        rotated away meanwhile may have been missed is said on standard
        error, once.
        """
        self.append(start("A", [1], 1.0, "a"), end("A", [2], 2.0, "a"))

        def rotateTwice() -> None:
            for task in ("B", "C"):
                os.replace(self.path, self.path + ".1")  # Keeping one: the older deleted.
                self.append(start(task, [1], 1.0, "t"), end(task, [2], 2.0, "t"))

        out = self.follow([rotateTwice, lambda: None, lambda: None], "--idle", "0")
        self.assertEqual([line for line in out.splitlines() if line[:1].isalpha()],
                         ["A", "B", "C"])
        self.assertEqual(self.err.getvalue().count("may have been missed"), 1,
                         self.err.getvalue())

    def test_givenUpReported(self) -> None:
        """
        Tasks that C{--max-open} gives up are counted on standard error as
        it happens, at the first look that gave some up and then at each
        look that brought the count past another 1000 (as the web view's
        reports of refused connections), so that a log that keeps gaining
        unfinished tasks does not fill standard error; then in all when
        following ends, as C{tree} without C{--follow} says it.
        """
        self.append(start("A", [1], 1.0, "a"), start("B", [1], 1.0, "b"))
        seen: List[str] = []

        def more(count: int) -> Callable[[], None]:
            def step() -> None:
                seen.append(self.err.getvalue())
                self.append(*(start(f"T{len(seen)}-{i}", [1], 1.0, "t") for i in range(count)))
            return step

        self.follow([more(2), more(997), more(2), more(1), more(999), more(1),
                     lambda: seen.append(self.err.getvalue())], "--max-open", "1")
        first = "txcausal: 1 task given up by --max-open 1 so far (shown in parts)\n"
        second = "txcausal: 1002 tasks given up by --max-open 1 so far (shown in parts)\n"
        third = "txcausal: 2002 tasks given up by --max-open 1 so far (shown in parts)\n"
        # Given up in all, look by look: 1, 3, 1000, 1002, 1003, 2002, 2003.
        self.assertEqual(seen, [first, first, first, first + second, first + second,
                                first + second + third, first + second + third])
        self.assertEqual(self.err.getvalue(), first + second + third +
                         "txcausal: 2003 tasks given up by --max-open 1 (shown in parts)\n")

    def test_nothingGivenUp(self) -> None:
        """
        Nothing is said of C{--max-open} when it gave up no task.
        """
        self.append(start("A", [1], 1.0, "a"), start("B", [1], 1.0, "b"))
        self.follow([lambda: None], "--idle", "0")
        self.assertEqual(self.err.getvalue(), "")
