"""The durable workflow engine: journal and replay, retries, breakers, leases, compensation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keel.types import lazy_exports as _lazy_exports

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


__getattr__, __dir__ = _lazy_exports("keel.engine", _LAZY, globals())
