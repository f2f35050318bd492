"""Durable state: `open_store(url)` picks the dialect from the URL scheme."""

from __future__ import annotations

from keel.config import resolve_database_url
from keel.store.base import BreakerState, CheckpointResult, Claim, RunRecord, SpanRecord, StepRecord, Store


def open_store(url: str | None = None, *, migrate: bool | None = None) -> Store:
    """Open the store at `url` (see `resolve_database_url`).

    Migrations run automatically on the embedded SQLite default; on PostgreSQL they are an
    operator's decision (`keel db upgrade`), so a schema behind the code is an error instead.
    """
    resolved = resolve_database_url(url)
    store: Store
    if resolved.startswith("sqlite"):
        from keel.store.sqlite import SQLiteStore

        store = SQLiteStore(resolved)
        migrate = True if migrate is None else migrate
    else:
        from keel.store.postgres import PostgresStore

        store = PostgresStore(resolved)
        migrate = False if migrate is None else migrate
    try:
        if migrate:
            store.upgrade()
        else:
            store.check_schema()
    except BaseException:
        store.close()
        raise
    return store


__all__ = ["BreakerState", "CheckpointResult", "Claim", "RunRecord", "SpanRecord", "StepRecord", "Store", "open_store"]
