"""
A small service run by the C{causal-example} twistd plugin.
"""
