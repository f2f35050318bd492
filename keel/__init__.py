"""Keel: a production-grade runtime for AI agents."""

from __future__ import annotations

import typing as _typing

from keel.config import EngineSettings, TraceSettings
from keel.errors import (
    BudgetExceeded,
    ConfigError,
    InputValidationError,
    InvalidStateError,
    KeelError,
    KillSwitchEngaged,
    NonDeterminismError,
    NonRetryableError,
    RunFailedError,
    RunNotFoundError,
    SerializationError,
    SignalTimeoutError,
    StepFailedError,
    StepTimeoutError,
    StoreError,
    ToolError,
    ToolInputError,
    ToolNotAllowed,
    UsageError,
    WorkflowError,
)
from keel.types import RunStatus
from keel.types import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from keel.app import App, RunHandle
    from keel.engine import CircuitBreaker, Context, RetryPolicy, RunEvent, StepEvent, Worker
    from keel.engine.agent import AgentResult
    from keel.engine.estimate import ApprovalRequiredError, CostEstimate
    from keel.engine.ports import LlmResult

# Resolved on first use (PEP 562): `from keel import App` must not pay for the executor, tracing and
# metrics until a run starts, so that short commands such as `keel estimate` start quickly.
_LAZY = {
    "AgentResult": "keel.engine.agent",
    "App": "keel.app",
    "ApprovalRequiredError": "keel.engine.estimate",
    "CircuitBreaker": "keel.engine.retry",
    "Context": "keel.engine.context",
    "CostEstimate": "keel.engine.estimate",
    "LlmResult": "keel.engine.ports",
    "RetryPolicy": "keel.engine.retry",
    "RunEvent": "keel.engine.executor",
    "RunHandle": "keel.app",
    "StepEvent": "keel.engine.executor",
    "Worker": "keel.engine.worker",
}


__getattr__, __dir__ = _lazy_exports("keel", _LAZY, globals())


__version__ = "0.1.0"

__all__ = [
    "AgentResult",
    "App",
    "ApprovalRequiredError",
    "BudgetExceeded",
    "CircuitBreaker",
    "ConfigError",
    "Context",
    "CostEstimate",
    "EngineSettings",
    "InputValidationError",
    "InvalidStateError",
    "KeelError",
    "KillSwitchEngaged",
    "LlmResult",
    "NonDeterminismError",
    "NonRetryableError",
    "RetryPolicy",
    "RunEvent",
    "RunFailedError",
    "RunHandle",
    "RunNotFoundError",
    "RunStatus",
    "SerializationError",
    "SignalTimeoutError",
    "StepEvent",
    "StepFailedError",
    "StepTimeoutError",
    "StoreError",
    "ToolError",
    "ToolInputError",
    "ToolNotAllowed",
    "TraceSettings",
    "UsageError",
    "Worker",
    "WorkflowError",
]
