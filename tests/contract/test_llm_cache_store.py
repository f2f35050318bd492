"""The gateway's exact cache in the store, on every backend: per org, replaced on write, expiring."""

from __future__ import annotations

import asyncio

from keel.store import open_store


def test_cache_entries_are_per_org_replaced_and_expire(db_url: str) -> None:
    store = open_store(db_url, migrate=True)
    try:
        assert store.cache_get("acme", "h1", now=100.0) is None
        asyncio.run(store.acache_put("acme", "h1", route="faq", answer='{"text": "a"}', now=100.0, ttl_s=60))
        assert store.cache_get("acme", "h1", now=120.0) == '{"text": "a"}'
        assert store.cache_get("globex", "h1", now=120.0) is None
        asyncio.run(store.acache_put("acme", "h1", route="faq", answer='{"text": "b"}', now=130.0, ttl_s=60))
        assert store.cache_get("acme", "h1", now=185.0) == '{"text": "b"}'  # replaced, with a new expiry
        assert store.cache_get("acme", "h1", now=190.0) is None
    finally:
        store.close()
