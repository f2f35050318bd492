"""The migrations build exactly the schema `keel.store.schema` describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from keel.store import Store, open_store
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
