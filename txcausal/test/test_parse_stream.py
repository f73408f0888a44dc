"""
Tests for L{txcausal.parse} on logs that do not close their tasks: positions
handed off to other processes, tasks continued from other processes, and
the cap on open tasks that keeps memory bounded.
"""

from __future__ import annotations

import io
from typing import Any, Callable, Iterator, List

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal import log_message, start_action
from txcausal.parse import Parser, Task, WrittenAction, parse_files, parse_messages
from txcausal.test._helpers import CapturingMixin
from txcausal.test._reading import cli, end, lines, msg, only, start


def client(uuid: str = "X", handed: Any = ("/2/2",)) -> List[Any]:
    """
    A client task that handed position C{/2/2} of its request to a server.
    """
    return [
        start(uuid, [1], 1.0, "client:main"),
        start(uuid, [2, 1], 1.1, "client:request"),
        end(uuid, [2, 3], 1.9, "client:request", remote_task_levels=list(handed)),
        end(uuid, [3], 2.0, "client:main"),
    ]


def server(uuid: str = "X") -> List[Any]:
    """
    The server's part of the same task, continued at C{/2/2}.
    """
    return [
        start(uuid, [2, 2, 1], 1.2, "eliot:remote_task"),
        msg(uuid, [2, 2, 2], 1.3, message_type="server:handled"),
        end(uuid, [2, 2, 3], 1.4, "eliot:remote_task"),
    ]


class Source:
    """
    A log file as an iterator of lines that counts how many were read.
    """

    def __init__(self, name: str, messages: List[Any]) -> None:
        self.name = name
        self.read = 0
        self._lines = lines(*messages).splitlines(keepends=True)

    def __iter__(self) -> Iterator[bytes]:
        for line in self._lines:
            self.read += 1
            yield line


def files(*sources: Source) -> List[Any]:
    """
    Sources for L{parse_files}, which takes any iterable of lines.
    """
    return list(sources)


class HandedOffTests(CapturingMixin, SynchronousTestCase):
    """
    Levels listed in a finish message's C{remote_task_levels} were handed to
    another process: they are not missing.
    """

    def test_notIncomplete(self) -> None:
        """
        A task whose only gaps are handed-off levels is complete, and lists
        them apart from its missing levels.
        """
        task = only(list(parse_messages(client())))
        self.assertTrue(task.complete)
        request = task.root.children[0]
        assert isinstance(request, WrittenAction)
        self.assertEqual(request.missing_levels(), [])
        self.assertEqual(request.handed_off_levels(), [(2, 2)])

    def test_loggedByTxcausal(self) -> None:
        """
        The positions an action serialized for other processes, as
        txcausal logs them, are handed off, not missing.
        """
        logger = self.capture()
        with start_action(action_type="client:request") as action:
            action.serialize_task_id()
            log_message(message_type="client:sent")
        messages = [orjson.loads(orjson.dumps(m)) for m in logger.messages]
        task = only(list(parse_messages(messages)))
        self.assertTrue(task.complete)
        self.assertEqual(task.root.handed_off_levels(), [(2,)])

    def test_joined(self) -> None:
        """
        When the other process's log is read too, in either order, the
        handed-off level is filled and nothing is left handed off.
        """
        for messages in (client() + server(), server() + client()):
            task = only(list(parse_messages(messages)))
            self.assertTrue(task.complete)
            request = task.root.children[0]
            assert isinstance(request, WrittenAction)
            self.assertEqual(request.handed_off_levels(), [])
            self.assertEqual(len(list(task.messages())), 7)

    def test_joinedFromLastFile(self) -> None:
        """
        A task that handed several positions off, read before the file of
        the process that continued them (as C{tree *.log} reads a Dask
        client's log before its workers'), waits for all of them, not just
        the first one that completes.
        """
        handed = client(handed=("/2/2", "/2/3"))
        handed[2] = end("X", [2, 4], 1.9, "client:request", remote_task_levels=["/2/2", "/2/3"])
        other = [{**m, "task_level": [2, 3, *m["task_level"][2:]]} for m in server()]
        tasks = list(parse_files(files(Source("c", handed), Source("s", server() + other))))
        task = only(tasks)
        self.assertTrue(task.complete)
        self.assertEqual(len(list(task.messages())), 10)

    def test_oddValuesIgnored(self) -> None:
        """
        Entries of C{remote_task_levels} that are not levels of a child of
        the action are ignored: those gaps stay missing.
        """
        for handed in (["/2/9"], ["/3/2"], ["2/2/x"], [7], "/2/2"):
            task = only(list(parse_messages(client(handed=handed))))
            self.assertFalse(task.complete, handed)

    def test_tree(self) -> None:
        """
        C{tree} shows a handed-off level as continued in another process,
        in level order, and does not mark the task incomplete.
        """
        out = cli(["tree"], lines(*client()))[1]
        self.assertNotIn("incomplete", out)
        self.assertNotIn("missing", out)
        self.assertIn(
            "    ├── client:request/2/1 ⇒ started 1970-01-01 00:00:01.100Z ⧖ 800.0ms\n"
            "    │   ├── ↳ /2/2 continued in another process\n"
            "    │   └── client:request/2/3 ⇒ succeeded",
            out,
        )
        out = cli(["tree", "--ascii"], lines(*client()))[1]
        self.assertIn("|   |-- -> /2/2 continued in another process", out)


