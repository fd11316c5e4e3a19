"""Login through a FranceConnect-style OpenID Connect provider (mozilla-django-oidc: authorization code flow with
state, nonce and PKCE). A known identity logs in; a new one is matched to an insured person, who confirms."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from omniguichet.accounts import services
from omniguichet.core import throttle
from omniguichet.core.actors import Channel
from omniguichet.referential.models import User

PENDING_SESSION_KEY = "og_oidc_pending"


class PasswordBackend(ModelBackend):
    """Django's username/password check (agent console, admin) for staff logins only. An insured person's login
    authenticates through the account (`accounts.services.authenticate`: throttle, second factor), never here,
    so that no other login form can be used to guess their password or to skip their second factor.

    Every check goes through the throttling service (per login and address, per login, per address): while a
    counter is blocked, `Throttled` is raised before the password is even looked at, and the page answers 429."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        address = throttle.client_address(request)
        throttle.check_all(throttle.login_keys(str(username), address))
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or hasattr(user, "account"):
            known = User._default_manager.filter(username=username).first()
            throttle.login_failed(str(username), address, user=known, channel=Channel.BACKOFFICE)
            return None
        throttle.login_succeeded(str(username), address)
        return user


class FranceConnectBackend(OIDCAuthenticationBackend):
    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]):
        claims = self.get_userinfo(access_token, id_token, payload)
        subject = str(claims.get("sub", ""))
        if not subject or subject != str(payload.get("sub", "")):
            return None  # userinfo must speak of the identity the ID token was issued for
        user = services.user_for_external_identity(provider=services.FRANCECONNECT, subject=subject)
        if user is not None:
            return user
        # Not linked yet: keep the identity until the person confirms the match (see the confirm view).
        self.request.session[PENDING_SESSION_KEY] = {k: claims.get(k) for k in services.IDENTITY_CLAIMS}
        return None
