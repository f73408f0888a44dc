"""
L{LogFiles} follows its files as they grow and are rotated.  Real files;
the reading is driven by the test (L{LogFiles.readAvailable}), threads run
inline.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import orjson

from txcausal import _view_files
from txcausal._parse_input import needle_for
from txcausal._tail_files import Piece
from txcausal._view_task import story_predicate, text_predicate
from txcausal.webview import LogFiles, Search

from ._webview_cases import FilesTestCase, inline
from ._webview_logs import (
    FAILING,
    JOINED,
    MARKUP,
    append_log,
    client_messages,
    message,
    started,
    write_log,
)


class FollowTests(FilesTestCase):
    """
    Files that grow and are rotated.
    """

    def test_growing(self) -> None:
        """
        Messages appended later are indexed by the next read; a line still
        being written waits for its end.
        """
        log = write_log(self.dir / "app.log", client_messages()[:2])
        files = self.source(log)
        self.assertEqual(self.uuids(files), [JOINED])
        with log.open("ab") as f:
            f.write(orjson.dumps(started("later", [1], 9000.0, "late"))[:-5])
        files.readAvailable()
        self.assertEqual(self.uuids(files), [JOINED])
        with log.open("ab") as f:
            f.write(orjson.dumps(started("later", [1], 9000.0, "late"))[-5:] + b"\n")
        files.readAvailable()
        self.assertEqual(self.uuids(files), ["later", JOINED])
        self.assertEqual(self.index_version_changes(files), ["later"])

    def index_version_changes(self, files: LogFiles) -> Optional[List[str]]:
        feed = files.index.changes()
        append_log(Path(files.status()["files"][0]["name"]),
                   [message("later", [2], 9000.5, message_type="more")])
        files.readAvailable()
        return feed.drain()[1]

    def test_following(self) -> None:
        """
        Once started, the reactor reads the files every C{interval}
        seconds.
        """
        log = write_log(self.dir / "app.log", [])
        files = LogFiles([str(log)], self.clock, interval=0.5, runInThread=inline)
        self.addCleanup(files.close)
        files.startFollowing()
        append_log(log, client_messages())
        self.clock.advance(0.5)
        self.assertEqual(len(files.index), 3)
        files.stopFollowing()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_followingSurvivesAnError(self) -> None:
        """
        A look that raises does not stop the following: what it raised is
        counted and shown among the file problems, and the next look is
        made as usual.
        """
        log = write_log(self.dir / "app.log", [])
        files = LogFiles([str(log)], self.clock, interval=0.5, runInThread=inline)
        self.addCleanup(files.close)
        [follower] = files._followers
        poll = follower.poll
        fails = [OSError(28, "No space left on device")]

        def failOnce(budget: Optional[int] = None) -> List[Piece]:
            if fails:
                raise fails.pop()
            return poll(budget)

        follower.poll = failOnce  # type: ignore[method-assign]
        files.startFollowing()
        self.assertEqual(files.status()["file_problems"], 1)
        self.assertIn("No space left on device", files.status()["recent_file_problems"][0])
        append_log(log, client_messages())
        self.clock.advance(0.5)
        self.assertEqual(len(files.index), 3)

    def test_rotation(self) -> None:
        """
        A file renamed away and replaced: both are read (the old one until
        it stops growing), and the tasks indexed before still load.
        """
        log = write_log(self.dir / "app.log", client_messages()[:1])
        files = self.source(log)
        log.rename(self.dir / "app.log.1")
        append_log(self.dir / "app.log.1", client_messages()[1:2])
        write_log(log, client_messages()[2:6])
        files.readAvailable()
        files.readAvailable()
        self.assertEqual(self.uuids(files), [FAILING, JOINED])
        self.assertEqual(files.index.get(JOINED).messages, 2)  # type: ignore[union-attr]
        self.assertEqual(self.load(files, JOINED).task.root.status, "succeeded")
        self.assertTrue(self.load(files, FAILING).task.complete)

    def test_repeatsAcrossRotation(self) -> None:
        """
        A file and the files replacing it at the name are one stream for
        telling repeats apart: a burst of identical lines cut by a rotation
        (two lines, then one in the new file) is three tasks, each loaded
        from its place and found by a search for its UUID.
        """
        line = b"2024-05-01 10:00:00+0000 [-] polling again\n"
        log = self.dir / "twistd.log"
        log.write_bytes(line * 2)
        files = self.source(log)
        log.rename(self.dir / "twistd.log.1")
        log.write_bytes(line)
        for _ in range(3):
            files.readAvailable()
        uuids = [s.uuid for s in files.index.summaries()]
        self.assertEqual(len(set(uuids)), 3)
        for uuid in uuids:
            loaded = self.load(files, uuid)
            self.assertEqual((loaded.unavailable, len(list(loaded.task.messages()))), (0, 1))
            found = self.successResultOf(files.search(Search(story_predicate(uuid),
                                                             needle_for(uuid, fold_case=True))))
            self.assertEqual(found, {uuid})

    def test_searchAfterAClosedFile(self) -> None:
        """
        A search that cannot read a file rotated away and since closed (past
        C{MAX_RETIRED}) numbers the repeats of the next file as the index
        did: it finds the task whose line matched, not a copy in the closed
        file, which can no longer be loaded.  So too when a line of a later
        second came between two copies in the closed file (threads logging
        out of order).
        """
        line = b"2024-05-01 10:00:00+0000 [-] polling again\n"
        other = b"2024-05-01 10:00:01+0000 [-] from a thread\n"
        for first in [line * 2, line + other + line]:
            self._searchAfterAClosedFile(line, first)

    def _searchAfterAClosedFile(self, line: bytes, first: bytes) -> None:
        self.patch(_view_files, "MAX_RETIRED", 1)
        self.dir = Path(self.mktemp())
        self.dir.mkdir()
        log = self.dir / "twistd.log"
        log.write_bytes(first)
        files = self.source(log)
        other = b"2024-05-01 10:00:01+0000 [-] something else\n"
        self._rotateTwiceThenSearch(files, log, [line, other])

    def _rotateTwiceThenSearch(self, files: LogFiles, log: Path, texts: List[bytes]) -> None:
        """
        Rotate C{log} twice, writing each of C{texts} to the new file, until
        the first file is closed: a search for C{"polling again"} finds the
        one task holding it that can still be loaded.
        """
        for rotated, text in enumerate(texts, 1):
            log.rename(log.with_name(f"{log.name}.{rotated}"))
            log.write_bytes(text)
            for _ in range(15):  # Until the file rotated away is retired.
                files.readAvailable()
        self.assertEqual(files.status()["file_problems"], 1)  # The first file closed.
        readable = [s.uuid for s in files.index.summaries()
                    if "polling" in str(list(self.load(files, s.uuid).task.messages()))]
        found = self.successResultOf(files.search(Search(
            text_predicate("polling again"), needle_for("polling again", fold_case=True))))
        self.assertEqual((len(readable), found), (1, set(readable)))

    def test_searchInAnotherPathAfterAClosedFile(self) -> None:
        """
        C{txcausal web a.log b.log}, the old C{a.log} rotated away and closed:
        a search restarts at C{b.log} with the counts the index had there,
        all of them, not only those of the latest second read: a copy in
        C{b.log} of a line of the old C{a.log}, older than the last lines
        read before it, is found as the list numbers it.
        """
        self.patch(_view_files, "MAX_RETIRED", 1)
        a, b = self.dir / "a.log", self.dir / "b.log"
        line = b"2024-05-01 10:00:00+0000 [-] polling again\n"
        a.write_bytes(line + b"2024-05-01 10:00:01+0000 [-] one\n"
                      + b"2024-05-01 10:00:02+0000 [-] two\n")
        b.write_bytes(line + b"2024-05-01 10:00:03+0000 [-] three\n")
        files = self.source(a, b)
        files.readAvailable()
        self._rotateTwiceThenSearch(files, a, [b"2024-05-01 10:00:04+0000 [-] after\n",
                                               b"2024-05-01 10:00:05+0000 [-] after\n"])

    def test_rotatedTwiceBetweenLooks(self) -> None:
        """
        A file rotated twice between two looks, as Twisted's C{LogFile}
        numbers its files (C{app.log} becomes C{app.log.1}, then
        C{app.log.2} as the next one becomes C{app.log.1}): the file in the
        middle, never seen at the name, is read too, and its tasks shown
        and loaded, as well as those of the files before and after it.
        """
        from twisted.python.logfile import LogFile

        log = LogFile("app.log", str(self.dir), rotateLength=None)
        self.addCleanup(log.close)

        def write(uuid: str, when: float) -> None:
            log.write(orjson.dumps(message(uuid, [1], when, message_type="m")) + b"\n")
            log.flush()

        write("first", 1.0)
        files = LogFiles([str(self.dir / "app.log")], self.clock, interval=0.5,
                         runInThread=inline)
        self.addCleanup(files.close)
        files.startFollowing()
        self.assertEqual(self.uuids(files), ["first"])
        write("first-late", 2.0)
        log.rotate()
        write("middle", 3.0)
        log.rotate()
        write("last", 4.0)
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()),
                         ["app.log", "app.log.1", "app.log.2"])
        for _ in range(15):  # Until the files rotated away are retired.
            self.clock.advance(0.5)
        self.assertEqual(self.uuids(files), ["last", "middle", "first-late", "first"])
        self.assertEqual(self.load(files, "middle").unavailable, 0)
        self.assertEqual(files.errors, 0)

    def test_rotatedFilesBounded(self) -> None:
        """
        Only the most recent files rotated away are kept open (each holds
        a descriptor, and the disk space of a deleted file): past the
        bound, the oldest is closed, said so, and its messages are counted
        as no longer readable; the rest still load.
        """
        self.patch(_view_files, "MAX_RETIRED", 2)
        log = self.dir / "app.log"
        files = self.source(write_log(log, [message("t0", [1], 0.0, message_type="m")]))
        for n in range(1, 5):
            log.rename(self.dir / f"app.log.{n}")
            write_log(log, [message(f"t{n}", [1], float(n), message_type="m")])
            for _ in range(12):  # Long enough for the old one to retire.
                files.readAvailable()
        self.assertEqual(self.uuids(files), ["t4", "t3", "t2", "t1", "t0"])
        self.assertEqual([self.load(files, f"t{n}").unavailable for n in range(5)],
                         [1, 1, 0, 0, 0])
        self.assertEqual(len([e for e in files.recent_file_problems if "closed" in e]), 2)
        self.assertEqual(files.errors, 0)
        found = self.successResultOf(files.search(Search(text_predicate("m"))))
        self.assertEqual(found, {"t2", "t3", "t4"})

    def test_truncatedAndRewritten(self) -> None:
        """
        A file truncated in place and written past where the reading had
        got to before the next look (C{copytruncate}, then a burst) is read
        again from its start, told by the last bytes read no longer being
        there.
        """
        log = write_log(self.dir / "app.log", [message("old", [1], 1.0, message_type="m")])
        files = self.source(log)
        write_log(log, [message(f"new{i}", [1], 2.0, message_type="m") for i in range(3)])
        files.readAvailable()
        self.assertEqual(sorted(self.uuids(files)), ["new0", "new1", "new2", "old"])
        self.assertEqual((files.errors, files.file_problems), (0, 1))
        self.assertIn("truncated", files.recent_file_problems[-1])

    def test_appears(self) -> None:
        """
        A file that does not exist yet is said to be missing, and read once
        it appears.
        """
        log = self.dir / "later.log"
        files = self.source(log)
        self.assertEqual(files.status()["files"][0]["error"], "No such file or directory")
        files.readAvailable()
        write_log(log, client_messages())
        files.readAvailable()
        self.assertEqual(self.uuids(files), [MARKUP, FAILING, JOINED])
        self.assertIsNone(files.status()["files"][0]["error"])
        self.assertEqual((files.errors, files.file_problems), (0, 1))

    def test_lastLineWithoutNewline(self) -> None:
        """
        A last line without its newline is read once the file stops
        growing, if it is a whole JSON message (a writer half-way through
        a line is waited for).
        """
        log = self.dir / "app.log"
        log.write_bytes(orjson.dumps(message("whole", [1], 1.0, message_type="m")))
        files = self.source(log)
        self.assertEqual(self.uuids(files), [])  # Its newline may be on its way.
        files.readAvailable()
        self.assertEqual(self.uuids(files), ["whole"])
        cut = orjson.dumps(message("cut", [1], 2.0, message_type="m"))
        with log.open("ab") as f:
            f.write(b"\n" + cut[:-3])
        files.readAvailable()
        self.assertEqual(self.uuids(files), ["whole"])
        with log.open("ab") as f:
            f.write(cut[-3:] + b"\n")
        files.readAvailable()
        self.assertEqual(self.uuids(files), ["cut", "whole"])
        self.assertEqual(files.errors, 0)

    def test_newlineWrittenApart(self) -> None:
        """
        A message whose newline its writer writes apart, after a look that
        found the file idle and took the message, leaves no blank line:
        the lines after it keep their numbers.
        """
        log = self.dir / "app.log"
        files = LogFiles([str(log)], self.clock, interval=0.5, runInThread=inline)
        self.addCleanup(files.close)
        files.startFollowing()
        with log.open("ab", buffering=0) as writer:
            writer.write(orjson.dumps(message("one", [1], 1.0, message_type="m")))
            self.clock.advance(0.5)
            self.assertEqual(self.uuids(files), [])
            self.clock.advance(0.5)
            self.assertEqual(self.uuids(files), ["one"])
            writer.write(b"\n")
            writer.write(b"{bad\n")
            self.clock.advance(0.5)
        self.assertEqual(list(files.recent_errors), [f"{log}:2: skipped: malformed JSON: '{{bad'"])

    def test_truncated(self) -> None:
        """
        A file truncated in place is read again from its start; messages
        indexed before that no longer read back and are counted.
        """
        log = write_log(self.dir / "app.log", client_messages()[:2])
        files = self.source(log)
        write_log(log, [message("x", [1], 1.0, message_type="new")])
        files.readAvailable()
        files.readAvailable()
        self.assertIn("x", self.uuids(files))
        self.assertEqual(self.load(files, JOINED).unavailable, 2)
        self.assertIn("truncated", files.recent_file_problems[-1])

    def test_closedFilesCounted(self) -> None:
        """
        Each file closed (truncated, or rotated away past those kept open)
        counts in the index's C{epoch}, which the tasks' summaries do not
        show: a page being built before is not given to a request after.
        """
        self.patch(_view_files, "MAX_RETIRED", 1)
        log = write_log(self.dir / "app.log", [message("t", [1], 1.0, message_type="m")])
        files = self.source(log)
        epochs = [files.index.epoch]
        for rotated in (1, 2):
            log.rename(log.with_name(f"app.log.{rotated}"))
            write_log(log, [message(f"r{rotated}", [1], 2.0, message_type="m")])
            for _ in range(15):  # Until the file rotated away is retired.
                files.readAvailable()
            epochs.append(files.index.epoch)
        log.write_bytes(b"")  # Truncated.
        files.readAvailable()
        epochs.append(files.index.epoch)
        self.assertEqual(epochs, [0, 0, 1, 2])
        self.assertEqual(self.load(files, "t").unavailable, 1)
