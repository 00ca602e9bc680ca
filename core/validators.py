"""Validators that models and serializers share."""

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email


def validate_ascii_local_part(value: str) -> None:
    """Refuse an email whose local part (before the last "@") is not ASCII.

    Django's EmailValidator refuses non-ASCII local parts, but matches its ASCII
    letters ignoring case, and Unicode case folding maps "ı" (dotless i), "ſ" (long
    s) and "K" (Kelvin sign) to i, s and k: those three passed, and "ſx@" was
    another account than "sx@", since lower() leaves them as they are.
    """
    if value.rpartition("@")[0].isascii():
        return
    try:
        validate_email(value)
    except ValidationError:
        return  # refused by the email validator already: one message is enough
    raise ValidationError(EmailValidator.message, code="invalid")
