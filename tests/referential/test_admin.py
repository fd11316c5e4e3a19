"""The admin refuses what the API refuses, with the API's message (issue 15, part 2).

Each test sends the same value through POST /api/v1/... and through the admin's add or change form, and compares
the admin's error on the field with the API's `fields` entry, in English and in French.
"""

import datetime as dt

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from omniguichet.appointments.models import Appointment, Site
from omniguichet.core.services import issue_token
from omniguichet.referential.models import ContactPoint, Employer, Person, Professional
from omniguichet.referential.validators import compose_nir, nir_key
from tests.conftest import make_user, person_data

LANGUAGES = ["en", "fr"]


@pytest.fixture
def api(agent_paris):
    _token, secret = issue_token(user=agent_paris)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def admin(db):
    user = make_user("admin-validators", role="")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def api_field_errors(api: Client, path: str, body: dict, language: str) -> dict[str, str]:
    response = api.post(path, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 422, response.content
    return response.json()["error"]["fields"]


def admin_form_errors(admin: Client, path: str, data: dict, language: str) -> dict[str, list[str]]:
    """POST an admin add or change form with its inlines left empty; the form's errors (nothing may be saved)."""
    page = admin.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    management = {}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management.update(
            {
                f"{formset.prefix}-TOTAL_FORMS": str(formset.initial_form_count()),
                f"{formset.prefix}-INITIAL_FORMS": str(formset.initial_form_count()),
            }
        )
        for i, form in enumerate(formset.initial_forms):
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if value is not None and name != "DELETE":
                    management[f"{formset.prefix}-{i}-{name}"] = getattr(value, "pk", value)
    response = admin.post(path, {**management, **data}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, "the admin saved a value the API refuses"
    errors = response.context["adminform"].form.errors
    return {name: list(messages) for name, messages in errors.items()}


def person_form(**overrides) -> dict:
    data = person_data(**overrides)
    form = {
        **{k: v for k, v in data.items() if k not in {"caisse_code", "birth_date"}},
        "caisse": data["caisse_code"],
        "birth_date": data["birth_date"].isoformat(),
        "status": "other",
    }
    return form


def person_json(form: dict) -> dict:
    body = {k: v for k, v in form.items() if k in {"nir", "given_names", "family_name", "sex", "birth_place"}}
    return {
        **body,
        "birth_date": form["birth_date"],
        "caisse": form["caisse"],
        "postcode": form.get("postcode", ""),
    }


def wrong_key(nir: str) -> str:
    return nir[:13] + f"{(int(nir[13:]) % 97) + 1:02d}"


def impossible_month(nir: str) -> str:
    first13 = nir[:3] + "13" + nir[5:13]
    return first13 + nir_key(first13)


# --------------------------------------------------------------------------------------------------------
# Person: add form
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("field", "change"),
    [
        pytest.param("nir", lambda form: {"nir": wrong_key(form["nir"])}, id="wrong-key"),
        pytest.param("nir", lambda form: {"nir": impossible_month(form["nir"])}, id="month-13"),
        pytest.param("nir", lambda form: {"nir": form["nir"][:14]}, id="too-short"),
        pytest.param("birth_date", lambda form: {"birth_date": "1985-12-03"}, id="year-contradicts-nir"),
        pytest.param("birth_date", lambda form: {"birth_date": "1984-11-03"}, id="month-contradicts-nir"),
        pytest.param("sex", lambda form: {"sex": "M"}, id="sex-contradicts-nir"),
        pytest.param("birth_place", lambda form: {"birth_place": "69123"}, id="place-contradicts-nir"),
        pytest.param("birth_place", lambda form: {"birth_place": "75000"}, id="place-commune-000"),
        pytest.param("birth_date", lambda form: {"birth_date": "2999-01-01"}, id="born-in-the-future"),
        pytest.param("postcode", lambda form: {"postcode": "7501"}, id="postcode-4-digits"),
        pytest.param("postcode", lambda form: {"postcode": "99001"}, id="postcode-99"),
    ],
)
def test_admin_add_person_refuses_what_the_api_refuses_with_its_message(admin, api, field, change, language):
    form = person_form()
    form.update(change(form))
    api_errors = api_field_errors(api, "/api/v1/persons", person_json(form), language)
    admin_errors = admin_form_errors(admin, "/admin/referential/person/add/", form, language)
    assert admin_errors[field] == [api_errors[field]]
    assert set(admin_errors) == {field}  # and nothing else is reported against the other fields
    assert Person.objects.count() == 0


def test_admin_add_person_message_is_french_in_french(admin, api):
    form = person_form()
    form["nir"] = wrong_key(form["nir"])
    errors = admin_form_errors(admin, "/admin/referential/person/add/", form, "fr")
    assert errors["nir"][0].startswith("la clé ")


def test_admin_add_person_accepts_a_consistent_identity_typed_with_spaces(admin):
    form = person_form(birth_place="2A004", birth_date=dt.date(1970, 5, 17))
    form["birth_place"] = "2a004"
    nir = form["nir"]
    form["nir"] = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    form["postcode"] = "75 011"
    response = admin.post("/admin/referential/person/add/", {**empty_inlines(), **form})
    assert response.status_code == 302, response.context["adminform"].form.errors
    person = Person.objects.get()
    assert (person.nir, person.birth_place, person.postcode) == (nir, "2A004", "75011")
    assert nir[5:7] == "20"  # Corsica before 1976


def empty_inlines() -> dict:
    data = {}
    for prefix in ("contact_points", "channel_preference", "consents"):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data


# --------------------------------------------------------------------------------------------------------
# Person: change form
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("field", "change"),
    [
        pytest.param("nir", lambda form: {"nir": wrong_key(form["nir"])}, id="wrong-key"),
        pytest.param("nir", lambda form: {"nir": impossible_month(form["nir"])}, id="month-13"),
        pytest.param("birth_date", lambda form: {"birth_date": "1983-12-03"}, id="year-contradicts-nir"),
        pytest.param("birth_date", lambda form: {"birth_date": "1984-01-03"}, id="month-contradicts-nir"),
    ],
)
def test_admin_change_person_refuses_what_the_api_refuses_with_its_message(
    admin, api, make_person, field, change, language
):
    person = make_person()
    nir = person.nir
    form = person_form(nir=nir)
    form.update(change(form))
    # The API refuses the same identity before it looks for the NIR among registered persons.
    api_errors = api_field_errors(api, "/api/v1/persons", person_json(form), language)
    path = f"/admin/referential/person/{person.pk}/change/"
    admin_errors = admin_form_errors(admin, path, form, language)
    assert admin_errors[field] == [api_errors[field]]
    assert set(admin_errors) == {field}  # and nothing else is reported against the other fields
    person.refresh_from_db()
    assert (person.nir, person.birth_date) == (nir, dt.date(1984, 12, 3))


