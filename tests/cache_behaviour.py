"""What every AnswerCache backend must do, written once (importable: tests/ is on pythonpath).

tests/contract/test_semcache_store.py runs these on SQLite and PostgreSQL, and
tests/integration/test_redis_cache.py on a real Redis. Times are the `now` the caller passes, far
from the wall clock's, except that Redis also drops keys by its own TTL (tested there).
"""

from __future__ import annotations

import json
import time

import pytest

from keel.errors import UsageError
from keel.gateway.cache import AnswerCache
from keel.gateway.providers import hashed_embedding

T0 = time.time()  # near the wall clock, so Redis' own TTLs and `now` agree
REFUND = "What is your refund policy for annual plans?"
REFUND_AGAIN = "what is the refund policy for annual plans"
PASSWORD = "How do I reset my password?"


def answer(text: str) -> str:
    return json.dumps({"text": text, "model": "m", "provider": "p"})


async def exact_entries_are_per_org_replaced_and_expire(cache: AnswerCache) -> None:
    assert await cache.get("acme", "h1", now=T0) is None
    await cache.put("acme", "h1", route="faq", answer=answer("a"), now=T0, ttl_s=60)
    assert await cache.get("acme", "h1", now=T0 + 20) == answer("a")
    assert await cache.get("globex", "h1", now=T0 + 20) is None  # never shared across orgs
    assert await cache.get("", "h1", now=T0 + 20) is None  # nor with runs that have no org
    assert await cache.get("acme", "h2", now=T0 + 20) is None
    await cache.put("acme", "h1", route="faq", answer=answer("b"), now=T0 + 30, ttl_s=60)
    assert await cache.get("acme", "h1", now=T0 + 85) == answer("b")  # replaced, with a new expiry
    assert await cache.get("acme", "h1", now=T0 + 90) is None


async def keys_that_look_alike_stay_apart(cache: AnswerCache) -> None:
    # An org, route or hash holding the separator must not reach another's entry.
    await cache.put("a:b", "c", route="r", answer=answer("one"), now=T0, ttl_s=60)
    assert await cache.get("a", "b:c", now=T0) is None
    assert await cache.get("a:b", "c", now=T0) == answer("one")
    await cache.put_vector("o:r", "x", "h", hashed_embedding(REFUND), answer=answer("two"), now=T0, ttl_s=60)
    assert await cache.nearest("o", "r:x", hashed_embedding(REFUND), threshold=0.5, now=T0) is None
    assert await cache.nearest("o:r", "x", hashed_embedding(REFUND), threshold=0.5, now=T0) is not None


async def nearest_finds_a_paraphrase_above_the_threshold_only(cache: AnswerCache) -> None:
    await cache.put_vector(
        "acme", "faq", "h-refund", hashed_embedding(REFUND), answer=answer("refund"), now=T0, ttl_s=60
    )
    await cache.put_vector("acme", "faq", "h-pw", hashed_embedding(PASSWORD), answer=answer("pw"), now=T0, ttl_s=60)

    found = await cache.nearest("acme", "faq", hashed_embedding(REFUND_AGAIN), threshold=0.8, now=T0 + 1)
    assert found is not None
    text, similarity = found
    assert text == answer("refund")
    assert similarity == pytest.approx(0.875, abs=1e-5)
    # The same similarity is below a stricter threshold: a miss, not the next best.
    assert await cache.nearest("acme", "faq", hashed_embedding(REFUND_AGAIN), threshold=0.9, now=T0 + 1) is None
    assert await cache.nearest("acme", "faq", hashed_embedding("Translate this invoice"), threshold=0.5, now=T0) is None


async def an_identical_request_matches_even_at_threshold_one(cache: AnswerCache) -> None:
    await cache.put_vector("acme", "faq", "h", hashed_embedding(REFUND), answer=answer("r"), now=T0, ttl_s=60)
    found = await cache.nearest("acme", "faq", hashed_embedding(REFUND), threshold=1.0, now=T0)
    assert found is not None and found[0] == answer("r") and found[1] == pytest.approx(1.0, abs=1e-6)
    assert found[1] <= 1.0


