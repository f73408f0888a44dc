# -*- test-case-name: txcausal.test.test_bench -*-
"""
txcausal's benchmark suite: txcausal against Eliot 1.18, the standard
library's logging, structlog and C{twisted.logger}, measured in one run.

Run it from the repository root, after C{pip install -e '.[bench]'}::

    python -m bench            # the full run, a few minutes
    python -m bench --quick    # a smoke run: a handful of iterations

See C{docs/performance.md} for the published figures.
"""
