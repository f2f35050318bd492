"""The durable workflow engine: journal and replay, retries, breakers, leases, compensation."""

from keel.engine.context import Context
from keel.engine.executor import RunEvent, StepEvent
from keel.engine.retry import CircuitBreaker, RetryPolicy
from keel.engine.worker import Engine, Worker

__all__ = ["CircuitBreaker", "Context", "Engine", "RetryPolicy", "RunEvent", "StepEvent", "Worker"]
