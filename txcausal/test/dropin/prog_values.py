"""
Field values of every kind the manual allows, and of kinds it does not
(which Eliot writes as their repr).
"""

import datetime
import decimal
import math
import pathlib
import sys
import uuid

from eliot import log_message, start_action, to_file

to_file(open(sys.argv[1], "ab"))


class Thing:
    pass


log_message(message_type="app:json", i=1, f=1.5, s="text", u="caf\u00e9 \u2603", none=None,
            t=True, lst=[1, "a", None], d={"nested": {"deep": [1, 2]}}, tup=(1, 2),
            empty="", neg=-3, big=2**62)
log_message(message_type="app:sets", s={3}, fs=frozenset([2]))
log_message(message_type="app:bytes", utf8=b"hello", cafe="caf\u00e9".encode(), raw=b"\xff\xfe")
log_message(message_type="app:dates", day=datetime.date(2024, 1, 31),
            at=datetime.datetime(2024, 1, 31, 12, 30, 5), u=uuid.UUID(int=7))
log_message(message_type="app:paths", path=pathlib.Path("a/b"),
            pure=pathlib.PurePosixPath("/etc/hosts"))
log_message(message_type="app:numbers", nan=math.nan, inf=math.inf, ninf=-math.inf,
            c=complex(1, 2))
with start_action(action_type="app:objects", thing=Thing(), dec=decimal.Decimal("1.25")):
    log_message(message_type="app:error_value", error=ValueError("boom"))
log_message(message_type="app:after", n=2)
