# -*- test-case-name: txcausal.test.test_json -*-
"""
Text for any object, even one whose C{repr} or C{str} raises, and for
tracebacks: what reports about bad values and failures write.
"""

from __future__ import annotations

from traceback import FrameSummary, StackSummary, TracebackException, walk_tb
from types import TracebackType
from typing import Any, List, Optional, Tuple, Type

#: How much of a representation is kept.
MAX_REPR = 4096


def type_name(value: Any) -> str:
    """
    @return: The qualified name of C{value}'s class, e.g.
        C{"decimal.Decimal"}.
    """
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def safe_repr(value: Any, limit: int = MAX_REPR) -> str:
    """
    @return: C{repr(value)}, cut to C{limit} characters, or a placeholder if
        C{repr} itself fails.
    """
    try:
        text = repr(value)
    except Exception as e:
        text = f"<unrepresentable {type(value).__qualname__}: {type(e).__name__}>"
    if len(text) > limit:
        text = text[:limit] + "...<truncated>"
    return text


def safe_str(value: Any, limit: int = MAX_REPR) -> str:
    """
    @return: C{str(value)}, cut to C{limit} characters, or its L{safe_repr}
        if C{str} fails.
    """
    try:
        return str(value)[:limit]
    except Exception:
        return safe_repr(value, limit)


#: An exception's C{reason} when its C{str()} raises: Eliot's text.
UNKNOWN_REASON = "eliot: unknown, str() raised exception"


def reason_text(exception: BaseException, limit: int = MAX_REPR) -> str:
    """
    @return: The C{reason} field of a failed action or a traceback:
        C{str(exception)}, cut to C{limit} characters, or Eliot's
        L{UNKNOWN_REASON} if C{str} fails.
    """
    try:
        return str(exception)[:limit]
    except Exception:
        return UNKNOWN_REASON


def traceback_text(
    typ: Optional[Type[BaseException]], value: BaseException, tb: Optional[TracebackType]
) -> str:
    """
    Format an exception and its traceback as Eliot does, without reading or
    checking any source file (the caller may be the reactor thread): each
    frame gives its file, line number and function, never the source line.
    Chained and grouped exceptions are formatted as
    L{traceback.format_exception} does.

    @return: The text of the traceback, ending with the exception's line.
    """
    # limit=0: the standard library extracts no frame, so it neither reads
    # lines nor checks the files linecache holds (an os.stat each); the
    # frames are filled in from the tracebacks, walking the chain alongside.
    formatted = TracebackException(
        typ or type(value), value, tb, limit=0, lookup_lines=False, compact=True
    )
    pending: List[Tuple[TracebackException, BaseException, Optional[TracebackType]]] = [
        (formatted, value, tb)
    ]
    seen = set()
    while pending:
        exception, raised, trace = pending.pop()
        if id(exception) in seen:
            continue
        seen.add(id(exception))
        exception.stack = _StackWithoutSource(
            FrameSummary(frame.f_code.co_filename, lineno, frame.f_code.co_name,
                         lookup_line=False)
            for frame, lineno in walk_tb(trace)
        )
        for linked, cause in ((exception.__cause__, raised.__cause__),
                              (exception.__context__, raised.__context__)):
            if linked is not None and cause is not None:
                pending.append((linked, cause, cause.__traceback__))
        inner = zip(getattr(exception, "exceptions", None) or (),
                    getattr(raised, "exceptions", None) or (), strict=False)
        pending.extend((linked, cause, cause.__traceback__) for linked, cause in inner)
    return "".join(formatted.format())


#: As in L{traceback}: a frame repeated more often is summarised.
_RECURSIVE_CUTOFF = 3


class _StackWithoutSource(StackSummary):
    """
    A stack formatted from the frames' file, line number and function only:
    a frame's C{line} attribute, which reads the file, is never asked for.
    """

    def format(self, **kwargs: Any) -> List[str]:
        result: List[str] = []
        last, count = None, 0
        for frame in self:
            where = (frame.filename, frame.lineno, frame.name)
            if where != last:
                result.extend(_repeated(count))
                last, count = where, 0
            count += 1
            if count <= _RECURSIVE_CUTOFF:
                result.append('  File "{}", line {}, in {}\n'.format(*where))
        result.extend(_repeated(count))
        return result


def _repeated(count: int) -> List[str]:
    """
    @return: The line that stands for the repetitions of a frame past the
        first few, as L{traceback} writes it, if there are any.
    """
    count -= _RECURSIVE_CUTOFF
    if count <= 0:
        return []
    return [f"  [Previous line repeated {count} more time{'s' if count > 1 else ''}]\n"]
