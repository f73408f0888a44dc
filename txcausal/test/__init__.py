"""
Tests for L{txcausal}.
"""
