"""Structured logs: structlog over the standard library's LOGGING, one pipeline.

Every log line, from the application, Django or Celery, goes through one formatter: the
request's context variables (its request id) are merged in, secrets are redacted and
control characters in values are escaped, then the line is rendered as JSON or for a
console.
"""

import logging
import re
from collections.abc import MutableMapping
from functools import lru_cache
from typing import Any

import orjson
import structlog

REDACTED = "[REDACTED]"

# Substrings of the keys whose values never reach a log line.
_SENSITIVE_KEY_PARTS = (
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "cookie",
    "session",
    "csrf",
    "api_key",
    "signature",
)
# A JWT or a bearer credential inside free text, e.g. a message built by a library.
_CREDENTIAL_RE = re.compile(
    r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|(?i:bearer)\s+\S+"
)
# Values of these keys are rendered as they are (a traceback keeps its line breaks).
_RAW_KEYS = frozenset({"exception", "exc_info", "stack", "stack_info"})


@lru_cache(maxsize=1024)
def is_sensitive_key(key: str) -> bool:
    """Say whether a key names a secret (password, token, cookie, ...)."""
    lowered = key.lower()
    return any(part in lowered for part in _SENSITIVE_KEY_PARTS)


def clean_text(value: str) -> str:
    """Escape control characters and hide credentials in a string that may be input."""
    if "eyJ" in value or "earer" in value:
        value = _CREDENTIAL_RE.sub(REDACTED, value)
    if value.isprintable():
        return value
    # A newline or an escape sequence from a client must not forge or hide log lines.
    return value.encode("unicode_escape").decode("ascii")


def _clean(key: str, value: Any) -> Any:
    if is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {str(k): _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean("", v) for v in value]
    return value


def sanitize(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Redact secrets and escape control characters in every value of a log event."""
    for key, value in event_dict.items():
        if key not in _RAW_KEYS and not key.startswith("_"):
            event_dict[key] = _clean(key, value)
    return event_dict


def _json_dumps(obj: Any, **kwargs: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def _processors(fmt: str) -> tuple[list[Any], list[Any]]:
    """Return the processors every event goes through, and the renderer's."""
    if fmt not in ("json", "console"):
        raise ValueError(f"LOG_FORMAT must be json or console, not {fmt!r}")
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        sanitize,
    ]
    if fmt == "json":
        # A plain traceback string: structured ones carry local variables (secrets).
        renderer: list[Any] = [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_json_dumps),
        ]
    else:
        renderer = [
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            )
        ]
    return shared, renderer


# Django logs these refusals of a client's request (a 400) at error level, with a
# traceback: one warning line says it all.
CLIENT_ERROR_LOGGERS = [
    f"django.security.{name}"
    for name in (
        "DisallowedHost",
        "DisallowedRedirect",
        "RequestDataTooBig",
        "SuspiciousFileOperation",
        "SuspiciousMultipartForm",
        "SuspiciousOperation",
        "TooManyFieldsSent",
        "TooManyFilesSent",
    )
]


class ClientErrorFilter(logging.Filter):
    """Log a refused client request as one warning line, without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Demote an error record to a warning and drop its traceback."""
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = record.stack_info = None
        return True


def configure_structlog(*, fmt: str) -> None:
    """Hand structlog's events to the standard library, as LogRecords.

    One pipeline: every line, structlog's or a library's, goes through LOGGING's
    handler and formatter, and LOGGING's levels filter both. A writer of our own beside
    it saved about 50 microseconds per access line (a LogRecord and the formatter's
    copy of it): 1.41 against 1.46 CPU ms for GET /users/me (scripts/profile.py, light
    load), under 4% of the cheapest authenticated request, and less of any other. Not
    worth a second path that tests, gunicorn and Celery each had to be pointed at.
    """
    shared, _ = _processors(fmt)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def structlog_formatter(fmt: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every line: structlog's events and the stdlib's records."""
    shared, renderer = _processors(fmt)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *renderer,
        ],
    )


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """Configure structlog; return the LOGGING dict that renders every line."""
    if level not in logging.getLevelNamesMapping():
        raise ValueError(
            f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}"
        )
    configure_structlog(fmt=fmt)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structlog": {"()": structlog_formatter, "fmt": fmt}},
        "filters": {"client_error": {"()": ClientErrorFilter}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structlog"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # The application writes one access line per request (core.middleware):
            # runserver's own line and Django's "Not Found: /path" warnings would
            # repeat it. Errors (5xx, with their traceback) still come through.
            "django.server": {"level": "WARNING"},
            "django.request": {"level": "ERROR"},
            # At DEBUG this logs SQL with its parameters: password hashes and tokens.
            "django.db.backends": {"level": "INFO"},
            **{name: {"filters": ["client_error"]} for name in CLIENT_ERROR_LOGGERS},
        },
    }
