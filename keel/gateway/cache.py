"""The gateway's answer caches, exact and semantic, kept in Keel's database or in Redis.

The exact cache finds an answer by the hash of its request. The semantic cache finds the
answer of the most similar earlier request of the same org and route, by the cosine similarity
of their embeddings, when that similarity reaches the route's threshold. Answers are opaque
JSON strings. Every entry belongs to one org (its `org_key` is part of every key and every
query), and every entry expires after the TTL it was written with.

Every method raises `CacheError` when its backend fails; the gateway treats that as a miss (or
a write not made), so an unreachable cache never fails a model call.
"""

from __future__ import annotations

import asyncio
import math
import operator
import sys
from array import array
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import quote, urlsplit

from keel.errors import CacheError, UsageError
from keel.gateway.config import REDIS_SCHEMES, CacheConfig
from keel.observe.redact import scrub
from keel.store import Store

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_REDIS_PREFIX",
    "AnswerCache",
    "CacheError",
    "RedisCache",
    "StoreCache",
    "build_cache",
    "cosine",
    "decode_vector",
    "encode_vector",
]

DEFAULT_MAX_ENTRIES = 1000
DEFAULT_REDIS_PREFIX = "keel:cache:"
# float32 rounding moves the cosine of a vector with itself a little below 1; a threshold of 1
# ("identical meaning only") must still match it.
_SIMILARITY_SLACK = 1e-6
# How much of a backend's own error message a CacheError carries.
_ERROR_MESSAGE_LIMIT = 300

T = TypeVar("T")


class AnswerCache(Protocol):
    """Where the gateway keeps answers; every method raises CacheError when the backend fails."""

    async def get(self, org_key: str, request_hash: str, *, now: float) -> str | None:
        """The exact cache's unexpired answer for this org and request, or None."""
        ...

    async def put(self, org_key: str, request_hash: str, *, route: str, answer: str, now: float, ttl_s: float) -> None:
        """Store (or replace) an exact cache answer for `ttl_s` seconds."""
        ...

    async def nearest(
        self, org_key: str, route: str, vector: Sequence[float], *, threshold: float, now: float
    ) -> tuple[str, float] | None:
        """(answer, cosine similarity) of the org and route's most similar unexpired entry, if >= threshold."""
        ...

    async def put_vector(
        self,
        org_key: str,
        route: str,
        request_hash: str,
        vector: Sequence[float],
        *,
        answer: str,
        now: float,
        ttl_s: float,
    ) -> None:
        """Store (or replace) a semantic cache entry: the request's embedding and its answer, for `ttl_s` seconds."""
        ...

    async def aclose(self) -> None:
        """Release connections (a store passed in is left to its owner)."""
        ...


# -- vectors ------------------------------------------------------------------------------------
#
# A stored vector is L2-normalised and packed as little-endian float32: 4 bytes a dimension
# (6 KiB for a 1536-dimension embedding; JSON would take about 20 bytes a dimension, and parsing
# it would dominate the scan). float32 is what embedding models compute in, so nothing that
# matters for a similarity is lost, and normalising once on write makes each comparison of the
# scan a plain dot product.


def _unit(vector: Iterable[float]) -> list[float] | None:
    """`vector` scaled to length 1; None when it has no direction (empty, all zeros, or not finite)."""
    values = [float(x) for x in vector]
    norm = math.sqrt(math.fsum(x * x for x in values))
    if not values or norm == 0.0 or not math.isfinite(norm):
        return None
    return [x / norm for x in values]


