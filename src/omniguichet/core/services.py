"""API bearer tokens: issue, authenticate, revoke."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from omniguichet.core.db import PreparedQuery
from omniguichet.core.errors import InvalidInput, NotFound
from omniguichet.core.models import ApiToken

if TYPE_CHECKING:
    from omniguichet.referential.models import User

TOKEN_PREFIX = "og_"
# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(*, user: User, days: int | None = None, label: str = "") -> tuple[ApiToken, str]:
    """Create a token for the user; returns the row and the secret, which is never stored."""
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if days < 1 or days > 366:
        raise InvalidInput.from_fields({"days": "must be between 1 and 366"})
    if not user.is_active:
        raise InvalidInput.from_fields({"user": "is not active"})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        label=label,
        prefix=secret[:10],
        key_hash=_hash(secret),
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    return token, secret


# Every API request runs it: compiled once (core.db.PreparedQuery). The login's online account (insured persons)
# comes in the same query: endpoints open to persons and agents look at it to tell who is acting.
_TOKEN_BY_HASH = PreparedQuery(
    lambda *, key_hash: ApiToken.objects.select_related("user", "user__caisse", "user__account").filter(
        key_hash=key_hash
    )[:1]
)


def authenticate_token(secret: str) -> User | None:
    """The active user behind a valid, unrevoked, unexpired token, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    found = _TOKEN_BY_HASH(key_hash=_hash(secret))
    token = found[0] if found else None
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def revoke_tokens(*, user: User | None = None, prefix: str | None = None) -> int:
    """Revoke one token (by its prefix) or all of a user's tokens; returns how many were revoked."""
    tokens = ApiToken.objects.filter(revoked_at__isnull=True)
    if prefix:
        tokens = tokens.filter(prefix=prefix)
    if user is not None:
        tokens = tokens.filter(user=user)
    if not prefix and user is None:
        raise InvalidInput.from_fields({"prefix": "give a token prefix or a user"})
    count = tokens.update(revoked_at=timezone.now())
    if prefix and count == 0:
        raise NotFound(f"no active token with prefix {prefix}")
    return count
