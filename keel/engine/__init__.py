"""The durable workflow engine: journal and replay, retries, breakers, leases, compensation."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.engine.context import Context
    from keel.engine.executor import RunEvent, StepEvent
    from keel.engine.retry import CircuitBreaker, RetryPolicy
    from keel.engine.worker import Engine, Worker

__all__ = ["CircuitBreaker", "Context", "Engine", "RetryPolicy", "RunEvent", "StepEvent", "Worker"]

# Resolved on first use (PEP 562), as in the `keel` facade: importing one engine module (the registry,
# the estimate) must not import the executor and everything it needs.
_LAZY = {
    "CircuitBreaker": "keel.engine.retry",
    "Context": "keel.engine.context",
    "Engine": "keel.engine.worker",
    "RetryPolicy": "keel.engine.retry",
    "RunEvent": "keel.engine.executor",
    "StepEvent": "keel.engine.executor",
    "Worker": "keel.engine.worker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'keel.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
