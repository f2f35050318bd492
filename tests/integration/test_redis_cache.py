"""RedisCache against a real Redis server (KEEL_TEST_REDIS_URL, default redis://127.0.0.1:6379/0).

Each test writes under a prefix of its own and deletes its keys afterwards. Redis unreachable:
the tests FAIL under CI=true and skip loudly elsewhere.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import cache_behaviour
import pytest
import redis
from needs import REDIS_URL, require_redis

from keel.errors import UsageError
from keel.gateway.cache import CacheError, RedisCache, build_cache
from keel.gateway.config import CacheConfig
from keel.gateway.providers import hashed_embedding

PASSWORD = "redis-pw-DO-NOT-LEAK-4f2a"


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix for one test; its keys are deleted afterwards."""
    url = require_redis()
    name = f"keel:test:{uuid.uuid4().hex[:12]}:"
    yield name
    with redis.Redis.from_url(url, socket_timeout=2) as client:
        keys = list(client.scan_iter(match=name + "*", count=500))
        if keys:
            client.delete(*keys)


@pytest.fixture
def raw(prefix: str) -> Iterator[redis.Redis]:
    """A plain client, to look at what RedisCache wrote."""
    with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as client:
        yield client


@pytest.fixture
async def cache(prefix: str) -> AsyncIterator[RedisCache]:
    built = RedisCache(REDIS_URL, prefix=prefix)
    yield built
    await built.aclose()


def refused_redis_url(password: str | None = None) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    auth = f":{password}@" if password else ""
    return f"redis://{auth}127.0.0.1:{port}/0"


# -- the behaviour every backend shares -------------------------------------------------------------


@pytest.mark.parametrize("check", cache_behaviour.ALL, ids=lambda f: f.__name__)
async def test_redis_cache(cache: RedisCache, check: Callable[[RedisCache], Awaitable[None]]) -> None:
    await check(cache)


async def test_only_the_newest_max_entries_are_compared(prefix: str, raw: redis.Redis) -> None:
    cache = RedisCache(REDIS_URL, prefix=prefix, max_entries=4)
    try:
        await cache_behaviour.only_the_newest_max_entries_are_compared(cache, 4)
    finally:
        await cache.aclose()
    # The index keeps only what a lookup may compare.
    assert raw.zcard(f"{prefix}i:acme:faq") == 4


# -- Redis' own expiry --------------------------------------------------------------------------------


async def test_exact_entries_expire_by_redis_ttl(cache: RedisCache, prefix: str, raw: redis.Redis) -> None:
    now = time.time()
    await cache.put("acme", "h1", route="faq", answer="{}", now=now, ttl_s=0.4)
    key = f"{prefix}x:acme:h1"
    assert 0 < raw.pttl(key) <= 400
    assert await cache.get("acme", "h1", now=now) == "{}"
    await asyncio.sleep(0.7)
    # Gone from Redis, whatever time the caller believes it is.
    assert raw.exists(key) == 0
    assert await cache.get("acme", "h1", now=now) is None


async def test_semantic_entries_and_their_index_expire_by_redis_ttl(
    cache: RedisCache, prefix: str, raw: redis.Redis
) -> None:
    now = time.time()
    vector = hashed_embedding(cache_behaviour.REFUND)
    await cache.put_vector("acme", "faq", "h1", vector, answer="{}", now=now, ttl_s=0.4)
    entry, index = f"{prefix}s:acme:faq:h1", f"{prefix}i:acme:faq"
    assert 0 < raw.pttl(entry) <= 400 and 0 < raw.pttl(index) <= 400
    assert await cache.nearest("acme", "faq", vector, threshold=0.9, now=now) is not None
    await asyncio.sleep(0.7)
    assert raw.exists(entry, index) == 0
    assert await cache.nearest("acme", "faq", vector, threshold=0.9, now=now) is None


async def test_an_index_member_whose_entry_redis_dropped_is_skipped(
    cache: RedisCache, prefix: str, raw: redis.Redis
) -> None:
    now = time.time()
    vector = hashed_embedding(cache_behaviour.REFUND)
    await cache.put_vector("acme", "faq", "gone", vector, answer='"gone"', now=now, ttl_s=60)
    await cache.put_vector("acme", "faq", "kept", [-x for x in vector], answer='"kept"', now=now, ttl_s=60)
    raw.delete(f"{prefix}s:acme:faq:gone")  # as if evicted (maxmemory) before its index member
    assert await cache.nearest("acme", "faq", vector, threshold=0.5, now=now) is None
    found = await cache.nearest("acme", "faq", [-x for x in vector], threshold=0.5, now=now)
    assert found is not None and found[0] == '"kept"'