def returned(messages: List[Any]) -> List[Task]:
    """
    The tasks L{Parser.add} returns given C{messages} one by one.
    """
    parser = Parser()
    return [task for task in map(parser.add, messages) if task is not None]


def not_waited_for(test: SynchronousTestCase, listing: Callable[..., List[Any]]) -> None:
    """
    Without its field, the task of C{listing} (L{retried} or L{unsent}) is
    waited for; with it, it is returned, complete, with its last message,
    and the position is still listed as handed off (nothing was seen of it).
    """
    test.assertEqual(returned(listing(None)), [])
    task = only(returned(listing(["/2/2"])))
    test.assertTrue(task.complete)
    request = task.root.children[0]
    assert isinstance(request, WrittenAction)
    test.assertEqual((request.missing_levels(), request.handed_off_levels()), ([], [(2, 2)]))


def odd_values_ignored(test: SynchronousTestCase, listing: Callable[..., List[Any]]) -> None:
    """
    Values that C{listing} (L{retried} or L{unsent}) gives its field that
    are not a list of levels also in C{remote_task_levels} are ignored: the
    position is waited for, and a gap it names stays missing.
    """
    for value in ("/2/2", {"/2/2": 1}, [7], [["/2/2"]], ["/2/9"], ["/2/2/1"], None):
        test.assertEqual(returned(listing(value)), [], value)
    task = only(list(parse_messages(listing(["/2/2"], handed=()))))
    test.assertFalse(task.complete)


#: How C{tree}, without and with C{--ascii}, shows the empty position
#: C{/2/2} of a request (its words left to fill) and the request's end (its
#: status left to fill).
EMPTY_THEN_END = [
    ([], "    │   ├── ↳ /2/2 {}\n    │   └── txcausal:http:client/2/3 ⇒ {}"),
    (["--ascii"], "    |   |-- -> /2/2 {}\n    |   `-- txcausal:http:client/2/3 => {}"),
]


def tree_shows(test: SynchronousTestCase, messages: List[Any], words: str, status: str) -> None:
    """
    C{tree}, with and without C{--ascii}, shows the empty position C{/2/2}
    of C{messages}' request as C{words}, before the request's end with
    C{status}: the task is neither incomplete nor continued in another
    process.
    """
    for options, shown in EMPTY_THEN_END:
        out = cli(["tree", *options], lines(*messages))[1]
        test.assertNotIn("incomplete", out)
        test.assertNotIn("continued in another process", out)
        test.assertIn(shown.format(words, status), out)


#: The action type of txcausal's HTTP client requests, the only actions
#: whose C{retried_task_levels} and C{unsent_task_levels} readers heed.
CLIENT = "txcausal:http:client"


def as_request(messages: List[Any], action_type: str) -> List[Any]:
    """
    L{client}'s C{messages}, its request an action of C{action_type}.
    """
    messages[1] = {**messages[1], "action_type": action_type}
    messages[2] = {**messages[2], "action_type": action_type}
    return messages


def retried(value: Any, handed: Any = ("/2/2",), action_type: str = CLIENT) -> List[Any]:
    """
    L{client}, whose request, an action of C{action_type}, lists C{value}
    as its C{retried_task_levels}.
    """
    messages = as_request(client(handed=handed), action_type)
    messages[2] = {**messages[2], "retried_task_levels": value}
    return messages


