"""
The drop-in harness's runs (see L{txcausal.test.test_dropin}): a program's
imports of C{eliot} swapped for txcausal's as a user swaps them, the
program run in a directory of its own, and what it logged read back and
made comparable from one run to the next.
"""

from __future__ import annotations

import ast
import json
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

from attrs import frozen

from ._dropin_logs import journal_entries
from ._helpers import run_python

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
        path = []
        if not eliot:
            blocked = Path(directory) / "no-eliot"
            blocked.mkdir()
            (blocked / "eliot.py").write_text(_NO_ELIOT)
            path.append(blocked)
        result = run_python([str(script), str(output)], cwd=Path(directory), path=path)
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
