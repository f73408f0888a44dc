"""
Tests for L{txcausal.journald}: the native protocol against a socket of the
test's own, then against a real journald read back with C{journalctl}.
"""

from __future__ import annotations

import errno
import fcntl
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from array import array
from typing import Any, Dict, List, Tuple

import orjson
from twisted.trial.unittest import SkipTest, SynchronousTestCase
from zope.interface.verify import verifyObject

from txcausal import (
    Field,
    IDestination,
    MessageType,
    _output,
    log_message,
    start_action,
    start_task,
    write_traceback,
)
from txcausal._errors import report_unbridged
from txcausal._journal import (
    _LONGEST_WAIT,
    _SEALS,
    _SO_SNDBUFFORCE,
    SEND_BUFFER,
    JournalSocket,
    encode_entry,
    raise_send_buffer,
)
from txcausal.journald import JournaldDestination, _program_name

from . import _journald
from ._helpers import IsolatedOutputMixin, run_example
from ._writer_harness import WriterHarness

#: How long a send to the real journald may wait for room in its queue (ten
#: datagrams long on some machines, shared with every other sender there):
#: a bound on a stuck journald, far longer than a busy one takes.
ROOM = 60.0


def parse_entry(data: bytes) -> Dict[str, bytes]:
    """
    Decode a native protocol entry, as journald does.
    """
    fields: Dict[str, bytes] = {}
    while data:
        line, _, rest = data.partition(b"\n")
        if b"=" in line:
            name, _, value = line.partition(b"=")
            data = rest
        else:
            name, size = line, int.from_bytes(rest[:8], "little")
            value, data = rest[8:8 + size], rest[8 + size + 1:]
        fields[name.decode("ascii")] = value
    return fields


