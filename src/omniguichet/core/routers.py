"""The read replica (docs/production.md): reads made inside `replica_reads()` go to the database alias "replica"
when OMNIGUICHET_REPLICA_URL configures one; everything else, and every write, goes to "default".

The warehouse export and the dashboards read inside `replica_reads()`: long scans that need not see the last
second's writes, and that a primary serving the agents and the insured persons is better without. A block reads
ALL its rows from one server (the export's rule against skipping a contact committed late compares maxima and
running transactions with the rows it reads: they must come from the same server; a standby is consistent with
itself)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

REPLICA = "replica"
_reading_replica: ContextVar[bool] = ContextVar("omniguichet_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """The alias the current block reads from."""
    return REPLICA if _reading_replica.get() and replica_configured() else "default"


def read_connection() -> BaseDatabaseWrapper:
    """The connection for raw SQL reads of the current block (the ORM's reads follow the router)."""
    return connections[read_alias()]


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica is a copy of the same database

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA  # a replica follows its primary: nothing is migrated on it directly
