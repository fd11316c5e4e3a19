"""Accessibility in chromium: axe-core (bundled in axe-playwright-python, injected by playwright: nothing is
fetched at run time) over every HTML page of the platform, as each kind of visitor — anonymous, insured person,
agent, national supervisor, kiosk — with error pages, forms after a failed submission and htmx fragment URLs
opened directly. Any violation of impact "serious" or "critical" fails the test (RGAA 4.1 / WCAG 2.1 AA).

The pages are listed once, in PAGES below. test_every_html_page_is_covered walks the URL resolver and fails on a
URL pattern that is neither in PAGES nor in NOT_PAGES (with the reason it is not a page). See docs/accessibility.md.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.analytics import services as analytics
from omniguichet.appointments import services as appointments
from omniguichet.appointments.models import Appointment, AppointmentMotive, Mode, WaitingListEntry
from omniguichet.cases.models import RequestedDocument
from omniguichet.cases.services import ingest_case_events
from omniguichet.core.actors import Actor, Channel, insured_actor
from omniguichet.crm.services import record_contact
from omniguichet.documents.models import Document
from omniguichet.documents.services import deposit_documents, generate_key, request_documents, seed_baskets
from omniguichet.messaging.models import ReplyTemplate
from omniguichet.messaging.services import receive_email, write_message
from omniguichet.outreach.models import InboxMessage
from omniguichet.reception.services import call_next, take_ticket
from omniguichet.referential.models import ContactPoint, Role, User
from omniguichet.teleservices.models import Attestation
from omniguichet.teleservices.services import use_service
from tests.appointments.conftest import make_site
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.cases.conftest import event
from tests.conftest import make_user
from tests.documents.conftest import make_pdf

PASSWORD = "Un-mot-de-passe-solide-2026"
ANONYMOUS, INSURED, AGENT, SUPERVISOR, KIOSK = "anonymous", "insured", "agent", "supervisor", "kiosk"
ENGLISH = "anonymous, in English"  # a browser asking for English (Accept-Language): the pages' other language
# The impacts that fail the test; A11Y_IMPACTS=minor,moderate,serious,critical lists the lesser ones too.
FAILING_IMPACTS = set(os.environ.get("A11Y_IMPACTS", "serious,critical").split(","))


@dataclass
class Data:
    """What the pages are drawn from (built once by the test)."""

    email_thread: Any = None  # an e-mail of an unknown sender, to identify (HTML and a refused file)

    person: Any = None
    site: Any = None
    busy_site: Any = None  # a site where the agent is serving a visitor
    visitor: Any = None
    appointment: Any = None
    video: Any = None
    callback: Any = None
    offer_token: str = ""
    manage_token: str = ""
    web_request: Any = None
    kiosk_request: Any = None
    agent_request: Any = None
    attestation: Any = None
    awaited: Any = None
    document: Any = None
    message: Any = None
    case_reference: str = ""
    thread: Any = None


@dataclass(frozen=True)
class Page:
    """One page to check: its URL name (the resolver's, for the coverage test) or a literal path, who looks at
    it, how its URL arguments and query are built, and optionally a form submitted empty or wrong first (the
    check then runs on the page that answers it)."""

    name: str
    role: str
    args: Callable[[Data], list] = field(default=lambda d: [])
    query: Callable[[Data], str] | str = ""
    status: int = 200
    submit: str = ""  # a selector clicked to submit the form as it is (empty or with `fill`)
    fill: tuple[tuple[str, str], ...] = ()
    wait_for: str = ""  # a selector an htmx request fills in before the check
    keys: tuple[str, ...] = ()  # keys pressed before the check (the consoles' shortcuts open forms)
    path: str = ""  # a literal path instead of a URL name (error pages)

    def url(self, data: Data) -> str:
        url = self.path or reverse(self.name, args=self.args(data))
        query = self.query(data) if callable(self.query) else self.query
        return url + query

    def label(self) -> str:
        extra = " (after a failed submission)" if self.submit else ""
        extra += f" (keys {' '.join(self.keys)})" if self.keys else ""
        return f"{self.role}: {self.path or self.name}{extra}"


def _person(d: Data) -> list:
    return [d.person.pk]


# Every page of the platform and who sees it. A new page: add a line here (and the data it needs to Data).
PAGES: list[Page] = [
    # --- anonymous visitors ---
    Page("home", ANONYMOUS),
    Page("footer-accessibility-status", ANONYMOUS),
    Page("api-v1:openapi-view", ANONYMOUS),
    Page("accounts:login", ANONYMOUS),
    Page("accounts:login", ANONYMOUS, submit="#login-submit"),
    Page(
        "accounts:login", ANONYMOUS, submit="#login-submit", fill=(("#id_nir", "123"), ("#id_password", "x"))
    ),
    Page("accounts:second_factor", ANONYMOUS),  # no login in progress: back to the login page
    Page("accounts:activation", ANONYMOUS),
    Page("accounts:activation", ANONYMOUS, submit="#activation-submit"),
    Page("accounts:activation_code", ANONYMOUS),
    Page("accounts:activation_code", ANONYMOUS, submit="#code-submit"),
    Page("accounts:reset", ANONYMOUS),
    Page("accounts:reset", ANONYMOUS, submit="main form button[type=submit]"),
    Page("accounts:reset_code", ANONYMOUS),  # no reset in progress: back to the first step
    Page("accounts:franceconnect_confirm", ANONYMOUS, status=403),  # no identity from the provider
    Page("crm:login", ANONYMOUS),
    Page(
        "crm:login",
        ANONYMOUS,
        submit="main form button[type=submit]",
        fill=(("#id_username", "nobody"), ("#id_password", "wrong-password")),
    ),
    Page("teleservices:verify_form", ANONYMOUS),
    Page("teleservices:verify", ANONYMOUS, args=lambda d: [d.attestation.code]),
    Page("teleservices:verify", ANONYMOUS, args=lambda d: ["NOPE-NOPE-NOPE"], status=404),
    Page("appointments:qr", ANONYMOUS, args=lambda d: [d.appointment.checkin_code]),
    Page("appointments:video", ANONYMOUS, args=lambda d: [d.video.video_room]),
    Page("appointments:manage", ANONYMOUS, args=lambda d: [d.manage_token]),
    Page("appointments:manage", ANONYMOUS, args=lambda d: ["forged"], status=400),
    Page("appointments:offer", ANONYMOUS, args=lambda d: [d.offer_token]),
    Page("appointments:offer", ANONYMOUS, args=lambda d: ["forged"], status=400),
    Page("reception:display", ANONYMOUS, args=lambda d: [d.site.pk]),
    # The board's htmx fragment URL opened directly: the whole page.
    Page("reception:display", ANONYMOUS, args=lambda d: [d.site.pk], query="?partial=1"),
    Page("404", ANONYMOUS, path="/cette-page-n-existe-pas/", status=404),
    # The same pages in English: the language named on <html> must follow.
    Page("home", ENGLISH),
    Page("footer-accessibility-status", ENGLISH),
    Page("accounts:login", ENGLISH, submit="#login-submit"),
    Page("404", ENGLISH, path="/this-page-does-not-exist/", status=404),
    # --- the insured person, in their online account ---
    Page("accounts:home", INSURED),
    Page("accounts:preferences", INSURED),
    Page("accounts:accesses", INSURED),
    Page("accounts:inbox", INSURED),
    Page("accounts:inbox_message", INSURED, args=lambda d: [d.message.pk]),
    Page("accounts:inbox_message", INSURED, args=lambda d: [999_999_999], status=404),
    Page("messaging:new", INSURED),
    Page("messaging:new", INSURED, submit="#send"),  # every field answered at once
    Page("messaging:thread", INSURED, args=lambda d: [d.thread.pk]),
    Page("messaging:thread", INSURED, args=lambda d: [999_999_999], status=404),
    Page("cases:mine", INSURED),
    Page("documents:mine", INSURED),
    Page("documents:deposit", INSURED, query=lambda d: f"?kind=case_request&ref={d.awaited.pk}"),
    Page(
        "documents:deposit",
        INSURED,
        query=lambda d: f"?kind=case_request&ref={d.awaited.pk}",
        submit="#deposit-submit",
    ),
    # The link of a "document missing" message: redirects to the deposit page.
    Page("cases:case_request", INSURED, args=lambda d: [d.case_reference, d.awaited.code]),
    Page(
        "appointments:mine",
        INSURED,
        query=lambda d: f"?motive=ij_dossier&site={d.site.pk}",
        wait_for="#slots input[name=slot]",
    ),
    Page("appointments:mine", INSURED, submit="#book"),
    Page(
        "appointments:mine",
        INSURED,
        submit="#join-waiting-list",
        fill=(("#earliest", "2030-01-02"), ("#latest", "2030-01-01")),
    ),
    # The slots' htmx fragment URL opened directly: the booking page with the same choices.
    Page("appointments:mine_slots", INSURED, query=lambda d: f"?motive=ij_dossier&site={d.site.pk}"),
    Page("appointments:mine_detail", INSURED, args=lambda d: [d.appointment.pk]),
    Page("appointments:mine_detail", INSURED, args=lambda d: [999_999_999], status=404),
    Page("teleservices:web_form", INSURED, args=lambda d: ["attestation_droits"]),
    Page("teleservices:web_form", INSURED, args=lambda d: ["changement_adresse"], submit="#service-submit"),
    Page("teleservices:web_request", INSURED, args=lambda d: [d.web_request.pk]),
    Page("403", INSURED, path="/agent/", status=403),  # the agent console is for staff
    # --- an agent of the person's caisse ---
    Page("crm:console", AGENT),
    Page("crm:search", AGENT, query="?q=Lef%C3%A8vre"),
    Page("crm:search", AGENT, query="?q=x"),  # refused: too short
    Page("crm:record", AGENT, args=_person),
    Page("crm:record", AGENT, args=_person, keys=("t",)),  # the contact form opened by its shortcut
    Page("crm:record", AGENT, args=lambda d: [d.visitor.pk]),  # with the visit in progress to close
    # The timeline's htmx fragment URL opened directly: the record.
    Page("crm:timeline", AGENT, args=_person),
    Page("crm:record", AGENT, args=lambda d: [999_999_999], status=404),
    Page("teleservices:agent_services", AGENT, args=_person),
    Page(
        "teleservices:agent_form",
        AGENT,
        args=lambda d: [d.person.pk, "changement_adresse"],
        submit="#service-submit",
    ),
    Page("teleservices:agent_request", AGENT, args=lambda d: [d.agent_request.pk]),
    Page("appointments:agent_book", AGENT, args=_person, submit="#book"),
    # The slots' htmx fragment URL opened directly: the booking page.
    Page(
        "appointments:agent_slots",
        AGENT,
        args=_person,
        query=lambda d: f"?motive=ij_dossier&site={d.site.pk}",
    ),
    Page("appointments:callbacks", AGENT),
    Page("baskets:baskets", AGENT),
    Page("messaging:queue", AGENT),
    Page("messaging:queue", AGENT, query="?etat=to_identify"),
    Page("messaging:agent_thread", AGENT, args=lambda d: [d.email_thread.pk], query="?q=Dupont"),
    Page(
        "messaging:agent_thread",
        AGENT,
        args=lambda d: [d.email_thread.pk],
        submit="#attach-thread",
        fill=(("#id_person_id", ""), ("#id_purpose", "")),
    ),
    Page("messaging:agent_thread", AGENT, args=lambda d: [d.thread.pk], query="?modele=accuse-reception"),
    Page(
        "messaging:agent_thread",
        AGENT,
        args=lambda d: [d.thread.pk],
        submit="#send-answer",
        fill=(("#id_body", " "),),
    ),
    Page("baskets:basket", AGENT, args=lambda d: [d.document.item.basket_id]),
    # A row selected:
    Page("baskets:basket", AGENT, args=lambda d: [d.document.item.basket_id], keys=("j", "x")),
    Page("documents:document", AGENT, args=lambda d: [d.document.pk]),
    Page("documents:for_person", AGENT, args=_person),
    Page("reception:sites", AGENT),
    Page("reception:desk", AGENT, args=lambda d: [d.site.pk]),
    Page("reception:desk", AGENT, args=lambda d: [d.busy_site.pk]),  # serving a visitor
    Page("telephony:console", AGENT),
    # The record opened by the telephony screen-pop: the contact form open on the caller's voice-menu motive.
    Page("crm:record", AGENT, args=_person, query="?purpose=Appel%20entrant&motive=carte_vitale"),
    Page("403", AGENT, path="/analytics/", status=403),  # the dashboards are for managers and national roles
    # --- a national supervisor ---
    Page("analytics:national", SUPERVISOR, query="?year=2025"),
    Page("analytics:caisse", SUPERVISOR, args=lambda d: ["751"], query="?year=2025"),
    Page("crm:console", SUPERVISOR),
    # --- at a kiosk (the person identified at the self-service kiosk; the reception kiosk of a site) ---
    Page("teleservices:kiosk_login", ANONYMOUS),
    Page("teleservices:kiosk_login", ANONYMOUS, submit="#kiosk-login"),
    Page("teleservices:kiosk_home", KIOSK),
    Page("teleservices:kiosk_form", KIOSK, args=lambda d: ["changement_adresse"], submit="#service-submit"),
    Page("teleservices:kiosk_request", KIOSK, args=lambda d: [d.kiosk_request.pk]),
    Page("documents:kiosk", KIOSK),
    Page("documents:kiosk_deposit", KIOSK, query=lambda d: f"?kind=case_request&ref={d.awaited.pk}"),
    Page("reception:kiosk", KIOSK, args=lambda d: [d.site.pk]),
    Page(
        "reception:kiosk", KIOSK, args=lambda d: [d.site.pk], submit="#take-ticket", fill=(("#nir", "123"),)
    ),
    Page("reception:kiosk", KIOSK, args=lambda d: [d.site.pk], submit="#take-ticket"),  # the ticket page
    # --- a staff login's second step (last: the anonymous tab is then half logged in) ---
    Page("crm:second_factor", ANONYMOUS),  # no login in progress: back to the login page
    Page(
        "crm:login",
        ANONYMOUS,
        submit="main form button[type=submit]",
        fill=(("#id_username", "accueil-751"), ("#id_password", "not-used-here-123")),
    ),  # the password is right: the second step, enrolling the authenticator app (QR code)
    Page("crm:second_factor", ANONYMOUS, submit="#totp-submit", fill=(("#id_code", "000000"),)),
]

# URL patterns that are not pages drawn by the platform, and why.
NOT_PAGES: dict[str, str] = {
    "admin:*": "Django's own administration (staff only): its templates are Django's, not the platform's",
    "api-v1:*": "the JSON API (its documentation page, api-v1:openapi-view, is in PAGES)",
    "accounts:logout": "POST only, redirects",
    "accounts:inbox_read_all": "POST only, redirects",
    "accounts:oidc_authentication_init": "redirects to the identity provider",
    "accounts:oidc_authentication_callback": "redirects (to the account, or to franceconnect_confirm)",
    "accounts:oidc_logout": "logs out and redirects (mozilla-django-oidc)",
    "crm:logout": "POST only, redirects",
    "crm:add_contact": "POST only: an htmx fragment for the record's timeline, else redirects to the record",
    "analytics:export": "POST only, redirects",
    "analytics:national_csv": "CSV download",
    "analytics:caisse_csv": "CSV download",
    "appointments:mine_waiting_list": "POST only: redirects, or the booking page with its error (in PAGES)",
    "appointments:mine_ics": "calendar (.ics) download",
    "appointments:mine_cancel": "POST only, redirects",
    "appointments:manage_ics": "calendar (.ics) download",
    "appointments:callback_outcome": "POST only, redirects",
    "baskets:action": "POST only, redirects",
    "documents:document_file": "the document itself (PDF or image), shown in the document page's frame",
    "teleservices:web_document": "PDF or spreadsheet download",
    "teleservices:kiosk_document": "PDF or spreadsheet download",
    "teleservices:agent_document": "PDF or spreadsheet download",
    "teleservices:kiosk_end": "POST only, redirects",
    "reception:call_next": "POST only, redirects (keyboard path in test_reception_call_next_with_the_keyboard)",
    "reception:close": "POST only, redirects",
    "healthz": "JSON for the load balancer (docs/production.md)",
    "readyz": "JSON for the load balancer (docs/production.md)",
    "metrics": "Prometheus text for the monitoring (docs/production.md)",
    "messaging:attachment": "a message's file, downloaded",
    "messaging:agent_attachment": "a message's file, downloaded",
    "messaging:claim": "POST only, redirects",
    "messaging:answer": "POST only: redirects, or the conversation page with its error (in PAGES)",
    "messaging:motive": "POST only, redirects",
    "messaging:close": "POST only: redirects, or the conversation page with its error",
    "telephony:screen_pop_stream": "server-sent events (text/event-stream) read by telephony:console's script; "
    "the HTML it may carry is the unknown-caller fragment of telephony:screen_pop",
    "telephony:screen_pop": "htmx fragment polled by telephony:console: 204, an HX-Redirect to the record, or the "
    "unknown caller's notice inside that page",
    "messaging:attach": "POST only: redirects, or the conversation page with its error (in PAGES)",
}


def _pattern_names(patterns=None, namespace: str = "", prefix: str = ""):
    """Every URL pattern of the resolver as (namespace, "namespace:name"), its route when it has no name."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace])) if entry.namespace else namespace
            yield from _pattern_names(entry.url_patterns, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            name = entry.name or prefix + str(entry.pattern)
            yield namespace, f"{namespace}:{name}" if namespace else name


def test_every_html_page_is_covered():
    covered = {p.name for p in PAGES if not p.path}
    patterns = set(_pattern_names())
    uncovered = sorted(
        name
        for namespace, name in patterns
        if name not in covered and name not in NOT_PAGES and f"{namespace}:*" not in NOT_PAGES
    )
    assert not uncovered, (
        "URL patterns neither checked for accessibility (PAGES) nor excluded with a reason (NOT_PAGES) in "
        f"tests/browser/test_accessibility.py: {uncovered}"
    )
    names = {name for _namespace, name in patterns}
    stale = {n for n in NOT_PAGES if not n.endswith(":*")} - names
    assert not stale, f"NOT_PAGES names no URL pattern: {sorted(stale)}"
    assert covered <= names, f"PAGES names no URL pattern: {sorted(covered - names)}"


def _build(settings, tmp_path, caisse, make_person) -> tuple[Data, dict[str, User]]:
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    settings.OMNIGUICHET_DOCUMENT_KEY = generate_key()
    seed_baskets()
    d = Data()
    users = {
        AGENT: make_user("accueil-751", role=Role.RECEPTION_AGENT, caisse=caisse),
        SUPERVISOR: make_user("national", role=Role.NATIONAL_SUPERVISOR),
    }
    d.site = make_site(caisse, [users[AGENT]], name="Accueil Paris 11e")
    person = d.person = make_person(
        family_name="Lefèvre", given_names="Marie", rights_from=dt.date(2010, 1, 1)
    )
    users[INSURED] = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=users[INSURED], opened_at=timezone.now())
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    actor = insured_actor(users[INSURED])
    agent = Actor.agent(users[AGENT])
    # Contacts, this year and the last ones (for the timeline and the dashboards).
    for year, answered in ((2024, True), (2025, True), (2025, False)):
        record_contact(actor=Actor.system(), channel=Channel.PHONE, person=person, motive="autre",
                       started_at=dt.datetime(year, 5, 2, 10, tzinfo=dt.UTC), answered=answered)  # fmt: skip
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    analytics._memo.clear()
    analytics.export_warehouse(
        actor=Actor.system(), channel=Channel.BACKOFFICE, out=settings.ANALYTICS_WAREHOUSE_DIR
    )
    # A case waiting for a document, a document deposited for an agent's request.
    d.case_reference = "IJ-A11Y"
    past = timezone.now() - dt.timedelta(days=3)
    ingest_case_events(actor=Actor.system("backoffice"), source="test", rows=[
        event(d.case_reference, 1, "opened", {"person_id": person.pk, "case_type": "sick_pay"}, occurred_at=past),
        event(d.case_reference, 2, "document_missing",
              {"document": "attestation-salaire", "label": "attestation de salaire"}, occurred_at=past),
    ])  # fmt: skip
    d.awaited = RequestedDocument.objects.get(case__reference=d.case_reference)
    asked = request_documents(actor=agent, channel=Channel.BACKOFFICE, person_id=person.pk,
                              document_types=["proof_of_address"], label="Justificatif de domicile")  # fmt: skip
    deposit_documents(actor=actor, channel=Channel.WEB, purpose_kind="request", purpose_ref=str(asked.pk),
                      document_type="proof_of_address", files=[("domicile.pdf", make_pdf())])  # fmt: skip
    d.document = Document.objects.select_related("item").get()
    # Online services used on three channels; the certificate's verification code.
    d.web_request = use_service(actor=actor, channel=Channel.WEB, code="attestation_droits", data={}).request
    d.kiosk_request = use_service(actor=actor, channel=Channel.KIOSK, code="attestation_droits", data={},
                                  idempotency_key="kiosk-1").request  # fmt: skip
    d.agent_request = use_service(actor=agent, channel=Channel.PHONE, code="attestation_droits",
                                  person_id=person.pk, data={}).request  # fmt: skip
    d.attestation = Attestation.objects.first()
    d.message = InboxMessage.objects.create(
        person=person, idempotency_key="a11y-1", subject="Votre attestation",
        body="Votre attestation est disponible.", created_at=timezone.now(),
    )  # fmt: skip
    # A conversation of the secure messaging, with a file; a reply template (migrations' data is flushed by
    # transactional tests).
    ReplyTemplate.objects.get_or_create(
        code="accuse-reception", defaults={"label": "Accusé de réception", "body": "Bonjour {full_name}, …"}
    )
    d.thread = write_message(actor=actor, channel=Channel.WEB, motive="remboursement", body="Bonjour, où en est mon "
                             "remboursement ?", files=[("decompte.pdf", make_pdf())]).thread  # fmt: skip
    # An e-mail from an unknown sender (mailin): HTML part, a refused file, in the "to identify" list.
    d.email_thread = receive_email(caisse_code=caisse.code, data=(
        b"From: inconnu@example.org\r\nTo: 751@courriel.example\r\nSubject: Ma carte\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Bonjour, <b>ma carte</b> est perdue.</p>\r\n--B\r\nContent-Type: application/zip\r\n"
        b"Content-Disposition: attachment; filename=a.zip\r\n\r\nPK\r\n--B--\r\n"
    )).message.thread  # fmt: skip
    # Appointments: one at the desk, one by video, one call-back today; a freed slot offered to the waiting list.
    start = _next_workday_at(10)
    desk_agent = users[AGENT]
    d.appointment = _appointment(person, d.site, "ij_dossier", start, Mode.DESK, "A11YDESK", agent=desk_agent)
    d.video = _appointment(person, d.site, "ij_dossier", start + dt.timedelta(days=7), Mode.VIDEO, "A11YVIDEO",
                           video_room="salle-a11y", agent=desk_agent)  # fmt: skip
    d.callback = _appointment(person, d.site, "remboursement_rappel", timezone.now() + dt.timedelta(hours=1),
                              Mode.PHONE, "A11YPHONE", agent=desk_agent, phone="+33698765432")  # fmt: skip
    d.manage_token = appointments.manage_token(d.appointment)
    entry = WaitingListEntry.objects.create(
        person=person, site=d.site, motive_id="ij_dossier", earliest=start.date(),
        latest=start.date() + dt.timedelta(days=30),
    )  # fmt: skip
    d.offer_token = appointments.offer_token(entry, start + dt.timedelta(days=1, hours=1))
    # Someone waiting at the reception desk; at another site, the agent serves a visitor identified at the kiosk.
    take_ticket(site_id=d.site.pk, code="", nir="", birth_date=None, motive="autre", priority=False)
    d.busy_site = make_site(caisse, [users[AGENT]], name="Accueil Paris 15e")
    d.visitor = make_person(family_name="Martin", given_names="Claire")
    take_ticket(site_id=d.busy_site.pk, nir=d.visitor.nir, birth_date=d.visitor.birth_date, motive="autre")
    call_next(actor=agent, site_id=d.busy_site.pk, desk="Guichet 2")
    return d, users


def _next_workday_at(hour: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=3)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=appointments.PARIS)


