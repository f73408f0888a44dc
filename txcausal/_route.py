# -*- test-case-name: txcausal.test.test_route,txcausal.test.test_output -*-
"""
How L{txcausal._destinations.Destinations} sends messages, worked out whenever the
destinations or the global fields change: destinations that write JSON lines
with the same encoder get each message encoded once for all of them, and
global fields whose values are constants are encoded once and added to each
line already encoded, rather than to a copy of every message.

A destination writes JSON lines if its C{_jsonLines} method returns its
encoder and the function writing lines encoded with it; it returns C{None}
when a subclass changed how the destination encodes or writes, so that the
destination is called with the message, as any other.

Here too: what the registry calls for each destination (L{_guarded}) and
what adds the global fields and those of field sources to a message
(L{_field_adder}).
"""

from __future__ import annotations

from types import FunctionType
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple, cast

from orjson import dumps as _dumps

from ._feedback import FeedbackGuard, is_guarded
from ._json import FAST_OPTIONS, NULL, JSONLineEncoder

Destination = Callable[[Dict[str, Any]], None]
#: Called as each message is sent, in the thread logging it: fields to add
#: to the message (the message's own win), or C{None}.
FieldSource = Callable[[], Optional[Dict[str, Any]]]
#: Adds the global fields (and those of field sources) to a message.
AddFields = Callable[[Dict[str, Any]], Dict[str, Any]]
#: A function writing encoded lines, and the destination it stands for.
Writer = Tuple[Callable[[bytes], None], Destination]

#: The types of global field values encoded once for all messages: values
#: that cannot change after they are added.
_CONSTANT = (str, int, float, bool, type(None))


def json_lines(destination: object) -> Optional[Tuple[JSONLineEncoder, Callable[[bytes], None]]]:
    """
    @return: The encoder of C{destination} and its writer of encoded lines,
        if it writes JSON lines; else C{None}.
    """
    lines = getattr(destination, "_jsonLines", None)
    if lines is None:
        return None
    found: Optional[Tuple[JSONLineEncoder, Callable[[bytes], None]]] = lines()
    return found


def _prefix(encoder: JSONLineEncoder, fields: Dict[str, Any]) -> bytes:
    """
    @return: C{fields} encoded once for all lines: the opening brace and
        each field followed by a comma, to stand for each line's opening
        brace; C{b""} if they are not all constant
        values that C{encoder} encodes with its fast path.
    """
    if not fields or not all(type(value) in _CONSTANT for value in fields.values()):
        return b""
    try:
        data = _dumps(fields, default=encoder.default)
    except TypeError:
        return b""
    if data.partition(NULL)[1]:
        # A float that is not finite: leave it to the full encoder.
        return b""
    return data[:-1] + b","


#: One encoder's share of sending: the encoder, its orjson C{default}, the
#: prefix of its lines (C{b""} for none), and its writers.
Group = Tuple[JSONLineEncoder, Callable[[Any], Any], bytes, Tuple[Writer, ...]]
#: How messages are sent, as L{plan} works it out: the groups, in the order
#: their first destination was added; the destinations that take the
#: message itself, in the order they were added; what adds the fields to a
#: message (C{None} if nothing does); the names of the fields in the
#: prefixes; and every destination, as the registry calls them.
Route = Tuple[Tuple[Group, ...], Tuple[Destination, ...], Optional[AddFields], FrozenSet[str],
              Tuple[Destination, ...]]
#: Reports that a destination failed to take a message (see L{send_routed}).
ReportFailure = Callable[[Dict[str, Any], Destination, BaseException, Tuple[Destination, ...]],
                         Optional[KeyboardInterrupt]]


def encode_line(encoder: JSONLineEncoder, default: Callable[[Any], Any],
                message: Dict[str, Any]) -> bytes:
    """
    @return: C{message} encoded as C{encoder.encode} would, its fast path
        inlined (C{default} is the encoder's).
    """
    try:
        data = _dumps(message, default=default, option=FAST_OPTIONS)
    except TypeError:
        return encoder.encode(message)
    if data.partition(NULL)[1]:
        return encoder.recheck(message, data)
    return data


def plan(destinations: Tuple[Destination, ...], registered: Callable[[Destination], object],
         global_fields: Dict[str, Any], addFields: Optional[AddFields]) -> Route:
    """
    Work out how to send messages.

    @param destinations: The destinations, as the registry calls them.
    @param registered: Gives a destination as it was added.
    @param global_fields: The fields to add to every line already encoded,
        if they can be (not when field sources add fields of their own).
    @param addFields: What adds the fields to a message, or C{None}.
    """
    groups: Dict[int, Tuple[JSONLineEncoder, List[Writer]]] = {}
    others: List[Destination] = []
    for destination in destinations:
        lines = json_lines(registered(destination))
        if lines is None:
            others.append(destination)
        else:
            encoder, write = lines
            groups.setdefault(id(encoder), (encoder, []))[1].append((write, destination))
    return (tuple((encoder, encoder.default, _prefix(encoder, global_fields), tuple(writers))
                  for encoder, writers in groups.values()),
            tuple(others), addFields, frozenset(global_fields), destinations)