class RetriedTests(SynchronousTestCase):
    """
    A position listed in both C{remote_task_levels} and
    C{retried_task_levels} was cut off before any response and sent again
    at another position: it is not missing, and it is not waited for.
    """

    def test_notWaitedFor(self) -> None:
        """
        The task is returned, complete, with its last message; the retried
        position is still listed as handed off (nothing was seen of it).
        """
        not_waited_for(self, retried)

    def test_othersWaitedFor(self) -> None:
        """
        Other positions of the same action are still waited for, and the
        server's log of a retried position, read with the task, is placed.
        """
        messages = retried(["/2/2"], handed=("/2/2", "/2/3"))
        messages[2] = {**messages[2], "task_level": [2, 4]}
        self.assertEqual(returned(messages), [])
        other = [{**m, "task_level": [2, 3, *m["task_level"][2:]]} for m in server()]
        task = only(returned(messages + other))
        self.assertTrue(task.complete)
        task = only(returned(server() + messages + other))
        request = task.root.children[0]
        assert isinstance(request, WrittenAction)
        self.assertEqual(request.handed_off_levels(), [])
        self.assertEqual(len(list(task.messages())), 10)

    def test_oddValuesIgnored(self) -> None:
        """
        Values of C{retried_task_levels} that are not a list of levels
        also in C{remote_task_levels} are ignored.
        """
        odd_values_ignored(self, retried)

    def test_tree(self) -> None:
        """
        C{tree} shows an empty retried position as cut off and sent again,
        and one whose server log was read before the task ended as the
        server's action.
        """
        tree_shows(self, retried(["/2/2"]), "cut off before a response, sent again",
                   "succeeded")
        out = cli(["tree"], lines(*server(), *retried(["/2/2"])))[1]
        self.assertNotIn("cut off", out)
        self.assertIn("eliot:remote_task/2/2/1", out)


def unsent(value: Any, handed: Any = ("/2/2",), action_type: str = CLIENT) -> List[Any]:
    """
    L{client}, whose request, an action of C{action_type}, failed with
    C{value} as its C{unsent_task_levels}.
    """
    messages = as_request(client(handed=handed), action_type)
    messages[2] = {**messages[2], "action_status": "failed",
                   "exception": "twisted.internet.error.ConnectionRefusedError",
                   "reason": "Connection was refused", "unsent_task_levels": value}
    return messages


class UnsentTests(SynchronousTestCase):
    """
    A position listed in both C{remote_task_levels} and
    C{unsent_task_levels} was never sent (the request failed before any
    connection was made): it is not missing, not waited for, and not said
    to be continued in another process.
    """

    def test_notWaitedFor(self) -> None:
        """
        The task is returned, complete, with its last message; the unsent
        position is still listed as handed off (nothing was seen of it).
        """
        not_waited_for(self, unsent)

    def test_othersWaitedFor(self) -> None:
        """
        Other positions of the same action are still waited for.
        """
        messages = unsent(["/2/2"], handed=("/2/2", "/2/3"))
        messages[2] = {**messages[2], "task_level": [2, 4]}
        self.assertEqual(returned(messages), [])
        other = [{**m, "task_level": [2, 3, *m["task_level"][2:]]} for m in server()]
        self.assertTrue(only(returned(messages + other)).complete)

    def test_oddValuesIgnored(self) -> None:
        """
        Values of C{unsent_task_levels} that are not a list of levels also
        in C{remote_task_levels} are ignored.
        """
        odd_values_ignored(self, unsent)

    def test_tree(self) -> None:
        """
        C{tree} shows an empty unsent position as not sent, not as
        continued in another process.
        """
        tree_shows(self, unsent(["/2/2"]), "not sent: no connection was made", "failed")
        out = cli(["tree", "--json"], lines(*unsent(["/2/2"])))[1]
        [request] = orjson.loads(out)["children"][0]["children"]
        self.assertEqual((request["handed_off"], request["unsent"]), ([[2, 2]], [[2, 2]]))


class UsersFieldsTests(CapturingMixin, SynchronousTestCase):
    """
    C{retried_task_levels} and C{unsent_task_levels} are written by
    txcausal's HTTP client (C{txcausal:http:client} actions): on the finish
    message of any other action they are a user's fields of those names,
    and readers wait for the position as for any handed off.
    """

    def test_otherAction(self) -> None:
        """
        The parser waits for the position; C{tree} shows it as continued
        in another process, C{tree --json} lists it as handed off only.
        """
        for listing in (retried, unsent):
            messages = listing(["/2/2"], action_type="client:request")
            self.assertEqual(returned(messages), [], listing)
            out = cli(["tree"], lines(*messages))[1]
            self.assertIn("├── ↳ /2/2 continued in another process\n", out)
            out = cli(["tree", "--json"], lines(*messages))[1]
            [request] = orjson.loads(out)["children"][0]["children"]
            self.assertEqual((request["handed_off"], "retried" in request, "unsent" in request),
                             ([[2, 2]], False, False), listing)

    def test_successFields(self) -> None:
        """
        A user's action given C{retried_task_levels} and
        C{unsent_task_levels} success fields naming the position it handed
        off writes them as given, and the position is still waited for.
        """
        logger = self.capture()
        with start_action(action_type="app:main"):
            with start_action(action_type="app:call") as action:
                level = action.serialize_task_id().decode("ascii").rpartition("@")[2]
                action.add_success_fields(retried_task_levels=[level],
                                          unsent_task_levels=[level])
        end = logger.messages[-2]
        self.assertEqual((end["remote_task_levels"], end["retried_task_levels"],
                          end["unsent_task_levels"]), ([level], [level], [level]))
        self.assertEqual(returned(logger.messages), [])


