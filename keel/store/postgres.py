"""PostgreSQL dialect: psycopg 3, FOR UPDATE SKIP LOCKED claims, synchronous_commit on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url

from keel.store.base import Store

# An arbitrary constant naming Keel's migration lock among the server's advisory locks.
_MIGRATION_LOCK_ID = 0x6B65656C


def normalize_url(url: str) -> str:
    """postgresql:// and postgres:// select psycopg 3, the driver Keel pins."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class PostgresStore(Store):
    """Many workers on many machines share one PostgreSQL database."""

    dialect_name = "postgresql"

    def _create_engines(self, url: str) -> tuple[Engine, Engine]:
        engine = create_engine(normalize_url(url), pool_size=10, max_overflow=20, pool_pre_ping=True)
        return engine, engine

    def _insert(self, table: Any) -> Any:
        return pg_insert(table)

    def _migration_lock(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
