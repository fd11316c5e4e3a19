"""The dashboards at /analytics/: anonymous -> login, wrong role -> 403, another caisse -> 404, then figures."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import translation

from omniguichet.analytics import charts, engine, services
from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.services import record_contact
from omniguichet.referential.models import Role
from tests.conftest import make_user

SYSTEM = Actor.system()


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _warehouse(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", "dashboard-tests")
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    settings.ANALYTICS_BONUS_WEIGHTS = ""
    services._memo.clear()


@pytest.fixture
def exported(make_person, caisse_ain, caisse_paris):
    paris = make_person()
    ain = make_person(caisse_code="011")
    for person, answered in ((paris, True), (ain, False)):
        record_contact(actor=SYSTEM, channel=Channel.PHONE, person=person, motive="autre",
                       started_at=at("2024-03-01T10:00:00"), answered=answered)  # fmt: skip
    # 2025: Paris answers 2 calls of 3 (0.667 >= target 0.5: met), Ain none of 1.
    for answered in (True, True, False):
        record_contact(actor=SYSTEM, channel=Channel.PHONE, person=paris, motive="carte_vitale",
                       started_at=at("2025-04-01T10:00:00"), answered=answered)  # fmt: skip
    record_contact(actor=SYSTEM, channel=Channel.PHONE, person=ain, motive="carte_vitale",
                   started_at=at("2025-06-01T10:00:00"), answered=False)  # fmt: skip
    record_contact(actor=SYSTEM, channel=Channel.WEB, person=ain, motive="attestation_droits",
                   started_at=at("2025-06-01T10:00:00"))  # fmt: skip
    services.export_warehouse(
        actor=SYSTEM, channel=Channel.BACKOFFICE, out=django_settings.ANALYTICS_WAREHOUSE_DIR
    )


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager_paris(caisse_paris):
    return make_user("manager-paris", role=Role.MANAGER, caisse=caisse_paris)


def rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(response.content.decode().splitlines()))


URLS = [
    "/analytics/?year=2025",
    "/analytics/caisses/751/?year=2025",
    "/analytics/national/indicators.csv?year=2025",
    "/analytics/caisses/751/bonus.csv?year=2025",
]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_goes_to_login(db, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/agent/login/")


@pytest.mark.parametrize("url", URLS)
def test_staff_without_a_steering_role_is_refused(agent_paris, url):
    assert logged(agent_paris).get(url).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/analytics/caisses/011/?year=2025",  # another caisse
        "/analytics/caisses/999/?year=2025",  # no such caisse: the same answer
        "/analytics/caisses/011/indicators.csv?year=2025",
        "/analytics/national/ranking.csv?year=2025",  # the other caisses one by one
        "/analytics/national/secrets.csv?year=2025",
        "/analytics/?year=1066",
        "/analytics/?year=soon",
    ],
)
def test_manager_sees_nothing_of_another_caisse(exported, manager_paris, url):
    assert logged(manager_paris).get(url).status_code == 404


def test_manager_sees_national_figures_and_own_rank(exported, manager_paris):
    response = logged(manager_paris).get("/analytics/?year=2025")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="panel-phone_answer_rate"' in html
    assert "Your caisse ranks" in html
    assert 'id="ranking"' not in html
    assert 'class="og-target"' in html  # the target line of the charts
    assert "<script" not in html.split("</header>")[1] or "cdn." not in html
    bonus = rows(logged(manager_paris).get("/analytics/national/bonus.csv?year=2025"))
    assert [r["caisse"] for r in bonus] == ["751"]
    national = {
        r["indicator"]: r
        for r in rows(logged(manager_paris).get("/analytics/national/indicators.csv?year=2025"))
    }
    # Pooled over both caisses: 2 answered of 4 calls; target 2024: 1 of 2.
    assert (national["phone_answer_rate"]["numerator"], national["phone_answer_rate"]["denominator"]) == (
        "2",
        "4",
    )
    assert national["phone_answer_rate"]["target"] == "0.5"


def test_manager_sees_own_caisse(exported, manager_paris):
    client = logged(manager_paris)
    response = client.get("/analytics/caisses/751/?year=2025")
    assert response.status_code == 200
    assert 'class="og-national"' in response.content.decode()  # the national line beside the caisse's
    indicators = {
        r["indicator"]: r for r in rows(client.get("/analytics/caisses/751/indicators.csv?year=2025"))
    }
    assert indicators["phone_answer_rate"] == {
        "caisse": "751", "period": "2025", "indicator": "phone_answer_rate", "numerator": "2",
        "denominator": "3", "value": repr(2 / 3), "target": "0.5", "met": "true",
    }  # fmt: skip
    monthly = [r for r in rows(client.get("/analytics/caisses/751/monthly.csv?year=2025"))
               if r["indicator"] == "phone_answer_rate"]  # fmt: skip
    assert [r["value"] for r in monthly][2:5] == ["", repr(2 / 3), ""]
    channels = {r["channel"]: r for r in rows(client.get("/analytics/caisses/751/channels.csv?year=2025"))}
    assert (channels["phone"]["contacts"], channels["phone"]["share"]) == ("3", "1.0")
    response = client.get("/analytics/caisses/751/bonus.csv?year=2025")
    assert response["Content-Disposition"] == 'attachment; filename="751-2025-bonus.csv"'
    # No account anywhere (0.0 >= 0.0) and no recontact (three calls at the same instant): met too.
    met = rows(response)[0]["indicators_met"].split(";")
    assert met == ["recontact_rate", "account_rate", "phone_answer_rate"]


def test_national_role_sees_every_caisse_and_the_ranking(exported, supervisor):
    client = logged(supervisor)
    html = client.get("/analytics/?year=2025").content.decode()
    assert 'id="ranking"' in html and "/analytics/caisses/011/" in html
    ranking = rows(client.get("/analytics/national/ranking.csv?year=2025"))
    assert [(r["rank"], r["caisse"]) for r in ranking][:1] == [("1", "751")]
    assert client.get("/analytics/caisses/011/?year=2025").status_code == 200
    bonus = {r["caisse"]: r for r in rows(client.get("/analytics/national/bonus.csv?year=2025"))}
    assert set(bonus) >= {"011", "751"}


def test_pages_read_cached_figures(exported, supervisor, monkeypatch, django_assert_num_queries):
    client = logged(supervisor)
    assert client.get("/analytics/?year=2025").status_code == 200
    calls = []
    monkeypatch.setattr(engine, "compute", lambda **kw: calls.append(kw))
    # session, user, the second factor's device (django-otp), the last warehouse export (national role), caisse
    # names, the DSFR site config twice, and the live work items (conversations, documents: one query each)
    with django_assert_num_queries(9):
        assert client.get("/analytics/caisses/011/?year=2025").status_code == 200
    services._memo.clear()  # another process: the figures come from the cache file
    assert client.get("/analytics/?year=2025").status_code == 200
    assert calls == []


def test_a_year_without_contacts_shows_empty_figures(exported, supervisor):
    client = logged(supervisor)
    response = client.get("/analytics/?year=2031")
    assert response.status_code == 200
    phone = {r["indicator"]: r for r in rows(client.get("/analytics/national/indicators.csv?year=2031"))}
    assert (phone["phone_answer_rate"]["denominator"], phone["phone_answer_rate"]["value"]) == ("0", "")
    assert (
        client.get("/analytics/caisses/999/?year=2025").status_code == 404
    )  # unknown even to the national role


def test_without_warehouse_the_page_says_so(supervisor):
    response = logged(supervisor).get("/analytics/")
    assert response.status_code == 200
    assert "warehouse export" in response.content.decode()
    assert logged(supervisor).get("/analytics/national/indicators.csv").status_code == 404


def test_french_page(exported, supervisor, settings):
    settings.LANGUAGE_CODE = "fr"
    with translation.override("fr"):
        html = logged(supervisor).get("/analytics/?year=2025", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Appels téléphoniques décrochés" in html
    assert "Classement des caisses" in html
    assert "Exporter l\u2019entrepôt maintenant" in html


def test_trend_chart_breaks_lines_and_escapes():
    svg = charts.trend_chart([0.5, None, 0.7], target=0.6, title="<b>x</b>", labels=["01", "02", "03"])
    assert svg.count('class="og-values"') == 2
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def test_the_national_role_starts_a_warehouse_export_from_the_dashboard(
    supervisor, manager_paris, django_capture_on_commit_callbacks
):
    from omniguichet.analytics.models import ExportRun

    assert Client().post("/analytics/export/").status_code == 302  # to the login page
    manager = logged(manager_paris)
    assert "warehouse-export" not in manager.get("/analytics/").content.decode()
    assert manager.post("/analytics/export/").status_code == 403
    assert manager.get("/analytics/export/").status_code == 405
    national = logged(supervisor)
    page = national.get("/analytics/").content.decode()
    assert "No warehouse export has been recorded yet." in page  # and no warehouse yet either
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = national.post("/analytics/export/")
    assert response.status_code == 302 and response["Location"] == "/analytics/"
    run = ExportRun.objects.get()
    assert (run.status, run.trigger, run.requested_by) == ("queued", "api", supervisor)
    assert len(callbacks) == 1  # the task is enqueued after the commit
    assert "Last warehouse export: requested" in national.get("/analytics/").content.decode()
    assert "queued" in national.get("/analytics/").content.decode()


def test_each_indicator_has_its_trend_chart_and_the_channel_mix_is_drawn(exported, supervisor):
    import re

    html = logged(supervisor).get("/analytics/?year=2025").content.decode()
    panels = dict(re.findall(r'<section class="og-panel" id="panel-(\w+)">(.*?)</section>', html, re.S))
    assert list(panels) == list(engine.INDICATORS)
    for name, body in panels.items():
        assert body.count('<svg xmlns="http://www.w3.org/2000/svg"') == 1, name
    # The phone panel: the national line by month (April 2025: 2 of 3 answered; June: 0 of 1) against the
    # dashed target of 50 % (2024: 1 of 2); months without a call leave gaps.
    phone = panels["phone_answer_rate"]
    assert phone.count('class="og-target"') == 1
    assert phone.count('class="og-values"') == 2  # April and June: two separate points, not one line
    assert "<title>04: 66.7 %</title>" in phone and "<title>06: 0.0 %</title>" in phone
    # No 2024 e-mail: no target, no target line.
    assert 'class="og-target"' not in panels["email_48h_rate"]
    # The channel mix: 4 phone calls and 1 web visit inbound in 2025, drawn as bars of 80 % and 20 %.
    mix = re.search(r'<svg[^>]*aria-label="Channel mix of inbound contacts".*?</svg>', html, re.S)
    assert mix is not None
    bars = dict(re.findall(r'>([^<>]+)</text><rect [^>]*width="([\d.]+)"', mix.group(0)))
    assert float(bars["web account"]) > 0
    assert float(bars["phone"]) == pytest.approx(4 * float(bars["web account"]))
    assert ">80.0 %</text>" in mix.group(0) and ">20.0 %</text>" in mix.group(0)
    # Every asset comes from the platform: no script, style sheet or image from another host.
    assert not re.search(r'<(script|link|img)\b[^>]*(src|href)="(https?:)?//', html)


def test_the_bonus_weights_setting_counts_in_the_dashboards(exported, supervisor, settings):
    from omniguichet.analytics.apps import check_bonus_weights

    settings.ANALYTICS_BONUS_WEIGHTS = "phone_answer_rate=3,account_rate=0.5"
    assert check_bonus_weights() == []
    bonus = {r["caisse"]: r for r in rows(logged(supervisor).get("/analytics/national/bonus.csv?year=2025"))}
    # 751 meets recontact_rate (1), account_rate (0.5) and phone_answer_rate (3); 011 misses the phone target.
    assert (bonus["751"]["points"], bonus["751"]["indicators_met"]) == (
        "4.5",
        "recontact_rate;account_rate;phone_answer_rate",
    )
    assert "phone_answer_rate" not in bonus["011"]["indicators_met"]
    settings.ANALYTICS_BONUS_WEIGHTS = "speed=3"
    assert [e.id for e in check_bonus_weights()] == ["analytics.E001"]


def test_work_waiting_in_the_caisse_is_shown_live(exported, manager_paris, make_person):
    """Conversations waiting, overdue, and the answers of the last 30 days in time or late, per caisse."""
    from django.utils import timezone

    from omniguichet.crm.models import Motive
    from omniguichet.messaging.models import Thread

    now = timezone.now()
    person = make_person()
    common = {"person": person, "caisse_id": "751", "motive": Motive.objects.get(pk="autre"), "subject": "x",
              "opened_at": now, "last_message_at": now}  # fmt: skip
    Thread.objects.create(
        **common, waiting_since=now - dt.timedelta(days=3), deadline=now - dt.timedelta(days=1)
    )
    Thread.objects.create(**common, waiting_since=now, deadline=now + dt.timedelta(hours=1), due_soon_at=now)
    Thread.objects.create(**common, status="answered", answered_in_time=3, answered_late=1)
    Thread.objects.create(
        **{**common, "caisse_id": "011"}, waiting_since=now, deadline=now - dt.timedelta(hours=1)
    )
    board = services.work_items(caisse="751")
    [conversations] = [w for w in board if w.kind == "message"]
    assert (conversations.open, conversations.due_soon, conversations.overdue) == (2, 1, 1)
    assert (conversations.in_time, conversations.late, conversations.share_in_time) == (3, 1, 0.75)
    html = logged(manager_paris).get("/analytics/caisses/751/?year=2025").content.decode()
    assert 'id="work-message"' in html and "75 %" in html
    national = {w.kind: w for w in services.work_items(caisse=None)}
    assert national["message"].overdue == 2 and "document" in national
