"""
The manual's "Logging Functions": log_call plain and customized, on
methods, raising, nested, and returning None; on a generator function (the
action is the call, its result the generator).  txcausal's warning about
the latter, documented in the table, is silenced.
"""

import sys
import warnings

from eliot import log_call, start_action, to_file

to_file(open(sys.argv[1], "ab"))


@log_call
def calculate(x, y):
    return x * y


@log_call(action_type="CALC", include_args=["x"], include_result=False)
def calculate2(x, y):
    return x * y


@log_call
def nothing(flag=True):
    pass


@log_call
def fails(n):
    raise ValueError(f"bad {n}")


warnings.filterwarnings("ignore", "log_call on generator function")


@log_call
def rows(n):
    yield from range(n)


class Shop:
    @log_call
    def price(self, sku, qty=1):
        return calculate(qty, 2)


calculate(3, 4)
calculate2(3, y=4)
nothing()
try:
    fails(7)
except ValueError:
    pass
with start_action(action_type="app:checkout"):
    Shop().price("plum", qty=3)
    Shop().price(sku="fig")
print("rows", list(rows(2)))
