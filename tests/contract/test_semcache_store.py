"""The semantic cache in the store, and StoreCache over it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import cache_behaviour
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, func, select

from keel.errors import ConfigError
from keel.gateway.cache import CacheError, StoreCache, build_cache, decode_vector, encode_vector
from keel.gateway.config import CacheConfig
from keel.store import Store, open_store
from keel.store import schema as t


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, migrate=True)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
async def cache(store: Store) -> AsyncIterator[StoreCache]:
    built = StoreCache(store)
    yield built
    await built.aclose()


def rows(store: Store, org_key: str, route: str) -> int:
    c = t.llm_semcache.c
    stmt = select(func.count()).select_from(t.llm_semcache).where(c.org_key == org_key, c.route == route)
    return int(store.read(lambda conn: conn.execute(stmt).scalar_one()))


# -- the store's semantic cache operations -----------------------------------------------------------


def test_scan_is_per_org_and_route_unexpired_newest_first_and_capped(store: Store) -> None:
    for i in range(5):
        asyncio.run(
            store.asemcache_put("acme", "faq", f"h{i}", bytes([i]) * 8, answer=f"a{i}", now=100.0 + i, ttl_s=60)
        )
    asyncio.run(store.asemcache_put("acme", "triage", "h0", b"t" * 8, answer="triage", now=100.0, ttl_s=60))
    asyncio.run(store.asemcache_put("globex", "faq", "h0", b"g" * 8, answer="globex", now=100.0, ttl_s=60))

    assert store.semcache_scan("acme", "faq", now=110.0, limit=3) == [
        (bytes([4]) * 8, "a4"),
        (bytes([3]) * 8, "a3"),
        (bytes([2]) * 8, "a2"),
    ]
    assert [a for _, a in store.semcache_scan("acme", "faq", now=161.5, limit=10)] == ["a4", "a3", "a2"]
    assert store.semcache_scan("acme", "triage", now=110.0, limit=10) == [(b"t" * 8, "triage")]
    assert store.semcache_scan("globex", "faq", now=110.0, limit=10) == [(b"g" * 8, "globex")]
    assert store.semcache_scan("initech", "faq", now=110.0, limit=10) == []


def test_put_replaces_and_prunes_its_org_and_routes_expired_rows(store: Store) -> None:
    put = store.asemcache_put
    asyncio.run(put("acme", "faq", "old", b"o" * 8, answer="old", now=100.0, ttl_s=10))
    asyncio.run(put("acme", "faq", "kept", b"k" * 8, answer="kept", now=100.0, ttl_s=100))
    asyncio.run(put("acme", "other", "old", b"o" * 8, answer="other", now=100.0, ttl_s=10))
    assert rows(store, "acme", "faq") == 2

    asyncio.run(put("acme", "faq", "kept", b"K" * 8, answer="replaced", now=150.0, ttl_s=100))
    assert rows(store, "acme", "faq") == 1  # "old" expired at 110 and went with this write
    assert rows(store, "acme", "other") == 1  # another route's rows wait for a write of their own
    assert store.semcache_scan("acme", "faq", now=240.0, limit=10) == [(b"K" * 8, "replaced")]
    assert store.semcache_scan("acme", "faq", now=250.0, limit=10) == []


def test_the_migration_creates_the_table_schema_py_describes(store: Store) -> None:
    ours = MetaData()
    t.llm_semcache.to_metadata(ours)

    def diff(conn: object) -> list[object]:
        context = MigrationContext.configure(conn)  # type: ignore[arg-type]
        return [d for d in compare_metadata(context, ours) if "keel_llm_semcache" in repr(d)]

    assert store.read(diff) == []  # type: ignore[arg-type]


# -- StoreCache: the behaviour every backend shares --------------------------------------------------


@pytest.mark.parametrize("check", cache_behaviour.ALL, ids=lambda f: f.__name__)
async def test_store_cache(cache: StoreCache, check: Callable[[StoreCache], Awaitable[None]]) -> None:
    await check(cache)


async def test_only_the_newest_max_entries_are_compared(store: Store) -> None:
    await cache_behaviour.only_the_newest_max_entries_are_compared(StoreCache(store, max_entries=4), 4)


async def test_vectors_are_stored_as_unit_float32(cache: StoreCache, store: Store) -> None:
    await cache.put_vector("acme", "faq", "h", [3.0, 4.0], answer="{}", now=100.0, ttl_s=60)
    ((data, _),) = store.semcache_scan("acme", "faq", now=100.0, limit=1)
    assert data == encode_vector([0.6, 0.8]) and len(data) == 8
    assert list(decode_vector(data)) == pytest.approx([0.6, 0.8])


async def test_a_failing_database_is_a_cache_error(cache: StoreCache, store: Store) -> None:
    await store.awrite(lambda conn: conn.exec_driver_sql("DROP TABLE keel_llm_semcache"))
    with pytest.raises(CacheError, match="database cache nearest failed") as caught:
        await cache.nearest("acme", "faq", [1.0], threshold=0.5, now=1.0)
    assert caught.value.details == {"backend": "database", "operation": "nearest"}
    assert caught.value.code == "gateway.cache_error"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(CacheError, match="database cache put_vector failed"):
        await cache.put_vector("acme", "faq", "h", [1.0], answer="{}", now=1.0, ttl_s=1)


def test_build_cache(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build_cache(CacheConfig(semantic_max_entries=7), store)
    assert isinstance(built, StoreCache) and built.max_entries == 7 and built.store is store
    assert build_cache(CacheConfig(), None) is None
    monkeypatch.delenv("KEEL_TEST_NO_SUCH_URL", raising=False)
    with pytest.raises(ConfigError, match="cache.redis_url_env"):
        build_cache(CacheConfig(backend="redis", redis_url_env="KEEL_TEST_NO_SUCH_URL"), store)
