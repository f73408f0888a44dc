# -*- test-case-name: txcausal.test.test_route -*-
"""
How L{txcausal._output.Destinations} sends messages, worked out whenever the
destinations or the global fields change: destinations that write JSON lines
with the same encoder get each message encoded once for all of them, and
global fields whose values are constants are encoded once and added to each
line already encoded, rather than to a copy of every message.

A destination writes JSON lines if its C{_jsonLines} method returns its
encoder and the function writing lines encoded with it; it returns C{None}
when a subclass changed how the destination encodes or writes, so that the
destination is called with the message, as any other.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from orjson import dumps as _dumps

from ._json import FAST_OPTIONS, NULL, JSONLineEncoder

Destination = Callable[[Dict[str, Any]], None]
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
