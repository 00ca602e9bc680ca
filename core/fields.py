"""Serializer fields that refuse wrong types, a fast, exact output path, a save."""

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Model
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.exceptions import NotFound
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

from core.validators import validate_ascii_local_part

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    # The mixin is checked as the string field it is mixed into.
    _StringField = serializers.CharField
else:
    _StringField = object

MAX_ID_DIGITS = 18  # every such number fits PostgreSQL's bigint: no overflow in a query


def id_from_text(value: object) -> int | None:
    """Read a row id written as text (a path, a token claim, a reset link), if sane.

    ASCII digits only: int() would also read " 7", "7_0" and other scripts' digits.
    """
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= MAX_ID_DIGITS
    ):
        return int(value)
    return None


# C0 control characters (U+0000 to U+001F): invisible, and in a title, a name or an
# email only ever a client's bug or an attack on whoever displays the text.
C0_CONTROLS = "".join(chr(code) for code in range(0x20))
# What free text (a description) may hold of them: tab and line breaks.
TEXT_CONTROLS = "\t\n\r"


def _controls_pattern(allowed: str) -> re.Pattern[str] | None:
    refused = "".join(char for char in C0_CONTROLS if char not in allowed)
    return re.compile(f"[{re.escape(refused)}]") if refused else None


class StrictStringMixin(_StringField):
    """Accept only a JSON string, no longer than max_length as sent.

    DRF turns 5 into "5", and checks max_length after trimming whitespace, so a
    title of 255 characters plus leading spaces passed although the schema (and
    the client's own validation) says 255 at most. C0 control characters are
    refused, but for those named in `allowed_controls` (NUL never passes: DRF
    refuses it, and PostgreSQL text cannot hold it).
    """

    default_error_messages: ClassVar[dict[str, "StrOrPromise"]] = {
        "control_character": "Control characters (U+0000 to U+001F) are not allowed.",
        "text_control_character": (
            "Control characters (U+0000 to U+001F) other than tab, line feed and "
            "carriage return are not allowed."
        ),
    }
    max_length: int | None

    def __init__(self, *, allowed_controls: str = "", **kwargs: Any) -> None:
        self.allowed_controls = allowed_controls
        self._refused_controls = _controls_pattern(allowed_controls)
        self._controls_error = (
            "text_control_character" if allowed_controls else "control_character"
        )
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        """Refuse control characters first: DRF returns blank text unvalidated."""
        if (
            isinstance(data, str)
            and self._refused_controls
            and self._refused_controls.search(data)
        ):
            self.fail(self._controls_error)
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str:
        """Refuse a non-string, and a string over max_length before trimming."""
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    """A string field: a number, boolean, list or object is a 400, not its text."""


class StrictEmailField(StrictStringMixin, serializers.EmailField):
    """An email field that accepts only a JSON string of at most max_length."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(validate_ascii_local_part)


def iso_datetime(value: datetime | None) -> str | None:
    """Format a timestamp exactly as DRF's DateTimeField does, several times faster.

    In the current time zone (UTC), ISO 8601, with "Z" for a zero offset.
    """
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def save_update_fields(instance: Model, fields: list[str]) -> None:
    """save(update_fields=fields), where a row deleted meanwhile is a 404.

    Django's save never INSERTs then: an UPDATE that matches no row raises a bare
    DatabaseError (Django 6 names it Model.NotUpdated). What the driver raises (an
    outage, a constraint) always comes as one of DatabaseError's subclasses, and
    no second query is needed (none could run inside a transaction marked for
    rollback).
    """
    try:
        instance.save(update_fields=fields)
    except DatabaseError as exc:
        if type(exc) is not DatabaseError:
            raise
        raise NotFound() from exc


# Fields whose to_representation returns a database value of their type unchanged.
_VERBATIM = {
    serializers.BooleanField.to_representation,
    serializers.CharField.to_representation,
    serializers.IntegerField.to_representation,
    serializers.ReadOnlyField.to_representation,
}


def _verbatim(value: Any) -> Any:
    return value


def _formatter(field: Any, columns: set[str]) -> Callable[[Any], Any] | None:
    """A fast formatter with DRF's output for a field read from a column, if any."""
    if field.source not in columns:  # a method, a property, a relation, "*", "a.b"
        return None
    method = type(field).to_representation
    if method in _VERBATIM:
        return _verbatim
    if method is serializers.BigIntegerField.to_representation and not getattr(
        field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING
    ):
        return _verbatim
    if (
        method is serializers.DateTimeField.to_representation
        and not hasattr(field, "timezone")
        and str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower()
        == ISO_8601
        and settings.USE_TZ
    ):
        return iso_datetime
    return None


class FastRowMixin:
    """A model serializer's rows without DRF's per-field machinery, same output.

    `Meta.fields` stays the truth: the readable fields of the class are read once
    into columns. A field whose source is a database column of the model and whose
    output is the value itself or an ISO 8601 timestamp is read and formatted
    directly (what makes lists and details cheaper); any other field goes through
    DRF's get_attribute and to_representation. For serializers whose fields do not
    depend on the context or the instance (no `get_fields` override).
    """

    _columns: ClassVar[list[tuple[str, str, Callable[[Any], Any] | None]]]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """The instance's row: the declared readable fields' output, in order."""
        columns = type(self).__dict__.get("_columns")
        if columns is None:  # first use of this class; a race computes it twice
            columns = type(self)._columns = self._plan()
        row: dict[str, Any] = {}
        for name, source, formatter in columns:
            if formatter is not None:
                value = getattr(instance, source)
                row[name] = None if value is None else formatter(value)
                continue
            field = self.fields[name]  # type: ignore[attr-defined]
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            pk = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            row[name] = None if pk is None else field.to_representation(attribute)
        return row

    def _plan(self) -> list[tuple[str, str, Callable[[Any], Any] | None]]:
        """The columns of the row, from the declared readable fields."""
        concrete = self.Meta.model._meta.concrete_fields  # type: ignore[attr-defined]
        columns = {f.attname for f in concrete} | {
            f.name for f in concrete if not f.is_relation
        }
        return [
            (field.field_name, field.source, _formatter(field, columns))
            for field in self._readable_fields  # type: ignore[attr-defined]
        ]
