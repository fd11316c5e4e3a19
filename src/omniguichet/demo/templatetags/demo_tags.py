"""The demo logins on the home page: shown only in debug mode, once the demo users have been seeded."""

from typing import Any

from django import template
from django.conf import settings
from django.db.models import F

from omniguichet.demo.services import DEMO_AGENT_PASSWORD, DEMO_SUPERVISOR_PASSWORD
from omniguichet.demo.teleservices import DEMO_INSURED_LOGINS, DEMO_INSURED_PASSWORD

register = template.Library()

DEMO_AGENT = "agent-751"
DEMO_SUPERVISOR = "supervisor"


@register.inclusion_tag("demo/logins.html")
def demo_logins() -> dict[str, Any]:
    """The README's demo logins, with the NIRs the seed gave a password to.

    Only when DEBUG is on (`make demo` serves with DEBUG=1) and the seed's users exist: a platform in production
    never advertises a password, and a database without the demo users has none of these logins."""
    if not settings.DEBUG:
        return {"show": False}
    from omniguichet.accounts.models import Account
    from omniguichet.referential.models import User

    users = set(
        User.objects.filter(username__in=[DEMO_AGENT, DEMO_SUPERVISOR]).values_list("username", flat=True)
    )
    if not users:
        return {"show": False}
    nirs = list(
        Account.objects.filter(user__isnull=False, user__username=F("person__nir"))
        .order_by("pk")
        .values_list("person__nir", flat=True)[:DEMO_INSURED_LOGINS]
    )
    return {
        "show": True,
        "agent": DEMO_AGENT if DEMO_AGENT in users else None,
        "agent_password": DEMO_AGENT_PASSWORD,
        "supervisor": DEMO_SUPERVISOR if DEMO_SUPERVISOR in users else None,
        "supervisor_password": DEMO_SUPERVISOR_PASSWORD,
        "nirs": nirs,
        "insured_password": DEMO_INSURED_PASSWORD,
    }
