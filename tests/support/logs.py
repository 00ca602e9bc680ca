"""Capturing log lines as the service renders them, to assert on them."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from core.logging import structlog_formatter


class CapturedLogs:
    """Every log line written while capturing, rendered as the service renders it."""

    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        """All the lines, as written."""
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        """The lines parsed, when captured as JSON."""
        return [json.loads(line) for line in self.text.splitlines()]


@contextmanager
def capture_logs(
    fmt: str = "json", level: int = logging.DEBUG
) -> Iterator[CapturedLogs]:
    """Capture every log line (stdlib and structlog), rendered by the service as fmt."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog_formatter(fmt))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
