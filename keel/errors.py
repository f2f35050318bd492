"""Keel's exceptions: one tree rooted at KeelError, each class with a stable ``code``.

    KeelError                      code "keel.error"
    ├── ConfigError                "config.invalid"
    ├── UsageError                 "usage.invalid"      a developer mistake (bad decorator use, bad input)
    │   └── InputValidationError   "usage.input"        workflow input that does not match its parameters
    ├── StoreError                 "store.error"
    │   └── RunNotFoundError       "store.run_not_found"
    ├── SerializationError         "workflow.serialization"  a value that is not JSON (never pickled)
    └── WorkflowError              "workflow.error"
        ├── NonDeterminismError    "workflow.non_determinism"  journal mismatch at a step position
        ├── StepFailedError        "workflow.step_failed"      retries exhausted
        ├── StepTimeoutError       "workflow.step_timeout"
        ├── SignalTimeoutError     "workflow.signal_timeout"
        ├── RunFailedError         "workflow.run_failed"       what RunHandle.result() raises
        └── InvalidStateError      "workflow.invalid_state"    e.g. resuming a run that is not parked
    NonRetryableError              "step.non_retryable"  raised by a step to stop its retries

Errors are journaled, so each carries only JSON-safe fields and ``str(err)`` never holds secrets.
"""

from __future__ import annotations

from typing import Any, ClassVar


class KeelError(Exception):
    """Root of every error Keel raises."""

    code: ClassVar[str] = "keel.error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.details))


def _rebuild(cls: type[KeelError], message: str, details: dict[str, Any]) -> KeelError:
    return cls(message, **details)


class ConfigError(KeelError):
    code = "config.invalid"


class UsageError(KeelError):
    code = "usage.invalid"


class InputValidationError(UsageError):
    code = "usage.input"


class StoreError(KeelError):
    code = "store.error"


class RunNotFoundError(StoreError):
    code = "store.run_not_found"


class SerializationError(KeelError):
    code = "workflow.serialization"


class WorkflowError(KeelError):
    code = "workflow.error"


class NonDeterminismError(WorkflowError):
    code = "workflow.non_determinism"


class StepFailedError(WorkflowError):
    code = "workflow.step_failed"


class StepTimeoutError(WorkflowError):
    code = "workflow.step_timeout"


class SignalTimeoutError(WorkflowError):
    code = "workflow.signal_timeout"


class RunFailedError(WorkflowError):
    code = "workflow.run_failed"


class InvalidStateError(WorkflowError):
    code = "workflow.invalid_state"


class NonRetryableError(KeelError):
    """Raise from a step to fail it at once, without using the remaining attempts."""

    code = "step.non_retryable"


__all__ = [
    "ConfigError",
    "InputValidationError",
    "InvalidStateError",
    "KeelError",
    "NonDeterminismError",
    "NonRetryableError",
    "RunFailedError",
    "RunNotFoundError",
    "SerializationError",
    "SignalTimeoutError",
    "StepFailedError",
    "StepTimeoutError",
    "StoreError",
    "UsageError",
    "WorkflowError",
]