class FakeJournald:
    """
    A socket standing in for journald's, in a temporary directory.
    """

    def __init__(self, test: SynchronousTestCase) -> None:
        directory = tempfile.mkdtemp()
        test.addCleanup(os.rmdir, directory)
        self.path = os.path.join(directory, "socket")
        test.addCleanup(os.unlink, self.path)
        self.bind()
        test.addCleanup(lambda: self.server.close())

    def bind(self) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.server.bind(self.path)
        self.server.setblocking(False)

    def restart(self) -> None:
        """
        Stop, and listen again at the same path on a new socket.
        """
        self.server.close()
        os.unlink(self.path)
        self.bind()

    def receive(self) -> Tuple[bytes, List[int]]:
        """
        @return: The next datagram and the descriptors passed with it.
        """
        data, ancillary, _, _ = self.server.recvmsg(16 * 1024 * 1024, socket.CMSG_SPACE(16))
        fds = array("i")
        for level, kind, payload in ancillary:
            if (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        return data, list(fds)

    def entries(self) -> List[Dict[str, bytes]]:
        """
        @return: Every entry received so far, read from memfds when passed
            that way.
        """
        received: List[Dict[str, bytes]] = []
        while True:
            try:
                data, fds = self.receive()
            except BlockingIOError:
                return received
            for fd in fds:
                data = os.pread(fd, os.fstat(fd).st_size, 0)
                os.close(fd)
            received.append(parse_entry(data))


class EncodingTests(SynchronousTestCase):
    """
    L{encode_entry} writes fields as the native protocol describes.
    """

    def test_plainAndBinarySafe(self) -> None:
        """
        A value without a newline is written C{NAME=value}; one with a
        newline as the name, a newline, its length in 64-bit little-endian
        and the value.
        """
        entry = encode_entry([(b"A", b"one"), (b"B", b"two\nlines"), (b"C", b"")])
        self.assertEqual(
            entry, b"A=one\nB\n\x09\x00\x00\x00\x00\x00\x00\x00two\nlines\nC=\n")
        self.assertEqual(parse_entry(entry), {"A": b"one", "B": b"two\nlines", "C": b""})


class JournaldDestinationTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    L{JournaldDestination} against a socket of the test's own.
    """

    def setUp(self) -> None:
        self.journal = FakeJournald(self)
        self.destination = JournaldDestination(path=self.journal.path, identifier="tests")
        self.addCleanup(self.destination.close)
        self.messages: List[Dict[str, Any]] = []
        self.isolate().add(self.messages.append, self.destination)

    def test_interface(self) -> None:
        """
        L{JournaldDestination} provides L{IDestination}.
        """
        self.assertTrue(verifyObject(IDestination, self.destination))

    def test_fields(self) -> None:
        """
        Each message is one entry: C{MESSAGE} is its JSON, C{ELIOT_TASK} its
        task, C{ELIOT_TYPE} its type, C{PRIORITY} 6, and
        C{SYSLOG_IDENTIFIER} the identifier.
        """
        with start_action(action_type="app:work", n=1):
            log_message(message_type="app:note", text="line one\nline two")
        entries = self.journal.entries()
        self.assertEqual([orjson.loads(e["MESSAGE"]) for e in entries], self.messages)
        self.assertEqual([e["ELIOT_TYPE"] for e in entries],
                         [b"app:work", b"app:note", b"app:work"])
        self.assertEqual({e["ELIOT_TASK"] for e in entries},
                         {self.messages[0]["task_uuid"].encode()})
        self.assertEqual({(e["PRIORITY"], e["SYSLOG_IDENTIFIER"]) for e in entries},
                         {(b"6", b"tests")})
        self.assertNotIn(b"\n", entries[1]["MESSAGE"])

    def test_priorities(self) -> None:
        """
        The finish of a failed action has priority 3, a traceback 2; the
        start of that action 6.
        """
        try:
            with start_action(action_type="app:divide"):
                raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            write_traceback()
        entries = self.journal.entries()
        self.assertEqual([(e["ELIOT_TYPE"], e["PRIORITY"]) for e in entries],
                         [(b"app:divide", b"6"), (b"app:divide", b"3"),
                          (b"eliot:traceback", b"2")])

    def test_lossReports(self) -> None:
        """
        The reports of lost messages, C{eliot:destination_failure} and
        C{txcausal:messages_dropped}, have priority 4 ("warning"); a type
        that is not a string is no report.
        """
        def failing(message: Dict[str, Any]) -> None:
            raise OSError("disk full")

        destinations = self.isolate()
        destinations.add(failing, self.destination)
        log_message(message_type="app:note")
        report_unbridged("a record", ValueError("bad"), record="r")
        entries = self.journal.entries()
        self.assertEqual(
            [(e["ELIOT_TYPE"], e["PRIORITY"]) for e in entries],
            [(b"app:note", b"6"), (b"eliot:destination_failure", b"4"),
             (b"txcausal:messages_dropped", b"4"), (b"eliot:destination_failure", b"4")])
        self.destination({"task_uuid": "t", "task_level": [1], "message_type": ["a", "list"]})
        [entry] = self.journal.entries()
        self.assertEqual((entry["ELIOT_TYPE"], entry["PRIORITY"]), (b"['a', 'list']", b"6"))

    def test_replacedValuesReports(self) -> None:
        """
        The reports of messages or values that could not be written as
        they were, C{eliot:serialization_failure} (which follows its
        traceback) and C{txcausal:unencodable_values}, have priority 4
        ("warning"), as the reports of lost messages.
        """
        def broken(value: object) -> object:
            raise ValueError("cannot serialize")

        MessageType("app:typed", [Field("x", broken)]).log(x=1)
        log_message(message_type="app:note", value=object())
        entries = self.journal.entries()
        self.assertEqual(
            [(e["ELIOT_TYPE"], e["PRIORITY"]) for e in entries],
            [(b"eliot:traceback", b"2"), (b"eliot:serialization_failure", b"4"),
             (b"app:note", b"6"), (b"txcausal:unencodable_values", b"4")])

    def test_newlinesInFields(self) -> None:
        """
        A type, task or identifier holding a newline reaches journald
        whole; a message without a type has no C{ELIOT_TYPE}.
        """
        destination = JournaldDestination(path=self.journal.path, identifier="two\nlines")
        self.addCleanup(destination.close)
        destination({"task_uuid": "a\nb", "task_level": [1], "message_type": "x\ny"})
        destination({"task_uuid": "c", "task_level": [1]})
        first, second = self.journal.entries()
        self.assertEqual((first["ELIOT_TASK"], first["ELIOT_TYPE"], first["SYSLOG_IDENTIFIER"]),
                         (b"a\nb", b"x\ny", b"two\nlines"))
        self.assertNotIn("ELIOT_TYPE", second)

    def test_defaultIdentifier(self) -> None:
        """
        By default C{SYSLOG_IDENTIFIER} is the program's name, the base name
        of C{sys.argv[0]}.
        """
        self.patch(sys, "argv", ["/usr/local/bin/frobd", "--fast"])
        self.assertEqual(_program_name(), "frobd")
        destination = JournaldDestination(path=self.journal.path)
        self.addCleanup(destination.close)
        destination({"task_uuid": "t", "task_level": [1]})
        self.assertEqual(self.journal.entries()[0]["SYSLOG_IDENTIFIER"], b"frobd")
        self.patch(sys, "argv", [""])
        self.assertEqual(_program_name(), "python")

    def test_encoderHook(self) -> None:
        """
        The encoder hook encodes types JSON does not know; a value that
        still cannot be encoded is written as a file would write it, and
        the report of it is an entry of its own.
        """
        destination = JournaldDestination(
            lambda o: sorted(o) if isinstance(o, frozenset) else o.missing,
            path=self.journal.path)
        self.addCleanup(destination.close)
        destination({"task_uuid": "t", "task_level": [1], "tags": frozenset("ba")})
        destination({"task_uuid": "u", "task_level": [1], "what": object(), "x": float("nan")})
        entries = self.journal.entries()
        self.assertEqual(orjson.loads(entries[0]["MESSAGE"])["tags"], ["a", "b"])
        written = orjson.loads(entries[1]["MESSAGE"])
        self.assertEqual((written["x"], written["what"][:8]), ("NaN", "<object "))
        self.assertEqual((entries[1]["ELIOT_TASK"], entries[2]["ELIOT_TYPE"]),
                         (b"u", b"txcausal:unencodable_values"))
        self.assertEqual(orjson.loads(entries[2]["MESSAGE"])["message_task_uuid"], "u")
        self.assertEqual(len(entries), 3)

    def test_largeEntryThroughSealedMemfd(self) -> None:
        """
        An entry too large for a datagram (larger than the socket's send
        buffer, raised as it is) is written to a memfd, sealed against any
        change, whose descriptor is sent in an empty datagram.
        """
        log_message(message_type="app:small")
        self.journal.receive()
        sock = self.destination._socket._socket
        assert sock is not None
        size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        log_message(message_type="app:big", blob="x" * size)
        data, fds = self.journal.receive()
        self.assertEqual((data, len(fds)), (b"", 1))
        self.addCleanup(os.close, fds[0])
        self.assertEqual(fcntl.fcntl(fds[0], fcntl.F_GET_SEALS), _SEALS)
        entry = parse_entry(os.pread(fds[0], os.fstat(fds[0]).st_size, 0))
        self.assertEqual(orjson.loads(entry["MESSAGE"]), self.messages[1])

    def test_reconnectsAfterRestart(self) -> None:
        """
        When journald restarts, the next message reaches the new one.
        """
        log_message(message_type="app:before")
        self.journal.restart()
        log_message(message_type="app:after")
        self.assertEqual([e["ELIOT_TYPE"] for e in self.journal.entries()], [b"app:after"])
        self.assertEqual(len(self.messages), 2)


class RecordingSocket:
    """
    A real socket whose C{setsockopt} calls are recorded, not made: refused
    with L{PermissionError} for the options in C{refused}.
    """

    def __init__(self, refused: Tuple[int, ...], *args: Any) -> None:
        self._socket = socket.socket(*args)
        self.refused = refused
        self.options: List[Tuple[int, int, int]] = []

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.options.append((level, option, value))
        if option in self.refused:
            raise PermissionError(errno.EPERM, "not allowed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)


class SendBufferTests(SynchronousTestCase):
    """
    As systemd's own client does, the socket to journald asks for a send
    buffer of L{SEND_BUFFER} bytes, so that bursts find room: past the
    system's limit when allowed, else up to it, else it is used as it is.
    """

    def sent(self, refused: Tuple[int, ...]) -> RecordingSocket:
        """
        Send an entry through a L{RecordingSocket} refusing C{refused}.

        @return: The socket, once the entry arrived.
        """
        journal = FakeJournald(self)
        made: List[RecordingSocket] = []

        def factory(*args: Any) -> Any:
            made.append(RecordingSocket(refused, *args))
            return made[-1]

        sender = JournalSocket(journal.path, socket_factory=factory)
        self.addCleanup(sender.close)
        sender.send(b"MESSAGE=burst\n")
        self.assertEqual(journal.entries(), [{"MESSAGE": b"burst"}])
        (sock,) = made
        return sock

    def test_forcedFirst(self) -> None:
        """
        C{SO_SNDBUFFORCE} (past C{net.core.wmem_max}) is asked for first.
        """
        sock = self.sent(())
        self.assertEqual(sock.options, [(socket.SOL_SOCKET, _SO_SNDBUFFORCE, SEND_BUFFER)])

    def test_unprivileged(self) -> None:
        """
        Without the privilege, C{SO_SNDBUF} (up to the system's limit) is
        asked for.
        """
        sock = self.sent((_SO_SNDBUFFORCE,))
        self.assertEqual(sock.options, [(socket.SOL_SOCKET, _SO_SNDBUFFORCE, SEND_BUFFER),
                                        (socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)])

    def test_notRaised(self) -> None:
        """
        A socket whose buffer cannot be raised is used as it is.
        """
        sock = self.sent((_SO_SNDBUFFORCE, socket.SO_SNDBUF))
        self.assertEqual(len(sock.options), 2)

    def test_notLowered(self) -> None:
        """
        A send buffer already larger is left alone.
        """
        sock = RecordingSocket((), socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        asked: List[Tuple[int, int]] = []
        sock.getsockopt = lambda *option: asked.append(option) or 2 * SEND_BUFFER  # type: ignore
        raise_send_buffer(sock)  # type: ignore[arg-type]
        self.assertEqual((asked, sock.options), ([(socket.SOL_SOCKET, socket.SO_SNDBUF)], []))

    def test_readBack(self) -> None:
        """
        On a real socket, the buffer read back is at least what an
        unprivileged process may ask for (twice the size asked, as Linux
        counts it, up to C{net.core.wmem_max}).
        """
        with open("/proc/sys/net/core/wmem_max") as f:
            limit = int(f.read())
        journal = FakeJournald(self)
        sender = JournalSocket(journal.path)
        self.addCleanup(sender.close)
        sender.send(b"MESSAGE=x\n")
        sock = sender._socket
        assert sock is not None
        self.assertGreaterEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
                                2 * min(SEND_BUFFER, limit))


class FailureTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    When journald cannot take a message, the destination raises, so the
    failure is reported and counted as any destination's; the program
    never sees it.
    """

    def test_noSocket(self) -> None:
        """
        With no socket, the report names it, and the message counts as
        dropped when no other destination took it.
        """
        destinations = self.isolate()
        destination = JournaldDestination(path="/nonexistent/journal/socket")
        destinations.add(destination)
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        log_message(message_type="app:lost")
        self.assertEqual(destinations.dropped, 1)
        self.assertIn("FileNotFoundError", stderr.getvalue())
        reports: List[Dict[str, Any]] = []
        destinations.add(reports.append)
        log_message(message_type="app:kept")
        self.assertEqual(destinations.dropped, 1)
        [report] = [r for r in reports if r["message_type"] == "eliot:destination_failure"]
        self.assertEqual(report["exception"], "builtins.FileNotFoundError")
        self.assertIn("/nonexistent/journal/socket", report["reason"])

    def test_staleSocket(self) -> None:
        """
        The socket file of a journald that has stopped refuses the message.
        """
        journal = FakeJournald(self)
        journal.server.close()
        destination = JournaldDestination(path=journal.path)
        self.assertRaises(ConnectionRefusedError, destination,
                          {"task_uuid": "t", "task_level": [1]})

    def test_queueFull(self) -> None:
        """
        While journald's queue is full a send waits for room (here: in vain)
        and raises L{BlockingIOError}; the next sends do not wait until one
        gets through, after which the next full queue is waited for again.
        """
        journal = FakeJournald(self)
        sender = JournalSocket(journal.path, timeout=5.0)
        self.addCleanup(sender.close)
        waits: List[float] = []
        sender.wait_writable = lambda sock, timeout: bool(waits.append(timeout))  # type: ignore
        sent = 0
        while not waits:
            try:
                sender.send(b"MESSAGE=%d\n" % sent)
            except BlockingIOError as e:
                self.assertIn(journal.path, str(e))
                self.assertEqual(e.errno, errno.EAGAIN)
            sent += 1
            self.assertLess(sent, 100_000)
        self.assertEqual(len(waits), 1)
        self.assertGreater(waits[0], 4)
        self.assertRaises(BlockingIOError, sender.send, b"MESSAGE=stuck\n")
        self.assertEqual(len(waits), 1)
        journal.receive()
        sender.send(b"MESSAGE=room\n")
        self.assertRaises(BlockingIOError, sender.send, b"MESSAGE=full again\n")
        self.assertEqual(len(waits), 2)

    def test_longTimeout(self) -> None:
        """
        A timeout longer than one C{poll} can wait (about 24.8 days) is
        waited for in several: a send finds room once the queue is read.
        """
        journal = FakeJournald(self)
        sender = JournalSocket(journal.path, timeout=30 * 24 * 3600.0)
        self.addCleanup(sender.close)
        sent = 0
        while JournalSocket.wait_writable(sender._socket or sender._connect(None), 0):
            sender.send(b"MESSAGE=%d\n" % sent)
            sent += 1
            self.assertLess(sent, 100_000)
        reader = threading.Timer(0.2, journal.receive)
        reader.start()
        self.addCleanup(reader.join)
        sender.send(b"MESSAGE=waited\n")
        self.assertEqual(journal.entries()[-1], {"MESSAGE": b"waited"})

    def test_longWaitsCapped(self) -> None:
        """
        Each wait for room is at most L{_LONGEST_WAIT}; one that ends
        without room while the timeout is not up is followed by another.
        """
        journal = FakeJournald(self)
        sender = JournalSocket(journal.path, timeout=threading.TIMEOUT_MAX)
        self.addCleanup(sender.close)
        waits: List[float] = []

        def wait(sock: socket.socket, timeout: float) -> bool:
            waits.append(timeout)
            if len(waits) == 3:
                journal.receive()
            return False

        sender.wait_writable = wait  # type: ignore[method-assign]
        sent = 0
        while not waits:
            sender.send(b"MESSAGE=%d\n" % sent)
            sent += 1
            self.assertLess(sent, 100_000)
        self.assertEqual(waits, [_LONGEST_WAIT] * 3)
        self.assertLess(_LONGEST_WAIT * 1000, 2**31 - 1)

    def test_badTimeout(self) -> None:
        """
        A timeout that is negative, not a number, infinite or longer than
        C{threading.TIMEOUT_MAX} is refused, saying what is allowed.
        """
        for timeout in (-1, float("nan"), float("inf"), threading.TIMEOUT_MAX * 2):
            e = self.assertRaises(ValueError, JournaldDestination, timeout=timeout)
            self.assertIn(f"from 0 to threading.TIMEOUT_MAX, not {timeout!r}", str(e))
        JournaldDestination(timeout=threading.TIMEOUT_MAX)


class ThreadedWriterTests(WriterHarness, SynchronousTestCase):
    """
    Behind a L{txcausal.logwriter.ThreadedWriter}, a missing journald is
    reported once and what it loses is counted.
    """

    def test_missingJournald(self) -> None:
        """
        The writer reports the failure through the other destinations and
        counts every message lost.
        """
        logger = self.capture()
        writer, _, performAll = self.started(JournaldDestination(path="/nonexistent/socket"))
        for n in range(3):
            writer({"task_uuid": "t", "task_level": [n + 1], "message_type": "app:n"})
        performAll()
        self.assertEqual(writer.dropped, 3)
        failures = [m for m in logger.messages
                    if m["message_type"] == "eliot:destination_failure"]
        self.assertEqual(len(failures), 1)
        self.assertIn("JournaldDestination", failures[0]["destination"])


class RealJournaldTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Against a real journald (started for the tests when none runs and the
    tests run as root), read back with C{journalctl}.
    """

    def setUp(self) -> None:
        _journald.JOURNALD.start()

    def logTask(self) -> Tuple[str, List[Dict[str, Any]]]:
        """
        Log a task with nested, failed, multi-line and large messages to
        journald.

        @return: Its UUID and the messages logged.
        """
        messages: List[Dict[str, Any]] = []
        destination = JournaldDestination(timeout=ROOM)
        self.addCleanup(destination.close)
        self.isolate().add(messages.append, destination)
        with start_task(action_type="e2e:main") as task:
            with start_action(action_type="e2e:nested", depth=2):
                log_message(message_type="e2e:poem", text="roses\nviolets\n")
            log_message(message_type="e2e:big", blob="b" * 100_000)
            log_message(message_type="e2e:huge", blob="h" * 2_000_000)
            try:
                with start_action(action_type="e2e:divide", a=10, b=0):
                    raise ZeroDivisionError("division by zero")
            except ZeroDivisionError:
                write_traceback()
        return task.task_uuid, messages

    def test_readBack(self) -> None:
        """
        C{journalctl -o json ELIOT_TASK=<uuid>} gives back every message of
        the task, whole, with its type, priority and identifier.
        """
        uuid, messages = self.logTask()
        entries = _journald.entries(uuid)
        self.assertEqual([orjson.loads(e["MESSAGE"]) for e in entries], messages)
        self.assertEqual(
            [(e["ELIOT_TYPE"], e["PRIORITY"]) for e in entries],
            [("e2e:main", "6"), ("e2e:nested", "6"), ("e2e:poem", "6"), ("e2e:nested", "6"),
             ("e2e:big", "6"), ("e2e:huge", "6"), ("e2e:divide", "6"), ("e2e:divide", "3"),
             ("eliot:traceback", "2"), ("e2e:main", "6")])
        self.assertEqual({e["SYSLOG_IDENTIFIER"] for e in entries}, {_program_name()})

    def test_lossReports(self) -> None:
        """
        C{journalctl --priority warning} shows the reports of lost messages:
        the messages no destination took, counted when the first was added.
        """
        messages: List[Dict[str, Any]] = []
        destinations = _output.Destinations(buffer_size=1)
        self.patch(_output, "_DESTINATIONS", destinations)
        self.patch(_output, "_DEFAULT_LOGGER", _output.Logger(destinations))
        for n in range(3):
            log_message(message_type="e2e:early", n=n)
        destination = JournaldDestination(timeout=ROOM)
        self.addCleanup(destination.close)
        destinations.add(messages.append, destination)
        [report] = [m for m in messages if m["message_type"] == "txcausal:messages_dropped"]
        self.assertEqual(report["count"], 2)
        uuid = report["task_uuid"]
        [entry] = _journald.entries(uuid)
        self.assertEqual((entry["ELIOT_TYPE"], entry["PRIORITY"]),
                         ("txcausal:messages_dropped", "4"))
        warned = _journald.journalctl("--all", "-o", "cat", "--priority", "warning",
                                      f"ELIOT_TASK={uuid}")
        self.assertEqual(orjson.loads(warned), report)

    def test_tree(self) -> None:
        """
        C{journalctl --output cat ELIOT_TASK=<uuid> | txcausal tree} shows
        the task.
        """
        uuid, _ = self.logTask()
        cat = _journald.journalctl("--all", "--output", "cat", f"ELIOT_TASK={uuid}")
        tree = subprocess.run([sys.executable, "-m", "txcausal", "tree", "--ascii"],
                              input=cat, capture_output=True, check=True, timeout=60).stdout
        text = tree.decode("utf-8")
        self.assertIn(uuid, text)
        for expected in ["e2e:nested/2/1", "e2e:poem/2/2", "e2e:divide/5/1", "failed",
                         "builtins.ZeroDivisionError", "e2e:main/7"]:
            self.assertIn(expected, text)

    def test_example(self) -> None:
        """
        C{examples/journald_divide.py} writes both divisions to journald,
        the failed one with priority 3, under the script's name.
        """
        output = run_example("journald_divide.py").stdout
        tasks = re.findall(r"task (\S+)", output)
        self.assertEqual(len(tasks), 2)
        self.assertIn("failed: division by zero", output)
        good, bad = (_journald.entries(uuid) for uuid in tasks)
        self.assertEqual([(e["ELIOT_TYPE"], e["PRIORITY"]) for e in bad],
                         [("divide", "6"), ("divide", "3")])
        self.assertEqual(orjson.loads(bad[1]["MESSAGE"])["exception"],
                         "builtins.ZeroDivisionError")
        self.assertEqual(orjson.loads(good[1]["MESSAGE"])["action_status"], "succeeded")
        self.assertEqual({e["SYSLOG_IDENTIFIER"] for e in good + bad}, {"journald_divide.py"})


#: A process named as journald is (C{/proc/<pid>/stat}), standing in for it.
_FAKE_JOURNALD = ("import ctypes, sys, time; ctypes.CDLL(None).prctl(15, b'systemd-journal');"
                  " print(flush=True); time.sleep(120)")


class SharedJournaldTests(SynchronousTestCase):
    """
    The journald the tests started is stopped by the last test process
    using it, not by the one that started it while others use it.
    """

    def setUp(self) -> None:
        if os.geteuid() != 0:
            raise SkipTest("only root starts journald by hand")
        self.locks = os.path.abspath(self.mktemp())
        self.journald = _journald.Journald(self.locks)
        self.journald._join()
        self.addCleanup(self.journald.stop)

    def fake(self, code: str = _FAKE_JOURNALD) -> "subprocess.Popen[str]":
        """
        Start a process standing in for a journald a test process started,
        named in C{journald.pid}.
        """
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                   text=True)
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        assert process.stdout is not None
        process.stdout.readline()
        with open(os.path.join(self.locks, "journald.pid"), "w") as f:
            f.write(f"{process.pid}\n")
        return process

    def test_lastUserStops(self) -> None:
        """
        The last user stops the journald named in C{journald.pid}.
        """
        process = self.fake()
        self.journald.stop()
        self.assertEqual(process.wait(60), -signal.SIGTERM)
        self.assertFalse(os.path.exists(os.path.join(self.locks, "journald.pid")))

    def test_otherUserKeeps(self) -> None:
        """
        While another process uses journald (holds C{users.lock} shared),
        it runs on.
        """
        other = _journald.Journald(self.locks)
        other._join()
        self.addCleanup(other.stop)
        process = self.fake()
        self.journald.stop()
        self.assertIsNone(process.poll())
        self.assertTrue(os.path.exists(os.path.join(self.locks, "journald.pid")))

    def test_notJournald(self) -> None:
        """
        A process that is not journald (its id reused since) is left alone.
        """
        process = self.fake("import time; print(flush=True); time.sleep(120)")
        self.journald.stop()
        self.assertIsNone(process.poll())

    def test_forkedChildKeeps(self) -> None:
        """
        A child forked after joining, exiting normally (running C{stop} at
        exit), leaves journald running: its lock is its parent's.
        """
        process = self.fake()
        pid = os.fork()
        if pid == 0:
            try:
                self.journald.stop()
            finally:
                os._exit(0)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        self.assertIsNone(process.poll())
        self.assertTrue(os.path.exists(os.path.join(self.locks, "journald.pid")))

    def test_locksUnmakeable(self) -> None:
        """
        When the lock directory cannot be made, the process goes on without
        sharing journald, saying so on standard error.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        journald = _journald.Journald("/proc/txcausal-tests")
        journald._join()
        journald.stop()
        self.assertIn("/proc/txcausal-tests", stderr.getvalue())
        self.assertIn("not shared", stderr.getvalue())
