"""An export of the platform's warehouse records its run whatever started it: `omniguichet warehouse export`
(as `make demo` runs it) shows on the analytics page like an export started from the page (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from omniguichet.analytics import services
from omniguichet.analytics.models import ExportRun, ExportStatus, ExportTrigger
from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.services import record_contact


@pytest.fixture(autouse=True)
def _warehouse_settings(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", "test-pseudonym-key")
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    settings.ANALYTICS_BONUS_WEIGHTS = ""
    settings.LANGUAGE_CODE = "en"
    services._memo.clear()


@pytest.fixture
def contacts(make_person):
    person = make_person()
    now = dt.datetime.now(dt.UTC)
    return [
        record_contact(actor=Actor.system(), person=person, channel=Channel.PHONE, motive="remboursement",
                       started_at=now - dt.timedelta(days=d), answered=True)
        for d in (1, 2, 3)
    ]  # fmt: skip


def test_the_page_says_no_export_before_any(supervisor):
    client = Client()
    client.force_login(supervisor)
    html = client.get("/analytics/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No warehouse export has been recorded yet." in html


def test_an_export_from_the_command_line_is_recorded_and_shown(supervisor, contacts):
    call_command("warehouse", "export", "--no-progress")
    run = ExportRun.objects.get()
    assert (run.status, run.trigger, run.contacts) == (ExportStatus.DONE, ExportTrigger.COMMAND, 3)
    assert run.started_at is not None and run.finished_at is not None and run.high_water > 0

    client = Client()
    client.force_login(supervisor)
    html = client.get("/analytics/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No warehouse export" not in html
    assert "Last warehouse export" in html and "(command line), done." in html
    assert "3 new contacts exported." in html

    # In French, the page's default language.
    html = client.get("/analytics/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Dernier export de l\u2019entrepôt" in html and "(ligne de commande)" in html


def test_a_failed_export_is_recorded_with_its_error(supervisor, contacts, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services.export, "_export", broken)  # where the export runs look it up
    with pytest.raises(OSError):
        services.export_warehouse(
            actor=Actor.system(), channel=Channel.BACKOFFICE, out=django_settings.ANALYTICS_WAREHOUSE_DIR
        )
    run = ExportRun.objects.get()
    assert run.status == ExportStatus.FAILED and run.error == "OSError: disk full"


def test_an_export_elsewhere_is_not_the_platform_s_and_not_recorded(contacts, tmp_path):
    report = services.export_warehouse(
        actor=Actor.system(), channel=Channel.BACKOFFICE, out=tmp_path / "copy"
    )
    assert report.contacts == 3
    assert not ExportRun.objects.exists()


def test_a_run_from_the_page_or_a_task_is_recorded_once(supervisor, contacts):
    run, created = services.request_export(
        actor=Actor.system(), channel=Channel.BACKOFFICE, trigger=ExportTrigger.SCHEDULE
    )
    assert created
    services.run_export(actor=Actor.system(), channel=Channel.BACKOFFICE, run_id=run.pk)
    assert list(ExportRun.objects.values_list("pk", "status", "contacts")) == [(run.pk, ExportStatus.DONE, 3)]
