"""Serializer fields that refuse wrong types instead of coercing them."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string field: a number, boolean, list or object is a 400, not its text."""

    def to_internal_value(self, data: Any) -> str:
        """Accept only a JSON string."""
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    """An email field that accepts only a JSON string."""

    def to_internal_value(self, data: Any) -> str:
        """Accept only a JSON string."""
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def iso_datetime(value: datetime | None) -> str | None:
    """Format a timestamp exactly as DRF's DateTimeField does, several times faster.

    In the current time zone (UTC), ISO 8601, with "Z" for a zero offset.
    """
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
