"""
The twistd plugin of the example: C{twistd -n causal-example --causal-log
causal.log}.  This directory has no C{__init__.py}: Twisted finds plugins in
every C{twisted/plugins/} directory on C{sys.path}.
"""

from twisted.application.service import ServiceMaker

causalExample = ServiceMaker(
    "txcausal example",
    "causal_example.service",
    "Logs some causal work on startup and shutdown.",
    "causal-example",
)
