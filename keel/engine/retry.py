"""Retry policies: exponential backoff with full jitter, and circuit-breaker settings."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing step is retried.

    The n-th retry waits a uniformly random time in [0, min(max_backoff, initial_backoff *
    multiplier**(n-1))] ("full jitter"), so many runs failing together spread their retries out.
    """

    max_attempts: int = 3
    initial_backoff: float = 1.0
    multiplier: float = 2.0
    max_backoff: float = 60.0
    jitter: bool = True
    non_retryable: tuple[type[BaseException], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("RetryPolicy backoffs must not be negative")
        if self.multiplier < 1:
            raise ValueError("RetryPolicy.multiplier must be at least 1")
        object.__setattr__(self, "non_retryable", tuple(self.non_retryable))

    def ceiling(self, attempt: int) -> float:
        """The longest wait after failed attempt number `attempt` (1-based)."""
        try:
            grown = self.initial_backoff * self.multiplier ** max(0, attempt - 1)
        except OverflowError:  # float power past ~1e308, reached by long retry budgets
            grown = self.max_backoff if self.initial_backoff > 0 else 0.0
        return float(min(self.max_backoff, grown))

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        cap = self.ceiling(attempt)
        if not self.jitter:
            return cap
        return (rng or random).uniform(0.0, cap)

    def retryable(self, exc: BaseException) -> bool:
        from keel.errors import NonRetryableError, SerializationError

        if isinstance(exc, (NonRetryableError, SerializationError)):
            return False
        return not isinstance(exc, self.non_retryable)


@dataclass(frozen=True)
class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failures → half-open after `reset_timeout`.

    State lives in the database, so every worker sees the same breaker. `key` defaults to the
    step name; give several steps one key when they call the same dependency.
    """

    failure_threshold: int = 5
    reset_timeout: float = 30.0
    key: str | None = None

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("CircuitBreaker.failure_threshold must be at least 1")
        if self.reset_timeout <= 0:
            raise ValueError("CircuitBreaker.reset_timeout must be positive")
