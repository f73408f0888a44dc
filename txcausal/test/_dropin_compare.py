"""
The drop-in harness's comparison (see L{txcausal.test.test_dropin}): a
program run under Eliot and with its imports swapped, what the two runs
logged compared message by message; every difference must be one of
L{KNOWN_DIFFERENCES}, the rows of the "Coming from Eliot" table in
C{docs/quickstart.md}.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from attrs import frozen
from twisted.trial.unittest import SkipTest

from ._dropin_logs import journald_ready, without_dask_tracing
from ._dropin_run import READ_JOURNALD, Run, normalize, run_program, swap_imports

PROGRAMS = Path(__file__).parent / "dropin"

_REQUIRES = re.compile(r"^# requires: (.+)$", re.MULTILINE)


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