def encode_vector(vector: Sequence[float]) -> bytes:
    """The stored form of an embedding: L2-normalised, little-endian float32. UsageError if it has no direction."""
    unit = _unit(vector)
    if unit is None:
        raise UsageError("an embedding must have a length (not empty, not all zeros, every value finite)")
    packed = array("f", unit)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def decode_vector(data: bytes) -> array[float]:
    """An embedding as `encode_vector` stored it (unit length, float32 precision)."""
    values = array("f")
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine similarity of two vectors of one length; 0.0 when either has no direction."""
    if len(a) != len(b):
        raise UsageError(f"cannot compare vectors of {len(a)} and {len(b)} dimensions")
    norms = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(x * x for x in b))
    if norms == 0.0 or not math.isfinite(norms):
        return 0.0
    return math.fsum(map(operator.mul, a, b)) / norms


def _most_similar(
    entries: Iterable[tuple[bytes, T]], unit: Sequence[float], threshold: float
) -> tuple[T, float] | None:
    """The entry whose stored vector is closest to the unit vector `unit`, if at least `threshold` close."""
    best: tuple[T, float] | None = None
    floor = threshold - _SIMILARITY_SLACK
    for data, answer in entries:
        if len(data) != 4 * len(unit):
            continue  # written by another embedding model (another dimension): not comparable
        # Both have unit length, so the dot product is the cosine.
        similarity = sum(map(operator.mul, unit, decode_vector(data)))
        if similarity >= floor and (best is None or similarity > best[1]):
            best = (answer, min(1.0, similarity))
    return best


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise UsageError(f"a semantic cache threshold is a cosine similarity in (0, 1], not {threshold!r}")


# -- Keel's database ----------------------------------------------------------------------------


class StoreCache:
    """The cache in Keel's database (SQLite or PostgreSQL): tables keel_llm_cache and keel_llm_semcache.

    The semantic lookup reads the newest `max_entries` unexpired entries of the org and route and
    compares each with the request (a linear scan). Neither database has a vector index here, and
    at this size a scan is what the field uses: 1000 entries of 1536 dimensions take about 60 ms
    of pure-Python arithmetic (a 256-dimension model, a tenth of that), next to the seconds of
    the model call a hit saves. It runs in a worker thread, off the event loop.
    """

    def __init__(self, store: Store, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries <= 0:
            raise UsageError("max_entries must be positive")
        self.store = store
        self.max_entries = max_entries

    def __repr__(self) -> str:
        return f"StoreCache({self.store.dialect_name}, max_entries={self.max_entries})"

    async def get(self, org_key: str, request_hash: str, *, now: float) -> str | None:
        return await self._call("get", asyncio.to_thread(self.store.cache_get, org_key, request_hash, now=now))

    async def put(self, org_key: str, request_hash: str, *, route: str, answer: str, now: float, ttl_s: float) -> None:
        await self._call(
            "put", self.store.acache_put(org_key, request_hash, route=route, answer=answer, now=now, ttl_s=ttl_s)
        )

    async def nearest(
        self, org_key: str, route: str, vector: Sequence[float], *, threshold: float, now: float
    ) -> tuple[str, float] | None:
        _check_threshold(threshold)
        unit = _unit(vector)
        if unit is None:
            return None

        def scan() -> tuple[str, float] | None:
            rows = self.store.semcache_scan(org_key, route, now=now, limit=self.max_entries)
            return _most_similar(rows, unit, threshold)

        return await self._call("nearest", asyncio.to_thread(scan))

    async def put_vector(
        self,
        org_key: str,
        route: str,
        request_hash: str,
        vector: Sequence[float],
        *,
        answer: str,
        now: float,
        ttl_s: float,
    ) -> None:
        if _unit(vector) is None:
            return  # a vector with no direction is similar to nothing: not worth a row
        data = encode_vector(vector)
        await self._call(
            "put_vector",
            self.store.asemcache_put(org_key, route, request_hash, data, answer=answer, now=now, ttl_s=ttl_s),
        )

    async def aclose(self) -> None:
        """Nothing to close: the store belongs to the app."""

    async def _call(self, operation: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except Exception as exc:
            # Not chained: a database error's text carries the statement's parameters (answers).
            detail = scrub(f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}", limit=_ERROR_MESSAGE_LIMIT)
            raise CacheError(
                f"database cache {operation} failed: {detail}", backend="database", operation=operation
            ) from None


# -- Redis ----------------------------------------------------------------------------------------


async def _close_with_loop(client: Redis) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


def _part(value: str) -> str:
    # Percent-encoded, so that no org, route or hash can contain the ":" that separates them.
    return quote(value, safe="")


class RedisCache:
    """The cache in Redis (redis-py's asyncio client); entries expire by Redis' own key TTLs.

    Keys, under `prefix`:

    - ``x:ORG:HASH``: an exact entry, a hash {a: answer, e: expiry}, with the entry's TTL;
    - ``s:ORG:ROUTE:HASH``: a semantic entry, a hash {v: vector, a: answer, e: expiry}, with its TTL;
    - ``i:ORG:ROUTE``: the semantic entries of one org and route, a sorted set of hashes scored by
      expiry, trimmed on each write to the unexpired newest `max_entries`.

    An entry is gone once its key's TTL has passed by the server's clock or its expiry has passed
    by the caller's `now`; with the gateway on the system clock the two agree. The semantic lookup
    is a linear scan of the index's newest `max_entries` entries: plain Redis has no vector index
    (that takes the RediSearch module), and at this size a scan is two round trips and the
    arithmetic `StoreCache` describes. Not for Redis Cluster: an org and route's keys may sit on
    different slots.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_REDIS_PREFIX,
        timeout_s: float = 0.5,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise UsageError("the Redis URL is not a valid URL") from None
        if parts.scheme not in REDIS_SCHEMES:
            raise UsageError("the Redis URL must be a redis://, rediss:// or unix:// URL")
        if timeout_s <= 0 or max_entries <= 0:
            raise UsageError("timeout_s and max_entries must be positive")
        self._url = url  # private: it may hold a password, so it is in no repr, log or error
        self._secrets = [s for s in (url, parts.password) if s]
        self.where = (
            f"unix:{parts.path}" if parts.scheme == "unix" else f"{parts.hostname}:{parts.port or 6379}{parts.path}"
        )
        self.prefix = prefix
        self.timeout_s = float(timeout_s)
        self.max_entries = max_entries
        self._client: Redis | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncGenerator[None, None] | None = None

    def __repr__(self) -> str:
        return f"RedisCache({self.where!r}, prefix={self.prefix!r}, max_entries={self.max_entries})"

    def _exact_key(self, org_key: str, request_hash: str) -> str:
        return f"{self.prefix}x:{_part(org_key)}:{_part(request_hash)}"

    def _entry_key(self, org_key: str, route: str, request_hash: str) -> str:
        return f"{self.prefix}s:{_part(org_key)}:{_part(route)}:{_part(request_hash)}"

    def _index_key(self, org_key: str, route: str) -> str:
        return f"{self.prefix}i:{_part(org_key)}:{_part(route)}"

    async def _redis(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            # Imported here: redis-py takes most of a second to import, which only a Redis cache should pay.
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError as RedisConnectionError

            # Connections belong to the loop that opened them, so a new loop (a second
            # asyncio.run) gets a client of its own.
            client = Redis.from_url(
                self._url,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                # One immediate retry on a broken connection (a pooled socket the server closed, a
                # restart); none on a timeout, which would only double the wait for a miss.
                retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                retry_on_timeout=False,
            )
            self._client, self._client_loop = client, loop
            # The loop's shutdown_asyncgens (asyncio.run) closes the client in its own loop when
            # nobody called aclose() first.
            self._closer = _close_with_loop(client)
            await anext(self._closer)
        return self._client

    async def _call(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            # Socket timeouts bound each read; this bounds the whole operation (connect, retry, reads).
            async with asyncio.timeout(3 * self.timeout_s):
                return await call()
        except TimeoutError:
            raise CacheError(
                f"redis cache at {self.where}: {operation}: no answer within {3 * self.timeout_s:g} s",
                backend="redis",
                operation=operation,
            ) from None
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            for secret in self._secrets:
                text = text.replace(secret, "<REDACTED>")
            # Not chained: the original exception may hold the connection's arguments.
            raise CacheError(
                f"redis cache at {self.where}: {operation} failed: {scrub(text, limit=_ERROR_MESSAGE_LIMIT)}",
                backend="redis",
                operation=operation,
            ) from None

    async def get(self, org_key: str, request_hash: str, *, now: float) -> str | None:
        key = self._exact_key(org_key, request_hash)

        async def call() -> str | None:
            client = await self._redis()
            answer, expires = await client.hmget(key, ["a", "e"])
            if answer is None or expires is None or float(expires) <= now:
                return None
            return _text(answer)

        return await self._call("get", call)

    async def put(self, org_key: str, request_hash: str, *, route: str, answer: str, now: float, ttl_s: float) -> None:
        key, millis = self._exact_key(org_key, request_hash), _millis(ttl_s)

        async def call() -> None:
            client = await self._redis()
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={"a": answer, "e": repr(now + ttl_s), "r": route})
                pipe.pexpire(key, millis)
                await pipe.execute()

        await self._call("put", call)

    async def nearest(
        self, org_key: str, route: str, vector: Sequence[float], *, threshold: float, now: float
    ) -> tuple[str, float] | None:
        _check_threshold(threshold)
        unit = _unit(vector)
        if unit is None:
            return None
        index = self._index_key(org_key, route)

        async def call() -> tuple[str, float] | None:
            client = await self._redis()
            # Newest first: every entry of a route has the route's TTL, so the latest expiry is the latest write.
            hashes = await client.zrevrangebyscore(index, "+inf", f"({now!r}", start=0, num=self.max_entries)
            if not hashes:
                return None
            async with client.pipeline(transaction=False) as pipe:
                for member in hashes:
                    pipe.hmget(self._entry_key(org_key, route, _text(member)), ["v", "a", "e"])
                rows = await pipe.execute()
            # An entry whose key Redis has expired is missing here; its index member goes on the next write.
            entries = [
                (bytes(v), a)
                for v, a, e in rows
                if v is not None and a is not None and e is not None and float(e) > now
            ]
            found = (
                await asyncio.to_thread(_most_similar, entries, unit, threshold)
                if len(entries) > 64  # a big scan runs off the event loop; a small one is cheaper inline
                else _most_similar(entries, unit, threshold)
            )
            return None if found is None else (_text(found[0]), found[1])

        return await self._call("nearest", call)

    async def put_vector(
        self,
        org_key: str,
        route: str,
        request_hash: str,
        vector: Sequence[float],
        *,
        answer: str,
        now: float,
        ttl_s: float,
    ) -> None:
        if _unit(vector) is None:
            return  # a vector with no direction is similar to nothing: not worth a key
        data = encode_vector(vector)
        entry, index = self._entry_key(org_key, route, request_hash), self._index_key(org_key, route)
        expires, millis = now + ttl_s, _millis(ttl_s)

        async def call() -> None:
            client = await self._redis()
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(entry, mapping={"v": data, "a": answer, "e": repr(expires)})
                pipe.pexpire(entry, millis)
                pipe.zadd(index, {request_hash: expires})
                pipe.zremrangebyscore(index, "-inf", now)  # expired by the caller's clock
                # Entries past the newest max_entries are never scanned: drop them from the index
                # (their own keys expire by their TTL).
                pipe.zremrangebyrank(index, 0, -(self.max_entries + 1))
                # The index lives as long as its newest entry.
                pipe.pexpire(index, millis)
                await pipe.execute()

        await self._call("put_vector", call)

    async def aclose(self) -> None:
        """Close the connection pool (a no-op when it was opened under another, finished, loop)."""
        closer, loop = self._closer, self._client_loop
        self._client = self._client_loop = self._closer = None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if closer is not None and loop is running:
            await closer.aclose()


def _text(value: object) -> str:
    """A Redis reply as text (the client is not decoding, as vectors are binary)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise TypeError(f"unexpected Redis reply of type {type(value).__name__}")


def _millis(ttl_s: float) -> int:
    if not ttl_s > 0:
        raise UsageError(f"a cache TTL must be positive, not {ttl_s!r}")
    return max(1, math.ceil(ttl_s * 1000))


def build_cache(config: CacheConfig, store: Store | None) -> AnswerCache | None:
    """The cache `[cache]` configures; None for the database backend without a store.

    Reads `redis_url_env` now, so a missing variable is a ConfigError at start-up. Connects on first use.
    """
    if config.backend == "redis":
        return RedisCache(
            config.redis_url_value(), timeout_s=config.redis_timeout_s, max_entries=config.semantic_max_entries
        )
    if store is None:
        return None
    return StoreCache(store, max_entries=config.semantic_max_entries)
