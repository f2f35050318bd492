"""RetryPolicy and CircuitBreaker: backoff bounds, classification, validation."""

from __future__ import annotations

import random

import pytest

from keel import CircuitBreaker, NonRetryableError, RetryPolicy, SerializationError


def test_defaults() -> None:
    p = RetryPolicy()
    assert (p.max_attempts, p.initial_backoff, p.multiplier, p.max_backoff, p.jitter) == (3, 1.0, 2.0, 60.0, True)
    assert p.non_retryable == ()


def test_ceilings_grow_exponentially_up_to_the_cap() -> None:
    p = RetryPolicy(max_attempts=10, initial_backoff=1, multiplier=2, max_backoff=3)
    assert [p.ceiling(n) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, 3.0]
    q = RetryPolicy(initial_backoff=0.5, multiplier=3, max_backoff=100)
    assert [q.ceiling(n) for n in range(1, 5)] == [0.5, 1.5, 4.5, 13.5]
    assert q.ceiling(0) == 0.5  # attempt numbers below 1 are treated as the first


def test_no_jitter_waits_exactly_the_ceiling() -> None:
    p = RetryPolicy(initial_backoff=1, multiplier=2, max_backoff=3, jitter=False)
    assert [p.backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]


def test_full_jitter_stays_within_zero_and_the_ceiling() -> None:
    p = RetryPolicy(initial_backoff=1, multiplier=2, max_backoff=3)
    rng = random.Random(1234)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 3.0), (7, 3.0)):
        draws = [p.backoff(attempt, rng) for _ in range(500)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # Spread over the range, not pinned to one end.
        assert min(draws) < ceiling * 0.1
        assert max(draws) > ceiling * 0.9


def test_jitter_is_reproducible_with_a_seeded_rng() -> None:
    p = RetryPolicy()
    assert [p.backoff(n, random.Random(7)) for n in (1, 2, 3)] == [p.backoff(n, random.Random(7)) for n in (1, 2, 3)]


def test_zero_backoff_is_allowed() -> None:
    p = RetryPolicy(initial_backoff=0)
    assert p.backoff(1) == 0.0
    assert p.backoff(5) == 0.0


class Listed(Exception):
    pass


class SubOfListed(Listed):
    pass


def test_classification() -> None:
    p = RetryPolicy(non_retryable=[Listed])  # any iterable becomes a tuple
    assert p.non_retryable == (Listed,)
    assert p.retryable(ConnectionError("x"))
    assert p.retryable(ValueError("x"))
    assert not p.retryable(Listed("x"))
    assert not p.retryable(SubOfListed("x"))
    assert not p.retryable(NonRetryableError("stop"))
    assert not RetryPolicy().retryable(SerializationError("not JSON"))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(max_attempts=0),
        dict(initial_backoff=-1),
        dict(max_backoff=-0.1),
        dict(multiplier=0.5),
    ],
)
def test_invalid_policies_are_rejected(kwargs) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_policies_are_immutable_values() -> None:
    p = RetryPolicy(max_attempts=2)
    assert p == RetryPolicy(max_attempts=2)
    with pytest.raises(AttributeError):
        p.max_attempts = 5  # type: ignore[misc]


def test_circuit_breaker_settings() -> None:
    b = CircuitBreaker()
    assert (b.failure_threshold, b.reset_timeout, b.key) == (5, 30.0, None)
    assert CircuitBreaker(failure_threshold=1, reset_timeout=0.1, key="api").key == "api"
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(reset_timeout=0)


def test_long_retry_budgets_do_not_overflow() -> None:
    # 2.0 ** 1024 does not fit in a float: attempt 1025 of a "retry for a day" policy.
    p = RetryPolicy(max_attempts=100_000, initial_backoff=1, multiplier=2, max_backoff=60, jitter=False)
    assert p.ceiling(1025) == 60.0
    assert p.backoff(50_000) == 60.0
    assert RetryPolicy(max_attempts=100_000, multiplier=10, max_backoff=5).ceiling(400) == 5.0
    assert RetryPolicy(max_attempts=100_000, initial_backoff=0, max_backoff=5).ceiling(5000) == 0.0
