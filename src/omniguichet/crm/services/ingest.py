"""Batch ingestion of contacts from partners and channels: per-row results, idempotent on the external id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import array_literal, bulk_insert_rows, reserve_ids, values_subquery
from omniguichet.core.errors import InvalidInput, collect
from omniguichet.core.retention import horizon
from omniguichet.core.text import check_text
from omniguichet.crm.models import Contact, ContactKey
from omniguichet.crm.services.common import INGEST_COLUMNS, MAX_BATCH
from omniguichet.crm.services.recording import _check_contact_fields, _check_subject, _motives
from omniguichet.referential import validators
from omniguichet.referential.models import Person


@dataclass
class RowResult:
    index: int
    external_id: str | None
    status: str  # created, duplicate, rejected
    contact_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


# Contacts older than this are not history we keep; it also keeps far-away years out of time-zone arithmetic.
EARLIEST_CONTACT = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


MAX_ID = 2**63 - 1


def _parse_time(fields: dict[str, str], name: str, value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible, e.g. a 13th month
        parsed = None
    if parsed is None:
        fields[name] = _("is not an ISO 8601 date and time")
    elif timezone.is_aware(parsed) and parsed < EARLIEST_CONTACT:
        fields[name] = _("is before 1990")
        parsed = None
    return parsed


def _optional_bool(fields: dict[str, str], name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    fields[name] = _("must be true, false or null")
    return None


def ingest_contacts(
    *, actor: Actor, channel: Channel, rows: list[Any], source: str, _retried: bool = False
) -> list[RowResult]:
    """Record contacts sent by another system (telephony, legacy tools). Each row is created, a duplicate (its
    external_id was already received from this source: replaying a batch changes nothing) or rejected with
    its reasons. Valid rows are written together; a rejected row writes nothing."""
    if len(rows) > MAX_BATCH:
        raise InvalidInput.from_fields(
            {"body": _("at most %(max)d contacts per batch, got %(n)d") % {"max": MAX_BATCH, "n": len(rows)}}
        )
    results, parsed, person_ids, nirs = _check_rows(rows)
    by_id, by_nir = _find_persons(actor, person_ids, nirs)
    candidates = [r.external_id for r, _v in parsed if not r.errors and r.external_id is not None]
    already = _known_external_ids(source, candidates)
    now_db = connection.ops.adapt_datetimefield_value(timezone.now())
    adapt = connection.ops.adapt_datetimefield_value
    to_create: list[tuple] = []
    seen: dict[str, RowResult] = {}
    for result, values in parsed:
        if values["person_id"] is not None:
            found = by_id.get(values["person_id"])
            missing_field = "person_id"
        else:
            found = by_nir.get(values["nir"])
            missing_field = "nir"
        if found is None:
            result.status, result.errors = "rejected", {missing_field: _("unknown person")}
            continue
        assert result.external_id is not None
        if result.external_id in already:
            result.status, result.contact_id = "duplicate", already[result.external_id]
            continue
        if result.external_id in seen:  # twice in the same batch: the first one counts
            result.status = "duplicate"
            continue
        seen[result.external_id] = result
        person_pk, person_caisse = found
        caisse = actor.caisse_code if actor.kind == ActorKind.AGENT and actor.caisse_code else person_caisse
        to_create.append((
            person_pk, caisse, values["channel"], values["direction"], values["motive_id"],
            adapt(values["started_at"]), ActorKind.SYSTEM, None, values["outcome"], values["note"],
            values["answered"], adapt(values["responded_at"]), values["on_appointment"], values["waited_seconds"],
            source, result.external_id, now_db, values["subject_kind"], values["subject_ref"],
        ))  # fmt: skip
    try:
        ids = _write(to_create)
    except IntegrityError:
        if _retried:
            raise
        # Another request stored some of the same external ids meanwhile: replay what is left, once.
        return ingest_contacts(actor=actor, channel=channel, rows=rows, source=source, _retried=True)
    if ids is not None:
        for result, pk in zip(seen.values(), ids, strict=True):
            result.status, result.contact_id = "created", pk
    elif seen:
        created = Contact.objects.filter(
            source=source, external_id__in=values_subquery(seen, of="text")
        ).values_list("external_id", "pk")
        for external_id, pk in created:
            if external_id is not None:
                seen[external_id].status, seen[external_id].contact_id = "created", pk
    return results


def _check_rows(
    rows: list[Any],
) -> tuple[list[RowResult], list[tuple[RowResult, dict[str, Any]]], set[int], set[str]]:
    """Every row checked on its own: (a result per row, the valid rows with their values, the person ids and the
    NIRs they name)."""
    now = timezone.now()
    motives = _motives()
    # The months before this one have left the database (core.retention): a contact dated then is refused, even
    # from a replayed batch whose key left with its month (docs/scale.md, "Retention of old months").
    retained_from = horizon("crm_contact")
    results: list[RowResult] = []
    parsed: list[tuple[RowResult, dict[str, Any]]] = []
    person_ids: set[int] = set()
    nirs: set[str] = set()
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            results.append(RowResult(index, None, "rejected", errors={"row": _("must be a JSON object")}))
            continue
        fields: dict[str, str] = {}
        external_id = check_text(fields, "external_id", row.get("external_id"), 128)
        if external_id is not None and not external_id.strip():
            fields["external_id"] = _("is required")
            external_id = None
        started_at = _parse_time(fields, "started_at", row.get("started_at"))
        if row.get("started_at") in (None, ""):
            fields["started_at"] = _("is required")
        elif (
            started_at is not None
            and retained_from is not None
            and started_at.astimezone(dt.UTC).date() < retained_from
        ):
            fields["started_at"] = _(
                "is before %(month)s: the contacts of that period have left the database (retention)"
            ) % {"month": f"{retained_from:%m/%Y}"}
        responded_at = _parse_time(fields, "responded_at", row.get("responded_at"))
        waited = row.get("waited_seconds")
        if waited is not None and (not isinstance(waited, int) or isinstance(waited, bool)):
            fields["waited_seconds"] = _("must be a whole number of seconds")
            waited = None
        _check_contact_fields(
            fields, channel=str(row.get("channel", "")), direction=str(row.get("direction", "")),
            motive=str(row.get("motive", "")), started_at=started_at, outcome=str(row.get("outcome", "resolved")),
            waited_seconds=waited, responded_at=responded_at, motives=motives, now=now,
        )  # fmt: skip
        person_id, nir = row.get("person_id"), row.get("nir")
        if person_id is not None:
            if isinstance(person_id, int) and not isinstance(person_id, bool) and 0 < person_id <= MAX_ID:
                person_ids.add(person_id)
            else:
                fields["person_id"] = _("must be a positive integer")
        elif nir is not None:
            nir = collect(fields, "nir", validators.validate_nir, str(nir))
            if nir:
                nirs.add(nir)
        else:
            fields["person_id"] = _("person_id or nir is required")
        note = check_text(fields, "note", row.get("note", ""), 4000)
        answered = _optional_bool(fields, "answered", row.get("answered"))
        on_appointment = _optional_bool(fields, "on_appointment", row.get("on_appointment"))
        subject_kind, subject_ref = _check_subject(fields, row.get("subject_kind"), row.get("subject_ref"))
        result = RowResult(index, external_id, "rejected" if fields else "pending", errors=fields)
        results.append(result)
        if not fields:
            parsed.append((result, {
                "person_id": person_id, "nir": nir, "channel": row["channel"], "direction": row["direction"],
                "motive_id": row["motive"], "started_at": started_at, "outcome": row.get("outcome", "resolved"),
                "note": note, "answered": answered, "responded_at": responded_at, "waited_seconds": waited,
                "on_appointment": on_appointment, "subject_kind": subject_kind, "subject_ref": subject_ref,
            }))  # fmt: skip

    return results, parsed, person_ids, nirs


def _find_persons(
    actor: Actor, person_ids: set[int], nirs: set[str]
) -> tuple[dict[int, tuple[int, str]], dict[str, tuple[int, str]]]:
    """The persons the rows name that the actor may see: (by id, by NIR), each to (id, caisse)."""
    visible = scope_to_caisse(Person.objects.all(), actor)
    by_id = {
        pk: (pk, c)
        for pk, c in visible.filter(pk__in=values_subquery(person_ids, of="bigint")).values_list(
            "pk", "caisse_id"
        )
    }
    by_nir = {
        n: (pk, c)
        for n, pk, c in visible.filter(nir__in=values_subquery(nirs, of="text")).values_list(
            "nir", "pk", "caisse_id"
        )
    }
    return by_id, by_nir


def _write(to_create: list[tuple]) -> list[int] | None:
    """The valid rows in one transaction: their ids (PostgreSQL) or None (SQLite, read back by the caller)."""
    with transaction.atomic():
        ids = _reserve_contact_ids(len(to_create))
        _copy_contacts(to_create, ids)
    return ids


def _copy_contacts(to_create: list[tuple], ids: list[int] | None) -> None:
    # Raw bulk insert (COPY on PostgreSQL): the fields were all checked above.
    if ids is None:
        bulk_insert_rows(Contact, INGEST_COLUMNS, to_create)
    else:
        bulk_insert_rows(
            Contact, ["id", *INGEST_COLUMNS], ((i, *r) for i, r in zip(ids, to_create, strict=True))
        )


def _known_external_ids(source: str, external_ids: list[str]) -> dict[str, int]:
    """The contacts already received from `source` under these external ids (id by external id). On PostgreSQL
    the key table ContactKey answers (the contacts are partitioned by month: the key alone cannot find the
    month); on SQLite the contacts' own unique index.

    On PostgreSQL, one probe of the key table's primary key (source, external_id) per id, whatever the planner's
    statistics say. A join of the keys with the list of ids let the planner pick, when its statistics predate the
    source's first contacts (automatic ANALYZE waits for a tenth of the rows to change), a nested loop comparing
    every key of the source with every id of the batch: each batch slower than the previous one
    (bench/national.py: 3, 20 then 35 s for three batches of 10,000 after an ANALYZE)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(ContactKey._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT k.external_id, (SELECT c.contact_id FROM {table} c WHERE c.source = %s"
                " AND c.external_id = k.external_id) FROM unnest(%s::text[]) AS k(external_id)",
                [source, array_literal(external_ids)],
            )
            return {external_id: pk for external_id, pk in cursor.fetchall() if pk is not None}
    return {
        external_id: pk
        for external_id, pk in Contact.objects.filter(
            source=source, external_id__in=values_subquery(external_ids, of="text")
        ).values_list("external_id", "pk")
        if external_id is not None
    }


def _reserve_contact_ids(count: int) -> list[int] | None:
    """Contact ids for a COPY, drawn inside the writing transaction AFTER it took its transaction id (PostgreSQL):
    an id is then never held by a transaction that a snapshot taken meanwhile does not list as running, which
    the warehouse export relies on not to skip a contact committed late (docs/analytics.md)."""
    if connection.vendor == "postgresql" and count:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
    return reserve_ids(Contact, count)
