"""The items app."""

from django.apps import AppConfig


class ItemsConfig(AppConfig):
    """Items that users own."""

    name = "items"
    default_auto_field = "django.db.models.BigAutoField"