def test_admin_change_keeps_a_pseudo_month_nir_with_any_birth_month(admin, make_person):
    identity = {"sex": "M", "birth_date": dt.date(1961, 7, 14), "birth_place": "99350"}
    nir = compose_nir(**identity, order=17, month=35)
    person = make_person(nir=nir, **identity)
    form = person_form(nir=nir, **identity)
    form["birth_date"] = "1961-02-01"
    response = admin.post(f"/admin/referential/person/{person.pk}/change/", {**empty_inlines(), **form})
    assert response.status_code == 302, response.context["adminform"].form.errors
    person.refresh_from_db()
    assert person.birth_date == dt.date(1961, 2, 1)


# --------------------------------------------------------------------------------------------------------
# Contact points (inline of the person and their own admin), employers, professionals
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("mobile", "01 42 34 56 78"),
        ("mobile", "06 12"),
        ("mobile", "hello"),
        ("email", "marie..dupont@example.fr"),
    ],
)
def test_admin_contact_point_refuses_what_the_api_refuses(admin, api, make_person, kind, value, language):
    person = make_person()
    body = {"kind": kind, "value": value}
    api_errors = api_field_errors(api, f"/api/v1/persons/{person.pk}/contact-points", body, language)
    data = {"person": person.pk, "kind": kind, "value": value}
    admin_errors = admin_form_errors(admin, "/admin/referential/contactpoint/add/", data, language)
    assert admin_errors["value"] == [api_errors["value"]]
    assert ContactPoint.objects.count() == 0


def test_admin_contact_point_is_stored_normalised(admin, make_person):
    person = make_person()
    for kind, value in (("mobile", "06 12 34 56 78"), ("email", " Marie.Dupont@Example.FR ")):
        data = {"person": person.pk, "kind": kind, "value": value}
        response = admin.post("/admin/referential/contactpoint/add/", data)
        assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(ContactPoint.objects.values_list("value", flat=True)) == {
        "+33612345678",
        "marie.dupont@example.fr",
    }


def test_admin_person_inline_contact_point_is_refused(admin, make_person):
    person = make_person()
    path = f"/admin/referential/person/{person.pk}/change/"
    data = {
        **empty_inlines(),
        **person_form(nir=person.nir),
        "contact_points-TOTAL_FORMS": "1",
        "contact_points-0-kind": "mobile",
        "contact_points-0-value": "01 42 34 56 78",
    }
    response = admin.post(path, data)
    assert response.status_code == 200
    formset = next(
        f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "contact_points"
    )
    assert formset.formset.errors[0]["value"] == ["is not a mobile number (SMS cannot reach it)"]
    assert ContactPoint.objects.count() == 0


