"""The core app."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The plumbing every app shares: errors, middleware, health, metrics, throttles."""

    name = "core"

    def ready(self) -> None:
        """Connect the signal that counts the dependency errors behind a 500."""
        from django.core.signals import got_request_exception

        from core.metrics import count_unhandled_error

        got_request_exception.connect(count_unhandled_error, weak=False)
