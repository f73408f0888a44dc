# -*- test-case-name: txcausal.test.test_eliot_modules -*-
"""
Filter a log with a Python expression, as C{eliot.filter}::

    python -m txcausal.filter "J['field'] if J.get('message_type') == 'app:m' else SKIP" < app.log

Each line is decoded as C{J}; the expression's value is written as a line of
JSON (datetimes in ISO 8601), unless it is C{SKIP}.  C{datetime} and
C{timedelta} are available to it.  The expression is the user's own code,
run as it is: do not pass text from elsewhere.  For filters by field, type,
task or time without writing Python, see C{txcausal filter}.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import IO, Any, Iterable, Union

#: What C{python -m txcausal.filter} prints when not given one expression.
USAGE = """\
Usage: python -m txcausal.filter <expr> < app.log

Decode each line of standard input as J, evaluate the Python expression
<expr>, and write its value as a line of JSON (datetimes in ISO 8601), unless
it is SKIP.  datetime and timedelta are available.

Examples:

    python -m txcausal.filter J
    python -m txcausal.filter "J['field'] if J.get('message_type') == 'my:message' else SKIP"
"""


def _datetimes(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class CausalFilter:
    """
    Evaluates an expression for each message of a log, writing the results.

    @ivar code: The compiled expression.
    """

    #: What the expression returns to write nothing for a message.
    SKIP = object()

    def __init__(self, expr: str, incoming: Iterable[Union[str, bytes]], output: IO[str]) -> None:
        """
        @param expr: A Python expression of C{J}.
        @param incoming: Lines of JSON.
        @param output: Where the results go, a line each.
        @raise SyntaxError: If C{expr} is not an expression.
        """
        self.code = compile(expr, "<filter>", "eval")
        self.incoming = incoming
        self.output = output

    def run(self) -> None:
        """
        Filter every line of the input.

        @raise ValueError: At a line that is not JSON.
        """
        for line in self.incoming:
            result = self._evaluate(json.loads(line))
            if result is not self.SKIP:
                self.output.write(json.dumps(result, default=_datetimes) + "\n")

    def _evaluate(self, message: Any) -> Any:
        scope = {"J": message, "datetime": datetime, "timedelta": timedelta, "SKIP": self.SKIP}
        return eval(self.code, {"__builtins__": __builtins__}, scope)


def main(sys: Any = sys) -> int:
    """
    Run the program: the expression is the only argument, the log comes on
    standard input, the results go to standard output.

    @param sys: The C{sys} module, or a stand-in with C{argv}, C{stdin},
        C{stdout} and C{stderr}.
    @return: The exit status: 1 (after the usage) when the arguments are
        wrong.
    """
    if len(sys.argv) != 2:
        sys.stderr.write(USAGE)
        return 1
    CausalFilter(sys.argv[1], sys.stdin, sys.stdout).run()
    return 0


__all__ = ["CausalFilter", "main", "USAGE"]

if __name__ == "__main__":
    raise SystemExit(main())