def _appointment(person, site, motive: str, start: dt.datetime, mode: str, code: str, **extra) -> Appointment:
    duration = dt.timedelta(minutes=AppointmentMotive.objects.get(pk=motive).duration_minutes)
    return Appointment.objects.create(
        person=person, caisse_id=person.caisse_id, site=site, motive_id=motive, mode=mode, start=start,
        end=start + duration, booked_channel="web", checkin_code=code, **extra,
    )  # fmt: skip


def _report(violations: list[tuple[str, str, dict]]) -> str:
    impacts = " or ".join(sorted(FAILING_IMPACTS))
    lines = [f"{len(violations)} accessibility violation(s) of impact {impacts} (axe-core):"]
    for label, url, v in violations:
        targets = "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5])
        more = f" (+{len(v['nodes']) - 5} more)" if len(v["nodes"]) > 5 else ""
        lines.append(f"- [{v['impact']}] {v['id']} on {url} ({label}): {v['help']} — {targets}{more}")
    return "\n".join(lines)


def check_page(page, url: str, label: str, found: list) -> None:
    """Run axe-core (injected in every page of the context) on the page as it is now; keep the violations of the
    failing impacts."""
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    for violation in results["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            found.append((label, url, violation))


def test_every_page_passes_axe(live_server, make_person, caisse_paris, settings, tmp_path, monkeypatch):
    from axe_playwright_python.base import AXE_SCRIPT  # axe-core, as bundled in the package
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    settings.LANGUAGE_CODE = "fr"
    settings.KIOSK_IDLE_SECONDS = 600  # the kiosk session must outlive the checks
    settings.OMNIGUICHET_PUBLIC_URL = live_server.url
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", "browser-test")
    data, users = _build(settings, tmp_path, caisse_paris, make_person)
    base = live_server.url
    found: list[tuple[str, str, dict]] = []
    problems: list[str] = []
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tabs = {}
        for role in (ANONYMOUS, ENGLISH, INSURED, AGENT, SUPERVISOR, KIOSK):
            context = browser.new_context(locale="en-GB" if role == ENGLISH else "fr-FR")
            context.set_default_timeout(5_000)
            context.add_init_script(script=AXE_SCRIPT)
            tabs[role] = context.new_page()
            if role in (INSURED, AGENT, SUPERVISOR):  # a session of the role's login
                client = Client()
                client.force_login(users[role])
                cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
                context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
        kiosk = tabs[KIOSK]  # identified at the self-service kiosk, as a person does there
        kiosk.goto(f"{base}/borne/connexion/")
        kiosk.fill("#id_nir", data.person.nir)
        kiosk.fill("#id_password", PASSWORD)
        kiosk.click("#kiosk-login")
        kiosk.wait_for_url(f"{base}/borne/")
        # The agent has opened the person's record (the services on their behalf need it).
        tabs[AGENT].goto(f"{base}/agent/persons/{data.person.pk}/")

        for entry in PAGES:
            page = tabs[entry.role]
            url = base + entry.url(data)
            try:
                response = page.goto(url)
                status = response.status if response else 0
                if not entry.submit and status != entry.status:
                    problems.append(f"{entry.label()}: {url} answered {status}, expected {entry.status}")
                if entry.submit:
                    for selector, value in entry.fill:
                        page.fill(selector, value)
                    # The server's answer to a wrong form is what is checked, not the browser's own validation.
                    page.eval_on_selector(entry.submit, "button => { button.form.noValidate = true; }")
                    with page.expect_navigation():
                        page.click(entry.submit)
                if entry.wait_for:
                    page.wait_for_selector(entry.wait_for, state="attached")
                for key in entry.keys:
                    page.keyboard.press(key)
                check_page(page, page.url, entry.label(), found)
                # axe checks that a language is named; the language must also be the page's (Swagger UI: English).
                lang = page.evaluate("document.documentElement.lang")
                expected = "en" if entry.role == ENGLISH or entry.name == "api-v1:openapi-view" else "fr"
                if lang != expected:
                    problems.append(f"{entry.label()}: {page.url} says lang={lang!r}, expected {expected!r}")
            except PlaywrightError as exc:
                problems.append(f"{entry.label()}: {url}: {str(exc).splitlines()[0]}")
        browser.close()
    assert not problems, "\n".join(problems)
    assert not found, _report(found)
