"""Searching persons by NIR, name and birth date, phone or e-mail, within the actor's caisse."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.db import PreparedQuery
from omniguichet.core.errors import InvalidInput
from omniguichet.core.text import check_text, fold
from omniguichet.referential import validators
from omniguichet.referential.models import ContactPoint, Person


# The hot reads are prepared (compiled to SQL once, see core.db.PreparedQuery): their shape is the caisse scope
# ("all", "caisse" or "none"), the kind of lookup and the page size; everything else is a parameter.
def _caisse_scope(actor: Actor) -> tuple[str, dict[str, str]]:
    if actor.sees_all_caisses:
        return "all", {}
    if actor.kind == ActorKind.AGENT and actor.caisse_code:
        return "caisse", {"caisse": actor.caisse_code}
    return "none", {}


def _scoped(queryset: QuerySet, scope: str, caisse: str | None) -> QuerySet:
    return queryset.filter(caisse_id=caisse) if scope == "caisse" else queryset


def _search_query(
    scope: str, how: str, limit: int, *, value: str, birth_date: dt.date | None = None,
    caisse: str | None = None,
) -> QuerySet[Person]:  # fmt: skip
    persons = _scoped(Person.objects.select_related("caisse"), scope, caisse)
    if how in ("email", "mobile"):
        points = ContactPoint.objects.filter(kind=how, value=value)
        return persons.filter(pk__in=points.values("person_id"))[:limit]
    if how == "nir":
        return persons.filter(nir=value)[:limit]
    if how == "nir_start":
        return persons.filter(birth_date=birth_date, nir__startswith=value).order_by("nir")[:limit]
    matches = persons.filter(
        Q(family_name_folded__startswith=value, birth_date=birth_date)
        | Q(usage_name_folded__startswith=value, birth_date=birth_date)
    )
    return matches.order_by("family_name_folded", "given_names")[:limit]


_SEARCH = PreparedQuery(_search_query)


DATE_RE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")


SEARCH_LIMIT = 20


def _extract_date(text: str) -> tuple[dt.date | None, str]:
    match = DATE_RE.search(text)
    if not match:
        return None, text
    try:
        if match.group(1):
            date = dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        else:
            date = dt.date(int(match.group(4)), int(match.group(5)), int(match.group(6)))
    except ValueError:
        return None, text
    return date, (text[: match.start()] + text[match.end() :]).strip()


def search_persons(*, actor: Actor, channel: Channel, q: str, limit: int = SEARCH_LIMIT) -> list[Person]:
    """Find persons by NIR (full, or its beginning with the birth date), family or usage name with the birth
    date, phone or e-mail; tolerant of accents, case and spaces. Only persons the actor may see."""
    fields: dict[str, str] = {}
    q = " ".join((check_text(fields, "q", q, 200) or "").split())
    if fields:
        raise InvalidInput.from_fields(fields)
    if len(q) < 2:
        raise InvalidInput.from_fields({"q": _("type at least 2 characters")})
    limit = max(1, min(limit, 50))
    scope, scope_params = _caisse_scope(actor)
    compact = q.replace(" ", "").upper()
    how, value, birth_date = _search_kind(q, compact)
    if scope == "none":
        return []
    if birth_date is None:
        return _SEARCH(scope, how, limit, value=value, **scope_params)
    return _SEARCH(scope, how, limit, value=value, birth_date=birth_date, **scope_params)


def _search_kind(q: str, compact: str) -> tuple[str, str, dt.date | None]:
    """What the agent typed: (lookup, value, birth date)."""
    if "@" in q:
        return "email", q.lower(), None
    try:
        phone: str | None = validators.validate_mobile_phone(q)
    except ValidationError:
        phone = None
    if phone and not (len(compact) >= 13 and compact[:1] in "12378" and len(compact) != 10):
        return "mobile", phone, None
    if len(compact) == 15 and re.fullmatch(r"[0-9]{6}[0-9AB][0-9]{8}", compact):
        return "nir", compact, None
    birth_date, rest = _extract_date(q)
    rest_compact = rest.replace(" ", "").upper()
    if birth_date and re.fullmatch(r"[0-9]{5,15}|[0-9]{5}[0-9AB][0-9]{0,8}", rest_compact or "-"):
        # The beginning of a NIR with the birth date narrows it to a handful of persons.
        return "nir_start", rest_compact, birth_date
    name = fold(rest)
    if not name or not birth_date:
        raise InvalidInput.from_fields(
            {"q": _("give a NIR, a phone, an e-mail, or a name with a birth date (e.g. Dupont 12/03/1984)")}
        )
    return "name", name, birth_date
