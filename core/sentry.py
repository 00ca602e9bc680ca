"""Sentry, when a DSN is set: no personal data, token and password fields scrubbed."""

SENTRY_EXTRA_DENYLIST = [
    "access_token",
    "refresh_token",
    "current_password",
    "new_password",
    "password1",
    "password2",
    "uid",
    "jwt",
    "x_request_id",
]


def configure_sentry(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float
) -> None:
    """Send errors to Sentry, without personal data and with token fields scrubbed."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        event_scrubber=EventScrubber(
            denylist=[*DEFAULT_DENYLIST, *SENTRY_EXTRA_DENYLIST], recursive=True
        ),
        traces_sample_rate=traces_sample_rate,
    )
