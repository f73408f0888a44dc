"""
The manual's "Journald": JournaldDestination writes each message to
journald as JSON in MESSAGE, with its task in ELIOT_TASK, its type in
ELIOT_TYPE, the program's name in SYSLOG_IDENTIFIER, and priority 3 ("err")
for a failed action, 2 ("crit") for a traceback, 6 ("info") otherwise.

The harness reads back, with journalctl, the entries of the tasks the
program also logs to its file.
"""

# requires: cffi
# read: journald

import sys

from eliot import Message, add_destinations, log_message, start_action, to_file, write_traceback
from eliot.journald import JournaldDestination

add_destinations(JournaldDestination())
to_file(open(sys.argv[1], "ab"))


def divide(a, b):
    with start_action(action_type="divide", a=a, b=b):
        return a / b


print(divide(10, 2))
Message.log(message_type="inbetween")
try:
    print(divide(10, 0))
except ZeroDivisionError:
    write_traceback()
with start_action(action_type="app:report", percent="100%") as action:
    log_message(message_type="app:line", text="first line\nsecond, 50% of it", city="Zürich")
    Message.log(note="a message without a type")
    action.add_success_fields(done=True)
