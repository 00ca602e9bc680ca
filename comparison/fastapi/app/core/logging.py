"""structlog for the application's lines and the standard library's alike."""

import logging
import re
import sys
from typing import Any

import structlog

SECRET_KEYS = re.compile(r"pass|secret|token|authorization|cookie|session", re.I)
BEARER = re.compile(r"(Bearer\s+)[\w\-.~+/=]+|eyJ[\w-]+\.[\w-]+\.[\w-]+")


def redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Replace the value of any key that names a secret, and JWTs inside messages."""
    for key, value in event.items():
        if SECRET_KEYS.search(key):
            event[key] = "[REDACTED]"
        elif isinstance(value, str):
            event[key] = BEARER.sub("[REDACTED]", value)
    return event


def configure_logging(*, level: str, json_logs: bool) -> None:
    """One line per event on stderr, JSON or key=value, with the request's context."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # below LOG_LEVEL: no processing at all
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # uvicorn and gunicorn log through the root handler; the access line is ours.
    for name in ("uvicorn", "uvicorn.error", "gunicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
