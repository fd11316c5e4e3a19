"""Pages: the person's deposit (/compte/documents/), a document's page in the basket console and its actions.
Thin: parse, authorise, call one service, render."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from omniguichet.baskets.forms import BulkActionForm
from omniguichet.baskets.services import transfer_targets
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import InvalidInput, NotFound, ServiceError
from omniguichet.core.web import (
    KIOSK_BASE_TEMPLATE,
    agent_required,
    insured_required,
    kiosk_required,
)
from omniguichet.crm.purposes import PURPOSES
from omniguichet.documents import services
from omniguichet.documents.forms import AgentDepositForm, AskForm, DepositForm
from omniguichet.documents.models import DocumentType
from omniguichet.referential.validators import mask_nir


# --- the person's pages -------------------------------------------------------------------------------------
@require_GET
@insured_required
def my_documents(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(
        request,
        "documents/mine.html",
        {
            "purposes": services.open_purposes(actor=actor),
            "documents": services.my_documents(actor=actor),
        },
    )


def _deposit_page(
    request: HttpRequest, actor: Actor, *, channel: str, template: str, done: str, extra: dict[str, Any],
    kiosk: bool = False,
) -> HttpResponse:  # fmt: skip
    """The deposit form of one purpose (web account or kiosk): parse, call the deposit service, render."""
    data = request.POST if request.method == "POST" else request.GET
    kind, ref = data.get("kind", ""), data.get("ref", "")
    try:
        purpose = services.describe_purpose(actor=actor, kind=kind, ref=ref)
    except (NotFound, InvalidInput):
        raise Http404(_("no such request")) from None
    form = DepositForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial={"kind": kind, "ref": ref, "idempotency_key": secrets.token_urlsafe(18)},
        types=[(t, DocumentType(t).label) for t in purpose.expected_types if t in DocumentType.values],
        kiosk=kiosk,
    )
    context: dict[str, Any] = {**extra, "purpose": purpose, "form": form}
    # A closed purpose: the page says why. A POST goes on to the service: it may replay a deposit already made.
    if not purpose.is_open and request.method != "POST":
        form.message = purpose.refusal or services.closed_refusal()
        return render(request, template, context, status=409)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            result = services.deposit_documents(
                actor=actor, channel=channel, purpose_kind=kind, purpose_ref=ref,
                document_type=values["document_type"],
                files=services.read_uploads(request.FILES.getlist("files")),
                idempotency_key=values["idempotency_key"],
            )  # fmt: skip
        except ServiceError as exc:
            form.refuse(exc)
            return render(request, template, context, status=exc.status)
        messages.success(request, _("%(n)d document(s) received. Thank you.") % {"n": len(result.documents)})
        return redirect(done)
    return render(request, template, context, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@insured_required
def deposit(request: HttpRequest, actor: Actor) -> HttpResponse:
    channel = Channel.KIOSK if request.POST.get("channel") == Channel.KIOSK else Channel.WEB
    return _deposit_page(
        request, actor, channel=channel, template="documents/deposit.html", done=reverse("documents:mine"),
        extra={},
    )  # fmt: skip


# --- the kiosk (/borne/documents/): the teleservices kiosk's session, idle end and large touch layout ---------
def _kiosk_context() -> dict[str, Any]:
    return {"base": KIOSK_BASE_TEMPLATE, "kiosk_idle_seconds": settings.KIOSK_IDLE_SECONDS}


@require_GET
@kiosk_required
def kiosk_documents(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The person identified at the kiosk picks one of their open requests."""
    context = {**_kiosk_context(), "purposes": services.open_purposes(actor=actor)}
    return render(request, "documents/kiosk.html", context)


