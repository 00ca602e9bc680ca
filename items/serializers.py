"""Items in and out of the API."""

from typing import Any

from rest_framework import serializers

from config.fields import StrictCharField
from items.models import Item


class ItemSerializer(serializers.ModelSerializer[Item]):
    """An item; the owner is always the caller, whatever the body says."""

    title = StrictCharField(min_length=1, max_length=255)
    description = StrictCharField(
        allow_null=True, allow_blank=True, required=False, default=None
    )

    class Meta:
        model = Item
        fields = ["id", "title", "description", "owner_id", "created_at", "updated_at"]
        read_only_fields = ["id", "owner_id", "created_at", "updated_at"]


class ItemFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """The list's query: an optional title filter."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,  # `?q=` and `?q=%20` both mean no filter
        max_length=255,
        help_text="Case-insensitive part of the title.",
    )
