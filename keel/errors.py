"""Keel's exceptions: one tree rooted at KeelError, each class with a stable ``code``.

    KeelError                      code "keel.error"
    ├── ConfigError                "config.invalid"
    ├── UsageError                 "usage.invalid"      a developer mistake (bad decorator use, bad input)
    │   └── InputValidationError   "usage.input"        workflow input that does not match its parameters
    ├── StoreError                 "store.error"
    │   └── RunNotFoundError       "store.run_not_found"
    ├── SerializationError         "workflow.serialization"  a value that is not JSON (never pickled)
    ├── WorkflowError              "workflow.error"
    │   ├── NonDeterminismError    "workflow.non_determinism"  journal mismatch at a step position
    │   ├── StepFailedError        "workflow.step_failed"      retries exhausted
    │   ├── StepTimeoutError       "workflow.step_timeout"
    │   ├── SignalTimeoutError     "workflow.signal_timeout"
    │   ├── RunFailedError         "workflow.run_failed"       what RunHandle.result() raises
    │   └── InvalidStateError      "workflow.invalid_state"    e.g. resuming a run that is not parked
    └── GatewayError               "gateway.error"
        ├── AllModelsFailed        "gateway.all_models_failed"  every model of a route failed or was skipped
        ├── SchemaValidationError  "gateway.schema_invalid"     an answer off-schema after corrections
        └── ProviderError          "gateway.provider_error"     a model provider call failed
            ├── ProviderUnavailable   "gateway.provider_unavailable"  5xx, connection, timeout
            ├── RateLimited           "gateway.rate_limited"        429 (retry_after_s when given)
            ├── MalformedResponse     "gateway.malformed_response"  a 2xx body off-protocol
            └── ProviderRequestError  "gateway.request_rejected"    other 4xx: no fallback helps
    KillSwitchEngaged              "governance.kill_switch"  no run starts while the kill switch is engaged
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


class GatewayError(KeelError):
    """The model gateway could not serve a call."""

    code = "gateway.error"


class ProviderError(GatewayError):
    """A provider call failed."""

    code = "gateway.provider_error"
    # Whether another model may be tried: the provider failed, not our request.
    fallback: ClassVar[bool] = True


class ProviderUnavailable(ProviderError):
    """5xx, connection refused or reset, timeout: the provider is down or overloaded."""

    code = "gateway.provider_unavailable"


class RateLimited(ProviderError):
    """429: the provider asks us to slow down, for `retry_after_s` when it says so."""

    code = "gateway.rate_limited"

    @property
    def retry_after_s(self) -> float | None:
        value = self.details.get("retry_after_s")
        return float(value) if value is not None else None


class MalformedResponse(ProviderError):
    """The provider answered 2xx with a body that is not what its protocol promises."""

    code = "gateway.malformed_response"


class ProviderRequestError(ProviderError):
    """A 4xx other than 429: our request was wrong (bad model, bad key, too long); no fallback helps."""

    code = "gateway.request_rejected"
    fallback: ClassVar[bool] = False


class AllModelsFailed(GatewayError):
    """Every model of the route failed or was skipped; the call may be retried later."""

    code = "gateway.all_models_failed"


class SchemaValidationError(GatewayError):
    """The model's answer did not match the schema, even after corrections."""

    code = "gateway.schema_invalid"


class CacheError(GatewayError):
    """The answer cache failed (unreachable, timed out, refused): a miss, never a failed model call."""

    code = "gateway.cache_error"


class BudgetExceeded(GatewayError):
    """A budget has no room left for the call: a hard stop, which a workflow may catch.

    `level` names the budget (run, user_daily, org_monthly, tag:NAME); `details` hold its key,
    limits, what was spent and held, and what the call asked for. A workflow that catches it
    and returns normally finishes with the run flagged `budget_exceeded`.
    """

    code = "gateway.budget_exceeded"

    @property
    def level(self) -> str:
        return str(self.details.get("level", ""))


class ToolError(KeelError):
    """A tool call failed: the tool raised, or its sandbox stopped it."""

    code = "tool.error"


class ToolNotAllowed(ToolError):
    """The workflow's allowlist does not name this tool: refused, recorded, never executed."""

    code = "tool.not_allowed"


class ToolInputError(ToolError):
    """The arguments do not match the tool's input schema."""

    code = "tool.invalid_input"


class ToolOutputError(ToolError):
    """The tool returned something its output schema does not allow."""

    code = "tool.invalid_output"


class ToolTimeout(ToolError):
    """The tool ran past its wall-clock timeout; its whole process tree was killed."""

    code = "tool.timeout"


class ToolResourceLimit(ToolError):
    """The sandbox stopped the tool at a resource limit (CPU, memory, processes, file or output size)."""

    code = "tool.resource_limit"


class SandboxUnavailable(ToolError):
    """No process isolation is possible here, so a sandboxed tool is refused rather than run bare."""

    code = "tool.sandbox_unavailable"


class CredentialError(KeelError):
    """A tool credential was refused: `reason` says why (expired, scope, org, signature, revoked, malformed)."""

    code = "tool.credential_refused"

    @property
    def reason(self) -> str:
        return str(self.details.get("reason", ""))


class CredentialQuotaExceeded(KeelError):
    """An org minted more tool credentials than its quota allows in the current window."""

    code = "tool.credential_quota"


class GuardBlocked(KeelError):
    """The guard refused a model call or its answer: a likely prompt injection, or PII a policy blocks.

    `kind` is "injection" or "pii"; `source` is where it was found (user, tool, model). The details
    carry scores, types and reasons, never the offending text.
    """

    code = "guard.blocked"

    @property
    def kind(self) -> str:
        return str(self.details.get("kind", ""))

    @property
    def source(self) -> str:
        return str(self.details.get("source", ""))


class KillSwitchEngaged(KeelError):
    """The kill switch is engaged: no run may start until two approvers release it (`reason` says why)."""

    code = "governance.kill_switch"

    @property
    def reason(self) -> str:
        return str(self.details.get("reason", ""))


class NonRetryableError(KeelError):
    """Raise from a step to fail it at once, without using the remaining attempts."""

    code = "step.non_retryable"


__all__ = [
    "GuardBlocked",
    "ToolError",
    "ToolNotAllowed",
    "ToolInputError",
    "ToolOutputError",
    "ToolTimeout",
    "ToolResourceLimit",
    "SandboxUnavailable",
    "CredentialError",
    "CredentialQuotaExceeded",
    "AllModelsFailed",
    "BudgetExceeded",
    "CacheError",
    "ConfigError",
    "GatewayError",
    "MalformedResponse",
    "ProviderError",
    "ProviderRequestError",
    "ProviderUnavailable",
    "RateLimited",
    "InputValidationError",
    "InvalidStateError",
    "KeelError",
    "KillSwitchEngaged",
    "NonDeterminismError",
    "NonRetryableError",
    "RunFailedError",
    "RunNotFoundError",
    "SchemaValidationError",
    "SerializationError",
    "SignalTimeoutError",
    "StepFailedError",
    "StepTimeoutError",
    "StoreError",
    "UsageError",
    "WorkflowError",
]
