"""The basket console (/agent/baskets/): every kind of work item together, oldest deadline first, with the common
actions (claim, open, transfer with a reason) and each kind's own (accept or reject a document, ...). Thin: parse,
authorise, call one service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from omniguichet.baskets import services
from omniguichet.baskets.forms import BulkActionForm
from omniguichet.baskets.registry import item_kinds
from omniguichet.core.actors import Actor
from omniguichet.core.errors import InvalidInput, NotFound, ServiceError
from omniguichet.core.http import local_path
from omniguichet.core.web import agent_required, error_page


@require_GET
@agent_required
def baskets(request: HttpRequest, actor: Actor) -> HttpResponse:
    summaries = services.list_baskets(actor=actor)
    labels = {k.code: str(k.label) for k in item_kinds()}
    return render(
        request,
        "baskets/baskets.html",
        {
            "summaries": [
                (s, [(labels.get(code, code), n) for code, n in sorted(s.by_kind.items())]) for s in summaries
            ],
            "report": services.transfer_report(actor=actor),
        },
    )


def _rows(page: services.BasketPage) -> list[dict[str, Any]]:
    now = timezone.now()
    return [
        {
            "item": item,
            "text": services.describe(item),
            "kind": services.kind_label(item.kind),
            "url": services.item_url(item),
            "overdue": item.deadline < now,
            "due_soon": item.deadline >= now and services.due_soon_at(item) <= now,
        }
        for item in page.items
    ]


@require_GET
@agent_required
def basket(request: HttpRequest, actor: Actor, basket_id: int) -> HttpResponse:
    return _basket_page(request, actor, basket_id, cursor=request.GET.get("cursor") or None)


def _basket_page(
    request: HttpRequest, actor: Actor, basket_id: int, *, cursor: str | None = None,
    form: BulkActionForm | None = None,
) -> HttpResponse:  # fmt: skip
    """A basket's open items with the bulk form (a refused one as it was sent, with its errors, in 422)."""
    try:
        page = services.basket_items(actor=actor, basket_id=basket_id, cursor=cursor)
        targets = [
            s.basket
            for s in services.list_baskets(actor=actor)
            if s.basket.caisse_id == page.basket.caisse_id and s.basket.pk != page.basket.pk
        ]
    except NotFound:
        raise Http404(_("no such basket")) from None
    except InvalidInput as exc:
        return error_page(request, exc.message, status=422)
    kind_actions: dict[str, Any] = {}
    for kind in item_kinds():
        for name, spec in kind.actions.items():
            kind_actions.setdefault(name, spec)
    context = {
        "page": page,
        "rows": _rows(page),
        "basket": page.basket,
        "form": form or BulkActionForm(targets=targets),
        "kind_actions": sorted(kind_actions.items()),
    }
    if request.htmx and cursor:  # type: ignore[attr-defined]
        return render(request, "baskets/_rows.html", context)
    return render(request, "baskets/basket.html", context, status=422 if form is not None else 200)


def _targets(actor: Actor, basket_id: str) -> list[Any]:
    """The baskets a transfer may go to from this one (the form's choices); none when the basket is unknown."""
    if not basket_id.isdigit():
        return [s.basket for s in services.list_baskets(actor=actor)]
    try:
        current = services.get_basket(actor=actor, basket_id=int(basket_id))
    except NotFound:
        return []
    return [
        s.basket
        for s in services.list_baskets(actor=actor)
        if s.basket.caisse_id == current.caisse_id and s.basket.pk != current.pk
    ]


@require_POST
@agent_required
def action(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Claim, transfer or a kind's own action on the checked items. The form's refusal, or a service's refusal of
    one of its fields (an empty reason), redraws the basket with the error under the field; the refusals of single
    items are reported one by one after the redirect."""
    data = request.POST
    name = data.get("action", "")
    ids = [int(i) for i in data.getlist("items") if i.isdigit()]
    basket_id = data.get("basket", "")
    form = BulkActionForm(data, targets=_targets(actor, basket_id))
    try:
        if not form.is_valid():
            raise InvalidInput.from_fields({})
        reason, target = form.cleaned_data["reason"], form.cleaned_data["to_basket"]
        if name == "claim":
            results = services.claim_items(actor=actor, item_ids=ids)
        elif name == "transfer":
            results = services.transfer_items(
                actor=actor, item_ids=ids, reason=reason, to_basket_id=target or 0
            )
        elif name and name.isidentifier():
            results = services.run_kind_action(actor=actor, action=name, item_ids=ids, reason=reason)
        else:
            raise InvalidInput.from_fields({"action": _("unknown action")})
    except NotFound:
        raise Http404(_("no such basket")) from None
    except InvalidInput as exc:
        form.refuse(exc)
        if basket_id.isdigit():
            return _basket_page(request, actor, int(basket_id), form=form)
        return error_page(request, exc.message, status=422)
    except ServiceError as exc:
        return error_page(request, exc.message, status=exc.status)
    done = sum(r.ok for r in results)
    messages.info(request, _("%(n)d item(s) processed.") % {"n": done})
    for r in results:
        if not r.ok:
            messages.warning(request, f"#{r.item_id}: {r.reason}")
    back = local_path(data.get("next")) or ""
    if not back.startswith("/agent/baskets/"):
        back = reverse("baskets:baskets")
    return redirect(back)
