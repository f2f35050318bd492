"""The migrations build exactly the schema `keel.store.schema` describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from keel.store import Store, migrate, open_store
from keel.store import schema as t


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, migrate=True)
    yield opened
    opened.close()


def test_the_migrated_database_matches_the_schema_module(store: Store) -> None:
    def diff(conn: Any) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_server_default": False})
        # Alembic's own version table is not part of Keel's schema.
        return [d for d in compare_metadata(context, t.metadata) if "alembic" not in repr(d)]

    assert store.read(diff) == []


def test_the_idempotency_key_index_is_partial(store: Store) -> None:
    """Alembic's comparison ignores index predicates, and the schema module leaves this one out."""

    def definition(conn: Any) -> str:
        if conn.dialect.name == "postgresql":
            # This store's schema only: other tests' schemas in the same database hold the same index.
            query = (
                "SELECT indexdef FROM pg_indexes "
                "WHERE indexname = 'uq_keel_runs_idempotency_key' AND schemaname = current_schema()"
            )
        else:
            query = "SELECT sql FROM sqlite_master WHERE name = 'uq_keel_runs_idempotency_key'"
        return str(conn.execute(text(query)).scalar_one())

    sql = store.read(definition)
    assert "UNIQUE" in sql.upper()
    assert "WHERE" in sql.upper() and "idempotency_key IS NOT NULL" in sql


def test_the_head_revision_is_alembics(store: Store) -> None:
    """`migrate.head()` reads file names (no Alembic import); it must agree with Alembic's own view."""
    config = migrate._config()
    assert migrate.head() == ScriptDirectory.from_config(config).get_current_head()
    assert store.read(migrate.current) == migrate.head()
