"""
The manual's "Actions and Tasks": nested actions, tasks, failures, action
fields, non-finishing contexts, run(), the current action, log levels.
"""

import sys

from eliot import Message, current_action, log_message, start_action, start_task, to_file

to_file(open(sys.argv[1], "ab"))


class FrobError(Exception):
    pass


def get_data():
    log_message(message_type="app:get_data")
    return 3


def do_something(x):
    Message.log(message_type="app:something", x=x)
    return x * 2


try:
    with start_task(action_type="parent"):
        Message.log(message_type="info", x=1)
        with start_action(action_type="child"):
            Message.log(message_type="info", x=2)
        raise RuntimeError("ono")
except RuntimeError:
    pass

with start_action(action_type="yourapp:subsystem:frob", key=123, foo="bar") as action:
    x = get_data()
    action.add_success_fields(result=x * 2)

action = start_action(action_type="yourapp:subsystem:frob2")
try:
    with action.context():
        x = get_data()
    with action.context():
        raise FrobError("no frob")
except FrobError as e:
    action.finish(e)
else:
    action.finish()

with start_action(action_type="your_type").context() as action:
    Message.log(message_type="ok")
    action.finish()
    Message.log(message_type="late")

action = start_action(action_type="app:run")
result = action.run(do_something, x=1)
action.finish()
print("result", result)

with start_action(action_type="store_data", log_level="INFO"):
    print("inside a task:", current_action().task_uuid == current_action().task_uuid)
    with start_task(action_type="app:unrelated"):
        pass
print("outside:", current_action())

with start_action(action_type="app:outer") as outer:
    outer.log("app:direct", n=1)
    with start_action(action_type="app:inner") as inner:
        outer.log("app:to_outer", n=2)
        inner.add_success_fields(n=3)
