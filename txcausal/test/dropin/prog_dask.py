"""
The manual's "Using Dask": compute_with_trace instead of dask.compute, and
persist_with_trace instead of dask.persist, on Bag and Delayed graphs whose
tasks are log_call functions; a task that raises fails the computation.

On the threaded scheduler; each graph is a chain (one partition, one task
depending on the one before), as Dask runs tasks that do not depend on each
other in an order that changes from run to run.
"""

# requires: dask, distributed

import sys

import dask
from dask.bag import from_sequence
from eliot import log_call, log_message, start_action, to_file
from eliot.dask import compute_with_trace, persist_with_trace


@log_call
def multiply(x, y=7):
    return x * y


@log_call
def add(x, y):
    return x + y


@log_call
def divide(x, y):
    return x / y


@log_call
def main_computation():
    bag = from_sequence([1, 2, 3], npartitions=1)
    bag = bag.map(multiply).fold(add)
    return compute_with_trace(bag)[0]


to_file(open(sys.argv[1], "ab"))
with dask.config.set(scheduler="threads"):
    print("Result:", main_computation())
    with start_action(action_type="app:persist"):
        total = dask.delayed(add)(dask.delayed(multiply)(2), 1)
        [persisted] = persist_with_trace(total)
        log_message(message_type="app:persisted")
    print("Persisted:", persisted.compute())
    try:
        compute_with_trace(dask.delayed(multiply)(dask.delayed(divide)(1, 0)))
    except ZeroDivisionError as error:
        print("Failed:", error)
