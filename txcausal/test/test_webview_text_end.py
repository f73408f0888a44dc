"""
L{LogFiles} over several files: the text event at the end of a file that
is not the last one is numbered at the first reading (as C{tree} numbers
it) and ends at a look finding the file idle; the index, the loading and
the searches, kept or fresh, agree on it.  Real files; the reading is
driven by the test, threads run inline.
"""

from __future__ import annotations

import os
from typing import FrozenSet, List

import orjson

from txcausal._parse_input import needle_for
from txcausal._view_task import text_predicate
from txcausal.webview import LogFiles, Search

from ._reading import cli
from ._webview_cases import FilesTestCase

#: The first line of a text event, and the continuation lines its writer adds later.
UNHANDLED = b"2024-05-01 10:00:00+0000 [-] Unhandled error\n"
TRACEBACK = b"\tTraceback (most recent call last):\n\tValueError: boom\n"
OTHER = b"2024-05-01 10:00:01+0000 [-] other\n"


def searching(word: str) -> Search:
    """
    A search for the messages holding C{word}, as the web view makes it.
    """
    return Search(text_predicate(word), needle_for(word, fold_case=True))


class TextEventAtEndTests(FilesTestCase):
    """
    The text event at the end of C{a.log}, read with C{b.log}.
    """

    def run_search(self, files: LogFiles, search: Search) -> FrozenSet[str]:
        """
        Run C{search}, made or continued, over what C{files} read.
        """
        return self.successResultOf(files.search(search))

    def texts(self, files: LogFiles, uuids: FrozenSet[str]) -> List[str]:
        """
        The texts of the tasks C{uuids}, loaded, sorted.
        """
        return sorted(message["log_text"] for uuid in uuids
                      for message in self.load(files, uuid).task.messages())

    def test_textEventAtEndAgreesWithTree(self) -> None:
        """
        A text line at the end of C{a.log} (as every trial log ends), copied
        at the start of C{b.log}: the first reading of C{a.log} ends its
        text event before C{b.log} is read, so C{txcausal web a.log b.log}
        numbers the copies as C{tree a.log b.log} does, C{a.log}'s first.
        """
        line = b"2024-05-01 10:00:00+0000 [-] polling again\n"
        a, b = self.dir / "a.log", self.dir / "b.log"
        a.write_bytes(line)
        b.write_bytes(line + b"2024-05-01 10:00:01+0000 [-] other\n")
        out = cli(["tree", "--json", str(a), str(b)])[1]
        expected = [orjson.loads(document)["task_uuid"] for document in out.splitlines()]
        files = self.source(a, b)
        files.readAvailable()  # Finding b.log idle: its last line ends too.
        where = []
        for uuid in expected:
            loaded = self.load(files, uuid)
            [message] = loaded.task.messages()
            where.append(os.path.basename(loaded.source_names[loaded.sources[id(message)]]))
        self.assertEqual(where, ["a.log", "b.log", "b.log"])

    def test_textEventAtEndSearched(self) -> None:
        """
        A search made before the text event at the end of C{a.log}, numbered
        at the first reading, ends finds it and its copy in C{b.log} by the
        task UUIDs the list gives them.
        """
        line = b"2024-05-01 10:00:00+0000 [-] polling again\n"
        a, b = self.dir / "a.log", self.dir / "b.log"
        a.write_bytes(line)
        b.write_bytes(line + b"2024-05-01 10:00:01+0000 [-] other\n")
        files = self.source(a, b)
        found = self.successResultOf(files.search(Search(
            text_predicate("polling again"), needle_for("polling again", fold_case=True))))
        files.readAvailable()
        out = cli(["tree", "--json", str(a), str(b)])[1]
        expected = [orjson.loads(document)["task_uuid"] for document in out.splitlines()]
        self.assertEqual(found, set(expected[:2]))

    def test_textEventAtEndGoesOn(self) -> None:
        """
        Continuation lines its writer adds to the text event at the end of
        C{a.log} after the first reading (it is then numbered, before
        C{b.log} is read) are read as they are in the last file: the
        event ends with them, at a look that finds C{a.log} idle, with the
        task UUID C{tree a.log b.log} gives it, C{b.log} holding no copy of
        it (see L{test_textEventAtEndCopied}).
        """
        a, b = self.dir / "a.log", self.dir / "b.log"
        a.write_bytes(b"2024-05-01 10:00:00+0000 [-] polling again\n"
                      b"2024-05-01 10:00:00+0000 [-] Unhandled error\n")
        b.write_bytes(b"2024-05-01 10:00:01+0000 [-] other\n")
        files = self.source(a, b)
        with a.open("ab") as f:
            f.write(b"\tTraceback (most recent call last):\n\tValueError: boom\n")
        files.readAvailable()
        files.readAvailable()  # Finding a.log idle: its event ends.
        self.assertEqual((files.errors, list(files.recent_errors)), (0, []))
        out = cli(["tree", "--json", str(a), str(b)])[1]
        expected = [orjson.loads(document)["task_uuid"] for document in out.splitlines()]
        self.assertEqual(sorted(self.uuids(files)), sorted(expected))
        [event] = self.load(files, expected[1]).task.messages()
        self.assertEqual((event["log_text"], event["reason"]),
                         ("Unhandled error\nTraceback (most recent call last):\n"
                          "ValueError: boom", "boom"))

    def test_textEventAtEndCopied(self) -> None:
        """
        A copy in C{b.log} of the text event at the end of C{a.log} as it
        ends, with the continuation lines added after the first reading,
        is numbered as C{a.log}'s copy ends, after it: the web view gives
        the two copies the task UUIDs C{tree a.log b.log} gives them, in the
        other order (as docs/reading.md says), and a search finds them so.
        """
        a, b = self.dir / "a.log", self.dir / "b.log"
        a.write_bytes(UNHANDLED)
        b.write_bytes(UNHANDLED + TRACEBACK + OTHER)
        files = self.source(a, b)
        with a.open("ab") as f:
            f.write(TRACEBACK)
        files.readAvailable()
        files.readAvailable()  # Finding a.log idle: its event ends.
        out = cli(["tree", "--json", str(a), str(b)])[1]
        first, second = [orjson.loads(document)["task_uuid"]
                         for document in out.splitlines()][:2]
        where = []
        for uuid in (first, second):
            loaded = self.load(files, uuid)
            [message] = loaded.task.messages()
            where.append(os.path.basename(loaded.source_names[loaded.sources[id(message)]]))
        self.assertEqual(where, ["b.log", "a.log"])
        self.assertEqual(self.run_search(files, searching("boom")), {first, second})

    def test_keptSearchGoesOnWithIt(self) -> None:
        """
        A search kept (as the web view keeps a live one) finds the text
        event at the end of C{a.log} before its writer adds continuation
        lines, by its early task UUID, and after they are read and it
        ends, by the task UUID the index gives it, as a fresh search does.
        """
        a, b = self.dir / "a.log", self.dir / "b.log"
        a.write_bytes(UNHANDLED)
        b.write_bytes(OTHER)
        files = self.source(a, b)
        kept = searching("unhandled")
        early = self.run_search(files, kept)
        self.assertEqual(len(early), 1)
        with a.open("ab") as f:
            f.write(TRACEBACK)
        files.readAvailable()
        self.assertEqual(self.run_search(files, kept), early)  # Not ended yet.
        files.readAvailable()  # Finding a.log idle: its event ends.
        found = self.run_search(files, kept)
        self.assertEqual(found, self.run_search(files, searching("unhandled")))
        self.assertEqual(self.texts(files, found),
                         ["Unhandled error\nTraceback (most recent call last):\nValueError: boom"])

    def test_searchFindsContinuationLines(self) -> None:
        """
        A search for a word of the continuation lines added to the text
        event at the end of C{a.log}, made before they are written or
        between the look reading them and the look ending the event, finds
        the event once it ends.
        """
        a, b = self.dir / "a.log", self.dir / "b.log"
        a.write_bytes(UNHANDLED)
        b.write_bytes(OTHER)
        files = self.source(a, b)
        before = searching("boom")
        self.assertEqual(self.run_search(files, before), frozenset())
        with a.open("ab") as f:
            f.write(TRACEBACK)
        files.readAvailable()
        between = searching("boom")
        self.assertEqual(self.run_search(files, between), frozenset())
        files.readAvailable()  # Finding a.log idle: its event ends.
        fresh = self.run_search(files, searching("boom"))
        self.assertEqual([self.run_search(files, before), self.run_search(files, between)],
                         [fresh, fresh])
        self.assertEqual(self.texts(files, fresh),
                         ["Unhandled error\nTraceback (most recent call last):\nValueError: boom"])

    def test_searchCountsTheEarlyNumber(self) -> None:
        """
        The text event at the end of C{a.log} is counted as it is numbered,
        and again as it ends with the continuation lines added later: a
        search counts it as the index does, so it finds the copy of its
        first form in C{b.log} by the task UUID the index gives it, be the
        search made before the event ends or after.
        """
        a, b = self.dir / "a.log", self.dir / "b.log"
        a.write_bytes(UNHANDLED)
        b.write_bytes(UNHANDLED + OTHER)
        files = self.source(a, b)
        kept = searching("unhandled")
        self.run_search(files, kept)
        with a.open("ab") as f:
            f.write(TRACEBACK)
        files.readAvailable()
        files.readAvailable()  # Finding a.log idle: its event ends.
        indexed = set(self.uuids(files))
        for search in (searching("unhandled"), kept):
            found = self.run_search(files, search)
            self.assertLessEqual(found, indexed)
            self.assertEqual(self.texts(files, found), [
                "Unhandled error",
                "Unhandled error\nTraceback (most recent call last):\nValueError: boom"])
