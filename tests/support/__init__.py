"""Test helpers that are not tests: servers, log capture, HTTP, the TCP fault proxy.

The fixtures that use them are in tests/conftest.py; the scripts share servers.py.
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the project's root
