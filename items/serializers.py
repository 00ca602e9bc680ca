"""Items in and out of the API."""

from typing import Any

from django.db import DatabaseError, transaction
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from core.fields import TEXT_CONTROLS, FastRowMixin, StrictCharField
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

        save(update_fields=...) never INSERTs: a row deleted meanwhile is a 404.
        """
        if not validated_data:  # PATCH {}: nothing to write, updated_at included
            return instance
        for field, value in validated_data.items():
            setattr(instance, field, value)
        try:
            with transaction.atomic():  # a savepoint, should a caller's block be open
                instance.save(update_fields=[*validated_data, "updated_at"])
        except DatabaseError:  # the UPDATE matched no row: deleted meanwhile?
            if Item.objects.filter(pk=instance.pk).exists():
                raise
            raise NotFound() from None
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
