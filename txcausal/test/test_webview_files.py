"""
L{LogFiles}: log files indexed by position, joined across processes, and
searched.  Real files; the reading is driven by the test
(L{LogFiles.readAvailable}), threads run inline.  Following files as they
grow and are rotated is tested in L{txcausal.test.test_webview_follow}.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tracemalloc
from typing import Any, Dict, List

import orjson
from twisted.trial.unittest import SkipTest
from zope.interface.verify import verifyObject

from txcausal import _twisted_records
from txcausal._parse_input import needle_for
from txcausal._view_index import Query
from txcausal._view_task import dumps, story_predicate, text_predicate
from txcausal.parse import task_document
from txcausal.webview import ITaskSource, LogFiles, Search

from ._reading import TRIAL_LOG, cli, only, twisted_log
from ._webview_cases import FilesTestCase, run_now
from ._webview_logs import (
    FAILING,
    JOINED,
    MARKUP,
    append_log,
    client_messages,
    message,
    server_messages,
    started,
    write_log,
)
from .test_follow_compressed import FDS, still_open

#: A Twisted JSON log record, as C{jsonFileLogObserver} writes it.
TWISTED_RECORD = (
    b'\x1e{"log_format": "hello {who}", "who": "you", "log_level": '
    b'{"name": "info", "__class_uuid__": "02E59486-F24D-46AD-8224-3ACDF2A5732A"}, '
    b'"log_namespace": "app", "log_time": 7.0}\n'
)


class JoinTests(FilesTestCase):
    """
    Several processes' files make one tree per task.
    """

    def test_interface(self) -> None:
        """
        L{LogFiles} is a source of tasks.
        """
        self.assertTrue(verifyObject(ITaskSource, self.source()))

    def test_reactorWithoutThreads(self) -> None:
        """
        Given a reactor without threads (a L{Clock}, in tests), the files
        are loaded and searched in-line.
        """
        log = write_log(self.dir / "a.log", [message("t", [1], 1.0, message_type="m")])
        files = LogFiles([str(log)], self.clock, startThread=run_now)
        self.addCleanup(files.close)
        files.readAvailable()
        self.assertEqual(self.load(files, "t").task.uuid, "t")
        self.assertEqual(self.successResultOf(files.search(Search(text_predicate("m")))),
                         {"t"})

    def test_twoProcesses(self) -> None:
        """
        The client's and the server's parts of a task join into one tree,
        each message tagged with the file it came from.
        """
        client = write_log(self.dir / "client.log", client_messages())
        server = write_log(self.dir / "server.log", server_messages())
        files = self.source(client, server)
        row = files.index.get(JOINED)
        assert row is not None
        self.assertEqual((row.messages, row.process_count()), (6, 2))
        loaded = self.load(files, JOINED)
        self.assertTrue(loaded.task.complete)
        root = loaded.task.root
        (remote,) = root.children
        (work,) = remote.children  # type: ignore[union-attr]
        self.assertEqual(work.action_type, "server:work")  # type: ignore[union-attr]
        self.assertEqual(loaded.source_names, [str(client), str(server)])
        self.assertEqual(loaded.sources[id(root.start_message)], 0)
        self.assertEqual(loaded.sources[id(work.start_message)], 1)  # type: ignore[union-attr]

    def test_compressedAndStdin(self) -> None:
        """
        A gzip file and standard input are read too (through a temporary
        copy).
        """
        packed = self.dir / "server.log.gz"
        packed.write_bytes(gzip.compress(b"".join(orjson.dumps(m) + b"\n"
                                                  for m in server_messages())))
        stdin = io.BytesIO(b"".join(orjson.dumps(m) + b"\n" for m in client_messages()))
        files = self.source("-", packed, stdin=stdin)
        self.assertTrue(self.load(files, JOINED).task.complete)
        self.assertEqual(self.load(files, JOINED).source_names, ["<stdin>", str(packed)])

    def test_closeReleasesCompressedAtName(self) -> None:
        """
        The compressed file at a name, kept open while it is there, is
        closed with the other files when the source is closed.
        """
        if not os.path.isdir(FDS):
            raise SkipTest(f"needs {FDS} (Linux) to tell which files are open")
        packed = self.dir / "server.log.gz"
        packed.write_bytes(gzip.compress(b"".join(orjson.dumps(m) + b"\n"
                                                  for m in server_messages())))
        files = self.source(packed)
        self.assertTrue(still_open(os.stat(packed).st_ino))
        files.close()
        self.assertFalse(still_open(os.stat(packed).st_ino))

    def test_compressedOnceItHasData(self) -> None:
        """
        A file empty when the view opened it, then given gzip data, is
        read decompressed: its tasks are listed and shown, and nothing is
        reported.
        """
        lines = b"".join(orjson.dumps(m) + b"\n" for m in server_messages())
        plain, packed = self.dir / "plain.log", self.dir / "server.log"
        plain.write_bytes(lines)
        packed.touch()
        files = self.source(packed)
        packed.write_bytes(gzip.compress(lines))
        files.readAvailable()
        self.assertEqual(self.uuids(files), self.uuids(self.source(plain)))
        self.assertEqual(list(self.load(files, JOINED).task.messages()),
                         list(self.load(self.source(plain), JOINED).task.messages()))
        self.assertEqual((files.errors, files.file_problems), (0, 0))

    def test_compressedStdin(self) -> None:
        """
        Compressed standard input is decompressed, as the other commands
        decompress it (C{zcat}-free C{txcausal web < app.log.gz}).
        """
        stdin = io.BytesIO(gzip.compress(b"".join(orjson.dumps(m) + b"\n"
                                                  for m in client_messages())))
        files = self.source("-", stdin=stdin)
        self.assertEqual(self.uuids(files), [MARKUP, FAILING, JOINED])
        self.assertEqual(files.errors, 0)

    def test_twistedAndTrialLines(self) -> None:
        """
        Twisted JSON log records and the lines of trial's C{test.log}
        are read as the other commands read them.
        """
        line = orjson.dumps(message("trial-task", [1], 5.0, message_type="from:trial"))
        log = self.dir / "test.log"
        log.write_bytes(b"2024-05-01 10:00:00+0000 [-] " + line + b"\n" + TWISTED_RECORD)
        files = self.source(log)
        self.assertIsNotNone(files.index.get("trial-task"))
        kinds = [row["type"] for row in files.index.query(Query())[1]]
        self.assertEqual(sorted(kinds), ["from:trial", "twisted:log"])
        self.assertEqual(files.errors, 0)

    def test_repeatedLines(self) -> None:
        """
        Identical lines of trial's text log, and identical Twisted records,
        are a task each in the index, each read back from its place, and
        each found by a search for its UUID.
        """
        log = self.dir / "test.log"
        log.write_bytes(b"2024-05-01 10:00:00+0000 [-] polling again\n" * 3 + TWISTED_RECORD * 2)
        files = self.source(log)
        uuids = [s.uuid for s in files.index.summaries()]
        self.assertEqual(len(set(uuids)), 5)
        texts = []
        for uuid in uuids:
            loaded = self.load(files, uuid)
            self.assertEqual(loaded.unavailable, 0)
            texts.append(only(list(loaded.task.messages()))["log_text"])
            found = self.successResultOf(files.search(Search(story_predicate(uuid),
                                                             needle_for(uuid, fold_case=True))))
            self.assertEqual(found, {uuid})
        self.assertEqual(sorted(texts), ["hello you"] * 2 + ["polling again"] * 3)

    def test_repeatsAcrossFiles(self) -> None:
        """
        The files of the web view are one stream, as the files given to
        C{tree} are: a line or a Twisted record repeated byte for byte in
        two files is a task each, with the UUID C{tree} gives it, read back
        from its own file and found by a search (each file numbered on its
        own, the copies in two files were one task).
        """
        line = b"2024-05-01 10:00:00+0000 [-] polling again\n"
        first, second = self.dir / "a.log", self.dir / "b.log"
        first.write_bytes(line + TWISTED_RECORD)
        second.write_bytes(line + line + TWISTED_RECORD)
        files = self.source(first, second)
        out = cli(["tree", "--json", str(first), str(second)])[1]
        expected = [orjson.loads(document)["task_uuid"] for document in out.splitlines()]
        self.assertEqual(len(set(expected)), 5)
        self.assertEqual(sorted(s.uuid for s in files.index.summaries()), sorted(expected))
        copies = []
        for uuid in expected:
            loaded = self.load(files, uuid)
            [message] = loaded.task.messages()
            name = loaded.source_names[loaded.sources[id(message)]]
            copies.append((os.path.basename(name), message["log_text"], message.get("log_repeat")))
        self.assertEqual(sorted(copies, key=str), [
            ("a.log", "hello you", None), ("a.log", "polling again", None),
            ("b.log", "hello you", 1), ("b.log", "polling again", 1),
            ("b.log", "polling again", 2)])
        found = self.successResultOf(files.search(Search(text_predicate("polling"),
                                                         needle_for("polling"))))
        self.assertEqual(len(found), 3)
        self.assertLess(found, set(expected))

    def test_repeatsWithoutTimeSaturate(self) -> None:
        """
        A Twisted record without a time repeated more often than a place in
        the index can number (C{2 ** 24 - 1} times; fewer here) is not read
        back as another record: its last copies are one task, each copy
        loaded from its place, and that is reported.
        """
        self.patch(_twisted_records, "MAX_REPEAT", 3)
        log = self.dir / "twistd.json"
        log.write_bytes(b'\x1e{"log_format": "again", "log_namespace": "app"}\n' * 6)
        files = self.source(log)
        loaded = [self.load(files, s.uuid) for s in files.index.summaries()]
        self.assertEqual(sorted((len(list(task.task.messages())), task.unavailable)
                                for task in loaded), [(1, 0), (1, 0), (1, 0), (3, 0)])
        self.assertEqual(files.file_problems, 1)
        self.assertIn("repeated more than 3 times", files.recent_file_problems[0])

    def test_longIntegers(self) -> None:
        """
        An integer past 64 bits is loaded exactly, and sent exactly to the
        page.
        """
        log = self.dir / "big.log"
        log.write_bytes(json.dumps(message("big", [1], 5.0, message_type="x", n=2**70)).encode()
                        + b"\n")
        loaded = self.load(self.source(log), "big")
        self.assertEqual(only(list(loaded.task.messages()))["n"], 2**70)
        self.assertIn(b'"n": 1180591620717411303424', dumps(task_document(loaded.task)))

    def test_sameTaskUUIDs(self) -> None:
        """
        Twisted records, trial's text events (a traceback among them) and
        the txcausal messages of trial's lines are the same tasks, with the
        same task UUIDs, on the page as in C{txcausal tree}; C{tree -u} and
        C{story} find each task the page shows, and the page loads each as
        C{tree --json} shows it.
        """
        log = self.dir / "test.log"
        log.write_bytes(TRIAL_LOG + twisted_log() + twisted_log(failure=True))
        out = cli(["tree", "--json", str(log)])[1]
        documents = [orjson.loads(line) for line in out.splitlines()]
        files = self.source(log)
        self.assertEqual(files.errors, 0)
        self.assertEqual({s.uuid: s.failed for s in files.index.summaries()},
                         {d["task_uuid"]: d["failed"] for d in documents})
        self.assertEqual(sum(d["failed"] for d in documents), 2)
        for document in documents:
            uuid = document["task_uuid"]
            loaded = task_document(self.load(files, uuid).task)
            self.assertEqual(orjson.loads(orjson.dumps(loaded)), document)
            found = cli(["tree", "--json", "-u", uuid, str(log)])[1]
            self.assertEqual(orjson.loads(found), document)
            story = cli(["story", "--json", uuid, str(log)])[1].splitlines()
            self.assertEqual({orjson.loads(line)["task_uuid"] for line in story}, {uuid})

    def test_badLines(self) -> None:
        """
        Unreadable lines are counted and the latest reported with their
        line numbers, apart from the reports on files (one missing); the
        rest is read.
        """
        log = self.dir / "bad.log"
        log.write_bytes(b"not json\n" + orjson.dumps(client_messages()[0]) + b"\n[1, 2]\n")
        files = self.source(log, self.dir / "missing.log")
        self.assertEqual(files.errors, 2)
        self.assertEqual(files.recent_errors[0], f"{log}:1: skipped: malformed JSON: 'not json'")
        self.assertTrue(files.recent_errors[1].startswith(f"{log}:3: skipped"))
        status = files.status()
        self.assertEqual((status["file_problems"], status["recent_file_problems"]),
                         (1, [f"{self.dir / 'missing.log'}: No such file or directory"]))
        self.assertEqual(self.uuids(files), [JOINED])
        self.assertEqual(files.status()["files"][1]["error"], "No such file or directory")

    def test_longLine(self) -> None:
        """
        A line longer than the limit is skipped and counted; the lines
        after it are read back from their places.
        """
        log = write_log(self.dir / "long.log", [message("long", [1], 1.0, pad="x" * 5000),
                                               message("short", [1], 2.0)])
        files = self.source(log, budget=512, max_line=1000)
        self.assertEqual(self.uuids(files), ["short"])
        self.assertEqual(files.recent_errors[0], f"{log}:1: skipped: longer than 1000 bytes")
        (short,) = self.load(files, "short").task.messages()
        self.assertEqual(short["timestamp"], 2.0)


class TrialSearchTests(FilesTestCase):
    """
    Searches find trial's text events by what the reader makes of them.
    """

    def test_textEvents(self) -> None:
        """
        A text event of trial's C{test.log} is found by its task UUID (made
        by the reader, not written in its lines), and by the text of its
        traceback (on its continuation lines).
        """
        log = self.dir / "test.log"
        log.write_bytes(TRIAL_LOG)
        files = self.source(log)
        (failed,) = [s.uuid for s in files.index.summaries() if s.failed]
        for search in [Search(story_predicate(failed), needle_for(failed, fold_case=True)),
                       Search(text_predicate("ValueError: bad"), needle_for("valueerror: bad"))]:
            self.assertEqual(self.successResultOf(files.search(search)), {failed})


class SearchAndBoundsTests(FilesTestCase):
    """
    Searches read the files again; memory holds positions, not messages.
    """

    def test_search(self) -> None:
        """
        Text and story searches find the tasks whose messages match.
        """
        files = self.source(write_log(self.dir / "c.log", client_messages()),
                            write_log(self.dir / "s.log", server_messages()))
        found = self.successResultOf(files.search(Search(text_predicate("RESIZE"), b"resize")))
        self.assertEqual(found, {JOINED})
        found = self.successResultOf(files.search(Search(story_predicate("950"), b"950")))
        self.assertEqual(found, {FAILING})

    def test_searchContinues(self) -> None:
        """
        Run again after the files grew, a search reads only what they
        gained, and keeps what it found before.
        """
        log = write_log(self.dir / "c.log", client_messages())
        files = self.source(log)
        seen: List[Any] = []

        def wanted(m: Dict[str, Any]) -> bool:
            seen.append(m)
            return text_predicate("limit")(m)

        search = Search(wanted, needle_for("limit"))
        self.assertEqual(self.successResultOf(files.search(search)), {FAILING})
        before = len(seen)
        self.assertGreater(before, 0)
        append_log(log, [message("later", [1], 9000.0, message_type="limit:hit"),
                         message("other", [1], 9001.0, message_type="nothing")])
        files.readAvailable()
        self.assertEqual(self.successResultOf(files.search(search)), {FAILING, "later"})
        self.assertEqual(len(seen), before + 1)

    def test_searchContinuesOverRepeats(self) -> None:
        """
        A search run again after the file grew tells the repeats of a line
        it gained from those it read before.
        """
        line = b"2024-05-01 10:00:00+0000 [-] polling again\n"
        log = self.dir / "test.log"
        log.write_bytes(line + TWISTED_RECORD)
        files = self.source(log)
        search = Search(text_predicate("polling"), needle_for("polling"))
        self.assertEqual(len(self.successResultOf(files.search(search))), 1)
        with log.open("ab") as f:
            f.write(line * 2 + TWISTED_RECORD)
        files.readAvailable()
        found = self.successResultOf(files.search(search))
        self.assertEqual(len(found), 3)
        self.assertLess(found, {s.uuid for s in files.index.summaries()})

    def test_searchTwistedRecords(self) -> None:
        """
        A Twisted log record is found by what the reader makes of it (its
        formatted text, its synthetic task UUID), which is not in its line
        as written: the pre-filter on the line's bytes does not skip it.
        """
        log = self.dir / "twisted.log"
        log.write_bytes(TWISTED_RECORD)
        files = self.source(log)
        ((uuid, _),) = [(s.uuid, s) for s in files.index.summaries()]
        for text in ["hello you", uuid]:
            search = Search(text_predicate(text), needle_for(text))
            self.assertEqual(self.successResultOf(files.search(search)), {uuid}, text)
        found = self.successResultOf(files.search(Search(story_predicate(uuid), needle_for(uuid))))
        self.assertEqual(found, {uuid})

    def test_maxTasks(self) -> None:
        """
        Past C{max_tasks}, the oldest tasks are forgotten and counted.
        """
        log = write_log(self.dir / "many.log",
                        [message(f"t{i}", [1], float(i), message_type="m") for i in range(10)])
        files = self.source(log, max_tasks=4)
        self.assertEqual(self.uuids(files), ["t9", "t8", "t7", "t6"])
        self.assertEqual(files.status()["evicted"], 6)

    def test_positionsNotMessages(self) -> None:
        """
        Indexing 20 MB of messages keeps a small fraction of it in memory.
        """
        big = "x" * 1000
        log = self.dir / "big.log"
        with log.open("wb") as f:
            for task in range(2000):
                uuid = f"task-{task}"
                f.write(orjson.dumps(started(uuid, [1], task, "job", blob=big)) + b"\n")
                for i in range(2, 10):
                    f.write(orjson.dumps(message(uuid, [i], task, message_type="m", blob=big)))
                    f.write(b"\n")
        size = os.path.getsize(log)
        tracemalloc.start()
        self.addCleanup(tracemalloc.stop)
        files = self.source(log)
        held = tracemalloc.get_traced_memory()[0]
        self.assertEqual(len(files.index), 2000)
        self.assertLess(held, size / 10)

    def test_typesShared(self) -> None:
        """
        The summaries of the tasks of one type share one copy of its name
        and status, not one each (a tenth of a summary's memory).
        """
        log = write_log(self.dir / "types.log",
                        [started(f"t{i}", [1], float(i), "job:run") for i in range(2)]
                        + [message(f"m{i}", [1], float(i), message_type="note") for i in range(2)])
        files = self.source(log)
        summaries = {s.uuid: s for s in files.index.summaries()}
        self.assertIs(summaries["t0"].root_type, summaries["t1"].root_type)
        self.assertIs(summaries["t0"].status, summaries["t1"].status)
        self.assertIs(summaries["m0"].root_type, summaries["m1"].root_type)
