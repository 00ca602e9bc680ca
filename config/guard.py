"""The production guard: what makes a configuration unsafe to serve.

A refusal is a SystemExit with one line, so that `manage.py`, Celery and gunicorn
(see config/wsgi.py) stop with the reason and no traceback.
"""

import environ

ENVIRONMENTS = ("development", "production")
MIN_KEY_LENGTH = 50
PLACEHOLDER_MARKERS = ("insecure", "change-me", "changeme", "example", "secret-key")
MIN_METRICS_TOKEN_LENGTH = 32
# Mailers that deliver nothing, or keep working reset links where operators read.
LOCAL_MAILERS = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "core.mail.ConsoleEmailBackend",
)


def deployment_mode(env: environ.Env) -> str:
    """Return DJANGO_ENV; stop with one line on an unknown value.

    A typo ("prod", "Production ") must not quietly turn the production guard off.
    """
    mode = env.str("DJANGO_ENV", default="").strip().lower() or "development"
    if mode not in ENVIRONMENTS:
        raise SystemExit(
            f"Refusing to start: DJANGO_ENV must be one of {', '.join(ENVIRONMENTS)}."
        )
    return mode


def required(env: environ.Env, name: str) -> str:
    """Return a setting that has no default; stop with one line when unset or empty."""
    value = env.str(name, default="")
    if not value:
        raise SystemExit(
            f"Refusing to start: {name} is not set; set it in the environment or "
            f".env (see .env.example)."
        )
    return value


def _weak_key(key: str, min_length: int = MIN_KEY_LENGTH) -> bool:
    """Say whether a signing key is short, a placeholder or nearly constant."""
    lowered = key.lower()
    return (
        len(key) < min_length
        or len(set(key)) < 5
        or any(marker in lowered for marker in PLACEHOLDER_MARKERS)
    )


def production_problems(
    *,
    debug: bool,
    secret_key: str,
    jwt_signing_key: str,
    allowed_hosts: list[str],
    email_backend: str,
    allow_console_email: bool,
    metrics_token: str | None,
) -> list[str]:
    """Return why these settings are unsafe in production, one sentence a problem.

    `metrics_token` is None when metrics are off (then no token is needed).
    """
    problems = []
    if debug:
        problems.append("DJANGO_DEBUG is on; set DJANGO_DEBUG=false.")
    if _weak_key(secret_key):
        problems.append(
            f"DJANGO_SECRET_KEY is not a real secret (a random string of at least "
            f"{MIN_KEY_LENGTH} characters, no placeholder)."
        )
    if _weak_key(jwt_signing_key):
        problems.append(
            f"JWT_SIGNING_KEY is not a real secret (a random string of at least "
            f"{MIN_KEY_LENGTH} characters, no placeholder)."
        )
    elif jwt_signing_key == secret_key:
        problems.append("JWT_SIGNING_KEY must differ from DJANGO_SECRET_KEY.")
    if not [host for host in allowed_hosts if host.strip()]:
        problems.append("DJANGO_ALLOWED_HOSTS is empty; list the host names served.")
    elif "*" in allowed_hosts:
        problems.append("DJANGO_ALLOWED_HOSTS holds '*'; list the host names served.")
    if email_backend in LOCAL_MAILERS and not allow_console_email:
        problems.append(
            "EMAIL_URL is a console or file mailer: reset emails would reach no one "
            "or sit in files with working links; set an smtp:// EMAIL_URL (or "
            "EMAIL_ALLOW_CONSOLE=true to allow it)."
        )
    if metrics_token is not None and _weak_key(metrics_token, MIN_METRICS_TOKEN_LENGTH):
        problems.append(
            f"METRICS_TOKEN is unset or not a real secret (a random string of at "
            f"least {MIN_METRICS_TOKEN_LENGTH} characters) while /metrics is on; set "
            f"it, or METRICS_ENABLED=false."
        )
    return problems
