"""Keel: a production-grade runtime for AI agents."""

from keel.app import App, RunHandle
from keel.config import EngineSettings, TraceSettings
from keel.engine import CircuitBreaker, Context, RetryPolicy, RunEvent, StepEvent, Worker
from keel.engine.agent import AgentResult
from keel.engine.estimate import ApprovalRequiredError, CostEstimate
from keel.engine.ports import LlmResult
from keel.errors import (
    BudgetExceeded,
    ConfigError,
    InputValidationError,
    InvalidStateError,
    KeelError,
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