class ContinuedTaskTests(SynchronousTestCase):
    """
    A log of a process that continued tasks from elsewhere: its tasks wait
    for their parent's messages, so that the same lines make the same
    trees however they are split into files or concatenated.
    """

    def test_waitsForTheEnd(self) -> None:
        """
        A continued task is returned when the input ends, incomplete,
        continued from its position.
        """
        log = Source("server.log", server("A") + server("B"))
        tasks = parse_files(files(log))
        first = next(tasks)
        self.assertEqual((first.uuid, log.read), ("A", 6))
        self.assertFalse(first.complete)
        self.assertEqual(first.continued_from, (2, 2))
        self.assertEqual([t.uuid for t in tasks], ["B"])

    def test_joinedInAnyGrouping(self) -> None:
        """
        A continued task joins its parent whichever comes first, in two
        files or concatenated in one stream.
        """
        groupings = [
            [Source("s", server()), Source("c", client())],
            [Source("c", client()), Source("s", server())],
            [Source("cs", client() + server())],
            [Source("sc", server() + client())],
        ]
        for grouping in groupings:
            task = only(list(parse_files(files(*grouping))))
            self.assertTrue(task.complete)
            self.assertIsNone(task.continued_from)

    def test_eagerWhenFollowing(self) -> None:
        """
        An eager parser (following a live log) returns a continued task as
        soon as its top action is complete; a later message of it comes
        back in a second, incomplete task of the same UUID.
        """
        late = msg("X", [2, 3], 2.5, message_type="late")
        parser = Parser(eager=True)
        returned = [parser.add(message) for message in server()]
        self.assertEqual([t is not None for t in returned], [False, False, True])
        self.assertIsNone(parser.add(late))
        (rest,) = parser.flush()
        self.assertEqual((rest.uuid, list(rest.messages()), rest.complete), ("X", [late], False))

    def test_tree(self) -> None:
        """
        C{tree} shows a continued task from its top action, marked as
        continued from its position.
        """
        out = cli(["tree"], lines(*server()))[1]
        self.assertTrue(out.startswith("X [continued from /2/2]\n└── eliot:remote_task/2/2/1"), out)

    def test_attempts(self) -> None:
        """
        A task continued as attempts at one position (requests continued
        from one bare C{traceparent}, or a Dask task's runs on a worker), read
        without the log that handed the position off, is continued from
        that position, the one the attempts are of: not from a position of
        an attempt's own, however many attempts there are.
        """
        def attempt(part: int) -> List[Any]:
            return [start("X", [7, part, 1], 1.0, "eliot:remote_task", attempt_of="/7"),
                    end("X", [7, part, 2], 1.1, "eliot:remote_task")]
        for parts in ([4000000000], [4000000000, 4000000001]):
            messages = [m for part in parts for m in attempt(part)]
            task = only(list(parse_messages(messages)))
            self.assertEqual(task.continued_from, (7,), parts)
            out = cli(["tree"], lines(*messages))[1]
            self.assertTrue(out.startswith("X [continued from /7]\n"), out)
            self.assertEqual(out.count("attempt_of: /7"), len(parts), out)
            self.assertNotIn("[incomplete]", out)


class MaxOpenTests(SynchronousTestCase):
    """
    At most C{max_open} tasks are kept open.
    """

    def test_oldestEmitted(self) -> None:
        """
        Past the cap, the oldest open task is returned, incomplete.
        """
        parser = Parser(max_open=2)
        self.assertIsNone(parser.add(start("A", [1], 1.0, "a")))
        self.assertIsNone(parser.add(start("B", [1], 1.0, "a")))
        evicted = parser.add(start("C", [1], 1.0, "a"))
        assert isinstance(evicted, Task)
        self.assertEqual((evicted.uuid, evicted.complete), ("A", False))
        self.assertEqual(parser.open_count(), 2)
        self.assertEqual([t.uuid for t in parser.flush()], ["B", "C"])

    def test_badCap(self) -> None:
        """
        The cap must be positive.
        """
        self.assertRaises(ValueError, Parser, max_open=0)

    def test_command(self) -> None:
        """
        C{tree --max-open} caps the open tasks; a negative or zero cap is
        a usage error.
        """
        data = lines(*[start(str(n), [1], 1.0, "a") for n in range(3)])
        out = cli(["tree", "--max-open", "1"], data)[1]
        self.assertEqual(out.count("[incomplete]"), 3)
        err = io.StringIO()
        self.patch(__import__("sys"), "stderr", err)
        self.assertRaises(SystemExit, cli, ["tree", "--max-open", "0"])
        self.assertIn("must be a positive", err.getvalue())
