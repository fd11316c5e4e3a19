"""The web account (/compte/): activation, login (password, second factor), logout, password reset, preferences."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from omniguichet.accounts import services
from omniguichet.accounts.forms import (
    ActivationForm,
    CodeForm,
    IdentityForm,
    LoginForm,
    NewPasswordForm,
    PreferencesForm,
    code_label,
)
from omniguichet.accounts.models import CodeDelivery
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import ServiceError
from omniguichet.core.http import local_path, next_path
from omniguichet.core.throttle import client_address
from omniguichet.core.web import INSURED_BACKEND as BACKEND
from omniguichet.core.web import insured_required
from omniguichet.referential.models import ConsentPurpose


def _open_session(request: HttpRequest, user) -> None:
    login(request, user, backend=BACKEND)
    request.session.set_expiry(settings.ACCOUNT_SESSION_SECONDS)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 422
        values = form.values()
        try:
            result = services.authenticate(
                nir=values["nir"],
                password=values["password"],
                channel=Channel.WEB,
                address=client_address(request),
            )
        except ServiceError as exc:
            form.refuse(exc)
            status = 403 if exc.status == 403 else 422
        else:
            if not form.errors:
                if result.second_factor is not None:
                    return _ask_second_factor(request, result.second_factor, next_path(request))
                _open_session(request, result.user)
                return HttpResponseRedirect(next_path(request, reverse("accounts:home")))
    context = {
        "form": form,
        "next": next_path(request),
        "franceconnect": bool(settings.OIDC_OP_AUTHORIZATION_ENDPOINT),
    }
    return render(request, "accounts/login.html", context, status=status)


@require_http_methods(["GET", "POST"])
def franceconnect_confirm(request: HttpRequest) -> HttpResponse:
    """After the provider: show the insured person the identity matched to theirs; they confirm it is them."""
    from omniguichet.accounts.backends import PENDING_SESSION_KEY
    from omniguichet.referential.validators import mask_nir

    claims = request.session.get(PENDING_SESSION_KEY)
    if not claims:
        return render(request, "accounts/franceconnect.html", {"failed": True}, status=403)
    person = services.match_identity(claims=claims)
    if person is None:
        return render(
            request, "accounts/franceconnect.html", {"unmatched": True, "claims": claims}, status=404
        )
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            request.session.pop(PENDING_SESSION_KEY, None)
            return redirect("accounts:login")
        try:
            user = services.link_external_identity(
                provider=services.FRANCECONNECT, claims=claims, person=person, channel=Channel.WEB
            )
        except ServiceError as exc:
            return render(request, "accounts/franceconnect.html", {"message": exc.message}, status=exc.status)
        request.session.pop(PENDING_SESSION_KEY, None)
        return _external_login(request, user, reverse("accounts:home"))
    context = {"person": person, "nir_masked": mask_nir(person.nir), "claims": claims}
    return render(request, "accounts/franceconnect.html", context)


def _ask_second_factor(request: HttpRequest, otc, next_url: str) -> HttpResponse:
    request.session["og_second_factor"] = otc.challenge
    request.session["og_second_factor_delivery"] = otc.delivery
    request.session["og_next"] = next_url
    return redirect("accounts:second_factor")


def _external_login(request: HttpRequest, user, next_url: str) -> HttpResponse:
    """A FranceConnect-style identity logs in: the session opens, or the account's second factor comes first."""
    try:
        result = services.external_login(user=user, channel=Channel.WEB)
    except ServiceError as exc:
        return render(request, "accounts/franceconnect.html", {"message": exc.message}, status=exc.status)
    if result.second_factor is not None:
        return _ask_second_factor(request, result.second_factor, next_url)
    _open_session(request, result.user)
    return HttpResponseRedirect(local_path(next_url) or reverse("accounts:home"))


