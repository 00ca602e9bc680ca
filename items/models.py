"""Items, each owned by one user."""

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MinLengthValidator
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, PermissionsMixin


class ItemQuerySet(models.QuerySet["Item"]):
    """Item queries, with the visibility rule in one place."""

    def visible_to(self, user: "PermissionsMixin | AnonymousUser") -> "ItemQuerySet":
        """Return every item for a superuser, else only the user's own."""
        if user.is_superuser:
            return self
        return self.filter(owner_id=user.pk)

    def newest_first(self) -> "ItemQuerySet":
        """Order newest first, the id breaking ties so that pages never overlap."""
        return self.order_by("-created_at", "-id")


class Item(models.Model):
    """Something a user owns: a title and an optional description."""

    title = models.CharField(max_length=255, validators=[MinLengthValidator(1)])
    description = models.TextField(null=True, blank=True)  # noqa: DJ001 - null is the contract's "no description"
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,  # items_owner_newest_idx leads with the owner, serves lookups
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The owner's list, newest first: one index range scan, already ordered.
            models.Index(
                "owner",
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="items_owner_newest_idx",
            ),
            # A superuser's list of every item, newest first.
            models.Index(fields=["-created_at", "-id"], name="items_newest_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(title=""), name="items_item_title_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.title
