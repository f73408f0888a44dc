"""
The manual's "Cross-Thread Tasks": preserve_context carries the action into
threads, each joined before the next starts.
"""

import sys
from threading import Thread

from eliot import preserve_context, start_action, to_file

to_file(open(sys.argv[1], "ab"))


def add_in_thread(x, y):
    with start_action(action_type="in_thread", x=x, y=y) as context:
        context.add_success_fields(result=x + y)


with start_action(action_type="main_thread"):
    for x in range(3):
        thread = Thread(target=preserve_context(add_in_thread), kwargs={"x": x, "y": 4})
        thread.start()
        thread.join()

# Outside any action preserve_context gives the function back unchanged.
print(preserve_context(add_in_thread) is add_in_thread)