async def nearest_returns_the_most_similar(cache: AnswerCache) -> None:
    vectors = {"far": [1.0, 0.0, 0.0], "near": [0.8, 0.6, 0.0], "nearest": [0.6, 0.8, 0.0]}
    for name, vector in vectors.items():
        await cache.put_vector("acme", "faq", name, vector, answer=answer(name), now=T0, ttl_s=60)
    # Not normalised on purpose: the cosine ignores length.
    found = await cache.nearest("acme", "faq", [0.0, 10.0, 0.0], threshold=0.5, now=T0)
    assert found is not None and found[0] == answer("nearest")
    assert found[1] == pytest.approx(0.8, abs=1e-6)


async def semantic_entries_stay_in_their_org_and_route(cache: AnswerCache) -> None:
    await cache.put_vector("acme", "faq", "h", hashed_embedding(REFUND), answer=answer("acme faq"), now=T0, ttl_s=60)
    query = hashed_embedding(REFUND)
    assert await cache.nearest("globex", "faq", query, threshold=0.5, now=T0) is None
    assert await cache.nearest("acme", "triage", query, threshold=0.5, now=T0) is None
    await cache.put_vector("acme", "triage", "h", query, answer=answer("acme triage"), now=T0, ttl_s=60)
    await cache.put_vector("globex", "faq", "h", query, answer=answer("globex faq"), now=T0, ttl_s=60)
    for org, route in (("acme", "faq"), ("acme", "triage"), ("globex", "faq")):
        found = await cache.nearest(org, route, query, threshold=0.5, now=T0)
        assert found is not None and found[0] == answer(f"{org} {route}")
    # The exact cache is another namespace: a semantic entry is no exact hit.
    assert await cache.get("acme", "h", now=T0) is None


async def semantic_entries_expire_and_are_replaced(cache: AnswerCache) -> None:
    query = hashed_embedding(REFUND)
    await cache.put_vector("acme", "faq", "h", query, answer=answer("old"), now=T0, ttl_s=60)
    assert (await cache.nearest("acme", "faq", query, threshold=0.9, now=T0 + 59)) is not None
    assert await cache.nearest("acme", "faq", query, threshold=0.9, now=T0 + 60) is None
    await cache.put_vector("acme", "faq", "h", query, answer=answer("new"), now=T0 + 100, ttl_s=60)
    found = await cache.nearest("acme", "faq", query, threshold=0.9, now=T0 + 120)
    assert found is not None and found[0] == answer("new")


async def only_the_newest_max_entries_are_compared(cache: AnswerCache, max_entries: int) -> None:
    """`cache` was built with `max_entries`; the oldest entry, a perfect match, is past the cap."""
    await cache.put_vector("acme", "faq", "oldest", [1.0, 0.0], answer=answer("oldest"), now=T0, ttl_s=600)
    for i in range(max_entries):
        await cache.put_vector("acme", "faq", f"h{i}", [0.0, 1.0], answer=answer(f"n{i}"), now=T0 + 1 + i, ttl_s=600)
    assert await cache.nearest("acme", "faq", [1.0, 0.0], threshold=0.5, now=T0 + 50) is None
    found = await cache.nearest("acme", "faq", [0.0, 1.0], threshold=0.5, now=T0 + 50)
    assert found is not None and found[0].startswith('{"text": "n')


async def vectors_of_another_length_or_no_direction_never_match(cache: AnswerCache) -> None:
    await cache.put_vector("acme", "faq", "short", [1.0, 0.0], answer=answer("2d"), now=T0, ttl_s=60)
    await cache.put_vector("acme", "faq", "zero", [0.0, 0.0, 0.0], answer=answer("zero"), now=T0, ttl_s=60)
    assert await cache.nearest("acme", "faq", [1.0, 0.0, 0.0], threshold=0.1, now=T0) is None
    assert await cache.nearest("acme", "faq", [0.0, 0.0], threshold=0.1, now=T0) is None
    found = await cache.nearest("acme", "faq", [3.0, 0.0], threshold=0.9, now=T0)
    assert found is not None and found[0] == answer("2d")
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(UsageError, match="threshold"):
            await cache.nearest("acme", "faq", [1.0, 0.0], threshold=bad, now=T0)


ALL = [
    exact_entries_are_per_org_replaced_and_expire,
    keys_that_look_alike_stay_apart,
    nearest_finds_a_paraphrase_above_the_threshold_only,
    an_identical_request_matches_even_at_threshold_one,
    nearest_returns_the_most_similar,
    semantic_entries_stay_in_their_org_and_route,
    semantic_entries_expire_and_are_replaced,
    vectors_of_another_length_or_no_direction_never_match,
]
