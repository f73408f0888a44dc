"""
The manual's Dask example: a computation on a local cluster of two worker
processes, each logging to a file of its own, traced into one tree.

    python dask_cluster.py DIR
    txcausal tree DIR/*.log
    txcausal story <a task key shown in the tree> DIR/*.log
"""

import os
import sys

from dask.bag import from_sequence
from dask.distributed import Client, LocalCluster

from txcausal import log_call, to_file
from txcausal.dask import CausalSchedulerPlugin, compute_with_trace


@log_call
def multiply(x, y=7):
    return x * y


@log_call
def add(x, y):
    return x + y


@log_call
def main_computation():
    bag = from_sequence([1, 2, 3]).map(multiply).fold(add)
    return compute_with_trace(bag)[0]  # instead of dask.compute(bag)


def start_logging(directory):
    # One file per process, so that processes never write over each other.
    to_file(open(os.path.join(directory, f"{os.getpid()}.log"), "ab"))


def main(directory):
    os.makedirs(directory, exist_ok=True)
    start_logging(directory)  # this process: the client, and the scheduler
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.run(start_logging, directory)  # each worker process
            client.register_plugin(CausalSchedulerPlugin())  # the scheduler's story
            print("Result:", main_computation())


if __name__ == "__main__":
    main(sys.argv[1])
