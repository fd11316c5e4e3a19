"""Connection pooling and the read replica on PostgreSQL (docs/production.md). Each case runs the platform in a
child process with its own settings (OMNIGUICHET_DB_POOL, OMNIGUICHET_REPLICA_URL) against the test database."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the pool and the replica are PostgreSQL's (SQLite is one file)"
)


def _url(name: str) -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT'] or 5432}/{name}"


def _run(script: str, tmp_path: Path, **env: str) -> dict:
    environment = {
        **os.environ, "DATABASE_URL": _url(connection.settings_dict["NAME"]), "OMNIGUICHET_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "omniguichet.settings", **env,
    }  # fmt: skip
    for name in ("OMNIGUICHET_DB_POOL", "OMNIGUICHET_REPLICA_URL"):
        if name not in env:
            environment.pop(name, None)
    prelude = "import json, django; django.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


REQUESTS = """
from django.core.signals import request_finished, request_started
from django.db import connection
pids = []
for _ in range(5):  # what the WSGI handler does around each request
    request_started.send(sender=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pids.append(cursor.fetchone()[0])
    request_finished.send(sender=None)
print(json.dumps({"pids": pids, "pool": connection.pool is not None}))
"""


def test_the_pool_size_is_checked():
    from omniguichet.settings import _pool_options

    assert _pool_options("8") == {"min_size": 2, "max_size": 8, "timeout": 10}
    assert _pool_options("0:4")["min_size"] == 0
    for wrong in ("", "a", "4:2", "0", "1:2:3", "-1:2"):
        with pytest.raises(ImproperlyConfigured, match="OMNIGUICHET_DB_POOL"):
            _pool_options(wrong)


@postgresql_only
@pytest.mark.django_db
def test_requests_reuse_the_pools_connections(tmp_path):
    pooled = _run(REQUESTS, tmp_path, OMNIGUICHET_DB_POOL="1:2")
    assert pooled["pool"]
    # Five requests served by the pool's connections (at most its 2), not one connection each.
    assert len(set(pooled["pids"])) <= 2
    # Without the pool and without persistent connections, each request opens its own.
    unpooled = _run(REQUESTS, tmp_path, DB_CONN_MAX_AGE="0")
    assert not unpooled["pool"]
    assert len(set(unpooled["pids"])) == 5


EXPORT_AND_DASHBOARD = """
from django.conf import settings
from omniguichet.analytics.services import dashboard, export_warehouse
from omniguichet.core.actors import Actor, Channel
report = export_warehouse(actor=Actor.system(), channel=Channel.BACKOFFICE, out=settings.ANALYTICS_WAREHOUSE_DIR)
board = dashboard(actor=Actor.system(), channel=Channel.BACKOFFICE, year=%(year)d, caisse="751")
print(json.dumps({"contacts": report.contacts, "caisse_name": board.caisse_name,
                  "databases": sorted(settings.DATABASES)}))
"""


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_export_and_the_dashboards_read_the_replica(make_person, tmp_path):
    from omniguichet.crm.models import Contact

    person = make_person(caisse_code="751")
    now = dt.datetime.now(dt.UTC)

    def contact() -> None:
        Contact.objects.create(
            person=person, caisse_id="751", channel="phone", direction="inbound", motive_id="remboursement",
            started_at=now, actor_kind="system",
        )  # fmt: skip

    contact()
    # The "replica": a copy of the test database at this instant, in the same cluster; then the two differ.
    test_db, replica_db = connection.settings_dict["NAME"], f"replica_{uuid.uuid4().hex[:8]}"
    connections.close_all()
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        # A copy needs the template to itself: connections left by earlier tests of this process (a live server's
        # thread, a pool) are ended first, as `createdb --template` asks of an operator.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [test_db],
        )
        for attempt in range(50):
            try:
                admin.execute(f'CREATE DATABASE "{replica_db}" TEMPLATE "{test_db}"')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.2)
    try:
        with psycopg.connect(_url(replica_db), autocommit=True) as replica:
            replica.execute("UPDATE referential_caisse SET name = 'Paris (replica)' WHERE code = '751'")
        contact()  # on the primary only
        script = EXPORT_AND_DASHBOARD % {"year": now.year}
        on_replica = _run(script, tmp_path / "a", OMNIGUICHET_REPLICA_URL=_url(replica_db))
        assert on_replica["databases"] == ["default", "replica"]
        assert on_replica["contacts"] == 1  # what the replica holds
        assert on_replica["caisse_name"] == "Paris (replica)"
        on_primary = _run(script, tmp_path / "b")
        assert on_primary["databases"] == ["default"]
        assert on_primary["contacts"] == 2
        assert on_primary["caisse_name"] != "Paris (replica)"
    finally:
        with psycopg.connect(_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{replica_db}" WITH (FORCE)')


@pytest.mark.django_db
def test_without_a_replica_everything_is_on_default():
    from omniguichet.core.routers import ReplicaRouter, read_alias, replica_reads
    from omniguichet.crm.models import Contact

    router = ReplicaRouter()
    with replica_reads():
        assert read_alias() == "default"
        assert router.db_for_read(Contact) == "default"
    assert router.db_for_write(Contact) == "default"
    assert not router.allow_migrate("replica", "crm")
