"""What tests do when a service or tool they need is missing (importable: tests/ is on pythonpath)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(msg: str) -> NoReturn:
    """Fail under CI=true, where every service must be up; elsewhere skip, loudly."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + "; CI requires it", pytrace=False)
    pytest.skip("SKIPPED LOUDLY: " + msg)


REDIS_URL = os.environ.get("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_REDIS_PROBLEM: str | None | bool = False  # False: not probed yet


def require_redis() -> str:
    """The test Redis URL, or fail (CI) / skip loudly (elsewhere) when it is unreachable."""
    global _REDIS_PROBLEM
    if _REDIS_PROBLEM is False:
        try:
            import redis

            with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2) as client:
                client.ping()
            _REDIS_PROBLEM = None
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            _REDIS_PROBLEM = f"{type(exc).__name__}: {exc}"
    if _REDIS_PROBLEM:
        unavailable(f"Redis at {REDIS_URL} is not reachable ({_REDIS_PROBLEM})")
    return REDIS_URL
