"""
txcausal as a drop-in for Eliot: the programs of L{txcausal.test.dropin},
written for Eliot 1.18 as its manual writes them, run under Eliot and then
with their imports swapped for txcausal's; what they log is compared message
by message (types, statuses, task levels, field names and values), ignoring
task UUIDs, timestamps and object addresses.  Every difference must be one
of L{KNOWN_DIFFERENCES}, the rows of the "Coming from Eliot" table in
C{docs/quickstart.md}, and each of those must be seen.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from attrs import frozen
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from ._dropin_logs import journal_entries, journald_ready, without_dask_tracing
from ._helpers import docs_dir, run_python

PROGRAMS = Path(__file__).parent / "dropin"

#: Eliot names txcausal has under another name or in another module (rows
#: of the table), by Eliot's module (C{""} for the top level) and name: the
#: swapped import imports txcausal's name as Eliot's, so the program's body
#: is unchanged.
RENAMED = {
    ("stdlib", "EliotHandler"): ("stdlib", "CausalHandler"),
    ("", "writeFailure"): ("twisted", "writeFailure"),
    ("", "write_failure"): ("twisted", "writeFailure"),
    ("testing", "validateLogging"): ("compat", "validateLogging"),
    ("testing", "issuperset"): ("compat", "issuperset"),
}

_FROM_ELIOT = re.compile(r"^(?P<indent>\s*)from eliot(?P<module>(?:\.\w+)*) import (?P<names>.+)$")
_IMPORT_ELIOT = re.compile(r"^(?P<indent>\s*)import eliot\s*$")
_OTHER_IMPORT = re.compile(r"^\s*import eliot\b")
_REQUIRES = re.compile(r"^# requires: (.+)$", re.MULTILINE)
#: A program whose top-level imports go to C{txcausal.compat} (code that
#: uses Eliot's old spellings) says so on a line of its own.
COMPAT = "# swap: txcausal.compat"
#: A program whose journal entries are compared too (those of the tasks
#: it logged to its file) says so on a line of its own.
READ_JOURNALD = "# read: journald"


def swap_imports(source: str) -> str:
    """
    Swap a program's imports of C{eliot} for C{txcausal}'s, as a user does:
    C{from eliot.X import a, b} (on one line, or in parentheses on several)
    becomes C{from txcausal.X import a, b}, a renamed name imported under
    its Eliot name; C{import eliot} becomes C{import txcausal as eliot}.  A
    program holding the line L{COMPAT} gets C{txcausal.compat} for C{eliot}.
    Nothing else changes.

    @raise ValueError: For another C{import eliot...}, which the swap does
        not handle.
    """
    top = "txcausal.compat" if COMPAT in source.splitlines() else "txcausal"
    lines = iter(source.splitlines(keepends=True))
    swapped = []
    for line in lines:
        whole = _IMPORT_ELIOT.match(line.rstrip("\n"))
        if whole is not None:
            swapped.append(f"{whole['indent']}import {top} as eliot\n")
            continue
        if _OTHER_IMPORT.match(line):
            raise ValueError(f"use 'from eliot... import ...' in drop-in programs: {line!r}")
        match = _FROM_ELIOT.match(line.rstrip("\n"))
        if match is None:
            swapped.append(line)
            continue
        names = match["names"]
        while names.startswith("(") and ")" not in names:
            names += next(lines)
        # One line, then blank ones: the lines keep their numbers.
        swapped.append(_from_txcausal(match["indent"], match["module"].lstrip("."), names, top))
        swapped += ["\n"] * names.count("\n")
    return "".join(swapped)


def _from_txcausal(indent: str, module: str, names: str, top: str) -> str:
    """
    @return: The line importing C{names} (the text after C{import}) from
        txcausal, for Eliot's C{module}.
    """
    by_module: Dict[str, List[str]] = {}
    listed = " ".join(line.split("#")[0] for line in names.splitlines()).strip("() ")
    for name in (n.strip() for n in listed.split(",") if n.strip()):
        new_module, new = RENAMED.get((module, name), (module, name))
        by_module.setdefault(new_module, []).append(name if new == name else f"{new} as {name}")
    return indent + "; ".join(f"from {f'txcausal.{m}' if m else top} import {', '.join(imported)}"
                              for m, imported in by_module.items()) + "\n"


@frozen
class Run:
    """
    What a program did: its exit status, its standard output and error, the
    JSON lines it logged, and the journal entries of their tasks (for a
    program that says L{READ_JOURNALD}; see L{journal_entries}).
    """

    status: int
    stdout: str
    stderr: str
    logged: List[Any]
    journal: List[Any]


#: What C{import eliot} does in the run with the imports swapped.
_NO_ELIOT = 'raise ImportError("the program with its imports swapped must not import eliot")\n'


def run_program(source: str, name: str, eliot: bool = True) -> Run:
    """
    Run a program's source as C{name} in a directory of its own; read
    back what it logged, and, if it says L{READ_JOURNALD}, what journald
    stored for the tasks it logged.

    @param eliot: Whether the program may import C{eliot}: without it (for
        the run with the imports swapped), importing C{eliot} raises, in the
        program and in the processes it starts.
    """
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / name
        script.write_text(source)
        output = Path(directory) / "logged.jsonl"
        output.touch()
        env = {}
        if not eliot:
            blocked = Path(directory) / "no-eliot"
            blocked.mkdir()
            (blocked / "eliot.py").write_text(_NO_ELIOT)
            env["PYTHONPATH"] = str(blocked)
        result = run_python([str(script), str(output)], cwd=Path(directory), env=env)
        text = output.read_text().replace(directory, "<dir>")
        logged = [json.loads(line) for line in text.splitlines() if line]
    journal = journal_entries(logged) if READ_JOURNALD in source.splitlines() else []
    return Run(result.returncode, result.stdout.replace(directory, "<dir>"),
               result.stderr.replace(directory, "<dir>"), logged, journal)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def normalize(logged: List[Any], output: str) -> Tuple[List[Any], str]:
    """
    @return: The logged messages and the output of a run with what differs
        from one run to the next made the same: UUIDs numbered in order of
        appearance, object addresses removed, timestamps dropped, and
        tracebacks cut to their last line (their frames show the library's
        code and the program's path).
    """
    uuids: Dict[str, str] = {}

    def number(match: "re.Match[str]") -> str:
        return uuids.setdefault(match.group(), f"<uuid {len(uuids) + 1}>")

    def clean(text: str) -> str:
        return _ADDRESS.sub("", _UUID.sub(number, text))

    messages = []
    for message in logged:
        if isinstance(message, dict):
            message = {k: v for k, v in message.items() if k != "timestamp"}
            if isinstance(message.get("traceback"), str):
                message["traceback"] = message["traceback"].rstrip().splitlines()[-1]
            if message.get("message_type") == "eliot:serialization_failure":
                message["message"] = _without_time(message["message"])
        messages.append(json.loads(clean(json.dumps(message))))
    return messages, clean(output)


def _without_time(text: str) -> Dict[str, Any]:
    """
    @return: The fields of a serialization failure's text (a dict of
        reprs), but its timestamp, which differs from run to run.
    """
    fields = ast.literal_eval(text)
    fields.pop("'timestamp'", None)
    return {key: value for key, value in sorted(fields.items())}


@frozen
class Difference:
    """
    A documented way txcausal's log differs from Eliot's.

    @ivar name: What differs.
    @ivar row: The first cell of its row of the "Coming from Eliot" table.
    @ivar value: Whether Eliot's value and txcausal's, at a field or inside
        one, are this difference (or C{None}).
    @ivar only_ours: Whether a field only txcausal's message has is this
        difference (or C{None}).
    @ivar extra_message: Whether a message only txcausal logs is this
        difference (or C{None}).
    @ivar outcomes: For a program's record of a check that C{shows} this
        difference (a test, a call): its outcome under Eliot and under
        txcausal.
    @ivar undo: txcausal's messages with this difference taken out, as
        Eliot logs them (or C{None}); seen where that changes them.
    """

    name: str
    row: str
    value: Optional[Callable[[Any, Any], bool]] = None
    only_ours: Optional[Callable[[str, Dict[str, Any]], bool]] = None
    extra_message: Optional[Callable[[Dict[str, Any]], bool]] = None
    outcomes: Optional[Tuple[Any, Any]] = None
    undo: Optional[Callable[[List[Any]], List[Any]]] = None


def _literal(text: Any) -> Any:
    try:
        return ast.literal_eval(text) if isinstance(text, str) else None
    except (ValueError, SyntaxError):
        return None


def _bytes_decoded(eliot: Any, ours: Any) -> bool:
    value = _literal(eliot)
    return isinstance(value, bytes) and value.decode("utf-8", "backslashreplace") == ours


def _frozenset_listed(eliot: Any, ours: Any) -> bool:
    return (isinstance(eliot, str) and eliot.startswith("frozenset(") and isinstance(ours, list)
            and _literal(eliot[len("frozenset("):-1]) == set(ours))


def _path_text(eliot: Any, ours: Any) -> bool:
    match = re.fullmatch(r"Pure\w*Path\('(.*)'\)", eliot) if isinstance(eliot, str) else None
    return match is not None and match.group(1) == ours


def _library_error(eliot: Any, ours: Any) -> bool:
    """
    @return: Whether C{eliot} and C{ours} are the class, or the text, of an
        error each library raises itself: a L{ValidationError}, or a value
        a L{MemoryLogger} cannot encode.
    """
    if (eliot, ours) == ("eliot._validation.ValidationError", "txcausal._types.ValidationError"):
        return True
    if not (isinstance(eliot, str) and isinstance(ours, str)):
        return False
    field = re.match(r"\('.*', \"Field '([^']*)' requires type", eliot)
    if field is not None:
        return ours.startswith(f"Field '{field.group(1)}' must be one of")
    return "doesn't encode to JSON" in eliot and ours.startswith("cannot encode ")


def _nonfinite_text(eliot: Any, ours: Any) -> bool:
    return eliot is None and ours in ("NaN", "Infinity", "-Infinity")


#: The documented differences, each a row of the table.
KNOWN_DIFFERENCES = [
    Difference("duration", "`duration` on finish messages",
               only_ours=lambda key, m: key == "duration" and "action_status" in m),
    Difference("remote_task_levels", "`remote_task_levels` on finish messages",
               only_ours=lambda key, m: key == "remote_task_levels"
               and m.get("action_status") in ("succeeded", "failed")),
    Difference("bytes", "`bytes` values", value=_bytes_decoded),
    Difference("frozenset", "`frozenset` values", value=_frozenset_listed),
    Difference("paths", "`PurePath` values", value=_path_text),
    Difference("nonfinite", "NaN and the infinities", value=_nonfinite_text),
    Difference("library errors", "errors the library raises itself", value=_library_error),
    Difference("unencodable report", "values JSON cannot encode",
               extra_message=lambda m: m.get("message_type") == "txcausal:unencodable_values"),
    Difference("test failures", "unflushed tracebacks and invalid messages in tests",
               outcomes=("error", "failure")),
    Difference("unencodable values in tests", "values JSON cannot encode, in tests",
               outcomes=("ok", "failure")),
    Difference("inline_callbacks result", "`eliot.twisted.inline_callbacks`",
               outcomes=(None, "returned")),
    Difference("dask tracing", "`eliot.dask.compute_with_trace`, `persist_with_trace`",
               undo=without_dask_tracing),
]


class Comparison:
    """
    Compares two logs, collecting the differences that are not documented
    and the documented ones seen.
    """

    def __init__(self) -> None:
        self.unexplained: List[str] = []
        self.seen: Set[str] = set()

    def _explained(self, kind: str, *args: Any) -> bool:
        for difference in KNOWN_DIFFERENCES:
            check = getattr(difference, kind)
            if check is not None and check(*args):
                self.seen.add(difference.name)
                return True
        return False

    def without_extra(self, ours: List[Any]) -> List[Any]:
        """
        @return: txcausal's messages but those only it logs, and with the
            documented differences of structure undone.
        """
        kept = [m for m in ours
                if not (isinstance(m, dict) and self._explained("extra_message", m))]
        for difference in KNOWN_DIFFERENCES:
            if difference.undo is not None:
                undone = difference.undo(kept)
                if undone != kept:
                    self.seen.add(difference.name)
                    kept = undone
        return kept

    def messages(self, eliot: List[Any], ours: List[Any], kind: str = "message") -> None:
        if len(eliot) != len(ours):
            self.unexplained.append(f"{len(eliot)} {kind}s under Eliot, {len(ours)} under "
                                    f"txcausal:\n  eliot:    {eliot}\n  txcausal: {ours}")
        for index, (theirs, mine) in enumerate(zip(eliot, ours, strict=False)):
            where = f"{kind} {index + 1} ({_describe(theirs)})"
            if isinstance(theirs, dict) and isinstance(mine, dict):
                self._fields(where, theirs, mine)
            else:
                self.values(where, theirs, mine)

    def _shown(self, eliot: Dict[str, Any], ours: Dict[str, Any]) -> bool:
        """
        @return: Whether C{eliot} and C{ours} record the outcomes of a test
            that shows a documented difference, as documented.
        """
        for difference in KNOWN_DIFFERENCES:
            if (difference.outcomes is not None and eliot.get("shows") == difference.name
                    and ours.get("shows") == difference.name
                    and (eliot.get("outcome"), ours.get("outcome")) == difference.outcomes):
                self.seen.add(difference.name)
                return True
        return False

    def _fields(self, where: str, eliot: Dict[str, Any], ours: Dict[str, Any]) -> None:
        if self._shown(eliot, ours):
            eliot = {k: v for k, v in eliot.items() if k != "outcome"}
            ours = {k: v for k, v in ours.items() if k != "outcome"}
        for key in sorted(set(eliot) | set(ours)):
            if key not in ours:
                self.unexplained.append(f"{where}: {key!r} only under Eliot: {eliot[key]!r}")
            elif key not in eliot:
                if not self._explained("only_ours", key, ours):
                    self.unexplained.append(f"{where}: {key!r} only under txcausal: {ours[key]!r}")
            else:
                self.values(f"{where} {key!r}", eliot[key], ours[key])

    def values(self, where: str, eliot: Any, ours: Any) -> None:
        if type(eliot) is type(ours) and not isinstance(eliot, (dict, list)) and eliot == ours:
            return
        if self._explained("value", eliot, ours):
            return
        if isinstance(eliot, dict) and isinstance(ours, dict):
            self._fields(where, eliot, ours)
        elif isinstance(eliot, list) and isinstance(ours, list) and len(eliot) == len(ours):
            for index, (theirs, mine) in enumerate(zip(eliot, ours, strict=True)):
                self.values(f"{where}[{index}]", theirs, mine)
        else:
            self.unexplained.append(f"{where}: Eliot {eliot!r}, txcausal {ours!r}")


def _describe(message: Any) -> str:
    if not isinstance(message, dict):
        return repr(message)[:60]
    kind = message.get("action_type", message.get("message_type"))
    status = message.get("action_status", "")
    return f"{kind} {status} {message.get('task_level')}".strip()


def program_names() -> List[str]:
    """
    @return: The names of the programs, without C{.py}.
    """
    return sorted(path.stem for path in PROGRAMS.glob("prog_*.py"))


@frozen
class Outcome:
    """
    The comparison of one program's two runs.
    """

    skipped: Optional[str]
    unexplained: List[str]
    seen: Set[str]


@lru_cache(maxsize=None)
def compare_program(name: str) -> Outcome:
    """
    Run a program of L{PROGRAMS} under Eliot and under txcausal, and
    compare.
    """
    source = (PROGRAMS / f"{name}.py").read_text()
    for requirement in _REQUIRES.findall(source):
        for module in (m.strip() for m in requirement.split(",")):
            if importlib.util.find_spec(module.split(".")[0]) is None:
                return Outcome(f"{module} is not installed", [], set())
    if READ_JOURNALD in source.splitlines():
        try:
            journald_ready()
        except SkipTest as reason:
            return Outcome(str(reason), [], set())
    return compare_source(source, f"{name}.py")


def compare_source(source: str, name: str) -> Outcome:
    """
    Run a program under Eliot, and with its imports swapped (where C{eliot}
    cannot be imported), and compare what they logged and printed.  A
    program that logs nothing under Eliot (or, saying L{READ_JOURNALD},
    writes nothing to journald) proves nothing, and one that writes on
    standard error under txcausal what it does not under Eliot (a report
    of a failed destination, a traceback) went wrong: each is a difference.
    """
    eliot = run_program(source, name)
    ours = run_program(swap_imports(source), name, eliot=False)
    comparison = Comparison()
    for label, run in (("Eliot", eliot), ("txcausal", ours)):
        if run.status != 0:
            comparison.unexplained.append(f"exit status {run.status} under {label}:\n{run.stderr}")
    if not eliot.logged:
        comparison.unexplained.append("the program logged nothing under Eliot")
    if READ_JOURNALD in source.splitlines() and not eliot.journal:
        comparison.unexplained.append("nothing in the journal under Eliot")
    theirs = set(eliot.stderr.splitlines())
    extra = [line for line in ours.stderr.splitlines() if line not in theirs]
    if ours.status == 0 and extra:
        comparison.unexplained.append("standard error under txcausal only:\n" + "\n".join(extra))
    _compare_runs(comparison, eliot, ours)
    return Outcome(None, comparison.unexplained, comparison.seen)


def _compare_runs(comparison: Comparison, eliot: Run, ours: Run) -> None:
    """
    Compare what two runs logged, wrote to journald and printed.
    """
    eliot_messages, eliot_output = normalize(eliot.logged, eliot.stdout)
    our_messages, our_output = normalize(comparison.without_extra(ours.logged), ours.stdout)
    comparison.messages(eliot_messages, our_messages)
    comparison.messages(normalize(eliot.journal, "")[0],
                        normalize(comparison.without_extra(ours.journal), "")[0],
                        "journal entry")
    if eliot_output != our_output:
        comparison.unexplained.append(f"standard output differs:\n--- Eliot\n{eliot_output}"
                                      f"--- txcausal\n{our_output}")


class SwapTests(SynchronousTestCase):
    """
    L{swap_imports} changes the import lines only.
    """

    def test_swap(self) -> None:
        """
        C{from eliot...} lines name txcausal's modules; renamed names are
        imported under Eliot's name; other lines are left alone.
        """
        source = ("from eliot import start_action, writeFailure, Message\n"
                  "    from eliot.stdlib import EliotHandler\n"
                  "x = 'from eliot import y'\n")
        self.assertEqual(swap_imports(source),
                         "from txcausal import start_action, Message; "
                         "from txcausal.twisted import writeFailure\n"
                         "    from txcausal.stdlib import CausalHandler as EliotHandler\n"
                         "x = 'from eliot import y'\n")

    def test_parenthesized(self) -> None:
        """
        Names in parentheses over several lines, with comments, are swapped
        as on one line; blank lines keep the lines after at their numbers.
        """
        source = ("from eliot import (\n"
                  "    Logger,  # the module's\n"
                  "    writeFailure,\n"
                  ")\n"
                  "from eliot.testing import (validateLogging,\n"
                  "    LoggedAction)\n"
                  "x = 1\n")
        self.assertEqual(swap_imports(source),
                         "from txcausal import Logger; from txcausal.twisted import writeFailure\n"
                         "\n\n\n"
                         "from txcausal.compat import validateLogging; "
                         "from txcausal.testing import LoggedAction\n"
                         "\n"
                         "x = 1\n")

    def test_importEliot(self) -> None:
        """
        C{import eliot} imports txcausal under Eliot's name; another
        C{import eliot...} is refused rather than left unswapped.
        """
        self.assertEqual(swap_imports("  import eliot\n"), "  import txcausal as eliot\n")
        self.assertRaises(ValueError, swap_imports, "import eliot.twisted\n")

    def test_compat(self) -> None:
        """
        A program holding the line C{# swap: txcausal.compat} gets
        C{txcausal.compat} for C{eliot}; Eliot's other modules are
        txcausal's.
        """
        source = (f"{COMPAT}\nfrom eliot import startAction\n"
                  "from eliot.testing import LoggedAction\n")
        self.assertEqual(swap_imports(source),
                         f"{COMPAT}\nfrom txcausal.compat import startAction\n"
                         "from txcausal.testing import LoggedAction\n")
        self.assertEqual(swap_imports(f"{COMPAT}\nimport eliot\n"),
                         f"{COMPAT}\nimport txcausal.compat as eliot\n")


class ComparisonTests(SynchronousTestCase):
    """
    L{Comparison} finds what differs, and lets through only the documented
    differences.
    """

    def compare(self, eliot: List[Any], ours: List[Any]) -> Comparison:
        comparison = Comparison()
        comparison.messages(eliot, comparison.without_extra(ours))
        return comparison

    def test_undocumented(self) -> None:
        """
        A missing field, another value, a missing message and an extra one
        are each reported.
        """
        base = {"message_type": "m", "task_level": [1], "n": 1}
        self.assertEqual(len(self.compare([base], [{**base, "n": 2}]).unexplained), 1)
        self.assertEqual(len(self.compare([base], [{"task_level": [1], "n": 1}]).unexplained), 1)
        self.assertEqual(len(self.compare([base, base], [base]).unexplained), 1)
        self.assertEqual(len(self.compare([base], [base, base]).unexplained), 1)

    def test_documented(self) -> None:
        """
        A documented difference passes, and is recorded as seen; nested
        values are compared one by one.
        """
        eliot = {"action_status": "succeeded", "v": [{"b": "b'x'"}, None]}
        ours = {"action_status": "succeeded", "v": [{"b": "x"}, "NaN"], "duration": 0.1}
        report = {"message_type": "txcausal:unencodable_values"}
        comparison = self.compare([eliot], [ours, report])
        self.assertEqual(comparison.unexplained, [])
        self.assertEqual(comparison.seen, {"bytes", "nonfinite", "duration",
                                           "unencodable report"})

    def test_libraryErrors(self) -> None:
        """
        The class and the text of a L{ValidationError} are txcausal's, of
        the same field; another text is not.
        """
        eliot = {"exception": "eliot._validation.ValidationError",
                 "reason": "('x', \"Field 'foo' requires type to be one of [<class 'int'>]\")"}
        ours = {"exception": "txcausal._types.ValidationError",
                "reason": "Field 'foo' must be one of ['int'], not str"}
        self.assertEqual(self.compare([eliot], [ours]).unexplained, [])
        other = {**ours, "reason": "Field 'bar' must be one of ['int'], not str"}
        self.assertEqual(len(self.compare([eliot], [other]).unexplained), 1)


    def test_nestedTypes(self) -> None:
        """
        Values inside lists and dicts are compared with their types: C{1.0}
        is not C{1}, nor C{True} C{1}.
        """
        base = {"message_type": "m", "task_level": [1]}
        self.assertEqual(len(self.compare([{**base, "v": [1.0, {"t": True}]}],
                                          [{**base, "v": [1, {"t": 1}]}]).unexplained), 2)

    def test_daskTracing(self) -> None:
        """
        txcausal's tracing of a Dask task (an C{eliot:remote_task} action
        whose first message is C{dask:task}) is taken out: what the task
        logged moves up a level, in its place among its siblings, and the
        levels after it are renumbered, as Eliot 1.18 logs on current Dask.
        """
        def m(level: List[int], **fields: Any) -> Dict[str, Any]:
            return {"task_uuid": "u", "task_level": level, **fields}

        def action(level: List[int], kind: str, status: str) -> Dict[str, Any]:
            return m(level, action_type=kind, action_status=status)

        eliot = [action([1], "dask:compute", "started"),
                 action([2, 1], "app:work", "started"), m([2, 2], message_type="app:step"),
                 action([2, 3], "app:work", "succeeded"), m([3], message_type="app:more"),
                 m([4], message_type="app:other"),
                 action([5], "dask:compute", "succeeded")]
        ours = [action([1], "dask:compute", "started"),
                action([2, 1], "eliot:remote_task", "started"),
                m([2, 2], message_type="dask:task", key="a", dependencies=[]),
                action([2, 3, 1], "app:work", "started"), m([2, 3, 2], message_type="app:step"),
                action([2, 3, 3], "app:work", "succeeded"), m([2, 4], message_type="app:more"),
                action([2, 5], "eliot:remote_task", "succeeded"),
                action([3, 1], "eliot:remote_task", "started"),
                m([3, 2], message_type="dask:task", key="b", dependencies=["a"]),
                m([3, 3], message_type="app:other"),
                action([3, 4], "eliot:remote_task", "failed"),
                action([5], "dask:compute", "succeeded")]
        comparison = self.compare(eliot, ours)
        self.assertEqual(comparison.unexplained, [])
        self.assertEqual(comparison.seen, {"dask tracing"})

    def test_remoteTaskKept(self) -> None:
        """
        An C{eliot:remote_task} action whose first message is not
        C{dask:task}, and an action of another type whose first message
        is, are not taken out.
        """
        def m(level: List[int], kind: str, status: str = "") -> Dict[str, Any]:
            if status:
                return {"task_uuid": "u", "task_level": level, "action_type": kind,
                        "action_status": status}
            return {"task_uuid": "u", "task_level": level, "message_type": kind}

        messages = [m([1], "app:main", "started"),
                    m([2, 1], "eliot:remote_task", "started"), m([2, 2], "app:m"),
                    m([2, 3], "dask:task"), m([2, 4], "eliot:remote_task", "succeeded"),
                    m([3, 1], "app:action", "started"), m([3, 2], "dask:task"),
                    m([3, 3], "app:action", "succeeded"),
                    m([4], "app:main", "succeeded")]
        comparison = Comparison()
        self.assertEqual(comparison.without_extra(messages), messages)
        self.assertEqual(comparison.seen, set())

    def test_remoteTaskLevelsOnFinishOnly(self) -> None:
        """
        C{remote_task_levels} is documented on finish messages only.
        """
        base = {"message_type": "m", "task_level": [1]}
        comparison = self.compare([base], [{**base, "remote_task_levels": ["/1"]}])
        self.assertEqual(len(comparison.unexplained), 1)


class HarnessTests(SynchronousTestCase):
    """
    L{compare_source} does not pass a program that proves nothing.
    """

    def test_logsNothing(self) -> None:
        """
        A program that logs nothing under Eliot is reported.
        """
        outcome = compare_source("print('hello')\n", "prog_silent.py")
        self.assertEqual(len(outcome.unexplained), 1, outcome.unexplained)
        self.assertIn("logged nothing", outcome.unexplained[0])

    def test_eliotUnreachable(self) -> None:
        """
        The program with its imports swapped cannot reach Eliot by another
        way: both runs would log the same, proving nothing.
        """
        outcome = compare_source(
            "import sys\n"
            "eliot = __import__('eliot')\n"
            "eliot.to_file(open(sys.argv[1], 'ab'))\n"
            "eliot.log_message(message_type='app:m')\n", "prog_indirect.py")
        self.assertTrue(any("under txcausal" in text and "must not import eliot" in text
                            for text in outcome.unexplained), outcome.unexplained)

    def test_errorOutput(self) -> None:
        """
        What txcausal's run writes on standard error (a report of a failed
        destination, a traceback) is reported.
        """
        outcome = compare_source(
            "import sys\n"
            "from eliot import log_message, to_file\n"
            "to_file(open(sys.argv[1], 'ab'))\n"
            "log_message(message_type='app:m')\n"
            "if 'txcausal' in sys.modules:\n"
            "    print('oops', file=sys.stderr)\n", "prog_stderr.py")
        self.assertEqual(len(outcome.unexplained), 1, outcome.unexplained)
        self.assertIn("oops", outcome.unexplained[0])


class JournalHarnessTests(SynchronousTestCase):
    """
    A program holding the line C{# read: journald} has what it wrote to
    journald compared too.
    """

    def setUp(self) -> None:
        journald_ready()

    def test_fieldsCompared(self) -> None:
        """
        The fields of the journal entries are compared: another
        C{SYSLOG_IDENTIFIER} under txcausal is a difference.
        """
        if importlib.util.find_spec("cffi") is None:
            raise SkipTest("cffi is not installed: Eliot's JournaldDestination needs it")
        outcome = compare_source(
            f"{READ_JOURNALD}\n"
            "import sys\n"
            "from eliot import add_destinations, log_message, to_file\n"
            "from eliot.journald import JournaldDestination\n"
            "to_file(open(sys.argv[1], 'ab'))\n"
            "ours = 'txcausal' in sys.modules\n"
            "add_destinations(JournaldDestination(identifier='other') if ours\n"
            "                 else JournaldDestination())\n"
            "log_message(message_type='app:m')\n", "prog_journal_fields.py")
        self.assertEqual(len(outcome.unexplained), 1, outcome.unexplained)
        self.assertIn("'SYSLOG_IDENTIFIER': Eliot 'prog_journal_fields.py', txcausal 'other'",
                      outcome.unexplained[0])

    def test_emptyJournal(self) -> None:
        """
        A program that writes nothing to journald under Eliot is reported.
        """
        outcome = compare_source(
            f"{READ_JOURNALD}\n"
            "import sys\n"
            "from eliot import log_message, to_file\n"
            "to_file(open(sys.argv[1], 'ab'))\n"
            "log_message(message_type='app:m')\n", "prog_journal_empty.py")
        self.assertEqual(len(outcome.unexplained), 1, outcome.unexplained)
        self.assertIn("nothing in the journal under Eliot", outcome.unexplained[0])


class DropInTests(SynchronousTestCase):
    """
    Each program logs the same under Eliot 1.18 and under txcausal, but for
    the documented differences.
    """

    def check(self, name: str) -> None:
        outcome = compare_program(name)
        if outcome.skipped:
            raise SkipTest(outcome.skipped)
        self.assertEqual(outcome.unexplained, [], "\n\n".join(outcome.unexplained))

    def test_everyDifferenceSeen(self) -> None:
        """
        Each documented difference is shown by at least one program, so the
        list stays true.
        """
        seen: Set[str] = set()
        for name in program_names():
            seen |= compare_program(name).seen
        self.assertEqual(sorted(d.name for d in KNOWN_DIFFERENCES if d.name not in seen), [])

    def test_differencesAreDocumented(self) -> None:
        """
        Each documented difference is a row of the "Coming from Eliot"
        table, as are the renamed names.
        """
        text = (docs_dir() / "quickstart.md").read_text()
        table = text[text.index("## Coming from Eliot"):]
        rows = [line.split("|")[1].strip() for line in table.splitlines()
                if line.startswith("| ")]
        self.assertEqual([d.row for d in KNOWN_DIFFERENCES if d.row not in rows], [])
        for (module, name), _ in RENAMED.items():
            self.assertIn(f"eliot.{module + '.' if module else ''}{name}", table)

    def test_programsCoverTheManual(self) -> None:
        """
        There is a program for each section of the manual.
        """
        sections = {"messages", "values", "actions", "log_call", "types", "errors", "threads",
                    "processes", "testing", "twisted", "threaded_writer", "outputs", "stdlib",
                    "asyncio", "reading", "journald", "dask"}
        self.assertEqual(sections - {n[len("prog_"):] for n in program_names()}, set())


def _add_program_tests() -> None:
    for name in program_names():
        def test(self: DropInTests, name: str = name) -> None:
            self.check(name)

        test.__doc__ = f"C{{{name}.py}} logs the same under Eliot 1.18 and txcausal."
        setattr(DropInTests, f"test_{name[len('prog_'):]}", test)


_add_program_tests()

__all__ = ["swap_imports", "compare_program", "compare_source", "KNOWN_DIFFERENCES", "COMPAT"]
