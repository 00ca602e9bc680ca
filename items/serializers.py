"""Items in and out of the API."""

from typing import Any

from rest_framework import serializers

from core.fields import (
    TEXT_CONTROLS,
    FastRowMixin,
    StrictCharField,
    save_update_fields,
)
from items.models import Item


class ItemSerializer(FastRowMixin, serializers.ModelSerializer[Item]):
    """An item; the owner is always the caller, whatever the body says."""

    title = StrictCharField(min_length=1, max_length=255)
    description = StrictCharField(
        allow_null=True,
        allow_blank=True,
        required=False,
        default=None,
        allowed_controls=TEXT_CONTROLS,  # free text: tabs and line breaks
    )

    class Meta:
        model = Item
        fields = ["id", "title", "description", "owner_id", "created_at", "updated_at"]
        read_only_fields = ["id", "owner_id", "created_at", "updated_at"]

    def update(self, instance: Item, validated_data: dict[str, Any]) -> Item:
        """Save only the fields the request changed, so the owner is never written.

        A row deleted meanwhile is a 404, not a new row.
        """
        if not validated_data:  # PATCH {}: nothing to write, updated_at included
            return instance
        for field, value in validated_data.items():
            setattr(instance, field, value)
        save_update_fields(instance, [*validated_data, "updated_at"])
        return instance


class ItemFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """The list's query: an optional title filter (empty means no filter)."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=255,
        help_text="Case-insensitive part of the title.",
    )
