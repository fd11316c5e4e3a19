"""Backup and restore, end to end with the real commands in their own processes: a platform is seeded, exported to
the warehouse and archived; it lives on; the archive is restored on "another machine" (a fresh database, document
store and warehouse) with the right key, then with a wrong one.

On SQLite by default; on PostgreSQL (pg_dump / pg_restore) when the suite runs under pg_virtualenv."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from omniguichet.documents.services.storage import generate_key

ENTRY = [sys.executable, "-m", "omniguichet.cli"]


def _database(tmp: Path, name: str) -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return f"sqlite:///{tmp / name}.sqlite3"
    import psycopg

    db_name = f"backup_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    return urlunsplit(urlsplit(base)._replace(path=f"/{db_name}"))


def _platform(tmp: Path, name: str, key: str) -> dict[str, str]:
    var = tmp / name
    var.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(OMNIGUICHET_VAR_DIR=str(var), DATABASE_URL=_database(tmp, name), OMNIGUICHET_DOCUMENT_KEY=key,
               OMNIGUICHET_PSEUDONYM_KEY="pseudonyms-of-the-test", SECRET_KEY="x" * 50)  # fmt: skip
    return env


def _run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*ENTRY, *args], env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


SNAPSHOT = """
import django, hashlib, json; django.setup()
import duckdb
from django.conf import settings
from omniguichet.crm.models import Contact
from omniguichet.referential.models import Person
from omniguichet.documents.services.storage import decrypt, document_storage
storage = document_storage()
names = sorted(n for d in storage.listdir("751")[0] for m in storage.listdir(f"751/{d}")[0]
               for n in (f"751/{d}/{m}/" + f for f in storage.listdir(f"751/{d}/{m}")[1]))
plain = [hashlib.sha256(decrypt(storage.open(n).read(), associated=n.encode())).hexdigest() for n in names]
parts = str(settings.ANALYTICS_WAREHOUSE_DIR / "contacts" / "**" / "*.parquet")
total, distinct = duckdb.sql(f"select count(*), count(distinct contact_id) from read_parquet('{parts}')").fetchall()[0]
print(json.dumps({"persons": Person.objects.count(), "contacts": Contact.objects.count(),
                  "first": list(Person.objects.order_by("id").values_list("nir", flat=True)[:3]),
                  "documents": plain, "warehouse": total, "warehouse_distinct": distinct}))
"""

STORE = """
import django; django.setup()
from omniguichet.documents.services.storage import store_encrypted
for i in range(3):
    store_encrypted(f"pièce {i}".encode() * 100, caisse_code="751")
"""


def _snapshot(env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SNAPSHOT],
        env={**env, "DJANGO_SETTINGS_MODULE": "omniguichet.settings"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_backup_and_restore_round_trip(tmp_path):
    key = generate_key()
    source = _platform(tmp_path, "source", key)
    _run(source, "migrate", "--no-input")
    _run(source, "seed", "--persons", "40", "--contacts", "400", "--no-progress")
    subprocess.run([sys.executable, "-c", STORE], env={**source, "DJANGO_SETTINGS_MODULE": "omniguichet.settings"},
                   check=True, timeout=120)  # fmt: skip
    _run(source, "warehouse", "export")
    archive = tmp_path / "backup.tar"
    written = _run(source, "backup", "--out", str(archive))
    assert "backup written" in written.stdout
    before = _snapshot(source)
    assert before["contacts"] >= 400 and len(before["documents"]) == 3, before
    assert before["warehouse"] == before["warehouse_distinct"] == before["contacts"], before

    # Another machine with the right key: the same records, the same documents, the export resumes.
    target = _platform(tmp_path, "target", key)
    _run(target, "migrate", "--no-input")
    refused = _run(target, "restore", "--from", str(archive), ok=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    _run(target, "restore", "--from", str(archive), "--yes")
    after = _snapshot(target)
    assert after == before
    _run(target, "seed", "--contacts", "100", "--append", "--no-progress")
    _run(target, "warehouse", "export")
    resumed = _snapshot(target)
    assert resumed["contacts"] == before["contacts"] + 100
    # No duplicate, none missing.
    assert resumed["warehouse"] == resumed["warehouse_distinct"] == resumed["contacts"]

    # Another machine with a wrong key: the restore is refused and nothing is replaced.
    wrong = _platform(tmp_path, "wrong", generate_key())
    _run(wrong, "migrate", "--no-input")
    refused = _run(wrong, "restore", "--from", str(archive), "--yes", ok=False)
    assert refused.returncode != 0 and "OMNIGUICHET_DOCUMENT_KEY" in refused.stderr
    # Restored by hand with the wrong key anyway (files copied, keys forgotten): the start-up check stops it.
    wrong_after = {**target, "OMNIGUICHET_DOCUMENT_KEY": generate_key()}
    check = _run(wrong_after, "check", "--database", "default", ok=False)
    assert check.returncode != 0 and "documents.E001" in check.stderr
    served = _run(wrong_after, "serve", "--port", "1", ok=False)
    assert served.returncode != 0 and "start refused" in served.stderr


def test_a_file_that_is_not_a_backup_is_refused(tmp_path):
    env = _platform(tmp_path, "p", generate_key())
    _run(env, "migrate", "--no-input")
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(b"not a tar")
    refused = _run(env, "restore", "--from", str(bogus), "--yes", ok=False)
    assert refused.returncode != 0 and "not an omniguichet backup" in refused.stderr
