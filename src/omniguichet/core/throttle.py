"""The throttling service: one mechanism for every place where a guess can be made (logins, one-time codes,
activation, password reset, kiosk check-in, /verify/, the API's login and bearer tokens).

A *limit* (settings.THROTTLE_LIMITS) names a kind of attempt and says how many go without waiting within a
window; after the last of them, the next one must wait: the first delay, doubled at each further attempt, up to a
ceiling. Counters are shared by every web process (and machine): in Redis when the cache is there
(settings.THROTTLE_STORAGE "cache": one atomic INCR per attempt, forgotten by expiry), else in a table
(`core.Throttle`, rows updated under a lock). Keys are HMACs of what they count (a NIR, an address, a pair): no
identifier is stored in clear.

Callers pick their keys so that a stranger cannot turn a limit into a denial of service: a login is counted per
(account, address) with a strict limit, per account across addresses with a much higher one, and per address
across accounts. Keys never depend on whether an account exists (a NIR typed is counted the same either way), so
the throttle itself says nothing about who is registered.

`check` refuses when a counter is blocked; `hit` counts one attempt (a failure, or any request for the limits
that count requests); `attempt` does both. A refusal raises `Throttled`, which the API answers with 429, its
error format and `Retry-After`, and pages with a French 429 page (core.middleware.ThrottledPage).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.db import keep_on_rollback
from omniguichet.core.models import Throttle


class Throttled(Exception):
    """Too many attempts: refused until `retry_after` seconds have passed. Deliberately not a ServiceError, so
    that no view's `except ServiceError` turns it into an ordinary form error: it always ends as a 429."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int, scope: str = "") -> None:
        self.retry_after = max(1, int(retry_after))
        self.scope = scope
        self.message = _("too many attempts; try again in %(time)s") % {"time": wait_text(self.retry_after)}
        super().__init__(self.message)


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return _("%(n)d seconds") % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return _("%(n)d minutes") % {"n": minutes} if minutes > 1 else _("1 minute")


@dataclass(frozen=True)
class Limit:
    scope: str
    free: int  # attempts in the window that go without waiting; after the last of them, the next one waits
    delay: int  # seconds of the first delay, doubled at each further attempt
    max_delay: int  # ceiling of a delay (seconds)
    window: int  # seconds; the count starts again after it

    def delay_after(self, attempts: int) -> int:
        """The delay imposed on the next attempt after the attempt number `attempts` of a window (0: none)."""
        over = attempts - self.free + 1
        if over <= 0:
            return 0
        return min(self.delay * 2 ** min(over - 1, 30), self.max_delay)


# name: (free, first delay s, max delay s, window s). Documented in docs/security.md ("Rate limits").
DEFAULT_LIMITS: dict[str, tuple[int, int, int, int]] = {
    # Password logins (staff and insured alike): failures only.
    "login.pair": (5, 30, 900, 86400),  # one account from one address
    "login.account": (100, 60, 300, 86400),  # one account from every address
    "login.address": (30, 60, 3600, 3600),  # one address, every account
    # One-time codes and the staff's TOTP codes: wrong codes only.
    "code.account": (5, 30, 900, 3600),
    "code.address": (20, 60, 3600, 3600),
    # Activation and password reset: every request (a right answer must not count less than a wrong one).
    "start.nir": (5, 600, 3600, 3600),
    "start.address": (20, 60, 3600, 3600),
    # Kiosk: wrong check-in codes, and identifications by NIR and birth date (every one).
    "kiosk.code": (10, 30, 600, 900),
    "kiosk.nir": (5, 300, 3600, 3600),
    "kiosk.identity": (60, 30, 600, 3600),
    # /verify/: every request from one address.
    "verify.address": (30, 60, 3600, 600),
    # The API: wrong bearer tokens from one address.
    "api.token": (20, 60, 3600, 600),
}


def limit(name: str) -> Limit:
    values = {**DEFAULT_LIMITS, **getattr(settings, "THROTTLE_LIMITS", {})}[name]
    return Limit(name, *values)


def now() -> dt.datetime:
    """The clock of the service (tests move it forward)."""
    return timezone.now()


