"""
The manual's "Errors and Exceptions": failed actions, write_traceback, and
exception extractors (OSError's errno by default).
"""

import sys

from eliot import register_exception_extractor, start_action, to_file, write_traceback

to_file(open(sys.argv[1], "ab"))


class MyException(Exception):
    def __init__(self, code):
        Exception.__init__(self, f"code {code}")
        self.code = code


class MySubException(MyException):
    pass


register_exception_extractor(MyException, lambda e: {"code": e.code})


def dosomething():
    raise KeyError("missing")


class YourClass:
    def run(self):
        try:
            dosomething()
        except Exception:
            write_traceback()


YourClass().run()
with start_action(action_type="app:with_traceback"):
    try:
        print(1 / 0)
    except ZeroDivisionError:
        write_traceback(exc_info=sys.exc_info())
for error in [MyException(7), MySubException(8), OSError(2, "No such file"), ValueError("v")]:
    try:
        with start_action(action_type="app:failing"):
            raise error
    except Exception:
        pass
try:
    with start_action(action_type="app:traceback_fields"):
        try:
            raise MyException(9)
        except MyException:
            write_traceback()
        raise KeyboardInterrupt()
except KeyboardInterrupt:
    pass
