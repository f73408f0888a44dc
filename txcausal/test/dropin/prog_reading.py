"""
The manual's "Reading Logs": eliot.prettyprint's formats, TAI64N times and
the standard serializers, printed.
"""

import sys
from datetime import datetime, timezone

from eliot import start_action, to_file
from eliot.prettyprint import compact_format, pretty_format
from eliot.serializers import md5hex, timestamp
from eliot.tai64n import decode, encode

to_file(open(sys.argv[1], "ab"))
with start_action(action_type="app:read", lines=["a", "b"], text="two\nlines"):
    pass

message = {"task_uuid": "u", "task_level": [2, 1], "timestamp": 1700000000.25,
           "message_type": "app:m", "value": "hello", "another": 1}
print(pretty_format(message))
print(compact_format(message))
print(encode(1700000000.25), decode(encode(1700000000.25)))
print(timestamp(datetime(2024, 1, 31, tzinfo=timezone.utc)), md5hex(b"data"))
