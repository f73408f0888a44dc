"""
The manual's "Outputting Logs": messages logged before the first
destination are kept for it; add_destinations, to_file and FileDestination
(text and binary files), add_global_fields, remove_destination, and
json_default for one's own types.
"""

import datetime
import decimal
import json
import sys

from eliot import (
    FileDestination,
    add_destinations,
    add_global_fields,
    log_message,
    remove_destination,
    start_action,
    to_file,
)
from eliot.json import json_default

log_message(message_type="app:early", n=1)
with start_action(action_type="app:early_action"):
    pass


class Money:
    def __init__(self, cents):
        self.cents = cents


def my_default(obj):
    if isinstance(obj, Money):
        return {"cents": obj.cents}
    return json_default(obj)


seen = []


def stdout(message):
    seen.append(message.get("message_type", message.get("action_type")))


add_global_fields(process_id="worker:1")
add_destinations(stdout)
to_file(open(sys.argv[1], "ab"), json_default=my_default)
text = FileDestination(file=open(sys.argv[1], "a"))
add_destinations(text)
log_message(message_type="app:paid", amount=Money(250), items={"fig"})
remove_destination(text)
log_message(message_type="app:after_remove", n=2)
remove_destination(stdout)
log_message(message_type="app:last", n=3)
print(json.dumps(seen))
# A destination of one's own, encoding with the standard library and json_default.
print(json.dumps({"day": datetime.date(2024, 5, 1), "at": datetime.datetime(2024, 5, 1, 12, 0, 7),
                  "price": decimal.Decimal("1.5"), "other": Money}, default=json_default))
