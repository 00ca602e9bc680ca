"""Serializer fields that refuse wrong types, and fast, exact output helpers."""

import re
from datetime import datetime
from typing import Any

from django.db.models import Model
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from core.validators import validate_ascii_local_part

MAX_ID_DIGITS = 18  # every such number fits PostgreSQL's bigint: no overflow in a query


def id_from_text(value: object) -> int | None:
    """Read a row id written as text (a path, a token claim, a reset link), if sane.

    ASCII digits only: int() would also read " 7", "7_0" and other scripts' digits.
    """
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= MAX_ID_DIGITS
    ):
        return int(value)
    return None


# C0 control characters (U+0000 to U+001F): invisible, and in a title, a name or an
# email only ever a client's bug or an attack on whoever displays the text.
C0_CONTROLS = "".join(chr(code) for code in range(0x20))
# What free text (a description) may hold of them: tab and line breaks.
TEXT_CONTROLS = "\t\n\r"


def _controls_pattern(allowed: str) -> re.Pattern[str] | None:
    refused = "".join(char for char in C0_CONTROLS if char not in allowed)
    return re.compile(f"[{re.escape(refused)}]") if refused else None


class StrictStringMixin:
    """Accept only a JSON string, no longer than max_length as sent.

    DRF turns 5 into "5", and checks max_length after trimming whitespace, so a
    title of 255 characters plus leading spaces passed although the schema (and
    the client's own validation) says 255 at most. C0 control characters are
    refused, but for those named in `allowed_controls` (NUL never passes: DRF
    refuses it, and PostgreSQL text cannot hold it).
    """

    default_error_messages = {
        "control_character": "Control characters (U+0000 to U+001F) are not allowed.",
        "text_control_character": (
            "Control characters (U+0000 to U+001F) other than tab, line feed and "
            "carriage return are not allowed."
        ),
    }
    max_length: int | None

    def __init__(self, *, allowed_controls: str = "", **kwargs: Any) -> None:
        self.allowed_controls = allowed_controls
        self._refused_controls = _controls_pattern(allowed_controls)
        self._controls_error = (
            "text_control_character" if allowed_controls else "control_character"
        )
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        """Refuse control characters first: DRF returns blank text unvalidated."""
        if (
            isinstance(data, str)
            and self._refused_controls
            and self._refused_controls.search(data)
        ):
            self.fail(self._controls_error)  # type: ignore[attr-defined]
        return super().run_validation(data)  # type: ignore[misc]

    def to_internal_value(self, data: Any) -> str:
        """Refuse a non-string, and a string over max_length before trimming."""
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(StrictStringMixin, serializers.CharField):
    """A string field: a number, boolean, list or object is a 400, not its text."""


class StrictEmailField(StrictStringMixin, serializers.EmailField):
    """An email field that accepts only a JSON string of at most max_length."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(validate_ascii_local_part)


def iso_datetime(value: datetime | None) -> str | None:
    """Format a timestamp exactly as DRF's DateTimeField does, several times faster.

    In the current time zone (UTC), ISO 8601, with "Z" for a zero offset.
    """
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def save_changed(instance: Model, fields: list[str]) -> None:
    """Write only these columns, in one UPDATE; a row deleted meanwhile is a 404.

    save() would INSERT the row again when its UPDATE matched nothing, and would
    write every column, overwriting concurrent changes to the others.
    """
    values = {
        name: instance._meta.get_field(name).pre_save(instance, False)  # auto_now
        for name in fields
    }
    if not type(instance)._base_manager.filter(pk=instance.pk).update(**values):
        raise NotFound()
