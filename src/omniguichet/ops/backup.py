"""Backup and restore of one platform: the database, the document store (encrypted files, as they are) and the
analytics warehouse, in one tar archive with a manifest. The document keys are never in the archive: they are
kept apart (docs/operations.md), and a restore refuses to start when the keys configured cannot open the
archive's documents.

- SQLite: the database file copied with SQLite's online backup API (a consistent copy while the platform runs);
- PostgreSQL: `pg_dump --format=custom`, restored in one transaction: the schema emptied, then the dump's SQL
  (`pg_restore --file -` into `psql --single-transaction`; `--clean` cannot drop a partition's key alone);
- documents on the file system are archived; documents on S3-compatible storage are not (the bucket's own
  versioning and replication keep them: docs/operations.md);
- the warehouse (Parquet files and the export's state) is archived with the database, so that the export resumes
  where the archived state says, without duplicates.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

FORMAT = 1


class BackupError(Exception):
    """A backup or a restore that cannot be done, with the reason in plain words."""


@dataclass(frozen=True)
class Report:
    archive: Path
    manifest: dict[str, Any]


def _documents_dir() -> Path | None:
    config: dict[str, Any] = settings.STORAGES["documents"]  # type: ignore[assignment]
    if config["BACKEND"] != "django.core.files.storage.FileSystemStorage":
        return None
    return Path(config.get("OPTIONS", {}).get("location", settings.MEDIA_ROOT))


def _pg_env() -> tuple[list[str], dict[str, str]]:
    db = settings.DATABASES["default"]
    args = ["--host", str(db.get("HOST") or "localhost"), "--port", str(db.get("PORT") or 5432),
            "--username", str(db.get("USER") or ""), "--dbname", str(db["NAME"])]  # fmt: skip
    return args, {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}


def _counts() -> dict[str, int]:
    from django.apps import apps

    names = {"persons": ("referential", "Person"), "contacts": ("crm", "Contact"),
             "documents": ("documents", "Document"), "threads": ("messaging", "Thread")}  # fmt: skip
    return {key: apps.get_model(*model).objects.count() for key, model in names.items()}


def _add_dir(archive: tarfile.TarFile, source: Path | None, name: str) -> int:
    if source is None or not source.exists():
        return 0
    count = 0
    for path in sorted(source.rglob("*")):
        if path.is_file():
            archive.add(path, arcname=f"{name}/{path.relative_to(source)}", recursive=False)
            count += 1
    return count


def backup(out: Path) -> Report:
    from omniguichet.documents.services.storage import ensure_key_canary, key_ids

    ensure_key_canary()  # an archive always says which key opens it
    vendor = connection.vendor
    from omniguichet.documents.models import KeyCanary

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "database": vendor,
        "document_keys": sorted(KeyCanary.objects.values_list("key_id", flat=True)),
        "configured_keys": key_ids(),
        "counts": _counts(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(out.suffix + ".partial")
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(partial, "w") as archive:
        if vendor == "sqlite":
            copy = Path(tmp) / "database.sqlite3"
            source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
            target = sqlite3.connect(copy)
            with target:
                source.backup(target)
            source.close()
            target.close()
            archive.add(copy, arcname="database.sqlite3")
        elif vendor == "postgresql":
            dump = Path(tmp) / "database.pgdump"
            args, env = _pg_env()
            result = subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), *args], env=env,
                                    capture_output=True, text=True)  # fmt: skip
            if result.returncode != 0:
                raise BackupError(f"pg_dump: {result.stderr.strip()}")
            archive.add(dump, arcname="database.pgdump")
        else:
            raise BackupError(f"no backup for the {vendor} database")
        documents = _documents_dir()
        manifest["document_files"] = _add_dir(archive, documents, "documents")
        manifest["documents_on"] = "filesystem" if documents is not None else "object storage (not archived)"
        manifest["warehouse_files"] = _add_dir(archive, Path(settings.ANALYTICS_WAREHOUSE_DIR), "warehouse")
        data = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    partial.replace(out)  # a half-written archive never has the final name
    return Report(out, manifest)


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path) as archive:
            member = archive.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            return json.loads(member.read())
    except (tarfile.TarError, KeyError, OSError, ValueError) as exc:
        raise BackupError(f"{path}: not an omniguichet backup ({exc})") from None


def check_keys(manifest: dict[str, Any]) -> list[str]:
    """The archive's document keys that the keys configured here do not include."""
    from omniguichet.documents.services.storage import key_ids

    configured = set(key_ids())
    return [key for key in manifest.get("document_keys", []) if key not in configured]


