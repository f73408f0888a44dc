"""
C{txcausal web} given more files than the limit on open file descriptors
(C{RLIMIT_NOFILE}): it raises its soft limit toward the hard limit, or
refuses at once with a usage error, rather than serving nothing.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from txcausal._cli._web import AcceptErrors, make_room

from ._helpers import run_python
from ._webview_logs import write_log
from ._webview_server import start_web

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

#: The number of files, more than the soft limit the tests set.
FILES = 150
#: Run C{txcausal} with the limit on open files set to C{sys.argv[1]}
#: (soft) and C{sys.argv[2]} (hard; C{-} to keep it).
LIMITED = """\
import resource, runpy, sys
soft, hard = sys.argv[1:3]
old_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (int(soft), old_hard if hard == "-" else int(hard)))
sys.argv[0:3] = ["txcausal"]
runpy.run_module("txcausal", run_name="__main__", alter_sys=True)
"""


class ManyFilesTests(SynchronousTestCase):
    """
    More files than the soft limit on open files.
    """

    def setUp(self) -> None:
        if resource is None:
            raise self.skipTest("no resource module: limits on open files are POSIX")
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY and hard < 4 * FILES:
            raise self.skipTest(f"the hard limit on open files ({hard}) is too low")
        folder = Path(self.mktemp())
        folder.mkdir()
        self.files: List[str] = [
            str(write_log(folder / f"p{n:03d}.log", [
                {"task_uuid": f"T{n}", "task_level": [1], "timestamp": 1.0 + n,
                 "message_type": "m"}]))
            for n in range(FILES)]

    def test_raisesSoftLimit(self) -> None:
        """
        With a soft limit below the number of files and a hard limit above,
        the view raises its soft limit and serves every file.
        """
        _, address = start_web(self.files, self, python=["-c", LIMITED, "100", "-"])
        with urllib.request.urlopen(address + "api/tasks?limit=1000", timeout=60) as response:
            tasks = json.loads(response.read())["tasks"]
        self.assertEqual(len(tasks), FILES)

    def test_raisesSoftLimitCompressed(self) -> None:
        """
        Compressed files count for the descriptors their decompressed
        copies take too: every one is served.
        """
        for name in self.files:
            data = Path(name).read_bytes()
            with gzip.open(name + ".gz", "wb") as compressed:
                compressed.write(data)
        _, address = start_web([name + ".gz" for name in self.files], self,
                               python=["-c", LIMITED, "100", "-"])
        for _ in range(240):  # Their copies are made by threads, one after another.
            with urllib.request.urlopen(address + "api/tasks?limit=1000",
                                        timeout=60) as response:
                tasks = json.loads(response.read())["tasks"]
            if len(tasks) == FILES:
                break
            time.sleep(0.25)
        self.assertEqual(len(tasks), FILES)

    def test_refuses(self) -> None:
        """
        With a hard limit below the number of files, it refuses at once:
        a usage error naming the limit, exit status 2.
        """
        result = run_python(["-c", LIMITED, "100", "100", "web", "--port", "0", *self.files],
                            stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(f"txcausal web: {FILES} files need", result.stderr)
        self.assertIn("limit of 100 (ulimit -Hn)", result.stderr)
        self.assertNotIn("serving", result.stdout)



class LightCommandsTests(SynchronousTestCase):
    """
    The commands other than C{web} do not load the web view (nor Twisted's
    web server) to start.
    """

    def test_cliImportLight(self) -> None:
        """
        C{import txcausal._cli} leaves Twisted and the web view's modules
        unloaded.
        """
        result = run_python(["-c", "import sys, txcausal._cli\n"
                             "print(sorted(m for m in sys.modules if m.startswith("
                             "('twisted', 'txcausal._view'))))"])
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "[]"), result.stderr)


class AcceptErrorsTests(SynchronousTestCase):
    """
    L{AcceptErrors} reports the connections Twisted could not accept.
    """

    def test_reported(self) -> None:
        """
        The first EMFILE is reported on standard error, with the count; other
        events are not.
        """
        stderr = io.StringIO()
        observer = AcceptErrors(stderr)
        observer({"log_format": "something else"})
        for _ in range(3):
            observer({"log_format": "Could not accept new connection ({acceptError})",
                      "acceptError": "EMFILE"})
        self.assertEqual(stderr.getvalue(),
                         "txcausal web: could not accept a connection (EMFILE, 1 times so far):"
                         " too many open files? (ulimit -n)\n")


    def test_everyThousandth(self) -> None:
        """
        After the first, an error is reported again at its 1001st time,
        2001st, and so on.
        """
        stderr = io.StringIO()
        observer = AcceptErrors(stderr)
        for _ in range(2001):
            observer({"log_format": "Could not accept new connection ({acceptError})",
                      "acceptError": "EMFILE"})
        counts = [line.split(", ")[1].split(":")[0] for line in stderr.getvalue().splitlines()]
        self.assertEqual(counts,
                         ["1 times so far)", "1001 times so far)", "2001 times so far)"])

class FakeDarwinLimits:
    """
    C{resource} as on macOS: the hard limit is C{RLIM_INFINITY}, but
    C{setrlimit} refuses a soft limit past C{OPEN_MAX} with C{ValueError}.
    """

    RLIMIT_NOFILE = 8
    RLIM_INFINITY = 2**63 - 1

    def getrlimit(self, which: int) -> Tuple[int, int]:
        return (256, self.RLIM_INFINITY)

    def setrlimit(self, which: int, limits: Tuple[int, int]) -> None:
        if limits[0] > 10240:
            raise ValueError("current limit exceeds maximum limit")


class MakeRoomTests(SynchronousTestCase):
    """
    L{make_room} when the limit cannot be raised.
    """

    def test_setrlimitRefused(self) -> None:
        """
        When C{setrlimit} refuses the raise, the usage error says so rather
        than the error escaping.
        """
        problem = make_room([f"f{n}.log" for n in range(20000)], FakeDarwinLimits())
        self.assertIsNotNone(problem)
        self.assertIn("20000 files need about 20164 open file descriptors", str(problem))
