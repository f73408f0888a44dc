# -*- test-case-name: txcausal.test.test_cli_process -*-
"""
C{python -m txcausal}: the C{txcausal} command.
"""

import sys

from txcausal._cli import main

if __name__ == "__main__":
    sys.exit(main())
