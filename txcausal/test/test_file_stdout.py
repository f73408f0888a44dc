"""
Tests for L{txcausal.FileDestination} on standard output as a real pipe,
read by this process more slowly than the child writes: buffered, as usual,
and unbuffered (C{python -u}), with the program's own output, another thread
printing, and a non-blocking pipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from ._helpers import child_environment

#: A script logging to its standard output as the reader there wants it.
_STDOUT_SCRIPT = """
import sys
from txcausal import log_message, to_file
destination = to_file(sys.stdout)
print("direct:", destination._direct is not None)
log_message("first", n=1)
print("between", end=" ")
log_message("big", text="x" * 300_000)
print("last")
sys.stdout.flush()
"""

#: A script logging large lines to its standard output while another thread
#: prints short ones.
_THREADS_SCRIPT = """
import sys, threading
from txcausal import log_message, to_file
to_file(sys.stdout)
done = threading.Event()
def printer():
    n = 0
    while not done.is_set():
        print("printed", n, flush=True)
        n += 1
thread = threading.Thread(target=printer)
thread.start()
for n in range(20):
    log_message("big", n=n, text="x" * 200_000)
done.set()
thread.join()
"""

#: A script logging to its standard output made non-blocking, as Twisted's
#: StandardIO makes it; with an argument, it prints a line's start first.
_NONBLOCKING_SCRIPT = """
import os, sys
from txcausal import log_message, to_file
os.set_blocking(1, False)
to_file(sys.stdout)
for n in range(300):
    if len(sys.argv) > 1:
        print("printed", n, end=" ")
    log_message("big", n=n, text="x" * 10_000)
"""

#: A script logging to a non-blocking standard output through another kind
#: of file, as its argument says: binary (C{sys.stdout.buffer}), binary on
#: another descriptor of the pipe, or text in the encoding named.
_NONBLOCKING_KINDS_SCRIPT = """
import io, os, sys
from txcausal import log_message, to_file
os.set_blocking(1, False)
kind = sys.argv[1]
if kind == "binary":
    file = sys.stdout.buffer
elif kind == "other-fd":
    file = open(os.dup(1), "wb")
else:
    sys.stdout.reconfigure(encoding=kind)
    file = sys.stdout
destination = to_file(file)
for n in range(300):
    log_message("big", n=n, text="x" * 10_000, name="caf\\xe9")