class FranceConnectCallbackView(OIDCAuthenticationCallbackView):
    """mozilla-django-oidc's callback (state, nonce, PKCE, ID token checks), whose last step goes through the
    account's rules: the session of an account (30 minutes) and its second factor if the person chose one."""

    @property
    def success_url(self) -> str:
        # The settings' LOGIN_REDIRECT_URL is the agent console's: an insured person goes to their account.
        # mozilla-django-oidc keeps `next` when it names this host; only a local path is honoured here.
        return local_path(self.request.session.get("oidc_login_next")) or reverse("accounts:home")

    def login_success(self) -> HttpResponse:
        if not hasattr(self.user, "account"):  # not an online account (cannot happen with our backend)
            return self.login_failure()
        return _external_login(self.request, self.user, self.success_url)


@require_http_methods(["GET", "POST"])
def second_factor_view(request: HttpRequest) -> HttpResponse:
    challenge = request.session.get("og_second_factor")
    if not challenge:
        return redirect("accounts:login")
    delivery = request.session.get("og_second_factor_delivery")
    form = CodeForm(request.POST if request.method == "POST" else None, label=code_label(delivery))
    if request.method == "POST":
        try:
            user = services.confirm_second_factor(
                challenge=challenge,
                code=form.values()["code"],
                channel=Channel.WEB,
                address=client_address(request),
            )
        except ServiceError as exc:
            form.refuse(exc)
        else:
            target = local_path(request.session.get("og_next")) or reverse("accounts:home")
            _open_session(request, user)
            return HttpResponseRedirect(target)
    intro = (
        _("A code was sent by e-mail to your verified address; it is valid 10 minutes.")
        if delivery == CodeDelivery.EMAIL
        else _("A code was sent by SMS to your verified mobile; it is valid 10 minutes.")
    )
    context = {"form": form, "title": _("Second factor"), "intro": intro}
    return render(
        request, "accounts/code.html", context, status=422 if form.is_bound and form.errors else 200
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def activation_view(request: HttpRequest) -> HttpResponse:
    form = ActivationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        values = form.values()
        try:
            otc = services.start_activation(
                nir=values["nir"],
                birth_date=values["birth_date"],
                delivery=values["delivery"],
                channel=Channel.WEB,
                address=client_address(request),
            )
        except ServiceError as exc:
            form.refuse(exc)
        else:
            if form.errors:  # a field's validator refused what the service let through: nothing was done
                return render(request, "accounts/activation.html", {"form": form}, status=422)
            # The same next page whoever the NIR belongs to; what it says depends only on what was asked.
            request.session["og_activation"] = otc.challenge
            request.session["og_activation_delivery"] = values["delivery"]
            return redirect("accounts:activation_code")
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "accounts/activation.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def activation_code_view(request: HttpRequest) -> HttpResponse:
    """The code of the activation: with the challenge of this session (SMS), or with the NIR (a letter, which
    arrives days later)."""
    challenge = request.session.get("og_activation", "")
    form = NewPasswordForm(request.POST if request.method == "POST" else None, with_nir=not challenge)
    if request.method == "POST":
        values = form.values()
        try:
            user = services.complete_activation(
                challenge=challenge,
                nir=None if challenge else values["nir"],
                code=values["code"],
                password=values["password"],
                password2=values["password2"],
                channel=Channel.WEB,
                address=client_address(request),
            )
        except ServiceError as exc:
            form.refuse(exc)
        else:
            request.session.pop("og_activation", None)
            _open_session(request, user)
            return redirect("accounts:home")
    letter = request.session.get("og_activation_delivery") == CodeDelivery.LETTER
    context = {
        "form": form,
        "title": _("Activate my account"),
        "intro": _("Give your social security number and the code of the letter you received.")
        if not challenge
        else _(
            "If your details match an insured person, your code will arrive by letter within a few days; it is "
            "valid 15 days."
        )
        if letter
        else _(
            "If your details match an insured person, a code was sent by SMS to your verified mobile (valid 10 "
            "minutes), or by letter when no verified mobile is known for you."
        ),
    }
    return render(
        request, "accounts/code.html", context, status=422 if form.is_bound and form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def reset_view(request: HttpRequest) -> HttpResponse:
    form = IdentityForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        values = form.values()
        try:
            otc = services.start_password_reset(
                nir=values["nir"],
                birth_date=values["birth_date"],
                channel=Channel.WEB,
                address=client_address(request),
            )
        except ServiceError as exc:
            form.refuse(exc)
        else:
            if form.errors:
                return render(request, "accounts/reset.html", {"form": form}, status=422)
            request.session["og_reset"] = otc.challenge
            return redirect("accounts:reset_code")
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "accounts/reset.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def reset_code_view(request: HttpRequest) -> HttpResponse:
    challenge = request.session.get("og_reset")
    if not challenge:
        return redirect("accounts:reset")
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        values = form.values()
        try:
            services.complete_password_reset(
                challenge=challenge,
                code=values["code"],
                password=values["password"],
                password2=values["password2"],
                channel=Channel.WEB,
                address=client_address(request),
            )
        except ServiceError as exc:
            form.refuse(exc)
        else:
            request.session.pop("og_reset", None)
            return render(request, "accounts/reset_done.html")
    context = {
        "form": form,
        "title": _("Choose a new password"),
        "intro": _(
            "If your details match an online account, a code was sent to its verified mobile or e-mail; it is "
            "valid 10 minutes."
        ),
    }
    return render(
        request, "accounts/code.html", context, status=422 if form.is_bound and form.errors else 200
    )


@require_http_methods(["GET"])
@insured_required
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    account = services.account_of(actor=actor)
    context = {
        "account": account,
        "person": account.person,
        "services": services.home_services(actor=actor, channel=Channel.WEB),
        "messages": services.inbox_messages(actor=actor, limit=3),
        "unread": services.unread_count(actor=actor),
    }
    return render(request, "accounts/home.html", context)


@require_http_methods(["GET", "POST"])
@insured_required
def preferences_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    prefs = services.get_preferences(actor=actor)
    saved = False
    form = PreferencesForm(
        request.POST if request.method == "POST" else None,
        initial=PreferencesForm.initial_of(prefs),
        has_mobile=prefs.has_mobile,
    )
    if request.method == "POST":
        values = form.values()
        try:
            services.update_preferences(
                actor=actor,
                channel=Channel.WEB,
                sms_allowed=bool(values["sms_allowed"]),
                email_allowed=bool(values["email_allowed"]),
                paper_allowed=bool(values["paper_allowed"]),
                e_documents=bool(values["e_documents"]),
                preferred_channel=values["preferred_channel"],
                consents={p: bool(values[f"consent_{p}"]) for p in ConsentPurpose.values},
                second_factor=bool(values["second_factor"]),
            )
        except ServiceError as exc:
            form.refuse(exc)
        else:
            saved = not form.errors
            if saved:  # what is recorded now, as a fresh form
                prefs = services.get_preferences(actor=actor)
                form = PreferencesForm(initial=PreferencesForm.initial_of(prefs), has_mobile=prefs.has_mobile)
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "accounts/preferences.html", {"form": form, "saved": saved}, status=status)


@require_http_methods(["GET"])
@insured_required
def accesses_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Who opened my customer record, when and why (the audit trail the design promises the person), and the
    failed logins to my account (wrong passwords and codes) of the last 30 days."""
    from omniguichet.crm.services import my_record_accesses

    context = {
        "accesses": my_record_accesses(actor=actor),
        "failures": services.recent_failed_logins(actor=actor),
    }
    return render(request, "accounts/accesses.html", context)


@require_http_methods(["GET"])
@insured_required
def inbox_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    items = services.inbox(actor=actor)
    unread = sum(item.read is False for item in items)
    return render(request, "accounts/inbox.html", {"items": items, "unread": unread})


@require_http_methods(["GET"])
@insured_required
def inbox_message_view(request: HttpRequest, actor: Actor, message_id: int) -> HttpResponse:
    """One message; opening it marks it read."""
    try:
        message = services.read_message(actor=actor, channel=Channel.WEB, message_id=message_id)
    except ServiceError as exc:
        return render(request, "accounts/message.html", {"message": None, "error": exc.message}, status=404)
    return render(request, "accounts/message.html", {"message": message})


@require_POST
@insured_required
def inbox_read_all_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    services.mark_all_read(actor=actor, channel=Channel.WEB)
    return redirect("accounts:inbox")