def _hash(scope: str, key: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{scope}\x1f{key}".encode(), hashlib.sha256).hexdigest()


def _on_cache() -> bool:
    return getattr(settings, "THROTTLE_STORAGE", "database") == "cache"


def _cache_keys(name: str, key: str) -> tuple[str, str]:
    """The counter of a window (expires with it) and the end of the current block (expires with it)."""
    key_hash = _hash(name, key)
    return f"throttle:{name}:{key_hash}:n", f"throttle:{name}:{key_hash}:blocked"


def _blocked_on_cache(name: str, key: str, current: dt.datetime) -> None:
    from django.core.cache import cache

    blocked = cache.get(_cache_keys(name, key)[1])
    if blocked is not None and blocked > current.timestamp():
        raise Throttled(math.ceil(blocked - current.timestamp()), name)


def _count_on_cache(name: str, key: str, *, refuse_if_blocked: bool) -> int:
    from django.core.cache import cache

    lim = limit(name)
    counter, block = _cache_keys(name, key)
    current = now()
    if refuse_if_blocked:
        _blocked_on_cache(name, key, current)
    cache.add(counter, 0, timeout=lim.window)  # the window starts at its first attempt
    try:
        attempts = cache.incr(counter)
    except ValueError:  # the window ended between the two calls
        cache.add(counter, 1, timeout=lim.window)
        attempts = 1
    delay = lim.delay_after(attempts)
    if delay:
        cache.set(block, current.timestamp() + delay, timeout=delay + 1)
    return delay


def check(name: str, key: str) -> None:
    """Refuse (Throttled) while the counter of `key` under the limit `name` is blocked."""
    if not key:
        return
    if _on_cache():
        _blocked_on_cache(name, key, now())
        return
    blocked = (
        Throttle.objects.filter(scope=name, key_hash=_hash(name, key))
        .values_list("blocked_until", flat=True)
        .first()
    )
    current = now()
    if blocked is not None and blocked > current:
        raise Throttled(math.ceil((blocked - current).total_seconds()), name)


def check_all(keys: Iterable[tuple[str, str]]) -> None:
    """Check several counters; the longest wait is the one reported."""
    waits: list[Throttled] = []
    for name, key in keys:
        try:
            check(name, key)
        except Throttled as exc:
            waits.append(exc)
    if waits:
        raise max(waits, key=lambda exc: exc.retry_after)


def hit(name: str, key: str) -> int:
    """Count one attempt; returns the delay it imposes on the next one (seconds, 0: none). Runs in its own
    transaction (savepoint), and callers call it outside the transaction of the refused operation so that the
    count survives the operation's rollback."""
    delay = _count(name, key, refuse_if_blocked=False)
    if key and not _on_cache():  # the cache is outside any transaction
        keep_on_rollback(lambda: _count(name, key, refuse_if_blocked=False))
    return delay


def _count(name: str, key: str, *, refuse_if_blocked: bool) -> int:
    if not key:
        return 0
    if _on_cache():
        return _count_on_cache(name, key, refuse_if_blocked=refuse_if_blocked)
    lim = limit(name)
    key_hash = _hash(name, key)
    current = now()
    with transaction.atomic():
        row = Throttle.objects.select_for_update().filter(scope=name, key_hash=key_hash).first()
        if row is None:
            delay = lim.delay_after(1)
            blocked = current + dt.timedelta(seconds=delay) if delay else None
            try:
                with transaction.atomic():
                    Throttle.objects.create(
                        scope=name, key_hash=key_hash, attempts=1, window_start=current, last_at=current,
                        blocked_until=blocked,
                    )  # fmt: skip
                return delay
            except IntegrityError:  # created meanwhile by another process
                row = Throttle.objects.select_for_update().get(scope=name, key_hash=key_hash)
        if refuse_if_blocked and row.blocked_until is not None and row.blocked_until > current:
            raise Throttled(math.ceil((row.blocked_until - current).total_seconds()), name)
        if (current - row.window_start).total_seconds() >= lim.window:
            row.attempts, row.window_start = 0, current
        row.attempts += 1
        row.last_at = current
        delay = lim.delay_after(row.attempts)
        if delay:
            row.blocked_until = current + dt.timedelta(seconds=delay)
        row.save(update_fields=["attempts", "window_start", "last_at", "blocked_until"])
    if random.random() < 0.01:
        forget_expired()
    return delay


def hit_all(keys: Iterable[tuple[str, str]]) -> None:
    for name, key in keys:
        hit(name, key)


def attempt(keys: Iterable[tuple[str, str]]) -> None:
    """For limits that count every request: refuse while blocked, else count this one (on every key: a request
    refused by one counter counts on none)."""
    keys = [(name, key) for name, key in keys if key]
    if len(keys) == 1:  # one counter: checked and counted under one row lock
        _count(*keys[0], refuse_if_blocked=True)
        return
    check_all(keys)
    hit_all(keys)


def clear(name: str, key: str) -> None:
    """Forget a counter (a successful login clears its (account, address) pair)."""
    if key and _on_cache():
        from django.core.cache import cache

        cache.delete_many(list(_cache_keys(name, key)))
    elif key:
        Throttle.objects.filter(scope=name, key_hash=_hash(name, key)).delete()


def forget_expired() -> int:
    """Delete the counters no longer needed: last attempt more than a day past any window, and not blocked.
    (Counters in the cache expire by themselves.)"""
    longest = max(
        values[3] for values in {**DEFAULT_LIMITS, **getattr(settings, "THROTTLE_LIMITS", {})}.values()
    )
    current = now()
    deleted, _rows = (
        Throttle.objects.filter(last_at__lt=current - dt.timedelta(seconds=longest + 86400))
        .exclude(blocked_until__gt=current)
        .delete()
    )
    return deleted


# --- keys -----------------------------------------------------------------------------------------------------
def _trusted_proxy(peer: str) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for proxy in getattr(settings, "OMNIGUICHET_TRUSTED_PROXIES", ["127.0.0.1", "::1"]):
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or behind a reverse proxy the header it sets
    (settings.THROTTLE_CLIENT_IP_HEADER, e.g. HTTP_X_REAL_IP; its last value when it is a list), only when the
    request comes from one of settings.OMNIGUICHET_TRUSTED_PROXIES."""
    if request is None:
        return ""
    header = getattr(settings, "THROTTLE_CLIENT_IP_HEADER", "")
    peer = request.META.get("REMOTE_ADDR", "")
    # The header is believed only from a trusted proxy (settings.OMNIGUICHET_TRUSTED_PROXIES): anyone else could
    # send it to pick the address they are counted under.
    value = request.META.get(header, "") if header and _trusted_proxy(peer) else ""
    if value:
        value = value.split(",")[-1].strip()
    value = value or peer
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return ""
    if address.version == 6:
        # An IPv6 client usually holds a whole /64: count the network, not one of its addresses.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def shown_address(address: str) -> str:
    """The address as shown to a person (their failed logins): the network only."""
    try:
        if "/" in address:
            return str(ipaddress.ip_network(address, strict=False).network_address) + "/64"
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if ip.version == 4:
        return ".".join(str(ip).split(".")[:3]) + ".x"
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def login_keys(identifier: str, address: str) -> list[tuple[str, str]]:
    """The three counters of a password login: the (account, address) pair, the account, the address."""
    identifier = identifier.strip().lower()
    keys = [("login.account", identifier)]
    if address:
        keys += [("login.pair", f"{identifier}|{address}"), ("login.address", address)]
    return keys


# --- password logins ------------------------------------------------------------------------------------------
def login_failed(identifier: str, address: str, *, user=None, channel: str, factor: str = "password") -> None:
    """Count a failed login on its three counters, and write it in the audit when the login exists."""
    from omniguichet.core.models import LoginFailure

    hit_all(login_keys(identifier, address))
    if user is not None:
        LoginFailure.objects.create(
            user=user, at=now(), channel=channel, factor=factor, address=shown_address(address)
        )


def login_succeeded(identifier: str, address: str) -> None:
    """A right password from this address: its (account, address) counter starts again."""
    if address:
        clear("login.pair", f"{identifier.strip().lower()}|{address}")


def code_keys(subject: str, address: str) -> list[tuple[str, str]]:
    """The counters of a one-time or TOTP code: per login (or challenge) and per address."""
    return [("code.account", subject), ("code.address", address)]


def recent_login_failures(*, user, days: int = 30, limit: int = 20) -> list:
    """The failed logins of a login in the last `days`, newest first (shown to the person in their account)."""
    from omniguichet.core.models import LoginFailure

    since = now() - dt.timedelta(days=days)
    return list(LoginFailure.objects.filter(user=user, at__gte=since).order_by("-at", "-id")[:limit])
