"""The Django admin for items."""

from django import forms
from django.contrib import admin

from items.models import Item


class ItemForm(forms.ModelForm):
    """An item; an empty description is stored as null, as the API does."""

    description = forms.CharField(
        required=False, empty_value=None, widget=forms.Textarea
    )

    class Meta:
        model = Item
        fields = ("title", "description", "owner")


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    """Items: owner shown and picked by autocomplete; search by title or owner."""

    form = ItemForm
    list_display = ("title", "owner", "created_at", "updated_at")
    list_select_related = ("owner",)  # one query for the page, not one per row
    list_filter = ("created_at", "updated_at")
    search_fields = ("title", "owner__email")
    search_help_text = "Search by title or owner email."
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    fields = ("title", "description", "owner", "created_at", "updated_at")
    list_per_page = 50
    show_full_result_count = False
