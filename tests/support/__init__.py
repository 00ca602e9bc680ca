"""Test helpers that are not tests: the TCP fault proxy."""
