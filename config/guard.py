"""The production guard: what makes a configuration unsafe to serve.

A refusal is a SystemExit with one line, so that `manage.py`, Celery and gunicorn
(see config/wsgi.py) stop with the reason and no traceback.
"""

import environ

ENVIRONMENTS = ("development", "production")
MIN_KEY_LENGTH = 50
PLACEHOLDER_MARKERS = ("insecure", "change-me", "changeme", "example", "secret-key")


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


def _weak_key(key: str) -> bool:
    """Say whether a signing key is short, a placeholder or nearly constant."""
    lowered = key.lower()
    return (
        len(key) < MIN_KEY_LENGTH
        or len(set(key)) < 5
        or any(marker in lowered for marker in PLACEHOLDER_MARKERS)
    )


def production_problems(
    *, debug: bool, secret_key: str, jwt_signing_key: str, allowed_hosts: list[str]
) -> list[str]:
    """Return why these settings are unsafe in production, one sentence a problem."""
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
    return problems
