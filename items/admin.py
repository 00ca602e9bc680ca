"""The Django admin for items."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError

from items.models import Item


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, which ignores a submitted id that is no id.

    Django's own widget looks the submitted value up to redraw an invalid form, and a
    value such as "abc" made that a 500 instead of the field's "Select a valid choice".
    """

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        """Draw the selected option, leaving out values the key cannot hold."""
        key = self.field.target_field
        ids = []
        for candidate in value:
            try:
                key.run_validators(key.to_python(candidate))
            except ValidationError:
                continue
            ids.append(candidate)
        return super().optgroups(name, ids, attr)


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
    list_display = ("title", "owner", "created_at")
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

    def formfield_for_foreignkey(
        self, db_field: Any, request: Any, **kwargs: Any
    ) -> Any:
        """Use the autocomplete widget that survives a malformed owner id."""
        if db_field.name in self.get_autocomplete_fields(request):
            kwargs.setdefault(
                "widget",
                SafeAutocompleteSelect(
                    db_field, self.admin_site, using=kwargs.get("using")
                ),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
