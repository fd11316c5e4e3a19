"""Model and form fields of identifiers, places and phone numbers.

Each field carries the validator of `referential.validators` that the services use, so that the admin, model
forms and `Model.full_clean()` refuse what the API refuses, with the same message. Each also normalises what a
person types the way the services do (spaces and dots removed, upper case, a phone written nationally turned into
E.164) before validating: in the form field's `to_python` for forms, in the model field's `clean()` for
`full_clean()`. Rules spanning several fields are in the models' `clean()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models

from omniguichet.referential import validators


class NormalisingFormField(forms.CharField):
    """A text input whose value is normalised before its validators see it.

    No `maxlength`: people type spaces ("1 84 12 75 056 001 15"); the validator checks the length of the
    normalised value and says what is wrong with it.
    """

    def __init__(self, *, normalise: Callable[[str], str], **kwargs: Any) -> None:
        kwargs["max_length"] = None
        self.normalise = normalise
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return value if value in self.empty_values else self.normalise(value)


class ValidatedCharField(models.CharField):
    """A CharField carrying one validator of `referential.validators`.

    `validator` raises ValidationError (the API's message) or returns the value normalised; `compact` normalises a
    value it refuses, so that the message speaks of what the services would have seen. When the validator checks
    the length itself, Django's generic "at most N characters" is left out so that one message says it.
    """

    default_max_length: ClassVar[int]
    validator_checks_length: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", self.default_max_length)
        kwargs.setdefault("validators", [type(self).validator])
        super().__init__(*args, **kwargs)
        if self.validator_checks_length:
            self.validators[:] = [v for v in self.validators if not isinstance(v, MaxLengthValidator)]

    @staticmethod
    def validator(value: str) -> str:
        raise NotImplementedError

    @staticmethod
    def compact(value: str) -> str:
        return value.strip()

    def deconstruct(self) -> Any:
        # To migrations, a plain CharField with its validator: the column is the same, so these fields change no
        # table (SQLite would rebuild the table for a new field class) and historical models need no import here.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs

    def normalise(self, value: str) -> str:
        try:
            return type(self).validator(value)
        except ValidationError:
            return type(self).compact(value)

    def clean(self, value: Any, model_instance: Any) -> Any:
        # Model.full_clean() stores what this returns. Not in to_python(): lookups call it, and a query for
        # part of a value (nir__startswith="1 84") must not be rewritten.
        value = self.to_python(value)
        return super().clean(value if value in (None, "") else self.normalise(value), model_instance)

    def formfield(self, **kwargs: Any) -> Any:
        defaults: dict[str, Any] = {
            "form_class": NormalisingFormField,
            "normalise": self.normalise,
            "validators": [type(self).validator],
        }
        return super().formfield(**{**defaults, **kwargs})


class NirField(ValidatedCharField):
    """A NIR: 15 characters, key checked; spaces, dots and dashes removed, 2a/2b upper-cased."""

    validator = staticmethod(validators.validate_nir)
    compact = staticmethod(validators.compact_identifier)
    default_max_length = 15


class SiretField(ValidatedCharField):
    """A SIRET: 14 digits, Luhn (La Poste's rule for SIREN 356 000 000); spaces and dots removed."""

    validator = staticmethod(validators.validate_siret)
    compact = staticmethod(validators.compact_siret)
    default_max_length = 14


class RppsField(ValidatedCharField):
    """An RPPS number: 11 digits, Luhn; spaces removed."""

    validator = staticmethod(validators.validate_rpps)
    compact = staticmethod(validators.compact_identifier)
    default_max_length = 11


class PostcodeField(ValidatedCharField):
    """A French postcode: 5 digits, starting with a department, 97 or 98."""

    validator = staticmethod(validators.validate_postcode)
    compact = staticmethod(validators.remove_spaces)
    default_max_length = 5


class InseeCodeField(ValidatedCharField):
    """An INSEE place code (commune, or 99 + country): 5 characters, 2A/2B for Corsica, upper-cased."""

    validator = staticmethod(validators.validate_insee_code)
    compact = staticmethod(validators.compact_place)
    default_max_length = 5


class PhoneField(ValidatedCharField):
    """Any valid phone number (to call), stored in E.164; French numbers may be typed nationally."""

    validator = staticmethod(validators.validate_phone_number)
    default_max_length = 20
    validator_checks_length = False
