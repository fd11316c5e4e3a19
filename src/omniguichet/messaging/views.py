"""Pages of secure messaging: the person's (write, read a conversation, answer in it) under /compte/messages/,
and the agents' (the caisse's queue, a conversation with its templates, answer, close) under /agent/messages/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import InvalidInput, NotFound, ServiceError
from omniguichet.core.web import agent_required, error_page, insured_required
from omniguichet.documents.services import read_uploads
from omniguichet.messaging import services
from omniguichet.messaging.forms import (
    AnswerForm,
    AttachForm,
    CloseForm,
    FollowUpForm,
    MotiveForm,
    NewMessageForm,
)
from omniguichet.messaging.models import ThreadStatus


def _files(request: HttpRequest) -> list[tuple[str, bytes]]:
    return read_uploads(request.FILES.getlist("files"))


@require_http_methods(["GET", "POST"])
@insured_required
def new_message_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    linkables = services.linkable_subjects(actor=actor)
    form = NewMessageForm(
        request.POST or None,
        motives=services.motives(),
        linkables=linkables,
        initial={"link": request.GET.get("sur", "")},
    )
    if request.method == "POST":
        values = form.values()
        try:
            message = services.write_message(
                actor=actor, channel=Channel.WEB, motive=values["motive"], subject=values["subject"] or "",
                link=values["link"], body=request.POST.get("body", ""), files=_files(request),
            )  # fmt: skip
        except ServiceError as exc:
            form.refuse(exc)
            return render(request, "messaging/new.html", {"form": form}, status=exc.status)
        return redirect("messaging:thread", message.thread_id)
    return render(request, "messaging/new.html", {"form": form})


@require_http_methods(["GET", "POST"])
@insured_required
def thread_view(request: HttpRequest, actor: Actor, thread_id: int) -> HttpResponse:
    form = FollowUpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        try:
            services.write_message(
                actor=actor, channel=Channel.WEB, thread_id=thread_id, body=request.POST.get("body", ""),
                files=_files(request),
            )  # fmt: skip
        except NotFound as exc:
            return error_page(request, exc.message, status=404)
        except ServiceError as exc:
            form.refuse(exc)
            status = exc.status
        else:
            return redirect("messaging:thread", thread_id)
    try:
        thread = services.read_thread(actor=actor, channel=Channel.WEB, thread_id=thread_id)
    except NotFound as exc:
        return error_page(request, exc.message, status=404)
    return render(request, "messaging/thread.html", {"thread": thread, "form": form}, status=status)


@require_http_methods(["GET"])
@insured_required
def attachment_view(request: HttpRequest, actor: Actor, attachment_id: int) -> HttpResponse:
    return _attachment(request, actor, attachment_id)


def _attachment(request: HttpRequest, actor: Actor, attachment_id: int) -> HttpResponse:
    try:
        attachment, content = services.read_attachment(actor=actor, attachment_id=attachment_id)
    except NotFound as exc:
        return error_page(request, exc.message, status=404)
    response = HttpResponse(content, content_type=attachment.content_type)
    # Always downloaded, never shown inline: a file from outside is not rendered in the platform's origin.
    extension = attachment.content_type.split("/")[1]
    response["Content-Disposition"] = f'attachment; filename="message-{attachment.pk}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- agents ------------------------------------------------------------------------------------------------------
@require_http_methods(["GET"])
@agent_required
def queue_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    status = request.GET.get("etat", ThreadStatus.WAITING)
    try:
        threads = services.queue(actor=actor, status=status)
    except InvalidInput as exc:
        return error_page(request, exc.message, status=422)
    context = {
        "threads": threads,
        "status": status,
        "statuses": [*ThreadStatus.choices, (services.TO_IDENTIFY, _("to identify"))],
        "counts": services.queue_counts(actor=actor),
        "now": timezone.now(),
    }
    return render(request, "messaging/queue.html", context)


def _agent_page(request: HttpRequest, actor: Actor, thread_id: int, *, answer: AnswerForm | None = None,
                close: CloseForm | None = None, attach: AttachForm | None = None,
                status: int = 200) -> HttpResponse:  # fmt: skip
    try:
        thread = services.agent_thread(actor=actor, thread_id=thread_id)
    except NotFound as exc:
        return error_page(request, exc.message, status=404)
    template = request.GET.get("modele", "")
    if answer is None:
        initial = ""
        if template:
            try:
                initial = services.fill_template(actor=actor, thread_id=thread_id, template_code=template)
            except InvalidInput as exc:
                return error_page(request, exc.message, status=422)
        answer = AnswerForm(initial={"body": initial})
    found, query, search_error = [], request.GET.get("q", "").strip(), ""
    if thread.person is None and query:
        from omniguichet.crm.services import search_persons

        try:
            found = search_persons(actor=actor, channel=Channel.BACKOFFICE, q=query, limit=10)
        except InvalidInput as exc:
            search_error = exc.fields.get("q", exc.message)
    context = {
        "thread": thread,
        "attach_form": attach or AttachForm(),
        "query": query,
        "found": found,
        "search_error": search_error,
        "answer_form": answer,
        "close_form": close or CloseForm(),
        "motive_form": MotiveForm(initial={"motive": thread.motive_id}, motives=services.motives()),
        "templates": services.reply_templates(),
        "chosen_template": template,
    }
    return render(request, "messaging/agent_thread.html", context, status=status)


@require_http_methods(["GET"])
@agent_required
def agent_thread_view(request: HttpRequest, actor: Actor, thread_id: int) -> HttpResponse:
    return _agent_page(request, actor, thread_id)


@require_POST
@agent_required
def claim_view(request: HttpRequest, actor: Actor, thread_id: int) -> HttpResponse:
    try:
        services.claim_thread(actor=actor, channel=Channel.WEB, thread_id=thread_id)
    except ServiceError as exc:
        return error_page(request, exc.message, status=exc.status)
    return redirect("messaging:agent_thread", thread_id)


@require_POST
@agent_required
def answer_view(request: HttpRequest, actor: Actor, thread_id: int) -> HttpResponse:
    form = AnswerForm(request.POST)
    try:
        services.answer_thread(
            actor=actor, channel=Channel.WEB, thread_id=thread_id, body=request.POST.get("body", "")
        )
    except NotFound as exc:
        return error_page(request, exc.message, status=404)
    except ServiceError as exc:
        form.refuse(exc)
        return _agent_page(request, actor, thread_id, answer=form, status=exc.status)
    return redirect("messaging:agent_thread", thread_id)


@require_POST
@agent_required
def motive_view(request: HttpRequest, actor: Actor, thread_id: int) -> HttpResponse:
    try:
        services.correct_motive(
            actor=actor, channel=Channel.WEB, thread_id=thread_id, motive=request.POST.get("motive", "")
        )
    except ServiceError as exc:
        return error_page(request, exc.message, status=exc.status)
    return redirect("messaging:agent_thread", thread_id)


@require_POST
@agent_required
def close_view(request: HttpRequest, actor: Actor, thread_id: int) -> HttpResponse:
    form = CloseForm(request.POST)
    try:
        services.close_thread(
            actor=actor, channel=Channel.WEB, thread_id=thread_id, outcome=request.POST.get("outcome", "")
        )
    except NotFound as exc:
        return error_page(request, exc.message, status=404)
    except ServiceError as exc:
        form.refuse(exc)
        return _agent_page(request, actor, thread_id, close=form, status=exc.status)
    return redirect("messaging:queue")


@require_POST
@agent_required
def attach_view(request: HttpRequest, actor: Actor, thread_id: int) -> HttpResponse:
    form = AttachForm(request.POST)
    values = form.values()
    try:
        services.attach_thread(
            actor=actor, channel=Channel.BACKOFFICE, thread_id=thread_id, person_id=values["person_id"],
            purpose=values["purpose"] or "",
        )  # fmt: skip
    except NotFound as exc:
        return error_page(request, exc.message, status=404)
    except ServiceError as exc:
        form.refuse(exc)
        return _agent_page(request, actor, thread_id, attach=form, status=exc.status)
    return redirect("messaging:agent_thread", thread_id)


@require_http_methods(["GET"])
@agent_required
def agent_attachment_view(request: HttpRequest, actor: Actor, attachment_id: int) -> HttpResponse:
    return _attachment(request, actor, attachment_id)
