# -*- test-case-name: txcausal.test.test_bench -*-
"""
C{python -m bench}: run the benchmark suite and print the table.
"""

from ._main import main

if __name__ == "__main__":
    main()
