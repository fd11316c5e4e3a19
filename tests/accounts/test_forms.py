"""The account's page forms are Django forms rendered with django-dsfr whose fields carry the model fields'
validators: a wrong value is refused on the page with the message the admin and the API give."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from omniguichet.accounts.forms import LoginForm
from omniguichet.referential import validators
from omniguichet.referential.models import Person


def validator_message(value: str) -> str:
    with pytest.raises(ValidationError) as refused:
        validators.validate_nir(value)
    return refused.value.messages[0]


@pytest.mark.parametrize("nir", ["1234", "184127505600199", "18413750560011"])
def test_the_login_form_refuses_a_wrong_nir_with_the_validators_message(db, nir):
    form = LoginForm({"nir": nir, "password": "x"})
    assert not form.is_valid()
    assert form.errors["nir"] == [validator_message(nir)]
    # the same message as the model field's (the admin, full_clean)
    person_field = Person._meta.get_field("nir")
    with pytest.raises(ValidationError) as model_refusal:
        person_field.clean(nir, None)
    assert validator_message(nir) in model_refusal.value.messages


def test_the_login_page_draws_the_error_under_its_input_the_dsfr_way(db):
    page = Client().post("/compte/connexion/", {"nir": "1234", "password": "x"})
    body = page.content.decode()
    assert page.status_code == 422
    assert 'aria-describedby="id_nir-desc-error"' in body and 'aria-invalid="true"' in body
    assert 'class="fr-error-text"' in body and 'id="form-message"' in body
    assert 'autocomplete="current-password"' in body and 'autocomplete="username"' in body


def test_the_activation_code_page_answers_every_field_at_once(db):
    """The NIR refused by its field's validator, the passwords by the service: one answer (the code is only
    checked once the rest is sound, so that a mistyped form does not spend one of its five tries)."""
    page = Client().post(
        "/compte/activation/code/", {"nir": "1234", "code": "12", "password": "a", "password2": "b"}
    )
    body = page.content.decode()
    assert page.status_code == 422
    for name in ("nir", "password", "password2"):
        assert f'aria-describedby="id_{name}-desc-error"' in body, name
    assert validator_message("1234") in body