def _safe_members(archive: tarfile.TarFile, prefix: str) -> list[tarfile.TarInfo]:
    members = []
    for member in archive.getmembers():
        if not member.name.startswith(prefix + "/"):
            continue
        if not member.isfile() or member.name.startswith("/") or ".." in Path(member.name).parts:
            raise BackupError(f"refused member {member.name!r}")
        members.append(member)
    return members


def _restore_dir(archive: tarfile.TarFile, prefix: str, target: Path) -> int:
    members = _safe_members(archive, prefix)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    for member in members:
        destination = target / Path(member.name).relative_to(prefix)
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = archive.extractfile(member)
        assert source is not None
        with destination.open("wb") as handle:
            shutil.copyfileobj(source, handle)
    return len(members)


def _forget_running_transactions(warehouse: Path) -> None:
    """The export's state waits for transactions that were running when it last ran (their ids are the old
    database's). None of them runs in the restored database: what they committed before the backup is in it,
    and the next export writes what the warehouse lacks above its floor, then moves the floor."""
    from omniguichet.analytics.services.common import EXPORT_STATE

    state_file = warehouse / "contacts" / EXPORT_STATE
    if not state_file.exists():
        return
    state = json.loads(state_file.read_text())
    state["pending"] = [[mark[0], mark[1], []] for mark in state.get("pending", [])]
    state_file.write_text(json.dumps(state))


def restore(path: Path) -> dict[str, Any]:
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} (this version reads {FORMAT})")
    missing = check_keys(manifest)
    if missing:
        raise BackupError(
            "the documents of this backup were encrypted with the keys "
            f"{', '.join(missing)}, which are not among OMNIGUICHET_DOCUMENT_KEY: configure them first "
            "(docs/operations.md)"
        )
    vendor = connection.vendor
    if manifest["database"] != vendor:
        raise BackupError(f"a {manifest['database']} backup cannot be restored into {vendor}")
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(path) as archive:
        connection.close()
        if vendor == "sqlite":
            member = archive.extractfile("database.sqlite3")
            assert member is not None
            copy = Path(tmp) / "database.sqlite3"
            copy.write_bytes(member.read())
            source = sqlite3.connect(copy)
            target = sqlite3.connect(settings.DATABASES["default"]["NAME"])
            with target:
                source.backup(target)  # replaces the whole database, pages and schema
            source.close()
            target.close()
        else:
            member = archive.extractfile("database.pgdump")
            assert member is not None
            dump = Path(tmp) / "database.pgdump"
            dump.write_bytes(member.read())
            args, env = _pg_env()
            # Not `pg_restore --clean`: it drops each object alone, and a partition's primary key (the contacts
            # and the ledger are partitioned by month, docs/scale.md) cannot be dropped apart from its table's.
            # Instead, in ONE transaction: the schema emptied, then the dump's SQL (streamed, never held whole).
            script = subprocess.Popen(
                ["pg_restore", "--no-owner", "--file", "-", str(dump)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            )  # fmt: skip
            result = subprocess.run(
                ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1", *args,
                 "--command", "DROP SCHEMA public CASCADE",
                 "--command", "CREATE SCHEMA public AUTHORIZATION pg_database_owner",
                 "--command", "GRANT USAGE ON SCHEMA public TO PUBLIC", "--file", "-"],
                stdin=script.stdout, env=env, capture_output=True, text=True,
            )  # fmt: skip
            assert script.stdout is not None and script.stderr is not None
            script.stdout.close()
            errors = script.stderr.read().decode(errors="replace")
            if script.wait() != 0 or result.returncode != 0:
                raise BackupError(f"pg_restore: {(errors + result.stderr).strip()[:2000]}")
        documents = _documents_dir()
        if documents is not None:
            _restore_dir(archive, "documents", documents)
        warehouse = Path(settings.ANALYTICS_WAREHOUSE_DIR)
        _restore_dir(archive, "warehouse", warehouse)
        _forget_running_transactions(warehouse)
    return manifest
