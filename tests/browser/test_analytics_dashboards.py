"""In chromium: a caisse manager logs in, opens the steering dashboards, sees the charts drawn by the platform
(no external asset), switches to their caisse and downloads a table as CSV."""

import datetime as dt
from pathlib import Path

from omniguichet.analytics import services
from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.services import record_contact
from omniguichet.referential.models import Role
from tests.browser.conftest import give_second_factor
from tests.conftest import make_user


def test_manager_reads_the_dashboards(
    live_server, page, make_person, caisse_paris, settings, tmp_path, monkeypatch
):
    settings.LANGUAGE_CODE = "fr"
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", "browser-test")
    services._memo.clear()
    manager = make_user("manager-751", role=Role.MANAGER, caisse=caisse_paris)
    person = make_person()
    for year, answered in ((2024, True), (2025, True), (2025, False)):
        record_contact(actor=Actor.system(), channel=Channel.PHONE, person=person, motive="autre",
                       started_at=dt.datetime(year, 5, 2, 10, tzinfo=dt.UTC), answered=answered)  # fmt: skip
    services.export_warehouse(
        actor=Actor.system(), channel=Channel.BACKOFFICE, out=settings.ANALYTICS_WAREHOUSE_DIR
    )

    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/analytics/?year=2025")
    assert "/agent/login/" in page.url
    page.fill("#id_username", manager.username)
    page.fill("#id_password", "not-used-here-123")
    page.press("#id_password", "Enter")
    give_second_factor(page, manager.username)
    page.wait_for_url(f"{live_server.url}/analytics/?year=2025")
    assert "Vue nationale" in page.inner_text("h1")
    panel = page.locator("#panel-phone_answer_rate")
    assert "50,0 %" in panel.inner_text()  # one answered of two calls in 2025
    assert panel.locator("svg .og-target").count() == 1
    assert page.locator("svg.og-chart").first.is_visible()
    assert "classée 1 sur" in page.inner_text("#own-rank")

    page.click("text=Ma caisse")
    page.wait_for_url(f"{live_server.url}/analytics/caisses/751/**")
    assert page.locator("#bonus tbody tr").count() == 1
    with page.expect_download() as download:
        page.click("a[href*='/bonus.csv']")
    path = download.value.path()
    assert path is not None
    assert Path(path).read_text().startswith("caisse,name,year,points,indicators_met")
    assert external == []
