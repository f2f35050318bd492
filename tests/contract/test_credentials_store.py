"""Tool-credential state in the store, on SQLite and PostgreSQL: keys, quotas, revocations, the migration."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, select

from keel.store import Store, open_store
from keel.store import schema as t

TABLES = (t.tool_keys, t.tool_revocations, t.tool_quotas)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, migrate=True)
    try:
        yield opened
    finally:
        opened.close()


def test_the_migration_creates_the_tables_schema_py_describes(store: Store) -> None:
    ours = MetaData()
    for table in TABLES:
        table.to_metadata(ours)
    names = [table.name for table in TABLES]

    def diff(conn: object) -> list[object]:
        context = MigrationContext.configure(conn)  # type: ignore[arg-type]
        return [d for d in compare_metadata(context, ours) if any(n in repr(d) for n in names)]

    assert store.read(diff) == []  # type: ignore[arg-type]


def test_a_public_key_is_published_once_per_kid(store: Store) -> None:
    assert store.credential_public_key("k1") is None
    store.credential_publish_key("k1", "AAAA", algorithm="Ed25519", now=1.0)
    store.credential_publish_key("k1", "BBBB", algorithm="Ed25519", now=2.0)  # first writer wins
    assert store.credential_public_key("k1") == ("Ed25519", "AAAA")


def test_minting_without_a_quota_writes_nothing(store: Store) -> None:
    assert store.credential_mint("acme", quota=None, window_start=0.0, now=1.0) == (0, 0)
    assert store.read(lambda c: c.execute(select(t.tool_quotas)).all()) == []


def test_the_quota_counts_per_org_and_window(store: Store) -> None:
    def mint(org: str, window: float) -> bool:
        return store.credential_mint(org, quota=2, window_start=window, now=window + 1) is not None

    assert [mint("acme", 60.0) for _ in range(3)] == [True, True, False]
    assert mint("globex", 60.0)
    # A worker whose clock lags still sees the org's current window, and counts in it.
    assert not mint("acme", 0.0)
    assert [mint("acme", 120.0) for _ in range(3)] == [True, True, False]
    row = store.read(lambda c: c.execute(select(t.tool_quotas).where(t.tool_quotas.c.org_id == "acme")).one())
    assert (row.window_start, row.minted) == (120.0, 2)


def test_concurrent_mints_never_overshoot_the_quota(db_url: str, store: Store) -> None:
    other = open_store(db_url)
    granted: list[bool] = []
    lock = threading.Lock()

    def worker(s: Store) -> None:
        for _ in range(10):
            ok = s.credential_mint("acme", quota=7, window_start=60.0, now=61.0) is not None
            with lock:
                granted.append(ok)

    try:
        threads = [threading.Thread(target=worker, args=(s,)) for s in (store, other, store, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    assert (granted.count(True), granted.count(False)) == (7, 33)


def test_revoke_all_counts_generations_for_all_orgs_and_per_org(store: Store) -> None:
    assert store.credential_revocation(org_id="acme", jti="j", kid="k") == (0, 0, False)
    assert store.credential_revoke_all(now=1.0) == 1
    assert store.credential_revoke_all(org_id="acme", now=2.0) == 1
    assert asyncio.run(store.acredential_revoke_all(org_id="acme", now=3.0)) == 2
    assert store.credential_revocation(org_id="acme", jti="j", kid="k") == (1, 2, False)
    assert store.credential_revocation(org_id="globex", jti="j", kid="k") == (1, 0, False)
    # A mint learns the generations to carry, with or without a quota.
    assert store.credential_mint("acme", quota=None, window_start=0.0, now=4.0) == (1, 2)
    assert asyncio.run(store.acredential_mint("acme", quota=5, window_start=0.0, now=4.0)) == (1, 2)


def test_one_credential_or_one_key_is_revoked_and_old_rows_are_pruned(store: Store) -> None:
    store.credential_revoke(jti="j1", now=10.0, expires_at=100.0)
    store.credential_revoke(kid="k1", now=10.0)
    assert store.credential_revocation(org_id="acme", jti="j1", kid="k0")[2]
    assert store.credential_revocation(org_id="acme", jti="j0", kid="k1")[2]
    assert not store.credential_revocation(org_id="acme", jti="j0", kid="k0")[2]
    store.credential_revoke(jti="j2", now=200.0, expires_at=300.0)  # j1 has expired: its row goes
    keys = {k for (k,) in store.read(lambda c: c.execute(select(t.tool_revocations.c.key)).all())}
    assert keys == {"jti:j2", "kid:k1"}  # a retired key stays retired
    with pytest.raises(ValueError, match="jti"):
        store.credential_revoke(now=1.0)
    with pytest.raises(ValueError, match="jti"):
        store.credential_revoke(jti="j", kid="k", now=1.0)
