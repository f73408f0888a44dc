"""
A tiny test package whose txcausal messages land in trial's test.log.

Run it (from any directory, with this folder on PYTHONPATH) with any of::

    trial redirect_demo
    python -m twisted.trial redirect_demo
    trial -j 2 redirect_demo

then read the log with ``txcausal tree _trial_temp/test.log``.
Under pytest, redirectLogsForTrial() does nothing.
"""
