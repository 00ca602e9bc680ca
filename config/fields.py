"""Serializer fields that refuse wrong types, and fast, exact output helpers."""

from datetime import datetime
from typing import Any

from django.db.models import Model
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound


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
