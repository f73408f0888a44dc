# -*- test-case-name: txcausal.test.test_bench_aggregate -*-
"""
C{python -m bench.aggregate FILE...}: the published table (medians, ratio
median and range, "met in") from the C{--json} files of several runs of
C{python -m bench}.
"""

from ._aggregate import main

if __name__ == "__main__":
    main()
