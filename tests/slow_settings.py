"""Test settings that add the slow view of tests/slow_urls.py (never in production)."""

from config.test_settings import *  # noqa: F403

ROOT_URLCONF = "tests.slow_urls"
