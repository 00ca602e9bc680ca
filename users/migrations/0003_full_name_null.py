"""A user's full name is null when none was given, as in the guide's service.

Until now the column held "" for "no name" (a null sent by a client included); those
rows become NULL, which responses show as `null`. The email's validators refuse a
non-ASCII local part (no schema change).
"""

from django.db import migrations, models

import core.validators


def blank_to_null(apps, schema_editor):
    """Turn every "" full name into NULL."""
    User = apps.get_model("users", "User")
    User.objects.filter(full_name="").update(full_name=None)


def null_to_blank(apps, schema_editor):
    """Turn every NULL full name back into "", for the old NOT NULL column."""
    User = apps.get_model("users", "User")
    User.objects.filter(full_name__isnull=True).update(full_name="")


class Migration(migrations.Migration):

    dependencies = [
        ("users", "0002_user_tokens_valid_after"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="full_name",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.RunPython(blank_to_null, null_to_blank, elidable=True),
        migrations.AlterField(
            model_name="user",
            name="email",
            field=models.EmailField(
                max_length=254,
                unique=True,
                validators=[core.validators.validate_ascii_local_part],
                verbose_name="email address",
            ),
        ),
    ]