async def test_vectors_are_compact(cache: RedisCache, prefix: str, raw: redis.Redis) -> None:
    await cache.put_vector("acme", "faq", "h", [3.0, 4.0], answer="{}", now=time.time(), ttl_s=60)
    assert raw.hget(f"{prefix}s:acme:faq:h", "v") == b"\x9a\x99\x19?\xcd\xccL?"  # 0.6 and 0.8 as float32
    with pytest.raises(UsageError, match="positive"):
        await cache.put("acme", "h", route="faq", answer="{}", now=time.time(), ttl_s=0)


# -- failures: raised quickly, never hanging, never showing the password ------------------------------


async def test_connection_refused_raises_a_cache_error_quickly() -> None:
    cache = RedisCache(refused_redis_url(PASSWORD), timeout_s=0.5)
    started = time.monotonic()
    for call in (
        cache.get("acme", "h", now=1.0),
        cache.put("acme", "h", route="faq", answer="{}", now=1.0, ttl_s=1),
        cache.nearest("acme", "faq", [1.0], threshold=0.5, now=1.0),
        cache.put_vector("acme", "faq", "h", [1.0], answer="{}", now=1.0, ttl_s=1),
    ):
        with pytest.raises(CacheError, match="redis cache at 127.0.0.1:") as caught:
            await call
        err = caught.value
        assert "ConnectionError" in str(err)
        assert PASSWORD not in f"{err} {err!r} {err.details}" and err.__cause__ is None
    assert time.monotonic() - started < 2.0
    assert PASSWORD not in repr(cache)
    await cache.aclose()


async def test_a_server_that_never_answers_times_out() -> None:
    # Accepts connections, reads, never replies: only the timeouts end the call.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    cache = RedisCache(f"redis://127.0.0.1:{listener.getsockname()[1]}/0", timeout_s=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(CacheError, match="get"):
            await cache.get("acme", "h", now=1.0)
        assert time.monotonic() - started < 1.5
    finally:
        await cache.aclose()
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


async def test_a_refused_password_is_not_repeated(prefix: str) -> None:
    # No such user on the test server: AUTH fails (WRONGPASS), and the error must not quote the password.
    url = REDIS_URL.replace("redis://", f"redis://keel-no-such-user:{PASSWORD}@", 1)
    cache = RedisCache(url, prefix=prefix, timeout_s=0.5)
    try:
        with pytest.raises(CacheError, match="AuthenticationError") as caught:
            await cache.get("acme", "h", now=1.0)
    finally:
        await cache.aclose()
    assert PASSWORD not in f"{caught.value} {caught.value!r} {caught.value.details}"


def test_a_bad_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(UsageError, match="must be a redis://") as caught:
        RedisCache(f"http://:{PASSWORD}@127.0.0.1:6379")
    assert PASSWORD not in str(caught.value)


# -- lifetime and wiring ------------------------------------------------------------------------------


def test_cache_survives_a_new_event_loop(prefix: str) -> None:
    cache = RedisCache(REDIS_URL, prefix=prefix)
    now = time.time()
    asyncio.run(cache.put("acme", "h", route="faq", answer="{}", now=now, ttl_s=60))
    # A second asyncio.run is a new loop: the first loop's connections must not be reused.
    assert asyncio.run(cache.get("acme", "h", now=now)) == "{}"
    asyncio.run(cache.aclose())


def test_build_cache_reads_the_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_TEST_CACHE_URL", f"redis://:{PASSWORD}@127.0.0.1:6379/3")
    built = build_cache(
        CacheConfig(backend="redis", redis_url_env="KEEL_TEST_CACHE_URL", semantic_max_entries=9, redis_timeout_s=0.3),
        None,
    )
    assert isinstance(built, RedisCache)
    assert (built.where, built.max_entries, built.timeout_s) == ("127.0.0.1:6379/3", 9, 0.3)
    assert PASSWORD not in repr(built)