file.flush()
"""

#: What the reader takes at a time: less than a line, so that the pipe is
#: often full.
_READ = 3000


def _run(script: str, *args: str, unbuffered: bool = False) -> Tuple[List[bytes], str]:
    """
    Run C{script} with its standard output on a pipe read slowly.

    @param unbuffered: Run it as C{python -u} does.
    @return: The lines of its standard output, without their newline (the
        text after the last newline last), and its standard error.
    """
    env = child_environment()
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen([sys.executable, "-c", script, *args], env=env,
                                   stdout=subprocess.PIPE, stderr=stderr)
        stdout = process.stdout
        assert stdout is not None
        with stdout:
            chunks = list(iter(lambda: os.read(stdout.fileno(), _READ), b""))
        returncode = process.wait(timeout=60)
        stderr.seek(0)
        errors = stderr.read().decode("utf-8", "replace")
    assert returncode == 0, errors[:1000]
    return b"".join(chunks).split(b"\n"), errors


class StandardOutputTests(SynchronousTestCase):
    """
    Standard output as a real pipe, read by another process.
    """

    def assertInOrder(self, unbuffered: bool) -> None:
        """
        Standard output on a pipe is written to directly; the reader gets
        the lines and the program's own output in order, a line larger than
        the pipe whole.
        """
        lines, errors = _run(_STDOUT_SCRIPT, unbuffered=unbuffered)
        self.assertEqual(errors, "")
        self.assertEqual(lines[0], b"direct: True")
        self.assertEqual(json.loads(lines[1])["n"], 1)
        self.assertTrue(lines[2].startswith(b'between {"'), lines[2][:100])
        self.assertEqual(json.loads(lines[2][len("between "):])["text"], "x" * 300_000)
        self.assertEqual(lines[3:], [b"last", b""])

    def test_buffered(self) -> None:
        """
        Standard output as Python usually opens it, buffered.
        """
        self.assertInOrder(unbuffered=False)

    def test_unbuffered(self) -> None:
        """
        Standard output as C{python -u} opens it, with no buffer under its
        text layer.
        """
        self.assertInOrder(unbuffered=True)

    def test_anotherThreadPrinting(self) -> None:
        """
        While another thread prints, each line reaches the reader whole,
        though larger than the pipe can hold at once: the line is written
        through the buffer under the text layer, whose lock the other
        thread's writes take too.
        """
        lines, errors = _run(_THREADS_SCRIPT)
        self.assertEqual(errors, "")
        logged = [json.loads(line)["n"] for line in lines if line.startswith(b"{")]
        printed = [line for line in lines[:-1] if not line.startswith(b"{")]
        self.assertEqual(logged, list(range(20)))
        self.assertTrue(printed)
        self.assertEqual(printed, [b"printed %d" % n for n in range(len(printed))])


class NonBlockingTests(SynchronousTestCase):
    """
    Standard output on a non-blocking pipe, which the reader empties more
    slowly than the program logs: each write waits until the pipe has room,
    as a write to a blocking pipe does, so that nothing is lost, repeated
    or cut.
    """

    def assertEveryLine(self, lines: List[bytes], prefix: str, encoding: str = "utf-8") -> None:
        """
        C{lines} are the 300 lines of the non-blocking script, each whole,
        in order, each after C{prefix} for its number, in C{encoding}, then
        nothing.
        """
        self.assertEqual(lines[-1], b"")
        self.assertEqual(len(lines), 301)
        for n, line in enumerate(lines[:-1]):
            start = prefix.format(n).encode()
            self.assertTrue(line.startswith(start), line[:100])
            message = json.loads(line[len(start):].decode(encoding))
            self.assertEqual((message["n"], message["text"]), (n, "x" * 10_000))

    def test_buffered(self) -> None:
        """
        Standard output as Python usually opens it, with what the program
        printed before each line.
        """
        lines, errors = _run(_NONBLOCKING_SCRIPT, "print")
        self.assertEqual(errors, "")
        self.assertEveryLine(lines, "printed {} ")

    def test_unbuffered(self) -> None:
        """
        Standard output as C{python -u} opens it.  (The program's own
        C{print} would lose what a full pipe does not take: Python's text
        layer drops it.)
        """
        lines, errors = _run(_NONBLOCKING_SCRIPT, unbuffered=True)
        self.assertEqual(errors, "")
        self.assertEveryLine(lines, "")


    def test_binary(self) -> None:
        """
        Standard output's binary file: nothing is lost while the pipe is
        full.
        """
        lines, errors = _run(_NONBLOCKING_KINDS_SCRIPT, "binary")
        self.assertEqual(errors, "")
        self.assertEveryLine(lines, "")

    def test_binaryOtherDescriptor(self) -> None:
        """
        A binary file opened on another descriptor of the pipe: nothing is
        lost while the pipe is full.
        """
        lines, errors = _run(_NONBLOCKING_KINDS_SCRIPT, "other-fd")
        self.assertEqual(errors, "")
        self.assertEveryLine(lines, "")

    def test_textNotUTF8(self) -> None:
        """
        Standard output reconfigured to Latin-1: nothing is lost while the
        pipe is full, and the lines are in Latin-1.
        """
        lines, errors = _run(_NONBLOCKING_KINDS_SCRIPT, "latin-1")
        self.assertEqual(errors, "")
        self.assertEveryLine(lines, "", "latin-1")
        self.assertIn(b'"name":"caf\xe9"', lines[0])

    def test_textUTF16(self) -> None:
        """
        Standard output reconfigured to UTF-16, whose lines are not written
        as ASCII: nothing is lost while the pipe is full (its text layer
        used to lose what the pipe did not take, without a word).
        """
        lines, errors = _run(_NONBLOCKING_KINDS_SCRIPT, "utf-16")
        self.assertEqual(errors, "")
        text = b"\n".join(lines).decode("utf-16")
        self.assertEqual(text.count("\n"), 300)
        for n, line in enumerate(text.splitlines()):
            message = json.loads(line)
            self.assertEqual((message["n"], message["text"], message["name"]),
                             (n, "x" * 10_000, "caf\xe9"))