@require_http_methods(["GET", "POST"])
@kiosk_required
def kiosk_deposit(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _deposit_page(
        request, actor, channel=Channel.KIOSK, template="documents/kiosk_deposit.html",
        done=reverse("documents:kiosk"), extra=_kiosk_context(), kiosk=True,
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
@agent_required
def for_person(request: HttpRequest, actor: Actor, person_id: int) -> HttpResponse:
    """An agent deposits on behalf of a person of their caisse (a letter, a visit), or asks them for documents."""
    try:
        requests = services.open_purposes(actor=actor, person_id=person_id)
        person = services.person_for_agent(actor=actor, person_id=person_id)
    except NotFound:
        raise Http404(_("no such person")) from None
    posted = request.POST.get("form", "deposit") if request.method == "POST" else ""
    deposit_form = AgentDepositForm(
        request.POST if posted == "deposit" else None, request.FILES if posted == "deposit" else None,
        requests=requests, channels=[(c.value, c.label) for c in services.AGENT_CHANNELS],
        initial={"idempotency_key": secrets.token_urlsafe(18)},  # one deposit per form shown, however often sent
    )  # fmt: skip
    ask_form = AskForm(request.POST if posted == "ask" else None)
    status = 200
    if posted:
        form: AgentDepositForm | AskForm = ask_form if posted == "ask" else deposit_form
        try:
            if not form.is_valid():
                raise InvalidInput.from_fields(form.field_errors())
            values = form.cleaned_data
            if posted == "ask":
                services.request_documents(
                    actor=actor, channel=Channel.BACKOFFICE, person_id=person_id,
                    document_types=values["document_types"], label=values["label"],
                )  # fmt: skip
                messages.success(request, _("The request was sent to the person."))
            else:
                # "kind:ref" of one of the person's open purposes (a bare ref: a document request)
                kind, _sep, ref = values["ref"].rpartition(":")
                result = services.deposit_documents(
                    actor=actor, channel=values["channel"], purpose_kind=kind or "request", purpose_ref=ref,
                    document_type=values["document_type"], files=services.read_uploads(request.FILES.getlist("files")),
                    person_id=person_id, idempotency_key=values["idempotency_key"],
                )  # fmt: skip
                messages.success(
                    request, _("%(n)d document(s) received. Thank you.") % {"n": len(result.documents)}
                )
            return redirect("documents:for_person", person_id=person_id)
        except NotFound:
            raise Http404(_("no such person")) from None
        except ServiceError as exc:
            form.refuse(exc)
            status = exc.status
    context = {
        "person": person,
        "nir_masked": mask_nir(person.nir),
        "requests": requests,
        "deposit_form": deposit_form,
        "ask_form": ask_form,
    }
    return render(request, "documents/for_person.html", context, status=status)


@require_http_methods(["GET", "POST"])
@agent_required
def document(request: HttpRequest, actor: Actor, document_id: int) -> HttpResponse:
    """A document beside its person's record, with its actions (claim, accept, reject or transfer with a reason):
    done, back to its basket; refused, the page again with the error under its field."""
    purpose = str(PURPOSES[2])  # "Processing of a file": the record's access log names why it was opened
    try:
        doc, record = services.document_with_record(actor=actor, document_id=document_id, purpose=purpose)
    except NotFound:
        raise Http404(_("no such document")) from None
    targets = transfer_targets(actor=actor, basket=doc.item.basket)  # no counts: the basket's other siblings
    form = BulkActionForm(request.POST if request.method == "POST" else None, targets=targets)
    if request.method == "POST":
        try:
            results = _act_on_document(actor, doc, request.POST.get("action", ""), form)
        except ServiceError as exc:
            form.refuse(exc)
        else:
            for result in results:
                if result.ok:
                    messages.info(request, _("%(n)d document(s) processed.") % {"n": 1})
                else:
                    messages.warning(request, f"#{result.document_id}: {result.reason}")
            return redirect("baskets:basket", doc.item.basket_id)
    return render(
        request,
        "documents/document.html",
        {
            "doc": doc,
            "person": record.person,
            "record": record,
            "record_sections": [
                (_("Open cases"), record.open_cases),
                (_("Next appointments"), record.next_appointments),
                (_("Recent documents"), record.recent_documents),
            ],
            "nir_masked": mask_nir(record.person.nir),
            "form": form,
            "purpose_label": purpose,
        },
        status=422 if form.is_bound else 200,
    )


def _act_on_document(actor: Actor, doc: Any, name: str, form: BulkActionForm) -> list[Any]:
    if not form.is_valid():
        raise InvalidInput.from_fields({})
    reason, target, ids = form.cleaned_data["reason"], form.cleaned_data["to_basket"], [doc.pk]
    if name == "claim":
        return services.claim_documents(actor=actor, document_ids=ids)
    if name == "accept":
        return services.accept_documents(actor=actor, document_ids=ids)
    if name == "reject":
        return services.reject_documents(actor=actor, document_ids=ids, reason=reason)
    if name == "transfer":
        return services.transfer_documents(
            actor=actor, document_ids=ids, reason=reason, to_basket_id=target or 0
        )
    raise InvalidInput.from_fields({"action": _("unknown action")})


@require_GET
@agent_required
@xframe_options_sameorigin
def document_file(request: HttpRequest, actor: Actor, document_id: int) -> HttpResponse:
    """The decrypted file, for agents of the document's caisse only; never cached, never run as a page."""
    try:
        doc, plain = services.document_content(actor=actor, document_id=document_id)
    except NotFound:
        raise Http404(_("no such document")) from None
    response = HttpResponse(plain, content_type=doc.content_type)
    response["Content-Disposition"] = (
        f'inline; filename="document-{doc.pk}.{services.EXTENSIONS[doc.content_type]}"'
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    # No CSP sandbox: browsers refuse to show a PDF in a sandboxed frame; PDFs with JavaScript never get here.
    return response
