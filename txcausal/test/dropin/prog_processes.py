"""
The manual's "Cross-Process Tasks": a task id serialized in one process is
continued in another, which logs into the same task; each process adds a
global field.
"""

import subprocess
import sys

from eliot import add_global_fields, start_action, to_file

SERVER = '''
import sys
from eliot import Action, add_global_fields, start_action, to_file
add_global_fields(process="server")
to_file(open(sys.argv[1], "ab"))

def divide(x, y):
    with start_action(action_type="divide", x=x, y=y) as action:
        result = x / y
        action.add_success_fields(result=result)
    return result

try:
    with Action.continue_task(task_id=sys.argv[2]):
        print(divide(int(sys.argv[3]), int(sys.argv[4])))
except ZeroDivisionError:
    print("failed")
'''

add_global_fields(process="client")
to_file(open(sys.argv[1], "ab"))


def remote_divide(x, y):
    with start_action(action_type="http_request", x=x, y=y) as action:
        task_id = action.serialize_task_id()
        result = subprocess.run([sys.executable, "-c", SERVER, sys.argv[1], task_id, str(x),
                                 str(y)], capture_output=True, text=True, check=True)
        if result.stdout.strip() == "failed":
            raise RuntimeError("500 Server Error")
        answer = float(result.stdout)
        action.add_success_fields(result=answer)
    return answer


with start_action(action_type="main"):
    print(remote_divide(6, 3))
try:
    with start_action(action_type="main"):
        remote_divide(5, 0)
except RuntimeError as e:
    print(e)
