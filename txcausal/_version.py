# -*- test-case-name: txcausal.test.test_cli -*-
"""
The version of txcausal, read by C{setup.cfg} and shown by C{txcausal
--version}.
"""

#: The version of this release.
__version__ = "0.1.0"