def send_routed(message: Dict[str, Any], route: Route, report: ReportFailure
                ) -> Optional[KeyboardInterrupt]:
    """
    Send C{message} along C{route}: encoded once for each group of
    destinations writing JSON lines (the global fields spliced in when
    they can be), then to the others.

    @param report: Reports a destination's failure to take a message,
        given the message, the destination, the exception and every
        destination; returns a L{KeyboardInterrupt} to re-raise.  It is
        called once every destination has had the message, so that the
        others get the report after the message it is about.
    @return: The first L{KeyboardInterrupt} a destination raised (or
        one taking the report of a failure), to re-raise; the others are
        reported as failures.
    """
    groups, others, add_fields, keys, destinations = route
    # The message with the fields added, made when first needed.
    full = message if add_fields is None else None
    # The destinations that failed, reported once every destination had the
    # message, as Eliot does.
    failed: Optional[List[Tuple[Dict[str, Any], Any, BaseException]]] = None
    for encoder, default, prefix, writers in groups:
        data = None
        if prefix and message and message.keys().isdisjoint(keys):
            # The global fields, encoded once, open the line, as they
            # would open the merged message.
            try:
                data = _dumps(message, default=default, option=FAST_OPTIONS)
            except TypeError:
                pass
            else:
                data = None if data.partition(NULL)[1] else prefix + data[1:]
        if data is None:
            if full is None:
                full = _with_fields(message, add_fields)
            data = encode_line(encoder, default, full)
        for write, destination in writers:
            try:
                write(data)
            except BaseException as e:
                if full is None:
                    full = _with_fields(message, add_fields)
                failed = (failed or []) + [(full, destination, e)]
    if others:
        if full is None:
            full = _with_fields(message, add_fields)
        for destination in others:
            try:
                destination(full)
            except BaseException as e:
                failed = (failed or []) + [(full, destination, e)]
    if failed is None:
        return None
    return _report_all(failed, report, destinations)


def _report_all(failed: List[Tuple[Dict[str, Any], Any, BaseException]], report: ReportFailure,
                destinations: Tuple[Destination, ...]) -> Optional[KeyboardInterrupt]:
    """
    Report each failure of L{send_routed}.

    @return: The first L{KeyboardInterrupt} to re-raise, if any.
    """
    interrupted = None
    for full, destination, error in failed:
        reported = report(full, destination, error, destinations)
        interrupted = interrupted or reported
    return interrupted


def _fast_callable(destination: Any) -> Destination:
    """
    @return: What the registry calls for C{destination}: the bound
        C{__call__} of an instance of a class written in Python (calling
        the instance itself builds a tuple of arguments on every message,
        calling the bound method does not: 0.1 us a message), otherwise
        C{destination} itself.
    """
    if (isinstance(type(destination).__call__, FunctionType)
            and "__call__" not in getattr(destination, "__dict__", ())):
        bound = destination.__call__
        # Not a staticmethod: a method bound to this very instance.
        if getattr(bound, "__self__", None) is destination:
            return cast(Destination, bound)
    return cast(Destination, destination)


def _registered(destination: Destination) -> object:
    """
    @return: The destination as it was added, for reports: the instance of
        a bound C{__call__} made by L{_fast_callable}, or the destination a
        L{FeedbackGuard} calls.
    """
    if getattr(destination, "__name__", None) == "__call__":
        added = getattr(destination, "__self__", destination)
        return added.added if type(added) is FeedbackGuard else added
    return destination


def _behind(destination: Destination) -> object:
    """
    @return: The destination as added (L{_registered}), or, for a
        C{ThreadedWriter}, the destination it writes to: the one that uses the
        messages, and reports its own losses.
    """
    added = _registered(destination)
    from ._writercore import WriterCore

    return added.destination if isinstance(added, WriterCore) else added


def _guarded(destination: Any, send: Destination, lost: Callable[[object], None]
             ) -> Destination:
    """
    @return: What the registry calls for C{destination}: what
        L{_fast_callable} returns, behind a L{FeedbackGuard} (see there for
        C{send} and C{lost}) unless the destination writes JSON lines, as
        txcausal's own writers do, which never log, or guards itself.
    """
    call = _fast_callable(destination)
    if json_lines(destination) is not None or is_guarded(destination):
        return call
    return FeedbackGuard(destination, call, send, lost).__call__


def _with_fields(message: Dict[str, Any],
                 add_fields: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]]
                 ) -> Dict[str, Any]:
    """
    @return: C{message} with the global and sourced fields C{add_fields}
        adds, if any.
    """
    return message if add_fields is None else add_fields(message)


def _field_adder(
    global_fields: Dict[str, Any], sources: Tuple[FieldSource, ...]
) -> Optional[Callable[[Dict[str, Any]], Dict[str, Any]]]:
    """
    @return: A function returning a message with the global fields and the
        sources' fields added, or C{None} if there are none to add.
    """
    if not sources:
        if not global_fields:
            return None
        return lambda message: {**global_fields, **message}

    def add_fields(message: Dict[str, Any]) -> Dict[str, Any]:
        added: Dict[str, Any] = {}
        for source in sources:
            try:
                fields = source()
            except Exception:
                continue
            if fields:
                added.update(fields)
        if not added:
            return {**global_fields, **message} if global_fields else message
        return {**added, **global_fields, **message}

    return add_fields