def luhn_digit(payload: str) -> str:
    total = 0
    for i, char in enumerate(reversed(payload)):
        d = int(char) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "siret",
    [
        pytest.param("73282932000075", id="wrong-check-digit"),
        pytest.param("7328293200007", id="13-digits"),
        pytest.param("7328293200007A", id="letter"),
        pytest.param("35600000000012", id="la-poste-sum-not-multiple-of-5"),
    ],
)
def test_admin_employer_refuses_the_siret_the_api_refuses(admin, api, siret, language):
    body = {"siret": siret, "name": "Boulangerie", "caisse": "751"}
    api_errors = api_field_errors(api, "/api/v1/employers", body, language)
    admin_errors = admin_form_errors(admin, "/admin/referential/employer/add/", body, language)
    assert admin_errors["siret"] == [api_errors["siret"]]
    assert Employer.objects.count() == 0


def test_admin_employer_accepts_la_poste_and_spaces(admin):
    for siret in ("356 000 000 00001", "732 829 320 00074"):
        response = admin.post(
            "/admin/referential/employer/add/", {"siret": siret, "name": "X", "caisse": "751"}
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(Employer.objects.values_list("siret", flat=True)) == {"35600000000001", "73282932000074"}


def test_admin_employer_postcode_has_the_person_api_message(admin, api):
    form = person_form(postcode="2A004")
    api_errors = api_field_errors(api, "/api/v1/persons", person_json(form), "en")
    body = {"siret": "73282932000074", "name": "X", "caisse": "751", "postcode": "2A004"}
    admin_errors = admin_form_errors(admin, "/admin/referential/employer/add/", body, "en")
    assert admin_errors["postcode"] == [api_errors["postcode"]] == ["must have 5 digits"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("rpps", ["10000000001", "1000000000", "1000000000A"])
def test_admin_professional_refuses_the_rpps_the_api_refuses(admin, api, rpps, language):
    body = {
        "rpps": rpps,
        "given_names": "Jean",
        "family_name": "Martin",
        "profession": "nurse",
        "caisse": "751",
    }
    api_errors = api_field_errors(api, "/api/v1/professionals", body, language)
    admin_errors = admin_form_errors(admin, "/admin/referential/professional/add/", body, language)
    assert admin_errors["rpps"] == [api_errors["rpps"]]
    assert Professional.objects.count() == 0


def test_admin_professional_accepts_a_valid_rpps_with_spaces(admin):
    rpps = "1000000000" + luhn_digit("1000000000")
    body = {"rpps": f"{rpps[:5]} {rpps[5:]}", "given_names": "J", "family_name": "M", "profession": "nurse"}
    response = admin.post("/admin/referential/professional/add/", {**body, "caisse": "751"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Professional.objects.get().rpps == rpps


# --------------------------------------------------------------------------------------------------------
# Fields of other apps: the call-back number and the sites' postcodes
# --------------------------------------------------------------------------------------------------------


def test_appointment_phone_and_site_postcode_fields_carry_the_validators():
    from django.core.exceptions import ValidationError

    phone = Appointment._meta.get_field("phone")
    assert phone.clean("01 42 34 56 78", None) == "+33142345678"  # a landline can be called back
    with pytest.raises(ValidationError) as exc:
        phone.clean("01 42", None)
    assert exc.value.messages == ["is not a valid phone number"]
    postcode = Site._meta.get_field("postcode")
    assert postcode.clean("69 003", None) == "69003"
    with pytest.raises(ValidationError) as exc:
        postcode.clean("6900", None)
    assert exc.value.messages == ["must have 5 digits"]


# --------------------------------------------------------------------------------------------------------
# Model.full_clean() (imports, scripts): the same refusals, values normalised on the way
# --------------------------------------------------------------------------------------------------------


class TestFullCleanOfGeneratedNirs(HypothesisTestCase):
    @settings(max_examples=30, deadline=None)
    @given(
        st.sampled_from(["M", "F"]),
        st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2024, 12, 31)),
        st.sampled_from(["75056", "2A004", "2B033", "97105", "99350"]),
        st.integers(1, 999),
        st.integers(0, 14),
    )
    def test_full_clean_accepts_the_nir_and_refuses_any_digit_changed(
        self, sex, birth_date, place, order, pos
    ):
        from django.core.exceptions import ValidationError

        from omniguichet.referential.models import Caisse

        nir = compose_nir(sex=sex, birth_date=birth_date, birth_place=place, order=order)
        person = Person(
            nir=" ".join(nir[i : i + 3] for i in range(0, 15, 3)),
            given_names="A",
            family_name="B",
            birth_date=birth_date,
            sex=sex,
            birth_place=place.lower(),
            caisse=Caisse.objects.get(pk="751"),
        )
        person.full_clean()
        assert (person.nir, person.birth_place) == (nir, place)
        if not nir[pos].isdigit():
            return  # the A or B of Corsica
        person.nir = nir[:pos] + str((int(nir[pos]) + 1) % 10) + nir[pos + 1 :]
        with pytest.raises(ValidationError) as exc:
            person.full_clean()
        assert "nir" in exc.value.message_dict
