"""
The manual's "Logging Functions": log_call plain and customized, on
methods, raising, nested, and returning None.
"""

import sys

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
