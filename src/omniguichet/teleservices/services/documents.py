"""Attestations and statements: verification codes, the PDF and CSV documents of a request, the public check of
an attestation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor
from omniguichet.core.errors import Conflict, NotFound
from omniguichet.referential import validators
from omniguichet.referential.models import Person
from omniguichet.teleservices.models import (
    Attestation,
    AttestationKind,
    Reimbursement,
    TeleserviceRequest,
)
from omniguichet.teleservices.services.declaration import CATALOGUE
from omniguichet.teleservices.services.requests import get_request

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: a code is typed by hand


def new_verification_code() -> str:
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def normalise_verification_code(text: str) -> str:
    chars = re.sub(r"[\s\-]", "", str(text)).upper()[:24]
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}" if len(chars) == 12 else chars


def verify_attestation(*, code: str) -> Attestation | None:
    """The attestation with that code, if genuine (anyone may check; shows what it certified, masked)."""
    normal = normalise_verification_code(code)
    if len(normal) != 14:
        return None
    return Attestation.objects.filter(code=normal).first()


def _issue_attestation(
    person: Person, request: TeleserviceRequest | None, kind: str, content: dict
) -> Attestation:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Attestation.objects.create(
                    code=new_verification_code(),
                    kind=kind,
                    person=person,
                    request=request,
                    issued_at=timezone.now(),
                    content=content,
                )
        except IntegrityError:
            continue
    raise Conflict(_("could not draw a unique verification code"))


def rights_content(person: Person) -> dict[str, Any]:
    dependants = [
        {"name": d.display_name, "birth_date": d.birth_date.isoformat(), "nir": validators.mask_nir(d.nir)}
        for d in person.beneficiaries.order_by("birth_date")
    ]
    return {
        "name": person.display_name,
        "nir": validators.mask_nir(person.nir),
        "birth_date": person.birth_date.isoformat(),
        "caisse": f"{person.caisse.code} {person.caisse.name}",
        "rights_from": person.rights_from.isoformat() if person.rights_from else None,
        "rights_to": person.rights_to.isoformat() if person.rights_to else None,
        "address": f"{person.address_line} {person.postcode} {person.city}".strip(),
        "dependants": dependants,
    }


def _latin1(text: Any) -> str:
    # The PDF core fonts speak Latin-1: French letters fit; a few others are replaced.
    return (
        str(text)
        .replace("•", "*")
        .replace("—", "-")
        .replace("\u2019", "'")
        .replace("œ", "oe")
        .replace("Œ", "OE")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def _date_fr(value: str | None) -> str:
    if not value:
        return "-"
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y")


def _pdf_start(title: str):
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # faster to write, and the text stays searchable
    pdf.set_creator("omniguichet")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Assurance Maladie", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    return pdf


def _line(pdf, text: str, *, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 11)
    pdf.cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _pdf_footer(pdf, code: str, issued: dt.datetime) -> None:
    pdf.ln(6)
    _line(pdf, _("Issued on %(d)s") % {"d": timezone.localtime(issued).strftime("%d/%m/%Y %H:%M")})
    _line(pdf, _("Verification code: %(c)s") % {"c": code}, bold=True)
    _line(pdf, _("Check this document at /verify/%(c)s") % {"c": code})


def attestation_pdf(attestation: Attestation) -> bytes:
    """The PDF of an attestation, drawn from what was certified when it was issued."""
    c = attestation.content
    if attestation.kind == AttestationKind.SICK_PAY:
        pdf = _pdf_start(_("Certificate of daily allowance payments"))
        _line(pdf, c["name"], bold=True)
        _line(pdf, _("Social security number: %(n)s") % {"n": c["nir"]})
        _line(pdf, _("Period: %(a)s to %(b)s") % {"a": _date_fr(c["date_from"]), "b": _date_fr(c["date_to"])})
        pdf.ln(3)
        for p in c["payments"]:
            _line(
                pdf,
                _("%(a)s to %(b)s: %(d)s days x %(r)s EUR = %(t)s EUR, paid on %(p)s")
                % {
                    "a": _date_fr(p["from"]),
                    "b": _date_fr(p["to"]),
                    "d": p["days"],
                    "r": p["daily"],
                    "t": p["amount"],
                    "p": _date_fr(p["paid_on"]),
                },
            )
        _line(pdf, _("Total: %(t)s EUR") % {"t": c["total"]}, bold=True)
    else:
        pdf = _pdf_start(_("Certificate of rights to health insurance"))
        _line(pdf, c["name"], bold=True)
        _line(pdf, _("Social security number: %(n)s") % {"n": c["nir"]})
        _line(pdf, _("Born on %(d)s") % {"d": _date_fr(c["birth_date"])})
        _line(pdf, _("Caisse: %(c)s") % {"c": c["caisse"]})
        if c["address"]:
            _line(pdf, c["address"])
        pdf.ln(3)
        rights_to = _date_fr(c["rights_to"]) if c["rights_to"] else _("no end date")
        _line(
            pdf,
            _("Rights open from %(a)s to %(b)s") % {"a": _date_fr(c["rights_from"]), "b": rights_to},
            bold=True,
        )
        if c["dependants"]:
            pdf.ln(2)
            _line(pdf, _("Dependants:"), bold=True)
            for d in c["dependants"]:
                _line(pdf, f"- {d['name']}, {_date_fr(d['birth_date'])}, {d['nir']}")
    _pdf_footer(pdf, attestation.code, attestation.issued_at)
    return bytes(pdf.output())


def _reimbursements(person: Person, data: dict[str, Any]) -> list[Reimbursement]:
    rows = Reimbursement.objects.filter(person=person)
    if data.get("date_from"):
        rows = rows.filter(care_date__gte=data["date_from"])
    if data.get("date_to"):
        rows = rows.filter(care_date__lte=data["date_to"])
    if data.get("care"):
        rows = rows.filter(label__icontains=data["care"])
    return list(rows.order_by("-care_date", "-pk")[:500])


def statement_rows(request: TeleserviceRequest) -> list[Reimbursement]:
    data = {
        k: (dt.date.fromisoformat(v) if k.startswith("date_") and v else v) for k, v in request.data.items()
    }
    return _reimbursements(request.person, data)


def statement_csv(request: TeleserviceRequest) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        ["date_soins", "date_paiement", "acte", "professionnel", "montant_depense", "montant_rembourse"]
    )
    for r in statement_rows(request):
        writer.writerow(
            [
                r.care_date.isoformat(),
                r.paid_on.isoformat(),
                r.label,
                r.professional,
                f"{r.amount_charged:.2f}".replace(".", ","),
                f"{r.amount_reimbursed:.2f}".replace(".", ","),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets spreadsheets read the accents


def statement_pdf(request: TeleserviceRequest) -> bytes:
    person = request.person
    pdf = _pdf_start(_("Statement of reimbursements"))
    _line(pdf, person.display_name, bold=True)
    _line(pdf, _("Social security number: %(n)s") % {"n": validators.mask_nir(person.nir)})
    pdf.ln(3)
    total = Decimal("0")
    for r in statement_rows(request):
        total += r.amount_reimbursed
        _line(pdf, f"{r.care_date:%d/%m/%Y}  {r.label}  {r.professional}  {r.amount_reimbursed:.2f} EUR")
    _line(pdf, _("Total reimbursed: %(t)s EUR") % {"t": f"{total:.2f}"}, bold=True)
    return bytes(pdf.output())


def request_document(*, actor: Actor, request_id: int, fmt: str = "pdf") -> tuple[bytes, str, str]:
    """The document a request produced: (content, content type, file name)."""
    request = get_request(actor=actor, request_id=request_id)
    service = CATALOGUE.get(request.service)
    if service is None or not service.document or fmt not in service.document.split(","):
        raise NotFound(_("this request has no document in format %(f)s") % {"f": fmt})
    if request.service == "releve_remboursements":
        if fmt == "csv":
            return statement_csv(request), "text/csv; charset=utf-8", f"releve-{request.pk}.csv"
        return statement_pdf(request), "application/pdf", f"releve-{request.pk}.pdf"
    attestation = Attestation.objects.filter(request=request).first()
    if attestation is None:
        raise NotFound(_("no such request"))
    return attestation_pdf(attestation), "application/pdf", f"attestation-{attestation.code}.pdf"
