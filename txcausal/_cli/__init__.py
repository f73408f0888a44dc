# -*- test-case-name: txcausal.test.test_cli -*-
"""
The C{txcausal} command: read logs as trees, pretty blocks, filtered JSON
lines, the story of a key or statistics of durations.

Each subcommand is a module with C{NAME}, C{HELP}, C{add_arguments(parser)}
and C{run(args, streams) -> int}, listed once in L{COMMANDS}.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType
from typing import IO, Any, List, Optional, Sequence

from .._version import __version__
from . import _demo, _export, _filter, _pretty, _stats, _story, _tree, _web
from ._common import Streams
from ._tree import render_lines
from ._tree_text import TreeOptions

#: The subcommands, in the order C{--help} lists them.
COMMANDS: List[ModuleType] = [_tree, _pretty, _filter, _story, _stats, _export, _web, _demo]


def build_parser(commands: Sequence[ModuleType] = COMMANDS) -> argparse.ArgumentParser:
    """
    The argument parser, with one subparser per command.
    """
    parser = argparse.ArgumentParser(
        prog="txcausal",
        description="Read txcausal and Eliot logs (JSON lines, Twisted JSON logs, .gz).",
    )
    parser.add_argument("--version", action="version", version=f"txcausal {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands:
        sub = subparsers.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run, command=command.NAME)
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """
    Parse the command line, letting options come after or between the
    files (C{txcausal tree a.log --failed b.log}).

    argparse cannot intermix with subcommands, so the subcommand's own
    parser does it; anything else (C{--help}, no or an unknown command)
    is left to the main parser.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and argv:
            sub = action.choices.get(argv[0])
            if sub is not None:
                return sub.parse_intermixed_args(argv[1:])  # type: ignore[no-any-return]
    return parser.parse_args(argv)


def _quiet_broken_pipe(stdout: Any) -> None:
    """
    After the reader of our output went away (C{| head}), point standard
    output at C{/dev/null} so that flushing it at exit stays quiet.
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass


def main(
    argv: Optional[Sequence[str]] = None,
    stdin: Any = None,
    stdout: Optional[IO[str]] = None,
    stderr: Optional[IO[str]] = None,
) -> int:
    """
    Run the C{txcausal} command.

    @param argv: The arguments, without the program name; C{sys.argv[1:]}
        by default.
    @param stdin: Standard input (a binary stream or a text stream with a
        C{buffer}); C{sys.stdin} by default.
    @param stdout: Where output goes; C{sys.stdout} by default.
    @param stderr: Where errors and progress go; C{sys.stderr} by default.
    @return: The exit status.
    """
    streams = Streams(
        stdin if stdin is not None else sys.stdin,
        stdout if stdout is not None else sys.stdout,
        stderr if stderr is not None else sys.stderr,
    )
    args = parse_arguments(build_parser(), sys.argv[1:] if argv is None else list(argv))
    try:
        status: int = args.run(args, streams)
        streams.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe(streams.stdout)
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # A bug: one line, not a traceback.
        streams.stderr.write(f"txcausal: internal error: {type(e).__name__}: {str(e)[:200]!r}\n")
        return 70
    return status


__all__ = ["COMMANDS", "TreeOptions", "build_parser", "main", "parse_arguments", "render_lines"]
