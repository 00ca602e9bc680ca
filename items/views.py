"""The items endpoints."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view

from core.json import ORJSONParser
from core.viewsets import ModelViewSet
from items.models import Item, ItemQuerySet
from items.serializers import ItemFilterSerializer, ItemSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List items, newest first",
        description="A user sees their own items; a superuser sees every item.",
        parameters=[ItemFilterSerializer],
    ),
    create=extend_schema(summary="Create an item"),
    retrieve=extend_schema(summary="Read an item"),
    update=extend_schema(summary="Replace an item"),
    partial_update=extend_schema(summary="Update an item"),
    destroy=extend_schema(summary="Delete an item"),
)
class ItemViewSet(ModelViewSet[Item]):
    """List, create, read, update and delete items: own ones, or all for a superuser."""

    serializer_class = ItemSerializer
    parser_classes = [ORJSONParser]

    def get_queryset(self) -> ItemQuerySet:
        items = Item.objects.visible_to(self.request.user)
        if self.action == "list":
            query = ItemFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            if q := query.validated_data.get("q"):
                items = items.filter(title__icontains=q)
            items = items.newest_first()
        return items

    def perform_create(self, serializer: Any) -> None:
        serializer.save(owner=self.request.user)
