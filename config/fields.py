"""Serializer fields stricter than DRF's, as the contract wants."""

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers: a JSON string is required, not coerced."""

    def to_internal_value(self, data: Any) -> str:
        """Refuse anything that is not a string (DRF turns 5 into "5")."""
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
